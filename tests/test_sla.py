"""The queue's waiting targets by priority (policy/handoff.yml ``sla_minutes``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.escalation import HIGH, NORMAL, URGENT
from bot.handoff.sla import Sla, SlaError, load_sla


def test_the_bank_s_targets_and_the_states_of_a_waiting_case() -> None:
    sla = load_sla()  # the repository's policy/handoff.yml
    assert sla.minutes == {URGENT: 5, HIGH: 30, NORMAL: 240}
    assert sla.state(URGENT, 4 * 60 - 1) == "ok"
    assert sla.state(URGENT, 4 * 60) == "near"  # 80 % of five minutes
    assert sla.state(URGENT, 5 * 60) == "breached"
    assert Sla({URGENT: 5, HIGH: 30, NORMAL: 240}).target_seconds(7) == 240 * 60


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("sla_minutes: [5, 30]", "must map urgent/high/normal"),
        ("sla_minutes: {soon: 5}", "sla_minutes.soon: unknown priority"),
        ("sla_minutes: {urgent: 0}", "sla_minutes.urgent must be a whole number"),
        ("sla_minutes: {high: 'half an hour'}", "sla_minutes.high must be a whole number"),
    ],
)
def test_a_wrong_block_is_refused_with_its_key(tmp_path: Path, block: str, message: str) -> None:
    path = tmp_path / "handoff.yml"
    path.write_text(block + "\n", encoding="utf-8")
    with pytest.raises(SlaError, match=message):
        load_sla(path)
    path.write_text("sla_minutes: {normal: 120}\n", encoding="utf-8")
    assert load_sla(path).minutes[NORMAL] == 120  # the others keep their defaults
