"""Plans that fit a phone, over REST on the real servers: one short card per option with its
full terms in ``custom.details`` beside it, the sentences every option shares said once,
amounts written one way (thousands separators, two decimals) and buttons that name the real
number of payments."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.db import models
from bot.db.store import Store
from bot.launcher import Servers
from bot.plans.explain import own_terms
from tests.support import HARDSHIP_ANSWERS, Chat

pytestmark = [pytest.mark.servers, pytest.mark.model]

CARD_LIMIT = 120  # characters a card may take: four of them and the buttons fit a phone screen
# Sentences every option's terms share: said once after the cards, never on a card.
SHARED = ("《征信业管理条例》", "代办机构")
AMOUNT = re.compile(r"(-?[\d,，.]*\d)\s*元")
WELL_FORMED = re.compile(r"-?\d{1,3}(,\d{3})*\.\d{2}")


@pytest.fixture
def servers(rest_servers: Servers) -> Servers:
    return rest_servers


def up_to_the_plans(chat: Chat, card: str, id_last4: str) -> list[dict[str, Any]]:
    """Ask for instalments, give the card's digits, answer the hardship form whatever its
    order, and return the turn that shows the plans."""
    answers = {"卡号后四位": card, "身份证": id_last4, **HARDSHIP_ANSWERS}
    reply = chat.say("我想办分期还款")
    for _ in range(12):
        if any("/choose_plan" in b.get("payload", "") for m in reply for b in m.get("buttons", [])):
            return reply
        question = [m["text"] for m in reply if m.get("text")][-1]  # the last thing asked
        answer = next((a for key, a in answers.items() if key in question), None)
        assert answer, f"an unexpected question: {question}"
        reply = chat.say(answer)
    raise AssertionError(f"no plans after the hardship form: {reply}")


def cards_of(reply: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(card text, custom) per plan: ``custom`` comes in the card's own message or in the one
    right after it (Rasa's collecting channel sends custom data as a message of its own)."""
    cards = []
    for index, message in enumerate(reply):
        custom = message.get("custom")
        if not isinstance(custom, dict) or "plan" not in custom:
            continue
        text = message.get("text") or (reply[index - 1].get("text") if index else "")
        cards.append((str(text or ""), custom))
    return cards


def payments(offer: models.Offer) -> int:
    schedule = offer.detail.get("schedule")
    return len(schedule) if isinstance(schedule, list) and schedule else int(offer.months)


@pytest.mark.parametrize(
    ("sender", "card", "id_last4"),
    [("cards-li-na", "8832", "567X"), ("cards-wang-qiang", "4410", "9021")],
)
def test_plans_come_as_short_cards_with_their_terms_beside_them(
    servers: Servers, rest_database: str, sender: str, card: str, id_last4: str
) -> None:
    reply = up_to_the_plans(Chat(servers, sender), card, id_last4)
    store = Store.from_url(rest_database)
    offers = sorted(store.rows(models.Offer, conversation_id=sender), key=lambda o: o.rank)
    store.engine.dispose()
    cards = cards_of(reply)
    assert 2 <= len(cards) == len(offers), reply

    for n, ((text, custom), offer) in enumerate(zip(cards, offers, strict=True), start=1):
        assert custom["plan"] == n and text.startswith(f"方案{n}"), (text, custom)
        assert len(text) <= CARD_LIMIT, f"card {n} has {len(text)} characters: {text}"
        details = custom.get("details")
        assert isinstance(details, str) and len(details) > len(text), custom
        # the engine's full terms, less the sentences said once beside the cards
        assert details == own_terms(offer.detail["explanation"])
        assert "《征信业管理条例》" not in details
        assert not any(sentence in text for sentence in SHARED), text
        count = payments(offer)
        if count > 1:
            # equal payments: "× N 期"; a first payment and then less (the minimum): "共 N 期"
            assert f"× {count} 期" in text or f"共 {count} 期" in text, text
        else:
            assert "一次性" in text and "× 1" not in text, text

    texts = "\n".join(m.get("text") or "" for m in reply)
    for sentence in SHARED:
        assert texts.count(sentence) == 1, f"{sentence} said {texts.count(sentence)} times"

    buttons = [b for m in reply for b in m.get("buttons", []) if "/choose_plan" in b["payload"]]
    assert len(buttons) == len(offers)
    for button, offer in zip(buttons, offers, strict=True):
        count, title = payments(offer), button["title"]
        assert f'"plan_choice": "{offer.rank}"' in button["payload"]
        if count > 1:
            assert re.search(rf"(×\s*|共){count}期", title), (title, count)
        else:
            assert "一次性" in title and "×" not in title, title

    shown = [text for text, _ in cards] + [b["title"] for b in buttons]
    amounts = [a for text in shown for a in AMOUNT.findall(text)]
    assert amounts, shown
    badly = [a for a in amounts if not WELL_FORMED.fullmatch(a)]
    assert not badly, f"amounts not written as 1,234.56: {badly}"
    assert any("," in a for a in amounts)  # these balances run into thousands
