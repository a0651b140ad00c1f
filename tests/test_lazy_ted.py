"""Lazy TED: skipped only when its answer could not win, so the dialogue is unchanged.

The unit tests follow the ensemble's rules case by case; the model test holds the same
conversations twice through the trained model and the real action server, once with TED always
predicting and once lazily, and compares every action taken.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.lazy_ted import LazyTEDPolicy, already_decided, with_lazy_ted
from bot.launcher import DEFAULT_MODEL, Servers, free_port
from bot.settings import PROJECT_ROOT
from tests.support import seeded_database


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def tracker_after(domain: Domain, *events: object) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("t", list(events), slots=domain.slots)


def certain(domain: Domain, action: str, **flags: bool) -> PolicyPrediction:
    probabilities = [0.0] * domain.num_actions
    probabilities[domain.index_for_action(action)] = 1.0
    return PolicyPrediction(probabilities, "RulePolicy", 6, **flags)


def user_turn(domain: Domain) -> DialogueStateTracker:
    return tracker_after(
        domain, ActionExecuted("action_listen"), UserUttered("逾期会怎样", {"name": "greet"})
    )


def test_a_certain_rule_or_story_decides(domain: Domain) -> None:
    assert already_decided(user_turn(domain), domain, [certain(domain, "action_answer")])


def test_an_uncertain_prediction_leaves_it_to_ted(domain: Domain) -> None:
    fallback = PolicyPrediction([0.3] * domain.num_actions, "RulePolicy", 6)
    assert not already_decided(user_turn(domain), domain, [fallback])
    assert not already_decided(user_turn(domain), domain, [])


def test_certainty_about_a_rejected_action_does_not_count(domain: Domain) -> None:
    tracker = tracker_after(
        domain,
        ActionExecuted("action_listen"),
        UserUttered("6217", {"name": "inform"}),
        ActionExecutionRejected("identity_form"),
    )
    assert not already_decided(tracker, domain, [certain(domain, "identity_form")])
    assert already_decided(tracker, domain, [certain(domain, "action_answer")])


def test_no_user_predictions_decide_and_end_to_end_ones_never_do(domain: Domain) -> None:
    tracker = user_turn(domain)
    no_user = certain(domain, "action_answer", is_no_user_prediction=True)
    no_user.probabilities[domain.index_for_action("action_answer")] = 0.2
    assert already_decided(tracker, domain, [no_user])
    e2e = certain(domain, "action_answer", is_end_to_end_prediction=True)
    assert not already_decided(tracker, domain, [e2e])


@pytest.fixture(scope="module")
def model_path() -> Path:
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train`", pytrace=False)
    return DEFAULT_MODEL


@pytest.mark.model
def test_the_loaded_graph_feeds_ted_the_other_policies(model_path: Path, tmp_path: Path) -> None:
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from bot.rasa_server import apply_fixes

    apply_fixes()
    _storage, metadata = LocalModelStorage.from_model_archive(tmp_path / "storage", model_path)
    nodes = metadata.predict_schema.nodes
    (ted,) = [name for name, node in nodes.items() if node.uses is LazyTEDPolicy]
    fed = {source for key, source in nodes[ted].needs.items() if key.startswith("decided_by_")}
    assert {nodes[name].uses.__name__ for name in fed} == {"RulePolicy", "MemoizationPolicy"}
    rewritten_again = with_lazy_ted(metadata.predict_schema)  # idempotent on a rewritten graph
    assert rewritten_again.nodes == nodes
    others = {name for name in nodes if name != ted}
    assert all(nodes[name].uses is not TEDPolicy for name in others)


CONVERSATIONS = [
    # the benchmark's plan conversation
    ["您好", "逾期会上征信吗", "我想办分期", "6217", "1234", "我失业了", "4500", "3000", "500",
     "1", "6个月", "第一个", "确认"],
    # off the happy path: questions and feelings inside the forms, a correction, a refusal
    ["我还欠多少钱", "会不会被起诉", "8832", "567X", "我想分期", "我生病了", "我好担心",
     "六千", "刚才收入说错了，应该是五千", "2500", "0", "两个", "一年", "不要", "为什么这么贵",
     "算了我不还了", "转人工"],
    ["你是机器人吗", "我已经还了", "4410", "9021", "我下周五还三千", "谢谢", "再见"],
    ["逾期會不會影響我的信用紀錄？", "我想停息掛賬", "0357", "3308", "你们催收打电话骚扰我家人",
     "我要投诉"],
]  # fmt: skip


@contextmanager
def action_server(folder: Path) -> Iterator[str]:
    """The real action server on a freshly seeded SQLite file; yields its webhook URL."""
    database = seeded_database(folder)
    port = free_port()
    env = {**Servers(database_url=database).environment(), "BOT_TODAY": "2026-11-22"}
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("the action server did not start", pytrace=False)
        yield f"{url}/webhook"
    finally:
        process.terminate()
        process.wait(timeout=20)


async def hold(agent: object, sender: str, turns: list[str]) -> list[str]:
    for text in turns:
        await agent.handle_text(text, sender_id=sender)
    tracker = await agent.tracker_store.retrieve(sender)
    return [e.action_name for e in tracker.events if isinstance(e, ActionExecuted)]


@pytest.mark.model
async def test_lazy_ted_takes_exactly_the_same_actions_with_far_fewer_inferences(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_server import apply_fixes

    apply_fixes()
    agent = Agent.load(str(model_path))
    inferences = {"count": 0}
    predict = TEDPolicy.predict_action_probabilities

    def counted(self: TEDPolicy, *args: object, **kwargs: object) -> PolicyPrediction:
        inferences["count"] += 1
        return predict(self, *args, **kwargs)

    monkeypatch.setattr(TEDPolicy, "predict_action_probabilities", counted)
    actions: dict[str, list[list[str]]] = {}
    counts: dict[str, int] = {}
    for mode in ("lazy", "full"):
        # each mode on its own freshly seeded database, so both start from the same accounts
        with monkeypatch.context() as patch, action_server(tmp_path / mode) as webhook:
            if mode == "full":
                patch.setattr(LazyTEDPolicy, "can_be_skipped", lambda self: False)
            agent.action_endpoint = agent.processor.action_endpoint = EndpointConfig(webhook)
            inferences["count"] = 0
            actions[mode] = [
                await hold(agent, f"{mode}-{index}", turns)
                for index, turns in enumerate(CONVERSATIONS)
            ]
            counts[mode] = inferences["count"]
    assert actions["lazy"] == actions["full"]
    assert sum(len(taken) for taken in actions["lazy"]) > 100
    assert counts["full"] > 0 and counts["lazy"] <= counts["full"] // 2, counts
