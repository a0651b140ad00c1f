"""The runtime fixes change how much work Rasa does per message, never what it computes."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import SlotSet
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server import apply_fixes


def test_the_cached_validator_accepts_and_rejects_what_rasa_does() -> None:
    apply_fixes()
    apply_fixes()  # idempotent
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))
    good = {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": [{"text": "好"}]}
    assert action._validate_action_result(good) is True
    with pytest.raises(ValidationError) as error:
        action._validate_action_result({"events": "not a list"})
    assert "Failed to validate Action server response" in error.value.message


def _sample_events() -> list[dict]:
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        AllSlotsReset,
        BotUttered,
        FollowupAction,
        LoopInterrupted,
        ReminderScheduled,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUttered,
    )  # fmt: skip

    events = [
        SlotSet("monthly_income", 4500), ActiveLoop("hardship_form"), ActiveLoop(None),
        ActionExecuted("action_listen"), BotUttered("好的", {"buttons": [{"title": "1"}]}),
        UserUttered("我失业了", {"name": "inform_hardship", "confidence": 0.9}, []),
        FollowupAction("utter_greet"), Restarted(), SessionStarted(), AllSlotsReset(),
        LoopInterrupted(True), ReminderScheduled("remind", datetime(2026, 11, 30, 10)),
    ]  # fmt: skip
    return [event.as_dict() for event in events]


def test_the_action_result_check_accepts_and_rejects_exactly_what_jsonschema_does() -> None:
    from jsonschema import validate as jsonschema_validate

    from bot.rasa_server import action_result_validator

    schema = RemoteAction.action_response_format_spec()
    fast = action_result_validator(schema)

    def verdicts(result: object) -> tuple[bool, bool]:
        outcomes = []
        for check in (fast, lambda r: jsonschema_validate(r, schema)):
            try:
                check(result)
                outcomes.append(True)
            except ValidationError:
                outcomes.append(False)
        return outcomes[0], outcomes[1]

    wrong_values = [None, 7, "x", [], "user"]  # "user": the event turns into another kind
    results = [{}, {"events": []}, {"events": "no"}, {"responses": [{"text": "好"}]},
               {"responses": "no"}, {"events": [1]}, {"events": [{}]}]  # fmt: skip
    for event in _sample_events():
        results.append({"events": [event], "responses": [{"text": "好"}]})
        for key in [*event, "unknown_field"]:
            for wrong in wrong_values:
                results.append({"events": [event, {**event, key: wrong}]})
    accepted = 0
    for result in results:
        mine, theirs = verdicts(result)
        assert mine == theirs, result
        accepted += mine
    assert 10 < accepted < len(results) - 100  # both kinds of verdict were really tested


def test_event_types_come_from_the_table_exactly_as_rasa_finds_them() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    apply_fixes()
    for cls in all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is next(
            c for c in all_subclasses(Event) if c.type_name == cls.type_name
        )
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("topic") is None  # Rasa's backwards compatibility


async def test_calls_to_the_action_server_share_one_connection() -> None:
    """A minimal keep-alive HTTP server that counts the TCP connections it accepts."""
    apply_fixes()
    connections = 0
    body = json.dumps({"events": [], "responses": []}).encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                await reader.readexactly(length)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        for _ in range(5):
            reply = await endpoint.request(json={"next_action": "action_answer"})
            assert reply == {"events": [], "responses": []}
    finally:
        server.close()
        await server.wait_closed()
    assert connections == 1  # Rasa alone opens one per call: 5


def test_a_graph_run_is_planned_once_with_rasa_s_answer() -> None:
    from rasa.engine.graph import GraphSchema, SchemaNode
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    def node(**needs: str) -> SchemaNode:
        return SchemaNode(needs=needs, uses=FallbackClassifier, constructor_name="create",
                          fn="process", config={})  # fmt: skip

    nodes = {"a": node(), "b": node(x="a"), "c": node(x="a", y="b"), "d": node(x="c"), "e": node()}
    apply_fixes()
    schema = GraphSchema(nodes)
    planned = schema.minimal_graph_schema(["d"])
    assert set(planned.nodes) == {"a", "b", "c", "d"}
    assert schema.minimal_graph_schema(["d"]) is planned  # worked out once
    assert set(schema.minimal_graph_schema(["b"]).nodes) == {"a", "b"}
    assert GraphSchema(nodes) == schema  # the remembered plans are not part of the schema


def test_rasa_uses_copy_only_for_debug_log_arguments_where_it_is_replaced() -> None:
    """Guards the fix against a Rasa upgrade: any other use of `copy` there must copy."""
    import ast
    import importlib
    import inspect

    from bot.rasa_server import DEBUG_LOG_COPYING_MODULES

    for name in DEBUG_LOG_COPYING_MODULES:
        tree = ast.parse(inspect.getsource(importlib.import_module(name)))
        in_debug_logs = {
            id(node)
            for call in ast.walk(tree)
            if isinstance(call, ast.Call) and ast.unparse(call.func) == "structlogger.debug"
            for keyword in call.keywords
            for node in ast.walk(keyword.value)
        }
        uses = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "copy"
        ]
        assert uses, name
        assert all(node.attr == "deepcopy" and id(node) in in_debug_logs for node in uses), name


def test_debug_log_arguments_are_copied_only_when_debug_logs_are_written() -> None:
    import logging

    from rasa.core import processor

    apply_fixes()
    events = [{"event": "slot", "name": "a", "value": [1]}]
    rasa_logger = logging.getLogger("rasa")
    level = rasa_logger.level
    try:
        rasa_logger.setLevel(logging.INFO)
        assert processor.copy.deepcopy(events) is events
        rasa_logger.setLevel(logging.DEBUG)
        copied = processor.copy.deepcopy(events)
        assert copied == events and copied is not events and copied[0] is not events[0]
        assert processor.copy.copy(events) is not events  # everything else is the real module
    finally:
        rasa_logger.setLevel(level)


class _RecordingNode:
    """Stands in for a GraphNode: records its calls, answers (name, what it was given)."""

    def __init__(self, name: str, calls: list[tuple[str, tuple]], fail: bool = False) -> None:
        self.name, self.calls, self.fail = name, calls, fail

    def __call__(self, *inputs: object) -> tuple[str, object]:
        self.calls.append((self.name, inputs))
        if self.fail:
            raise RuntimeError("component failed")
        return self.name, (self.name, inputs)


def _runner_and_dask_graph(fail: str | None = None) -> tuple[object, list, object]:
    from rasa.engine.graph import GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    def node(target: bool = False, **needs: str) -> SchemaNode:
        return SchemaNode(needs=needs, uses=FallbackClassifier, constructor_name="create",
                          fn="process", config={}, is_target=target)  # fmt: skip

    nodes = {
        "a": node(), "b": node(x="a", t="__tracker__"), "c": node(x="a", y="b"),
        "d": node(x="c", g="ghost"), "e": node(), "f": node(x="e", target=True),
    }  # fmt: skip
    calls: list[tuple[str, tuple]] = []
    runner = DaskGraphRunner.__new__(DaskGraphRunner)
    runner._graph_schema = GraphSchema(nodes)
    runner._instantiated_nodes = {n: _RecordingNode(n, calls, fail == n) for n in nodes}
    return runner, calls, DaskGraphRunner


def test_graph_runs_give_what_dask_gives_with_the_same_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dask
    from rasa.engine.runner import dask as rasa_runner

    apply_fixes()
    tracker = {"sender": "cardholder-1"}
    for targets in (["d"], ["d", "f"], ["b"], None):
        runner, calls, _ = _runner_and_dask_graph()
        with monkeypatch.context() as patched:
            patched.setattr(rasa_runner.dask, "get", None)  # the run must not need the scheduler
            answer = runner.run(inputs={"__tracker__": tracker}, targets=targets)
        run_targets = targets or runner._graph_schema.target_names
        schema = runner._graph_schema.minimal_graph_schema(run_targets)
        graph = runner._build_dask_graph(schema)
        runner._add_inputs_to_graph({"__tracker__": tracker}, graph)
        dask_calls: list[tuple[str, tuple]] = []
        for recording in runner._instantiated_nodes.values():
            recording.calls = dask_calls
        assert answer == dict(dask.get(graph, run_targets))
        assert sorted(calls, key=repr) == sorted(dask_calls, key=repr)  # each node once, same args
        order = [name for name, _ in calls]
        for name, inputs in calls:  # every node after the nodes it was given
            given = [i[0] for i in inputs if isinstance(i, tuple) and i[0] in order]
            assert all(order.index(g) < order.index(name) for g in given)
        if targets == ["d"]:
            (d_inputs,) = [inputs for name, inputs in calls if name == "d"]
            assert d_inputs[0][0] == "c" and d_inputs[1] == "ghost"  # nothing gives it: its name
        if targets is None:
            assert set(answer) == {"f"}  # the schema's own targets


def test_graph_run_errors_are_rasa_s() -> None:
    from rasa.engine.exceptions import GraphRunError

    apply_fixes()
    runner, _, _ = _runner_and_dask_graph(fail="c")
    with pytest.raises(GraphRunError, match="Error running runner"):
        runner.run(inputs={"__tracker__": {}}, targets=["d"])
    runner, _, _ = _runner_and_dask_graph()
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        runner.run(inputs={"__tracker__": "a"}, targets=["d"])


def test_sparse_features_are_joined_into_what_scipy_makes() -> None:
    import numpy as np
    from rasa.shared.nlu.training_data.features import Features
    from scipy.sparse import coo_matrix, csr_matrix, hstack, random

    apply_fixes()
    generator = np.random.default_rng(7)
    for left_type, right_type, rows in [(np.float64, np.int64, 5), (np.float64, np.float64, 1),
                                        (np.int64, np.int64, 3), (np.float32, np.float32, 4),
                                        (np.float64, np.int64, 0)]:  # fmt: skip
        left = random(rows, 6, density=0.4, format="coo", random_state=generator).astype(left_type)
        right = random(rows, 9, density=0.3, format="coo", random_state=generator)
        right = (right * 10).astype(right_type)
        joined = Features(left, "sequence", "text", "a")
        joined.combine_with_features(Features(right, "sequence", "text", "b"))
        expected = hstack([left, right])
        assert type(joined.features) is coo_matrix and joined.features.shape == expected.shape
        assert joined.features.dtype == expected.dtype
        for part in ("data", "row", "col"):
            assert np.array_equal(getattr(joined.features, part), getattr(expected, part))
            assert getattr(joined.features, part).dtype == getattr(expected, part).dtype
    other = Features(csr_matrix(np.eye(2)), "sequence", "text", "a")  # not coordinates: scipy's
    other.combine_with_features(Features(coo_matrix(np.eye(2)), "sequence", "text", "b"))
    assert (other.features.toarray() == np.hstack([np.eye(2), np.eye(2)])).all()


@pytest.mark.model
def test_the_fixes_leave_every_parse_of_the_held_out_texts_unchanged(tmp_path) -> None:  # noqa: ANN001
    """The real model parses the same texts as Rasa is and with the fixes: the intents,
    confidences, rankings and entities must be identical."""
    import os
    import subprocess
    import sys

    from bot.settings import PROJECT_ROOT
    from tests.nlu.conftest import newest_model
    from tests.nlu.test_holdout import load_holdout

    texts = [example.text for example in load_holdout()][::2] + ["", "好" * 300, "/affirm"]
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [sys.executable, "-m", "tests.parse_texts", str(newest_model()),
         str(tmp_path / "texts.json"), str(tmp_path / "parses.json")],
        cwd=PROJECT_ROOT, env=environment, check=True, timeout=300,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    parses = json.loads((tmp_path / "parses.json").read_text(encoding="utf-8"))
    assert len(parses["fixed"]) == len(texts) > 100
    assert parses["fixed"] == parses["plain"]


def test_the_fixes_check_the_versions_they_were_written_for(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot import rasa_server

    assert rasa_server.versions_differ() == []  # the pinned lock
    assert len(apply_fixes()) == len(rasa_server.FIXES)
    monkeypatch.setitem(rasa_server.WRITTEN_FOR, "rasa", "3.7.")
    with caplog.at_level("WARNING"):
        assert apply_fixes() == []
    assert "runtime fixes off: rasa 3.6.21 (written for 3.7.)" in caplog.text
