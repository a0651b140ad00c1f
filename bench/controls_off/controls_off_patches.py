"""The working tree with its per-message trust-boundary controls taken out, for the benchmark.

bench_rasa.py's ``controls_off`` side puts this folder first on the PYTHONPATH of its Rasa and
action server, so Python's ``site`` runs sitecustomize.py, which calls ``install()``. That
changes nothing until one of the modules below is imported, then replaces the controls a message
passes through with what the code did before them (issue 10), and nothing else: the same model,
database, conversation and configuration as the ``assistant`` side, so the difference between
the two sides in one run is what the controls cost.
It exists only here; the product has no switch that turns them off.

Taken out (``PATCHES``; tests/test_bench_controls_off.py fails when a target is renamed):
- the channel's checks: bearer token, sender namespace, the keyed client address, the input
  guard (empty, too long, rate counts in the shared lock file);
- log masking (every record of every process) and the tracker store's masking of identity
  digits;
- the action server's token check;
- the actions' verified sessions: the account comes from the ``verified`` / ``account_id``
  slots again, read as before the controls (the account, then the crisis flag), instead of the
  one statement that joins the session row;
- the knowledge check's cross-conversation throttle (the counts read before each check).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any


def _no_log_masking(module: ModuleType) -> None:
    module.install_log_masking = lambda: None


def _no_input_guard(module: ModuleType) -> None:
    module.InputGuard.refusal = lambda self, conversation_id, client, text: None


def _open_rest_channel(module: ModuleType) -> None:
    module.bearer_ok = lambda request, token: True
    module.rest_sender_problem = lambda sender: (
        None if isinstance(sender, str) and sender else "sender is required"
    )
    module.with_client = lambda metadata, address, pepper=None: (
        dict(metadata) if isinstance(metadata, dict) else {}
    )


def _unmasked_tracker_store(module: ModuleType) -> None:
    module.stored_forms = lambda events, start: [event.as_dict() for event in events[start:]]


def _open_action_server(module: ModuleType) -> None:
    module.bearer_matches = lambda authorization, token: True


def _controls_from_slots(module: ModuleType) -> None:
    from bot.identity.sessions import Controls, changes

    def controls(tracker: Any) -> Controls:
        account_id = tracker.get_slot("account_id") if tracker.get_slot("verified") else None
        key = (changes(), account_id)
        cached = tracker.__dict__.get(module._CONTROLS)
        if cached is not None and cached[0] == key:
            return cached[1]
        store = module.store()
        account = store.get_account(account_id) if account_id else None
        reading = Controls(account_id, account, store.in_crisis(tracker.sender_id))
        tracker.__dict__[module._CONTROLS] = (key, reading)
        return reading

    module.controls = controls


def _no_identity_throttle(module: ModuleType) -> None:
    module.KnowledgeCheck.lock_of = lambda self, conversation_id, client, card=None: None


# module → (what is replaced, how); the names are checked by tests/test_bench_controls_off.py
PATCHES: dict[str, tuple[tuple[str, ...], Callable[[ModuleType], None]]] = {
    "bot.privacy": (("install_log_masking",), _no_log_masking),
    "bot.channels.guard": (("InputGuard.refusal",), _no_input_guard),
    "bot.channels.rest": (("bearer_ok", "rest_sender_problem", "with_client"), _open_rest_channel),
    "bot.tracker_store": (("stored_forms",), _unmasked_tracker_store),
    "bot.action_server": (("bearer_matches",), _open_action_server),
    "actions.common": (("controls", "_CONTROLS", "store"), _controls_from_slots),
    "bot.identity.knowledge": (("KnowledgeCheck.lock_of",), _no_identity_throttle),
}


def has_attribute(module: ModuleType, dotted: str) -> bool:
    target: Any = module
    for part in dotted.split("."):
        if not hasattr(target, part):
            return False
        target = getattr(target, part)
    return True


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds the modules of ``PATCHES`` as Python would, and patches each once it has run."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        names, patch = PATCHES[name]
        run_module = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            missing = [dotted for dotted in names if not has_attribute(module, dotted)]
            if missing:  # the bench would measure the controls on both sides: stop loudly
                raise RuntimeError(f"controls_off: {name} has no {', '.join(missing)}")
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    if not any(isinstance(finder, _PatchAfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchAfterImport())
