"""The servers' logs as the launcher writes them: masked, readable, without library notices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.child_logs import pump, without_noise
from bot.privacy import mask_log_text

# What a start wrote into the logs before (shapes copied from .var/logs, 2026-12-02)
RAW = """\
/v/lib/python3.10/site-packages/apscheduler/__init__.py:1: DeprecationWarning: pkg_resources is deprecated as an API.
  from pkg_resources import get_distribution, DistributionNotFound
/v/lib/python3.10/site-packages/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call to `pkg_resources.declare_namespace('ruamel')`.
Implementing implicit namespace packages (as specified in PEP 420) is preferred.
  declare_namespace(pkg)
/v/lib/python3.10/site-packages/matplotlib/fontconfig_pattern.py:66: PyparsingDeprecationWarning: 'setParseAction' deprecated
  ).setParseAction(self._family)
2026-12-02 16:04:00 INFO     root  - Starting Rasa server on http://127.0.0.1:5005
/v/lib/python3.10/site-packages/rasa/core/tracker_store.py:1166: SADeprecationWarning: Calling URL() directly is deprecated
  return sa.engine.url.URL(
/v/lib/python3.10/site-packages/x/y.py:12: FutureWarning: will change
\x1b[93m/v/lib/python3.10/site-packages/rasa/utils/train_utils.py:530: UserWarning: constrain_similarities is set to `False`. It is recommended
  rasa.shared.utils.io.raise_warning(
\x1b[0m2026-12-02 16:04:48 INFO     root  - Rasa server is up and running.
/w/actions/plans.py:40: UserWarning: a policy value looks odd
  warnings.warn("a policy value looks odd")
[2026-12-02 16:03:57 +0000] [18765] [INFO] Starting worker [18765]
"""  # noqa: E501


def test_library_notices_are_dropped_and_everything_else_kept() -> None:
    kept = "".join(without_noise(RAW.splitlines(keepends=True)))
    assert kept == (
        "2026-12-02 16:04:00 INFO     root  - Starting Rasa server on http://127.0.0.1:5005\n"
        "\x1b[0m2026-12-02 16:04:48 INFO     root  - Rasa server is up and running.\n"
        "/w/actions/plans.py:40: UserWarning: a policy value looks odd\n"
        '  warnings.warn("a policy value looks odd")\n'
        "[2026-12-02 16:03:57 +0000] [18765] [INFO] Starting worker [18765]\n"
    )


def test_a_log_line_keeps_its_times_ports_and_line_numbers_but_no_identity_digits() -> None:
    assert mask_log_text("[2026-12-02 16:03:57 +0000] [18765] [INFO] Starting worker [18765]") == (
        "[2026-12-02 16:03:57 +0000] [18765] [INFO] Starting worker [18765]"
    )
    assert mask_log_text('  File "/x/tracker_store.py", line 1166, in f') == (
        '  File "/x/tracker_store.py", line 1166, in f'
    )
    assert mask_log_text("at http://127.0.0.1:5005 and store.py:1166") == (
        "at http://127.0.0.1:5005 and store.py:1166"
    )
    masked = mask_log_text("卡号 6217 8832 1234 5678，身份证后四位１２３４，尾号567X，收入 4500")
    assert not any(group in masked for group in ("6217", "1234", "567X", "4500", "１２３４"))
    assert mask_log_text("[6217]") == "[****]"


def test_a_child_s_output_reaches_its_log_masked_and_quiet(tmp_path: Path) -> None:
    """Whatever the child writes without the logging module: a warning, a traceback."""
    script = (
        "import warnings, sys\n"
        "warnings.warn('old API', DeprecationWarning)\n"
        "print('2026-12-02 16:00:00 INFO serving on http://127.0.0.1:5005', flush=True)\n"
        "raise ValueError('卡号 6217 身份证 1234')\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-W", "always", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert child.stdout is not None
    log = tmp_path / "child.log"
    pump(child.stdout, log).join(timeout=30)
    child.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    assert "serving on http://127.0.0.1:5005" in text
    assert "ValueError: 卡号 **** 身份证 ****" in text
    assert "DeprecationWarning" not in text and "old API" not in text
    assert "6217" not in text and "1234" not in text
