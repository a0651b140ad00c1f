"""Plays the off-script conversation suite (tests/conversations/*.yml) against running servers
over REST and judges every reply (issue 15).

A conversation is data: an id, a description, an optional ``account`` (a demo cardholder such as
``CC-0001``, or ``fresh``: a bench account of its own, the default) and turns. A turn is

- a text (or button payload) with ``expect`` (regexes, at least one must match the bot's joined
  reply texts and button titles, raw or in Simplified script), ``expect_all`` (each must match)
  and ``forbid`` (regexes none may match); ``{card}`` and ``{id}`` in the text are the account's
  card and ID last-4;
- ``macro: verify``: the knowledge check (card last-4, then ID last-4, following the questions);
- ``macro: plans`` (optional ``answers``, ``until``, ``none_ok``, ``expect``, ``forbid``):
  answers whatever the assistant asks on the way to the plans (identity, consent, reason,
  income, expenses, other debts, dependents, months) until plans are on the table, or until the
  question ``until`` is asked — adaptive, so it depends on neither the order nor the wording;
- ``restart: true``: the same account in a new conversation (a new sender id), e.g. a later day.

The verdicts: (a) false technical-problem replies (the text of ``utter_technical_problem`` while
the servers are healthy), (b) dead ends (the same reply three times in a row), (c) wrong or lost
turns (``expect`` unmatched or ``forbid`` matched), (d) the share of conversations with none.

Run by tests/test_conversation_suite.py (its own servers and bench accounts); by hand against
servers whose database holds the bench accounts (bench/bench_accounts.py):
``python -m tests.conversations.runner --url http://127.0.0.1:5005 --only '^pc-'``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

SUITE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = SUITE_DIR.parent.parent
DOMAIN_PATH = PROJECT_ROOT / "domain.yml"
DEMO_ACCOUNTS_PATH = PROJECT_ROOT / "data" / "demo" / "demo_accounts.yml"
REPORT_PATH = PROJECT_ROOT / "tests" / "artifacts" / "conversation-suite.json"
SENDER_PREFIX = "suite-"
THREADS = 4
REQUEST_TIMEOUT_S = 60
DEAD_END_REPEATS = 3
MAX_MACRO_STEPS = 12

# What the assistant asks on the way to the plans, recognised by meaning (the wording is the
# bank's), checked on the last bubble in this order; the answer the macro sends.
PLANS_SHOWN = re.compile(r"方案\s*[1一１]|方案1|/choose_plan")
NO_PLANS = re.compile(r"AP-|没有能直接给出|没有.{0,8}合适.{0,4}方案|专员.{0,10}(联系|商量)")
STEPS: list[tuple[str, re.Pattern[str]]] = [
    ("consent", re.compile(r"同意|是否愿意|願意")),
    ("card", re.compile(r"卡号后四位|卡號後四位")),
    ("id", re.compile(r"身份证.{0,6}后四位|身份證.{0,6}後四位")),
    ("reason", re.compile(r"原因")),
    ("recovery", re.compile(r"几个月|恢复|幾個月|恢復")),
    ("dependents", re.compile(r"抚养|赡养|撫養|贍養")),
    ("other_debts", re.compile(r"其他贷款|其他欠款|其他还款|其他貸款|其他還款")),
    ("expenses", re.compile(r"开支|支出|開支")),
    ("income", re.compile(r"收入")),
]
DEFAULT_ANSWERS = {
    "consent": "同意",
    "reason": "我失业了",
    "income": "4500",
    "expenses": "3000",
    "other_debts": "没有",
    "dependents": "1",
    "recovery": "6个月",
}


def technical_problem_text(domain_path: Path = DOMAIN_PATH) -> str:
    """The opening of utter_technical_problem up to its second comma or full stop, read from
    the domain (bank-editable), e.g. "抱歉，系统暂时出了点问题"."""
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8"))
    text = str(domain["responses"]["utter_technical_problem"][0]["text"])
    parts = re.split(r"([，。,.])", text)
    return "".join(parts[:3]) if len(parts) >= 3 else text


def simplified(text: str) -> str:
    """The reply in Simplified script, so that one regex judges both scripts."""
    try:
        from bot.nlu.script import to_simplified
    except ImportError:  # run outside the project's environment: judge the raw text only
        return text
    return to_simplified(text)


def matches(pattern: str, shown: str, shown_simplified: str) -> bool:
    return bool(re.search(pattern, shown) or re.search(pattern, shown_simplified))


@dataclass(frozen=True)
class Account:
    card: str
    id_last4: str


def demo_accounts(path: Path = DEMO_ACCOUNTS_PATH) -> dict[str, Account]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        entry["account_id"]: Account(str(entry["card_last4"]), str(entry["id_last4"]))
        for entry in data["accounts"]
    }


@dataclass
class Turn:
    sent: str
    replies: list[dict[str, Any]]
    text: str
    expect: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Result:
    id: str
    file: str
    description: str
    turns: list[Turn] = field(default_factory=list)
    error: str | None = None

    @property
    def technical(self) -> int:
        return sum(1 for t in self.turns for p in t.problems if p == "technical_problem")

    @property
    def dead_ends(self) -> int:
        return sum(1 for t in self.turns for p in t.problems if p == "dead_end")

    @property
    def wrong(self) -> int:
        return sum(
            1 for t in self.turns if any(p.startswith(("expect", "forbid")) for p in t.problems)
        )

    @property
    def sensible(self) -> bool:
        return self.error is None and not any(t.problems for t in self.turns)


def reply_text(replies: list[dict[str, Any]]) -> str:
    """What a cardholder sees at once: texts and buttons (title and payload). Custom payloads
    (the plans' full terms, folded away) stay in the report but are not judged."""
    parts: list[str] = []
    for message in replies:
        if message.get("text"):
            parts.append(str(message["text"]))
        for button in message.get("buttons") or []:
            parts.append(f"[{button.get('title', '')}|{button.get('payload', '')}]")
    return "\n".join(parts)


def step_of(question: str) -> str | None:
    """Which step of the way to the plans a question is: the first in STEPS it matches."""
    return next((name for name, pattern in STEPS if pattern.search(question)), None)


def last_question(replies: list[dict[str, Any]]) -> str:
    """The last bubble's text, in Simplified script."""
    texts = [str(m["text"]) for m in replies if m.get("text")]
    return simplified(texts[-1]) if texts else ""


class Player:
    """Plays one conversation after another; shared by the worker threads."""

    def __init__(
        self, rasa_url: str, accounts: dict[str, Account], fresh: Callable[[], Account]
    ) -> None:
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.accounts = accounts
        self.fresh = fresh
        self.technical = technical_problem_text()
        self._local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def send(self, sender: str, text: str) -> tuple[list[dict[str, Any]], float]:
        started = time.monotonic()
        response = self.session().post(
            self.url, json={"sender": sender, "message": text}, timeout=REQUEST_TIMEOUT_S
        )
        elapsed = time.monotonic() - started
        if response.status_code != 200:
            return [{"text": f"<HTTP {response.status_code}> {response.text[:200]}"}], elapsed
        return response.json(), elapsed

    def play(self, conversation: dict[str, Any], file: str) -> Result:
        result = Result(conversation["id"], file, conversation.get("description", ""))
        name = conversation.get("account", "fresh")
        account = self.fresh() if name == "fresh" else self.accounts[name]
        state = {"sender": new_sender(), "recent": []}
        try:
            for turn in conversation["turns"]:
                self.play_turn(turn, account, state, result)
        except (requests.RequestException, ValueError) as error:
            result.error = f"{type(error).__name__}: {error}"
        return result

    def play_turn(
        self, turn: dict[str, Any] | str, account: Account, state: dict, result: Result
    ) -> None:
        if isinstance(turn, str):
            turn = {"say": turn}
        if turn.get("restart"):
            state["sender"], state["recent"] = new_sender(), []
            return
        macro = turn.get("macro")
        if macro == "verify":
            self.verify(account, state, result)
        elif macro == "plans":
            self.to_plans(account, state, result, turn)
        elif macro:
            raise ValueError(f"unknown macro {macro!r} in {result.id}")
        else:
            text = str(turn["say"]).replace("{card}", account.card)
            text = text.replace("{id}", account.id_last4)
            self.exchange(
                text,
                state,
                result,
                as_list(turn.get("expect")),
                as_list(turn.get("forbid")),
                as_list(turn.get("expect_all")),
            )

    def exchange(
        self,
        text: str,
        state: dict,
        result: Result,
        expect: list[str],
        forbid: list[str],
        expect_all: list[str] | None = None,
    ) -> Turn:
        replies, seconds = self.send(state["sender"], text)
        shown = reply_text(replies)
        plain = simplified(shown)
        turn = Turn(text, replies, shown, expect, forbid, seconds=seconds)
        if self.technical in plain or self.technical in shown:
            turn.problems.append("technical_problem")
        recent: list[str] = state["recent"]
        recent.append(shown)
        del recent[:-DEAD_END_REPEATS]
        if len(recent) == DEAD_END_REPEATS and len(set(recent)) == 1:
            turn.problems.append("dead_end")
        if expect and not any(matches(pattern, shown, plain) for pattern in expect):
            turn.problems.append("expect: " + " | ".join(expect))
        turn.problems.extend(
            f"expect all: {p}" for p in expect_all or [] if not matches(p, shown, plain)
        )
        turn.problems.extend(f"forbid: {p}" for p in forbid if matches(p, shown, plain))
        result.turns.append(turn)
        return turn

    def verify(self, account: Account, state: dict, result: Result) -> None:
        """Card then ID; the assistant may already have asked for the card, or not yet."""
        turn = self.exchange(account.card, state, result, [r"身份证|身份證|核实成功|核實成功"], [])
        if re.search(r"核实成功|核實成功", turn.text):
            return
        self.exchange(account.id_last4, state, result, [r"核实成功|核實成功"], [])

    def to_plans(self, account: Account, state: dict, result: Result, turn: dict[str, Any]) -> None:
        """Answer what is asked until plans are shown (or, with ``none_ok``, honestly none with
        a reference), or until the question ``until`` is asked; ``expect``/``forbid`` judge the
        last reply."""
        answers = {**DEFAULT_ANSWERS, **{k: str(v) for k, v in (turn.get("answers") or {}).items()}}
        until, none_ok = turn.get("until"), bool(turn.get("none_ok"))
        previous = result.turns[-1].replies if result.turns else []

        def arrived() -> bool:
            shown = simplified(reply_text(previous))
            if (
                until
            ):  # the question asked is the first step it matches (the consent names them all)
                return step_of(last_question(previous)) == until
            return bool(PLANS_SHOWN.search(shown) or (none_ok and NO_PLANS.search(shown)))

        asked: list[str] = []
        for _ in range(MAX_MACRO_STEPS):
            if arrived():
                break
            if until and PLANS_SHOWN.search(simplified(reply_text(previous))):
                break  # the plans came without the question ``until``: judged below
            asked.append(reply_text(previous))
            if len(asked) >= 2 and asked[-1] == asked[-2]:
                break  # the same question again after its answer: stuck, judged below
            step = step_of(last_question(previous))
            if step is None:
                text = answers.get("start", "我想办分期还款")
            elif step == "card":
                text = account.card
            elif step == "id":
                text = account.id_last4
            else:
                text = answers[step]
            previous = self.exchange(text, state, result, [], []).replies
        if not result.turns:
            return
        last = result.turns[-1]
        if not arrived():
            last.problems.append(f"expect: {until or 'plans'} reached (macro)")
            return
        plain = simplified(last.text)
        expect, forbid = as_list(turn.get("expect")), as_list(turn.get("forbid"))
        if expect and not any(matches(p, last.text, plain) for p in expect):
            last.problems.append("expect: " + " | ".join(expect))
        last.problems.extend(f"forbid: {p}" for p in forbid if matches(p, last.text, plain))


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def new_sender() -> str:
    return f"{SENDER_PREFIX}{uuid.uuid4().hex[:16]}"


def load_conversations(folder: Path = SUITE_DIR) -> list[tuple[str, dict[str, Any]]]:
    """Every conversation of every file, with its file's name; ids must be unique."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found.extend((path.name, conversation) for conversation in data.get("conversations", []))
    ids = Counter(conversation["id"] for _, conversation in found)
    duplicates = [name for name, count in ids.items() if count > 1]
    if duplicates:
        raise ValueError(f"duplicate conversation ids: {duplicates}")
    return found


@dataclass
class Figures:
    conversations: int
    messages: int
    false_technical_problems: int
    conversations_with_technical_problem: int
    dead_ends: int
    wrong_or_lost_turns: int
    sensible: int
    share_sensible: float
    errors: int
    seconds: float


def figures(results: list[Result], seconds: float) -> Figures:
    sensible = sum(1 for r in results if r.sensible)
    return Figures(
        conversations=len(results),
        messages=sum(len(r.turns) for r in results),
        false_technical_problems=sum(r.technical for r in results),
        conversations_with_technical_problem=sum(1 for r in results if r.technical),
        dead_ends=sum(r.dead_ends for r in results),
        wrong_or_lost_turns=sum(r.wrong for r in results),
        sensible=sensible,
        share_sensible=round(sensible / len(results), 3) if results else 0.0,
        errors=sum(1 for r in results if r.error),
        seconds=round(seconds, 1),
    )


def run_suite(
    rasa_url: str,
    fresh: Callable[[], Account],
    conversations: list[tuple[str, dict[str, Any]]] | None = None,
    threads: int = THREADS,
) -> tuple[Figures, list[Result]]:
    conversations = load_conversations() if conversations is None else conversations
    player = Player(rasa_url, demo_accounts(), locked(fresh))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(lambda item: player.play(item[1], item[0]), conversations))
    return figures(results, time.monotonic() - started), results


def locked(make: Callable[[], Account]) -> Callable[[], Account]:
    lock = threading.Lock()

    def make_safely() -> Account:
        with lock:
            return make()

    return make_safely


def fresh_accounts(cards: Iterable[str], id_last4: str) -> Callable[[], Account]:
    """One bench account after another (bench/bench_accounts.py's cards)."""
    iterator = iter(cards)
    return lambda: Account(next(iterator), id_last4)


def table(fig: Figures) -> str:
    rows = [
        ("conversations", fig.conversations),
        ("messages sent", fig.messages),
        ("false technical-problem replies", fig.false_technical_problems),
        ("  in conversations", fig.conversations_with_technical_problem),
        ("dead ends (same reply 3x)", fig.dead_ends),
        ("wrong or lost turns", fig.wrong_or_lost_turns),
        ("conversations judged sensible", f"{fig.sensible} ({fig.share_sensible:.1%})"),
        ("conversations broken off (HTTP)", fig.errors),
        ("seconds", fig.seconds),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def failures(results: list[Result], limit: int | None = None) -> list[dict[str, Any]]:
    found = [
        {
            "conversation": r.id,
            "file": r.file,
            "sent": t.sent,
            "problems": t.problems,
            "replies": t.text,
        }
        for r in results
        for t in r.turns
        if t.problems
    ]
    found += [{"conversation": r.id, "file": r.file, "error": r.error} for r in results if r.error]
    return found[:limit] if limit else found


def failure_report(results: list[Result], limit: int = 400) -> str:
    lines: list[str] = []
    for item in failures(results, limit):
        if "error" in item:
            lines.append(f"- {item['conversation']}: {item['error']}")
            continue
        replies = item["replies"].replace("\n", " ⏎ ")
        if len(replies) > 300:
            replies = replies[:300] + "…"
        lines.append(
            f"- {item['conversation']}: sent {item['sent']!r}\n"
            f"    problems: {'; '.join(item['problems'])}\n"
            f"    replies:  {replies}"
        )
    return "\n".join(lines)


def frequent_failures(results: list[Result], top: int = 10) -> list[tuple[str, int, list[str]]]:
    """The replies that failed most often (by their first 40 characters), with what was sent:
    where one fix in the bot helps most."""
    counts: Counter[str] = Counter()
    sent: dict[str, list[str]] = {}
    for item in failures(results):
        if "error" in item:
            continue
        key = item["replies"].replace("\n", " ")[:40]
        counts[key] += 1
        sent.setdefault(key, []).append(item["sent"])
    return [(key, n, sent[key][:6]) for key, n in counts.most_common(top)]


def frequent_failure_report(results: list[Result], top: int = 10) -> str:
    return "\n".join(
        f"{n:4d} × {key}…  ← e.g. {', '.join(repr(s) for s in examples)}"
        for key, n, examples in frequent_failures(results, top)
    )


def by_theme(results: list[Result]) -> dict[str, dict[str, int]]:
    themes: dict[str, dict[str, int]] = {}
    for r in results:
        theme = themes.setdefault(r.file, {"conversations": 0, "sensible": 0})
        theme["conversations"] += 1
        theme["sensible"] += int(r.sensible)
    return themes


def write_report(fig: Figures, results: list[Result], path: Path = REPORT_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "figures": asdict(fig),
        "themes": by_theme(results),
        "frequent_failures": [
            {"reply_starts": key, "turns": n, "sent": examples}
            for key, n, examples in frequent_failures(results, 20)
        ],
        "failures": failures(results),
        "conversations": [
            {
                "id": r.id,
                "file": r.file,
                "sensible": r.sensible,
                "error": r.error,
                "turns": [
                    {
                        "sent": t.sent,
                        "replies": t.replies,
                        "problems": t.problems,
                        "seconds": round(t.seconds, 2),
                    }
                    for t in r.turns
                ],
            }
            for r in results
        ],
    }
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--only", help="a regex on conversation ids")
    parser.add_argument("--cards-from", type=int, default=1000, help="first bench card to use")
    args = parser.parse_args(argv)
    conversations = load_conversations()
    if args.only:
        conversations = [c for c in conversations if re.search(args.only, c[1]["id"])]
    cards = (f"{n:04d}" for n in itertools.count(args.cards_from))
    fig, results = run_suite(args.url, fresh_accounts(cards, "1234"), conversations)
    print(table(fig))
    print(failure_report(results))
    print("most frequent failed replies:")
    print(frequent_failure_report(results))
    print(f"report: {write_report(fig, results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
