"""Run Rasa's command line with the product's runtime fixes applied.

Each fix removes work Rasa 3.6 repeats for every message without changing what it computes;
together they took the Rasa server from 47 to ~20 ms of CPU per message in bench/bench_rasa.py:

- action replies are checked against the response schema with validators built once (Rasa's
  ``jsonschema.validate`` re-checks the schema itself on every call: a third of the CPU), each
  event only against the kind of event it names;
- an event's class is found by its type name in a table, not by walking every subclass of
  ``Event`` for every event read back from the database or the action server;
- calls to the action server reuse their connections (Rasa opens a new one per call) and
  encode the conversation with ujson;
- TED and memoization predict only when a policy above them has not decided
  (bot.dialogue.lazy_policies);
- the nodes a graph run needs, and their order, are worked out once per graph and target, not
  on every run, and the nodes run in that order without dask's scheduler;
- arguments of debug log calls are deep-copied only when debug logs are written;
- a model calls its traced prediction function directly, not through TensorFlow's dispatch,
  and featurizers' sparse features are joined without scipy's general block code;
- with several workers, each listens on its own socket, so connections are spread over them.

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
from collections.abc import Callable
from typing import Any

import aiohttp
import ujson
from jsonschema import ValidationError
from jsonschema.validators import validator_for

from bot.privacy import install_log_masking

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
    validate = action_result_validator(RemoteAction.action_response_format_spec())

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        try:
            validate(result)
            return True
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise error

    RemoteAction._validate_action_result = _mark(_validate_action_result)


def action_result_validator(schema: dict[str, Any]) -> Callable[[Any], None]:
    """Raises ``ValidationError`` for what ``jsonschema.validate(result, schema)`` rejects.

    Rasa's schema says an event is ``oneOf`` 23 kinds, each told apart by its ``event`` name,
    so jsonschema tries every event against all 23 (over 1 ms per action call). Checked once
    here: when every kind names a different ``event``, an event is valid exactly when it is
    valid under the kind it names, so only that one is tried. Otherwise: plain jsonschema."""
    whole = _validator(schema)
    try:
        item = schema["properties"]["events"]["items"]
        names = [kind["properties"]["event"]["const"] for kind in item["oneOf"]]
        by_name_only = item["properties"]["event"] == {"type": "string"} and "event" in item.get(
            "required", ()
        )
    except (KeyError, TypeError):
        names, by_name_only = [], False
    if not by_name_only or len(set(names)) != len(names):
        return whole.validate
    without_kinds = copy.deepcopy(schema)
    del without_kinds["properties"]["events"]["items"]["oneOf"]
    outline = _validator(without_kinds)
    kinds = {name: _validator(kind) for name, kind in zip(names, item["oneOf"], strict=True)}

    def validate(result: Any) -> None:
        outline.validate(result)  # the result's shape, and each event's name, time, metadata
        for event in result.get("events") or ():
            kind = kinds.get(event["event"])
            if kind is None or not kind.is_valid(event):
                raise ValidationError(f"{event!r} is not valid under any of the given schemas")

    return validate


def _validator(schema: dict[str, Any]) -> Any:
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


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


def run_graphs_without_a_scheduler() -> None:
    """Rasa hands every graph run (one for the NLU, one per predicted action) to dask's
    scheduler, which orders the tasks anew each time; run the nodes in an order worked out once
    per graph and targets instead. Same calls with the same arguments (dask passes a need that
    nothing provides as its name, and so does this)."""
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    original = DaskGraphRunner.run
    if _is_patched(original):
        return

    def run(self: DaskGraphRunner, inputs: dict | None = None, targets: list | None = None) -> dict:
        run_targets = targets if targets else self._graph_schema.target_names
        schema = self._graph_schema.minimal_graph_schema(run_targets)
        inputs = inputs or {}
        if any(name not in schema.nodes and name not in inputs for name in run_targets):
            return original(self, inputs, targets)  # an unusual request: Rasa's own way
        for value in inputs.values():
            if isinstance(value, str) and value in schema.nodes:
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none of "
                    f"the input names passed to the `run` method are the same as node names "
                    f"in the graph schema."
                )
        values: dict[str, Any] = {name: (name, value) for name, value in inputs.items()}
        try:
            for name, needs in _execution_order(schema, tuple(run_targets)):
                if name in values:
                    continue  # an input given under a node's name replaces the node, as in dask
                node = self._instantiated_nodes[name]
                values[name] = node(*(values.get(need, need) for need in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(values[name] for name in run_targets)

    DaskGraphRunner.run = _mark(run)


def _execution_order(schema: Any, targets: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """The schema's nodes each after the nodes it needs (kept on the schema, which the
    memoized ``minimal_graph_schema`` keeps too)."""
    orders = schema.__dict__.setdefault("_bot_execution_orders", {})
    if targets in orders:
        return orders[targets]
    order: list[tuple[str, list[str]]] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name not in schema.nodes:
            return
        placed.add(name)
        needs = list(schema.nodes[name].needs.values())
        for need in needs:
            place(need)
        order.append((name, needs))

    for target in targets:
        place(target)
    orders[targets] = order
    return order


def call_the_traced_prediction_directly() -> None:
    """Rasa wraps a model's prediction step in ``tf.function`` with one fixed input signature,
    so it is traced once; yet every call goes through TensorFlow's dispatch, which matches the
    inputs against the traced signatures again (a third of DIET's time per message). After the
    first call the model keeps the one traced function and calls it directly."""
    from rasa.utils.tensorflow.models import RasaModel

    original = RasaModel._rasa_predict
    if _is_patched(original):
        return

    def _rasa_predict(self: Any, batch_in: Any) -> Any:
        step = getattr(self, "_tf_predict_step", None)
        if step is not None and hasattr(step, "get_concrete_function"):
            self._tf_predict_step = step.get_concrete_function()  # its input_signature's
        return original(self, batch_in)

    RasaModel._rasa_predict = _mark(_rasa_predict)


def join_sparse_features_directly() -> None:
    """Each featurizer's sparse features are appended to the ones before with
    ``scipy.sparse.hstack``, whose general block code converts and checks every block again
    (a seventh of the NLU's time). Two coordinate matrices are joined here directly, into the
    same entries in the same order, when they share a dtype or join into float64 (counts after
    weights: scipy's choice too); anything else goes to scipy."""
    import numpy as np
    from rasa.shared.nlu.training_data.features import Features
    from scipy.sparse import coo_matrix

    original = Features._combine_sparse_features
    if _is_patched(original):
        return

    def _combine_sparse_features(self: Features, additional: Features) -> None:
        left, right = self.features, additional.features
        if not (
            type(left) is coo_matrix
            and type(right) is coo_matrix
            and (left.dtype == right.dtype or np.result_type(left.dtype, right.dtype) == np.float64)
            and left.shape[0] == right.shape[0]
        ):
            return original(self, additional)
        self.features = coo_matrix(
            (
                np.concatenate((left.data, right.data)),
                (
                    np.concatenate((left.row, right.row)),
                    np.concatenate((left.col, right.col + left.shape[1])),
                ),
            ),
            shape=(left.shape[0], left.shape[1] + right.shape[1]),
        )
        self._cached_fingerprint = None

    Features._combine_sparse_features = _mark(_combine_sparse_features)


_OWN_SOCKET_ADDRESS = "_bot_worker_address"


def spread_connections_over_workers() -> None:
    """Sanic's workers share one listening socket, and the event loop of whichever worker wakes
    first accepts every connection waiting: twenty cardholders connecting at once often all
    land on one worker, which then serves them alone for as long as their connections live,
    while the other idles. Here each worker listens on a socket of its own with SO_REUSEPORT,
    and the kernel spreads new connections over them. (The parent process only holds the port,
    bound but not listening, so it is given no connection.)"""
    import socket

    from sanic import app as sanic_app
    from sanic.server import runners

    if _is_patched(sanic_app.serve_multiple):
        return
    serve_multiple = sanic_app.serve_multiple
    serve = runners.serve

    def bound_socket(host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        return sock

    def serve_multiple_on_own_sockets(server_settings: dict[str, Any], workers: int) -> Any:
        if server_settings.get("sock") is not None or server_settings.get("unix"):
            return serve_multiple(server_settings, workers)
        address = (server_settings["host"] or "0.0.0.0", server_settings["port"])
        holder = bound_socket(*address)
        settings = {**server_settings, "sock": holder, _OWN_SOCKET_ADDRESS: address}
        settings.update(host=None, port=None)
        try:
            return serve_multiple(settings, workers)
        finally:
            holder.close()

    def serve_on_own_socket(**settings: Any) -> Any:
        address = settings.pop(_OWN_SOCKET_ADDRESS, None)
        if address is not None:  # in a worker process
            settings["sock"].close()  # the parent's holder, inherited
            # listened on once the worker serves: no connection waits for a loading worker
            settings["sock"] = bound_socket(*address)
        return serve(**settings)

    sanic_app.serve_multiple = _mark(serve_multiple_on_own_sockets)
    runners.serve = _mark(serve_on_own_socket)


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


# The versions every fix was written and tested for (their internals are what is patched).
WRITTEN_FOR = {"rasa": "3.6.21", "sanic": "21.12.", "tensorflow": "2.12."}
FIXES = (
    validate_action_results_with_one_validator,
    resolve_event_types_from_a_table,
    reuse_action_server_connections,
    load_models_with_lazy_policies,
    plan_each_graph_run_once,
    run_graphs_without_a_scheduler,
    call_the_traced_prediction_directly,
    join_sparse_features_directly,
    spread_connections_over_workers,
    copy_log_arguments_only_for_debug_logs,
)


def versions_differ() -> list[str]:
    """The packages installed in other versions than the fixes were written for."""
    from importlib.metadata import PackageNotFoundError, version

    differ = []
    for package, expected in WRITTEN_FOR.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            installed = "none"
        if not installed.startswith(expected):
            differ.append(f"{package} {installed} (written for {expected})")
    return differ


def apply_fixes() -> list[str]:
    """Install every fix (idempotent) and return their names; none, with a warning, when Rasa,
    sanic or TensorFlow is not the version they were written for (stock Rasa then runs)."""
    differ = versions_differ()
    if differ:
        logging.getLogger(__name__).warning("runtime fixes off: %s", "; ".join(differ))
        return []
    for fix in FIXES:
        fix()
    names = [fix.__name__ for fix in FIXES]
    logging.getLogger(__name__).info("runtime fixes on: %s", ", ".join(names))
    return names


def main() -> None:
    install_log_masking()
    apply_fixes()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
