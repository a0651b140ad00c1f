"""Rasa's own command line on this project: ``.venv/bin/rasa shell | run | run actions | test``.

Rasa reads endpoints.yml and credentials.yml with every ``${VAR}`` taken from the environment and
stops on an unset one; ``rasa run actions`` starts rasa_sdk's bare server, which answers anyone.
Only the launcher (bot.launcher) knew how to start the project. ``make install`` therefore puts a
one-line hook into the venv (``arrears_assistant_rasa.pth``, written by ``install_hook``): when
Rasa's command line (the venv's ``rasa``, or ``python -m rasa``) starts in the project folder, it
calls ``on_interpreter_start``, which does what the launcher does:

- fills in, where the environment leaves them unset: ``ACTION_ENDPOINT_URL`` (the action server
  on 127.0.0.1:5055), ``ACTION_SERVER_TOKEN`` (the demo's own, from .var/local-secrets.json;
  with ``ASSISTANT_ENV=production`` the bank's must be set), ``LOCK_STORE_URL`` (``REDIS_URL``,
  else the SQLite file beside the SQLite database), ``ALLOWED_ORIGINS`` (the server's own origin,
  for the widget's demo page), ``SANIC_REQUEST_MAX_SIZE`` (64 KB) and the launcher's quiet
  settings (telemetry off);
- passes copies of credentials.yml / endpoints.yml without the blocks whose variables are still
  unset (Telegram without ``TELEGRAM_TOKEN``; the shared lock store on PostgreSQL without Redis),
  unless the command names its own files;
- listens on 127.0.0.1 unless ``--interface`` says otherwise (Rasa's own default is 0.0.0.0);
- runs ``rasa run actions`` as ``python -m bot.action_server`` (token check, 127.0.0.1 only);
- refuses ``--enable-api`` without a credential (``RASA_API_TOKEN`` / ``RASA_JWT_SECRET`` or
  ``--auth-token`` / ``--jwt-secret``; docs/security.md).

Plain ``rasa run`` / ``rasa shell`` run stock Rasa, without bot.rasa_server's runtime fixes (the
launcher's ``python -m bot.rasa_server run`` has them: 47 → ~20 ms of CPU per message).

The hook itself only compares ``sys.argv`` and the folder: any other Python of the venv imports
nothing of the project.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOOK_NAME = "arrears_assistant_rasa.pth"
DEFAULT_ACTIONS_PORT = 5055
DEFAULT_RASA_PORT = 5005
# What the launcher sets for its children too (bot.launcher.Servers.environment).
QUIET = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}
# The Rasa commands that read endpoints.yml, and the files each takes (``shell nlu`` and
# ``test nlu`` read neither).
CONFIG_OPTIONS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("run",): ("--endpoints", "--credentials"),
    ("shell",): ("--endpoints", "--credentials"),
    ("interactive",): ("--endpoints",),
    ("interactive", "core"): ("--endpoints",),
    ("test",): ("--endpoints",),
    ("test", "core"): ("--endpoints",),
}
# What `rasa test core` / `rasa test nlu` test when not told: the story tests and the held-out NLU
# set (`make stories`, `make nlu-report`), not every file under tests/ (Rasa's default, which also
# reads the npm packages there) nor the training data. The held-out dates are written for
# BOT_TODAY. Plain `rasa test` is Rasa's end-to-end mode, which these stories are not written for
# (13 of 26 pass there, 26 of 26 in `rasa test core`): left as Rasa has it.
TEST_DEFAULTS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {
    ("test", "core"): (("--stories", "tests/test_stories.yml"),),
    ("test", "nlu"): (("--nlu", "tests/nlu/holdout.yml"),),
}
HOLDOUT_TODAY = "2026-11-22"
SHORT = {"--stories": "-s", "--nlu": "-u"}
SUBCOMMANDS = {
    "run": {"actions"},
    "shell": {"nlu"},
    "interactive": {"core"},
    "test": {"core", "nlu"},
}
API_COMMANDS = {("run",), ("shell",)}

# The hook: run by site.py for every Python of the venv (a .pth line starting with "import");
# anything but Rasa's command line started in the project folder leaves it at once.
_HOOK_SOURCE = """\
import os, sys
_argv = getattr(sys, "argv", None) or [""]
if os.path.basename(_argv[0]) == "rasa" or list(getattr(sys, "orig_argv", [])[1:3]) == [
    "-m", "rasa"
]:
    try:
        _cwd = os.path.realpath(os.getcwd())
    except OSError:
        _cwd = None
    if _cwd == {root!r}:
        if {root!r} not in sys.path:
            sys.path.append({root!r})
        try:
            __import__("bot.rasa_cli").rasa_cli.on_interpreter_start()
        except Exception as _error:
            sys.stderr.write("bot.rasa_cli: %r\\n" % (_error,))
"""


class CommandRefused(RuntimeError):
    """The command would break a rule of docs/security.md or cannot run as given."""


@dataclass
class Plan:
    """What the hook changes for one Rasa command."""

    arguments: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    exec_command: list[str] | None = None  # run this instead (rasa run actions)
    notes: list[str] = field(default_factory=list)


def hook_line(root: Path = PROJECT_ROOT) -> str:
    return f"import sys; exec({_HOOK_SOURCE.format(root=str(root))!r})\n"


def install_hook(target: Path) -> Path:
    """Write the hook into the venv's site-packages (``make install``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(hook_line(), encoding="utf-8")
    return target


def rasa_arguments(argv: Sequence[str], orig_argv: Sequence[str]) -> list[str] | None:
    """The arguments after ``rasa`` when this interpreter runs Rasa's command line (the venv's
    ``rasa`` script or ``python -m rasa``), else None. Read while site.py runs: ``sys.argv[0]``
    is then the script, or ``-m`` for a module."""
    if argv and Path(argv[0]).name == "rasa":
        return list(argv[1:])
    if argv and argv[0] == "-m" and list(orig_argv[1:3]) == ["-m", "rasa"]:
        return list(argv[1:])
    return None


def _command(arguments: Sequence[str]) -> tuple[str, ...]:
    if not arguments:
        return ()
    first = arguments[0]
    if len(arguments) > 1 and arguments[1] in SUBCOMMANDS.get(first, ()):
        return (first, arguments[1])
    return (first,)


def _given(arguments: Sequence[str], *options: str) -> bool:
    return any(a in options or a.split("=", 1)[0] in options for a in arguments)


def _option_value(arguments: Sequence[str], options: tuple[str, ...], default: str) -> str:
    for index, argument in enumerate(arguments):
        name, _, value = argument.partition("=")
        if name in options:
            if value:
                return value
            if index + 1 < len(arguments):
                return arguments[index + 1]
    return default


def plan_for(
    arguments: Sequence[str], env: Mapping[str, str], copies_dir: Path | None = None
) -> Plan:
    """What to change for ``rasa <arguments>`` started with ``env`` (no side effect but the
    configuration copies written into ``copies_dir``)."""
    command = _command(arguments)
    plan = Plan(arguments=list(arguments))
    plan.environment.update({k: v for k, v in QUIET.items() if k not in env})
    if command == ("run", "actions"):
        plan.exec_command = action_server_command(arguments[2:])
        return plan
    inserted: list[str] = []
    for option, value in TEST_DEFAULTS.get(command, ()):
        if not _given(arguments, option, SHORT.get(option, option)):
            inserted += [option, value]
            plan.notes.append(f"{option.lstrip('-')}: {value}")
            if option == "--nlu" and "BOT_TODAY" not in env:
                plan.environment["BOT_TODAY"] = HOLDOUT_TODAY
    if command not in CONFIG_OPTIONS:
        plan.arguments[len(command) : len(command)] = inserted
        return plan
    merged = {**env, **plan.environment}
    plan.environment.update(service_defaults(command, arguments, merged))
    merged.update(plan.environment)
    if command in API_COMMANDS:
        inserted += api_arguments(arguments, merged)
        if not _given(arguments, "-i", "--interface"):  # as the launcher: Rasa's is 0.0.0.0
            inserted += ["--interface", "127.0.0.1"]
    for option in CONFIG_OPTIONS[command]:
        if _given(arguments, option):
            continue
        copy, left_out = configured_copy(option, merged, copies_dir)
        if copy is not None:
            inserted += [option, str(copy)]
            plan.notes.append(f"{option.lstrip('-')}.yml without {', '.join(left_out)}")
    # right after the command words, so Rasa still reads a model path given last
    plan.arguments[len(command) : len(command)] = inserted
    plan.notes.insert(0, f"action server {merged['ACTION_ENDPOINT_URL']}")
    return plan


def service_defaults(
    command: tuple[str, ...], arguments: Sequence[str], env: Mapping[str, str]
) -> dict[str, str]:
    """The launcher's settings for what ``env`` leaves unset."""
    from bot.launcher import RASA_REQUEST_MAX_BYTES, sqlite_lock_url
    from bot.settings import ConfigurationError, load_settings

    try:
        settings = load_settings(env)
    except ConfigurationError as error:
        raise CommandRefused(str(error)) from None
    defaults: dict[str, str] = {}
    if not env.get("ACTION_ENDPOINT_URL"):
        defaults["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{DEFAULT_ACTIONS_PORT}/webhook"
    if not env.get("ACTION_SERVER_TOKEN"):
        defaults["ACTION_SERVER_TOKEN"] = settings.action_server_token
    if not env.get("LOCK_STORE_URL"):
        shared = env.get("REDIS_URL") or sqlite_lock_url(settings.database_url)
        if shared:
            defaults["LOCK_STORE_URL"] = shared
    if command in API_COMMANDS and not env.get("SANIC_REQUEST_MAX_SIZE"):
        # sanic refuses larger bodies before any route reads them (docs/security.md)
        defaults["SANIC_REQUEST_MAX_SIZE"] = str(RASA_REQUEST_MAX_BYTES)
    if command == ("run",) and not env.get("ALLOWED_ORIGINS"):
        port = _option_value(arguments, ("-p", "--port"), str(DEFAULT_RASA_PORT))
        defaults["ALLOWED_ORIGINS"] = f"http://127.0.0.1:{port},http://localhost:{port}"
    return defaults


def api_arguments(arguments: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Rasa's HTTP API only with a credential, as the launcher starts it."""
    if not _given(arguments, "--enable-api") or _given(
        arguments, "-t", "--auth-token", "--jwt-secret"
    ):
        return []
    token = (env.get("RASA_API_TOKEN") or "").strip()
    secret = (env.get("RASA_JWT_SECRET") or "").strip()
    if not token and not secret:
        raise CommandRefused(
            "Rasa's HTTP API needs a credential here (docs/security.md): set RASA_API_TOKEN or "
            "RASA_JWT_SECRET, or pass --auth-token / --jwt-secret"
        )
    # one argument each (as the launcher passes them): a secret may start with "-"
    return ([f"--auth-token={token}"] if token else []) + (
        [f"--jwt-secret={secret}"] if secret else []
    )


def configured_copy(
    option: str, env: Mapping[str, str], copies_dir: Path | None = None
) -> tuple[Path | None, list[str]]:
    """credentials.yml or endpoints.yml as the launcher passes it: a copy without the blocks
    whose variables are unset, or (None, []) when the file needs none left out. Copies are
    named by their content, so processes started with other settings never share one."""
    from bot.launcher import without_unset_blocks
    from bot.settings import VAR_DIR

    name = option.lstrip("-") + ".yml"
    original = (PROJECT_ROOT / name).read_text(encoding="utf-8")
    text, left_out = without_unset_blocks(original, env)
    if not left_out:
        return None, []
    folder = copies_dir or VAR_DIR / "rasa-cli"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    copy = folder / f"{Path(name).stem}-{digest}.yml"
    if not copy.exists():
        temporary = copy.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, copy)
    return copy, left_out


def action_server_command(arguments: Sequence[str]) -> list[str]:
    """``rasa run actions [options]`` as the project's action server. Its port and actions
    package are kept; CORS and TLS are refused (no browser has business there; TLS belongs to
    the bank's proxy), logging options are ignored."""
    parser = argparse.ArgumentParser(prog="rasa run actions", add_help=False)
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_ACTIONS_PORT)
    parser.add_argument("--actions", default="actions")
    for flag in ("-v", "--verbose", "-vv", "--debug", "--quiet", "--auto-reload"):
        parser.add_argument(flag, action="store_true")
    parser.add_argument("--logging-config-file")
    known, unknown = parser.parse_known_args(list(arguments))
    if unknown:
        raise CommandRefused(
            f"the project's action server (bot.action_server) takes --port and --actions only, "
            f"not {' '.join(unknown)}: it sends no CORS headers and leaves TLS to the bank's proxy"
        )
    return [
        sys.executable, "-m", "bot.action_server",
        "--actions", known.actions, "--port", str(known.port),
    ]  # fmt: skip


_started = False


def on_interpreter_start() -> None:
    """Called by the hook for every Python of the venv started in the project folder (twice
    where the venv's lib64 is a link to lib: acts once)."""
    global _started
    if _started:
        return
    _started = True
    arguments = rasa_arguments(sys.argv, getattr(sys, "orig_argv", []))
    if arguments is None:
        return
    try:
        plan = plan_for(arguments, os.environ)
    except CommandRefused as refusal:
        sys.stderr.write(f"error: {refusal}\n")
        sys.stderr.flush()
        os._exit(2)
    os.environ.update(plan.environment)
    if plan.exec_command is not None:
        sys.stderr.write("rasa run actions: the project's action server (bot.action_server)\n")
        sys.stderr.flush()
        os.execv(plan.exec_command[0], plan.exec_command)
    sys.argv[1:] = plan.arguments
    if plan.notes:
        notes = "; ".join(plan.notes)
        sys.stderr.write(f"rasa with the project's defaults (bot/rasa_cli.py): {notes}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install the hook for Rasa's own commands.")
    parser.add_argument("command", choices=["install-hook"])
    parser.add_argument("target", type=Path, help=f"site-packages/{HOOK_NAME} of the venv")
    args = parser.parse_args(argv)
    print(f"installed {install_hook(args.target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
