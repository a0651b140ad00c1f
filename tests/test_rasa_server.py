"""The runtime fixes change how much work Rasa does per message, never what it computes."""

from __future__ import annotations

import asyncio
import json
import re

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
