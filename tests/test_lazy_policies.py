"""Lazy policies: skipped only when their answer could not win, so the dialogue is unchanged.

The unit tests follow the ensemble's rules case by case; the model test holds the same
conversations twice through the trained model and the real action server, once with every
policy always predicting and once lazily, and compares every action taken.
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
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.lazy_policies import (
    LazyMemoizationPolicy,
    LazyPolicy,
    LazyTEDPolicy,
    already_decided,
    with_lazy_policies,
)
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

    def fed(lazy: type) -> set[str]:
        (name,) = [name for name, node in nodes.items() if node.uses is lazy]
        sources = {s for key, s in nodes[name].needs.items() if key.startswith("decided_by_")}
        return {nodes[source].uses.__name__ for source in sources}

    assert fed(LazyTEDPolicy) == {"RulePolicy", "LazyMemoizationPolicy"}  # both rank above TED
    assert fed(LazyMemoizationPolicy) == {"RulePolicy"}
    rewritten_again = with_lazy_policies(metadata.predict_schema)  # idempotent
    assert rewritten_again.nodes == nodes
    assert not [node for node in nodes.values() if node.uses is TEDPolicy]


CONVERSATIONS = [
    # the benchmark's plan conversation
    ["您好", "逾期会上征信吗", "我想办分期", "6217", "1234", "同意", "我失业了", "4500", "3000",
     "500", "1", "6个月", "第一个", "确认"],
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


def counting(policy: type, work: dict[type, int]) -> object:
    predict = policy.predict_action_probabilities

    def counted(self: object, *args: object, **kwargs: object) -> PolicyPrediction:
        work[policy] += 1
        return predict(self, *args, **kwargs)

    return counted


async def hold(agent: object, sender: str, turns: list[str]) -> list[str]:
    for text in turns:
        await agent.handle_text(text, sender_id=sender)
    tracker = await agent.tracker_store.retrieve(sender)
    return [e.action_name for e in tracker.events if isinstance(e, ActionExecuted)]


@pytest.mark.model
async def test_lazy_policies_take_exactly_the_same_actions_with_far_fewer_inferences(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_server import apply_fixes

    apply_fixes()
    agent = Agent.load(str(model_path))
    work = {TEDPolicy: 0, MemoizationPolicy: 0}  # predictions each policy really made
    for policy in work:
        monkeypatch.setattr(policy, "predict_action_probabilities", counting(policy, work))
    actions: dict[str, list[list[str]]] = {}
    counts: dict[str, dict[type, int]] = {}
    for mode in ("lazy", "full"):
        # each mode on its own freshly seeded database, so both start from the same accounts
        with monkeypatch.context() as patch, action_server(tmp_path / mode) as webhook:
            if mode == "full":
                patch.setattr(LazyTEDPolicy, "can_be_skipped", lambda self: False)
                patch.setattr(LazyPolicy, "can_be_skipped", lambda self: False)
            agent.action_endpoint = agent.processor.action_endpoint = EndpointConfig(webhook)
            work.update(dict.fromkeys(work, 0))
            actions[mode] = [
                await hold(agent, f"{mode}-{index}", turns)
                for index, turns in enumerate(CONVERSATIONS)
            ]
            counts[mode] = dict(work)
    assert actions["lazy"] == actions["full"]
    assert sum(len(taken) for taken in actions["lazy"]) > 100
    for policy in work:
        assert 0 < counts["lazy"][policy] <= counts["full"][policy] // 2, counts
