"""Run Rasa's command line with the product's runtime fixes applied.

Each fix removes work Rasa 3.6 repeats for every message without changing what it computes;
together they took the Rasa server from 47 to ~20 ms of CPU per message in bench/bench_rasa.py:

- action replies are checked against the response schema with a validator built once (Rasa's
  ``jsonschema.validate`` re-checks the schema itself on every call: a third of the CPU);
- an event's class is found by its type name in a table, not by walking every subclass of
  ``Event`` for every event read back from the database or the action server;
- calls to the action server reuse their connections (Rasa opens a new one per call) and
  encode the conversation with ujson;
- TED and memoization predict only when a policy above them has not decided
  (bot.dialogue.lazy_policies);
- the nodes a graph run needs are worked out once per graph and target, not on every run;
- arguments of debug log calls are deep-copied only when debug logs are written.

    python -m bot.rasa_server run --model models/assistant.tar.gz ...   (what the launcher runs)
    python -m bot.rasa_server test core ...                             (`make stories`)
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import logging
import sys
import weakref
from typing import Any

import aiohttp
import ujson
from jsonschema import ValidationError
from jsonschema.validators import validator_for

_PATCHED = "_bot_runtime_fix"
# Below sanic's keep-alive (5 s), so an idle connection is never reused just as it is closed.
ACTION_KEEPALIVE_S = 2.0
ACTION_CONNECTIONS = 100


def _mark(function: Any) -> Any:
    setattr(function, _PATCHED, True)
    return function


def _is_patched(function: Any) -> bool:
    return getattr(function, _PATCHED, False)


def validate_action_results_with_one_validator() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if _is_patched(RemoteAction._validate_action_result):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise error

    RemoteAction._validate_action_result = _mark(_validate_action_result)


def resolve_event_types_from_a_table() -> None:
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    if _is_patched(original):
        return
    found: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        cls = found.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(_mark(resolve_by_type))


def reuse_action_server_connections() -> None:
    """Rasa's ``EndpointConfig.session()`` makes a session (and a TCP connection) per call; the
    sessions made here share one connection pool per event loop and leave it open, and encode
    the request (the whole conversation) with ujson, 2.5 times faster than the json module."""
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    if _is_patched(EndpointConfig.session):
        return
    pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.TCPConnector] = (
        weakref.WeakKeyDictionary()
    )

    def pool() -> aiohttp.TCPConnector:
        loop = asyncio.get_running_loop()
        connector = pools.get(loop)
        if connector is None or connector.closed:
            connector = aiohttp.TCPConnector(
                limit=ACTION_CONNECTIONS, keepalive_timeout=ACTION_KEEPALIVE_S
            )
            pools[loop] = connector
        return connector

    def session(self: EndpointConfig) -> aiohttp.ClientSession:
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        return aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=pool(),
            connector_owner=False,
            json_serialize=ujson.dumps,  # the whole conversation goes with every call
        )

    EndpointConfig.session = _mark(session)


def load_models_with_lazy_policies() -> None:
    """Rewrite the prediction graph of every model as it is read from its archive."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from bot.dialogue.lazy_policies import with_lazy_policies

    original = LocalModelStorage.from_model_archive.__func__
    if _is_patched(original):
        return

    def from_model_archive(cls: type, storage_path: Any, model_archive_path: Any) -> Any:
        storage, metadata = original(cls, storage_path, model_archive_path)
        metadata.predict_schema = with_lazy_policies(metadata.predict_schema)
        return storage, metadata

    LocalModelStorage.from_model_archive = classmethod(_mark(from_model_archive))


def plan_each_graph_run_once() -> None:
    """Rasa works out which graph nodes a prediction needs on every run, walking every path
    of the graph again; the answer for a (graph, targets) pair never changes, so keep it."""
    from rasa.engine.graph import GraphSchema

    original = GraphSchema.minimal_graph_schema
    if _is_patched(original):
        return

    def minimal_graph_schema(self: GraphSchema, targets: list[str] | None = None) -> GraphSchema:
        plans = self.__dict__.setdefault("_bot_minimal_schemas", {})
        key = tuple(targets) if targets else None
        if key not in plans:
            plans[key] = original(self, targets)
        return plans[key]

    GraphSchema.minimal_graph_schema = _mark(minimal_graph_schema)


# Rasa modules that use the `copy` module only to copy the arguments of debug log calls.
DEBUG_LOG_COPYING_MODULES = (
    "rasa.core.processor",
    "rasa.core.policies.rule_policy",
    "rasa.core.policies.memoization",
)


class _CopyForDebugLogs:
    """Stands in for the ``copy`` module there: Rasa deep-copies events, states and slots for
    ``structlogger.debug(...)`` on every prediction, before the logger drops the call because
    debug logging is off. The copy is made only when debug logs are written."""

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if logging.getLogger("rasa").isEnabledFor(logging.DEBUG):
            return copy.deepcopy(value, memo)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def copy_log_arguments_only_for_debug_logs() -> None:
    for name in DEBUG_LOG_COPYING_MODULES:
        module = importlib.import_module(name)
        if not isinstance(module.copy, _CopyForDebugLogs):
            module.copy = _CopyForDebugLogs()


def apply_fixes() -> None:
    """Install every fix (idempotent)."""
    validate_action_results_with_one_validator()
    resolve_event_types_from_a_table()
    reuse_action_server_connections()
    load_models_with_lazy_policies()
    plan_each_graph_run_once()
    copy_log_arguments_only_for_debug_logs()


def main() -> None:
    apply_fixes()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
