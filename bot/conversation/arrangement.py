"""What a question about an existing arrangement asks, beyond its dates and amounts."""

from __future__ import annotations

from bot.nlu.script import to_simplified

_EARLY = ("提前", "一次还清", "一次性还完", "全部还完", "多还", "还清剩下")
_MISSED = ("漏还", "漏了", "没还上", "还不上", "逾期一期", "晚还", "迟还", "错过", "忘了还", "断供")


def asks_about(text: str) -> set[str]:
    """{"early"} for "能不能提前还完", {"missed"} for "漏还一期会怎样"; empty for
    "第一期什么时候"."""
    simplified = to_simplified(text or "")
    topics = set()
    if any(word in simplified for word in _EARLY):
        topics.add("early")
    if any(word in simplified for word in _MISSED):
        topics.add("missed")
    return topics
