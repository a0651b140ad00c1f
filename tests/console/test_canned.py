"""Canned replies: the bank's list is checked, and filled in for the case's cardholder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.console.canned import CannedError, load_canned, rendered
from bot.db.store import Store


def test_the_repository_s_list_loads() -> None:
    replies = load_canned()
    assert len(replies) >= 5 and all(reply.title and reply.text for reply in replies)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("您好 {nmae}", r"replies\[0\] \(问候\): unknown variable nmae"),
        ("您好 {name", r"replies\[0\] \(问候\): .*"),
    ],
)
def test_a_wrong_reply_is_refused_with_its_place(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "canned.yml"
    path.write_text(f'replies:\n  - title: 问候\n    text: "{text}"\n', encoding="utf-8")
    with pytest.raises(CannedError, match=message):
        load_canned(path)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_replies_are_filled_in_and_those_needing_the_account_wait_for_it(store: Store) -> None:
    account = store.get_account("CC-0001")
    filled = {reply["title"]: reply["text"] for reply in rendered(account, "张敏")}
    assert filled["问候"].startswith("张伟您好，我是专员张敏")
    assert "37,135.50 元" in filled["说明欠款"]  # the one money format
    anonymous = {reply["title"] for reply in rendered(None, "张敏")}
    assert "问候" not in anonymous and "说明欠款" not in anonymous
    assert "问候（不称呼姓名）" in anonymous
