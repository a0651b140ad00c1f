"""``rasa data validate`` with every warning accounted for; exits 1 on any other (issue 14).

Rasa 3.6's validator warns about each response no story or rule names, and most responses here
are sent by the actions (146 of the 148 warnings of 2026-12-02), which Rasa cannot see. This runs
Rasa's own validation (``rasa.cli.utils.validate_files``, what ``rasa data validate`` runs) and
accepts a warning only when it is one of:

- a response the code sends: its name is a string constant in ``actions/`` or ``bot/``
  (``dispatcher.utter_message(response="utter_…")``, ``bot.responses.render("utter_…")``);
- a form's question, ``utter_ask_<slot>`` or ``utter_ask_<form>_<slot>`` for a slot the form
  requires (Rasa's forms ask with it);
- listed with its reason in ``scripts/validate_data_allowed.yml``.

So a response nothing sends still fails, and so does a listed warning that no longer occurs (the
list stays honest). ``make test`` runs it; ``tests/test_rasa_commands.py`` runs the same check.

    python scripts/validate_data.py
"""

from __future__ import annotations

import ast
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = ROOT / "scripts" / "validate_data_allowed.yml"
CODE_FOLDERS = ("actions", "bot")
UNUSED_RESPONSE = re.compile(r"^The utterance '(utter_\w+)' is not used in any story or rule\.$")
# Python's own notices about deprecated APIs in Rasa's dependencies are not about the data.
NOT_ABOUT_THE_DATA = (DeprecationWarning, PendingDeprecationWarning, ImportWarning)


@dataclass
class Report:
    warnings: list[str] = field(default_factory=list)
    sent_by_code: list[str] = field(default_factory=list)
    form_questions: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # listed, but Rasa no longer warns
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unexplained or self.stale or self.errors)


def responses_in_code(root: Path = ROOT) -> set[str]:
    """Every ``utter_…`` string constant in the Python code of ``actions/`` and ``bot/``."""
    found: set[str] = set()
    for folder in CODE_FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if re.fullmatch(r"utter_\w+", node.value):
                        found.add(node.value)
    return found


def form_questions(domain: dict) -> set[str]:
    """The responses Rasa's forms ask their slots with."""
    questions: set[str] = set()
    for form, spec in (domain.get("forms") or {}).items():
        for slot in (spec or {}).get("required_slots") or []:
            questions |= {f"utter_ask_{slot}", f"utter_ask_{form}_{slot}"}
    return questions


def allowed_warnings(path: Path = ALLOWED) -> dict[str, str]:
    """The listed warnings and their reasons; a listing without a reason is an error."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    allowed: dict[str, str] = {}
    for entry in entries:
        warning, reason = str(entry.get("warning", "")).strip(), str(entry.get("reason", ""))
        if not warning or not reason.strip():
            raise ValueError(f"{path.name}: every entry needs a warning and a reason: {entry}")
        allowed[warning] = reason
    return allowed


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def rasa_warnings(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """(warnings, errors) of Rasa's validation of the project, as ``rasa data validate`` runs
    it: Python warnings, log records and structlog events of level warning and above."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    import structlog
    from rasa.cli.utils import validate_files
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.utils.common import EXPECTED_WARNINGS  # what Rasa's command line never shows

    logged: list[str] = []

    def keep(_logger: object, level: str, event: dict) -> dict:
        if level in ("warning", "warn", "error", "exception", "critical"):
            logged.append(f"{event.get('event')}: {event.get('event_info', '')}".strip(": "))
        raise structlog.DropEvent

    saved = structlog.get_config()
    structlog.configure(processors=[keep])
    records = _Records()
    logging.getLogger().addHandler(records)
    errors: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            importer = TrainingDataImporter.load_from_config(
                domain_path=str(root / "domain.yml"),
                training_data_paths=[str(root / "data")],
                config_path=str(root / "config.yml"),
            )
            try:
                validate_files(False, None, importer)
            except SystemExit as stop:  # Rasa's print_error_and_exit: an error, not a warning
                errors.append(f"Rasa's validation failed (exit {stop.code})")
    finally:
        logging.getLogger().removeHandler(records)
        structlog.configure(**saved)
    found = [
        str(item.message).strip()
        for item in caught
        if not issubclass(item.category, NOT_ABOUT_THE_DATA)
        and not any(
            issubclass(item.category, category) and re.match(pattern, str(item.message))
            for category, pattern in EXPECTED_WARNINGS
        )
    ]
    return found + logged + records.messages, errors


def check(root: Path = ROOT, allowed_path: Path = ALLOWED) -> Report:
    found, errors = rasa_warnings(root)
    domain = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8"))
    return classify(
        found,
        errors=errors,
        sent=responses_in_code(root),
        questions=form_questions(domain),
        allowed=allowed_warnings(allowed_path),
    )


def classify(
    found: list[str],
    *,
    errors: list[str],
    sent: set[str],
    questions: set[str],
    allowed: dict[str, str],
) -> Report:
    """Each warning accounted for, or not; the listed warnings Rasa no longer gives."""
    report = Report(warnings=list(found), errors=list(errors))
    for warning in found:
        unused = UNUSED_RESPONSE.match(warning)
        if warning in allowed:
            report.listed.append(warning)
        elif unused and unused.group(1) in sent:
            report.sent_by_code.append(warning)
        elif unused and unused.group(1) in questions:
            report.form_questions.append(warning)
        else:
            report.unexplained.append(warning)
    report.stale = [warning for warning in allowed if warning not in found]
    return report


def describe(report: Report) -> Iterator[str]:
    yield (
        f"rasa data validate: {len(report.warnings)} warnings — {len(report.sent_by_code)} "
        f"responses sent by actions/ or bot/, {len(report.form_questions)} form questions, "
        f"{len(report.listed)} listed with a reason in {ALLOWED.relative_to(ROOT)}"
    )
    for error in report.errors:
        yield f"ERROR {error}"
    for warning in report.unexplained:
        yield f"UNEXPLAINED {warning}"
    for warning in report.stale:
        yield f"STALE (listed, no longer warned; remove it from the list) {warning}"
    if report.unexplained:
        yield (
            "fix the data, send the response from the code, or list the warning with its "
            f"reason in {ALLOWED.relative_to(ROOT)}"
        )


def main() -> int:
    report = check()
    for line in describe(report):
        print(line)
    print("ok" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
