"""The benchmark's controls_off side takes out exactly the controls it names.

bench/controls_off/ replaces functions by name once their modules are imported; when one is
renamed the side would stop at start-up (loudly), and these tests say which name moved before a
benchmark is run. They also check that the patches take effect in a process that has the folder
on its PYTHONPATH, and only there.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTROLS_OFF = PROJECT_ROOT / "bench" / "controls_off"
sys.path.insert(0, str(CONTROLS_OFF))
import controls_off_patches  # noqa: E402

PROBE = """
import json, logging
import actions.common, bot.action_server, bot.channels.rest, bot.tracker_store
from bot.channels.guard import InputGuard
from bot.identity.knowledge import KnowledgeCheck
from bot.privacy import install_log_masking
install_log_masking()
print(json.dumps({
    "guard refuses an empty text": InputGuard().refusal("c", None, "") is not None,
    "log masking": bool(getattr(logging.getLogRecordFactory(), "_masks", False)),
    "sender ../x refused": bot.channels.rest.rest_sender_problem("../x") is not None,
    "action server wrong token": bot.action_server.bearer_matches("Bearer x", "secret"),
    "identity throttle": KnowledgeCheck.lock_of.__qualname__,
    "controls": actions.common.controls.__qualname__,
}))
"""


@pytest.mark.parametrize("module_name", sorted(controls_off_patches.PATCHES))
def test_every_patched_name_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names, _patch = controls_off_patches.PATCHES[module_name]
    missing = [name for name in names if not controls_off_patches.has_attribute(module, name)]
    assert not missing, f"{module_name} no longer has {missing}: update bench/controls_off"


def _probe(pythonpath: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=PROJECT_ROOT, capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_patches_take_effect_only_with_the_folder_on_the_path() -> None:
    assert _probe(str(PROJECT_ROOT)) == {
        "guard refuses an empty text": True,
        "log masking": True,
        "sender ../x refused": True,
        "action server wrong token": False,
        "identity throttle": "KnowledgeCheck.lock_of",
        "controls": "controls",
    }
    assert _probe(os.pathsep.join((str(CONTROLS_OFF), str(PROJECT_ROOT)))) == {
        "guard refuses an empty text": False,
        "log masking": False,
        "sender ../x refused": False,
        "action server wrong token": True,
        "identity throttle": "_no_identity_throttle.<locals>.<lambda>",
        "controls": "_controls_from_slots.<locals>.controls",
    }
