"""Start another revision's servers with that revision's own ``bot.launcher.Servers``.

bench_rasa.py measures an older revision (the ``before`` side, a git worktree) beside the
working tree. Both have a package named ``bot``, so the older one cannot be imported into the
benchmark's process: this script runs in a process of its own, with ``cwd`` and ``PYTHONPATH``
the worktree, so ``import bot.launcher`` is the worktree's. Only what ``Servers`` offered at every
revision since the Rasa workers is used (ports, model, database, log folder, ``processes``,
``rasa_workers``, ``start``, ``stop``); the rest of the configuration comes from the environment.

Protocol: once the servers answer (by that revision's own readiness rule) one JSON line goes to
stdout: ``{"rasa": pid, "actions": pid, "rasa_workers": n, "ready_s": s}`` (or
``{"error": ...}`` and exit 1). Then it waits until stdin closes (the benchmark ended, or died)
or SIGTERM / SIGINT arrives, and stops the servers.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-port", type=int, required=True)
    parser.add_argument("--actions-port", type=int, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    return parser.parse_args(argv)


def _stop_on_signal(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # unwinds into the `finally` that stops the servers


def report(payload: dict[str, object]) -> None:
    print(json.dumps(payload), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    from bot.launcher import LaunchError, Servers  # the worktree's, through PYTHONPATH

    servers = Servers(
        rasa_port=args.rasa_port,
        actions_port=args.actions_port,
        model=args.model,
        database_url=args.database_url,
        log_dir=args.log_dir,
    )
    started = time.monotonic()
    try:
        try:
            servers.start()
        except LaunchError as error:
            report({"error": str(error)})
            return 1
        actions, rasa = servers.processes[0], servers.processes[1]
        report(
            {
                "rasa": rasa.pid,
                "actions": actions.pid,
                "rasa_workers": servers.rasa_workers,
                "ready_s": round(time.monotonic() - started, 2),
            }
        )
        sys.stdin.read()  # returns at EOF: the benchmark closed the pipe or is gone
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
