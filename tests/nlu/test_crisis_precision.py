"""The crisis screen's precision and recall on held-out messages (issue 15).

``crisis_ordinary.txt`` holds ordinary things a cardholder writes (family words, short answers,
English, emoji, Cantonese, hyperbole such as 烦死了 / 要死了这么多钱, 跳楼价, 不会想不开);
``crisis_distress.txt`` holds real distress, direct and indirect. Both are written apart from
data/nlu and bot/nlu/data/crisis_phrases.txt. A message raises a crisis alert (hotline + urgent
escalation) when the parse's intent is express_distress.

Required: false alerts on the ordinary set ≤ 1 %, recall on the distress set 1.0 — for the whole
pipeline (model marker) and for the guard alone (no model: the safety net must catch every
distress message by itself).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.nlu.crisis_guard import PHRASES_PATH, crisis_phrase

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
ORDINARY_PATH = HERE / "crisis_ordinary.txt"
DISTRESS_PATH = HERE / "crisis_distress.txt"
DISTRESS = "express_distress"
MAX_FALSE_ALERT_RATE = 0.01
MIN_ORDINARY, MIN_DISTRESS = 600, 120
# Short generic turns ("好的", "没有") may also turn up in someone's training data later.
MAX_ORDINARY_TRAINING_OVERLAP = 0.02


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _quiet_structlog() -> None:
    """Rasa logs every parse at debug level through structlog; keep warnings and above."""
    import logging

    import structlog

    if not structlog.is_configured():
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@dataclass(frozen=True)
class Figures:
    """Crisis alerts on both sets and what they say."""

    ordinary: list[str]
    distress: list[str]
    false_alerts: list[str]  # ordinary lines flagged, with why
    misses: list[str]  # distress lines not flagged, with what they became

    @property
    def false_alert_rate(self) -> float:
        return len(self.false_alerts) / len(self.ordinary)

    @property
    def recall(self) -> float:
        return (len(self.distress) - len(self.misses)) / len(self.distress)

    def summary(self, what: str) -> str:
        return (
            f"{what}: false alerts {len(self.false_alerts)}/{len(self.ordinary)} = "
            f"{self.false_alert_rate:.2%} (max {MAX_FALSE_ALERT_RATE:.0%}); recall "
            f"{self.recall:.4f} ({len(self.misses)} of {len(self.distress)} missed, must be 1.0)"
        )

    def check(self, what: str) -> None:
        print(self.summary(what))
        problems = []
        if self.false_alert_rate > MAX_FALSE_ALERT_RATE:
            problems.append("false alerts:\n" + "\n".join(f"  {x}" for x in self.false_alerts))
        if self.misses:
            problems.append("missed distress:\n" + "\n".join(f"  {x}" for x in self.misses))
        if problems:  # the lines themselves, without a traceback of this helper
            pytest.fail(self.summary(what) + "\n" + "\n".join(problems), pytrace=False)


def test_held_out_sets_are_well_formed() -> None:
    ordinary, distress = read_lines(ORDINARY_PATH), read_lines(DISTRESS_PATH)
    assert len(ordinary) >= MIN_ORDINARY and len(distress) >= MIN_DISTRESS
    assert len(set(ordinary)) == len(ordinary), "duplicate ordinary lines"
    assert len(set(distress)) == len(distress), "duplicate distress lines"
    assert not set(ordinary) & set(distress)


def test_held_out_sets_are_not_copied_from_training_data() -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = load_data(str(PROJECT_ROOT / "data" / "nlu")).training_examples
    training = {message.get("text", "").strip() for message in examples}
    phrases = {line.strip() for line in PHRASES_PATH.read_text(encoding="utf-8").splitlines()}
    copied = sorted(set(read_lines(DISTRESS_PATH)) & (training | phrases))
    assert not copied, f"distress lines copied from training data or phrases: {copied}"
    ordinary = read_lines(ORDINARY_PATH)
    overlap = sorted(set(ordinary) & training)
    assert len(overlap) / len(ordinary) <= MAX_ORDINARY_TRAINING_OVERLAP, (
        f"ordinary lines also in data/nlu (remove them from the training data): {overlap}"
    )


def test_the_guard_alone_catches_every_distress_message_and_few_ordinary_ones() -> None:
    ordinary, distress = read_lines(ORDINARY_PATH), read_lines(DISTRESS_PATH)
    Figures(
        ordinary,
        distress,
        false_alerts=[f"{t}  [{crisis_phrase(t)}]" for t in ordinary if crisis_phrase(t)],
        misses=[t for t in distress if not crisis_phrase(t)],
    ).check("crisis guard alone")


@pytest.fixture(scope="module")
def pipeline_figures(trained_model_path: Path) -> Figures:
    """Load the model once and parse both held-out sets through the whole NLU pipeline."""
    ordinary, distress = read_lines(ORDINARY_PATH), read_lines(DISTRESS_PATH)
    root = str(PROJECT_ROOT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOT_TODAY", "2026-11-22")
        python_path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        patch.setenv("PYTHONPATH", python_path)
        patch.syspath_prepend(root)
        _quiet_structlog()
        from rasa.core.agent import Agent

        agent = Agent.load(str(trained_model_path))
        assert agent.is_ready(), f"could not load the model {trained_model_path}"

        async def intents(texts: list[str]) -> list[tuple[str, float]]:
            parses = [await agent.parse_message(text) for text in texts]
            named = [parse.get("intent") or {} for parse in parses]
            return [(i.get("name") or "", float(i.get("confidence") or 0.0)) for i in named]

        loop = asyncio.new_event_loop()  # private loop: leaves pytest-asyncio's loop alone
        try:
            on_ordinary = loop.run_until_complete(intents(ordinary))
            on_distress = loop.run_until_complete(intents(distress))
        finally:
            loop.close()
    return Figures(
        ordinary,
        distress,
        false_alerts=[
            f"{text}  [guard: {crisis_phrase(text) or '-'}, {confidence:.2f}]"
            for text, (intent, confidence) in zip(ordinary, on_ordinary, strict=True)
            if intent == DISTRESS
        ],
        misses=[
            f"{text}  -> {intent} {confidence:.2f}"
            for text, (intent, confidence) in zip(distress, on_distress, strict=True)
            if intent != DISTRESS
        ],
    )


@pytest.mark.model
def test_the_pipeline_flags_at_most_one_percent_and_misses_no_distress(
    pipeline_figures: Figures, trained_model_path: Path
) -> None:
    print(f"model: {trained_model_path}")
    pipeline_figures.check("NLU pipeline + crisis guard")
