"""Sending replies through the Bot API: plain text, buttons as inline keyboards, and a plan
card's full terms behind a "details" button.

Errors are left to the caller: a live turn moves what could not be sent to the outbox, the
delivery loop decides between waiting (429), giving up (blocked) and retrying later.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram_format import chunk_text, reply_text
from bot.channels.telegram_records import TelegramRecords
from bot.channels.telegram_texts import DETAILS_BUTTON
from bot.nlg import TRADITIONAL, localise_message
from bot.nlu.script import detect_script
from bot.responses import render


class TelegramCollector(CollectingOutputChannel):
    """Collects a turn's replies under the channel name "telegram" (for channel-specific
    response variations), so they can be sent after the turn."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """As Rasa collects, except that a text's ``custom`` data stays with it: Rasa's
        collector makes it a message of its own, and a plan card would lose its terms."""
        custom = message.get("custom")
        if not (isinstance(custom, dict) and message.get("text")):
            await super().send_response(recipient_id, message)
            return
        message = {key: value for key, value in message.items() if key != "custom"}
        before = len(self.messages)
        await super().send_response(recipient_id, message)
        texts = [m for m in self.messages[before:] if m.get("text")]
        if texts:
            texts[-1]["custom"] = custom


def card_details(message: dict[str, Any]) -> tuple[str, str] | None:
    """A plan card's "details" button: (label, full terms from ``custom.details``), both in the
    script the card is written in (the terms come from the plan engine in Simplified, the card
    from the response localised for the cardholder). None for any other message."""
    custom = message.get("custom")
    details = custom.get("details") if isinstance(custom, dict) else None
    text = str(message.get("text") or "")
    if not isinstance(details, str) or not details.strip() or not text.strip():
        return None
    script = TRADITIONAL if detect_script(text) == TRADITIONAL else None
    return (
        localise_message({"text": DETAILS_BUTTON}, script)["text"],
        localise_message({"text": details.strip()}, script)["text"],
    )


class TelegramSender:
    def __init__(self, bot: Bot, records: TelegramRecords) -> None:
        self.bot = bot
        self.records = records

    def keyboard(
        self, chat_id: str, buttons: list[dict[str, Any]], details: tuple[str, str] | None = None
    ) -> InlineKeyboardMarkup:
        """One button per row (Chinese titles are long); callback_data is a short stored id.
        ``details`` (label, text) adds a last row that shows a card's full terms."""
        rows = [
            [
                InlineKeyboardButton(
                    str(button.get("title") or button.get("payload") or "")[:64],
                    callback_data=self.records.remember_button(
                        chat_id, str(button.get("payload") or button.get("title") or "")
                    ),
                )
            ]
            for button in buttons
        ]
        if details is not None:
            label, text = details
            rows.append(
                [
                    InlineKeyboardButton(
                        label, callback_data=self.records.remember_details(chat_id, text)
                    )
                ]
            )
        return InlineKeyboardMarkup(rows)

    async def send(self, chat_id: str, message: dict[str, Any]) -> int:
        """Send one Rasa reply (split if very long; buttons under the last part).
        Returns how many Telegram messages went out; a reply with nothing visible sends none."""
        chunks = chunk_text(reply_text(message))
        buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict)]
        details = card_details(message)
        if not chunks and buttons:
            chunks = [render("utter_telegram_choose")]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            markup = (
                self.keyboard(chat_id, buttons, details) if last and (buttons or details) else None
            )
            await self.bot.send_message(chat_id=chat_id, text=chunk, reply_markup=markup)
        return len(chunks)

    async def answer_button(self, callback_query_id: str, notice: str | None = None) -> None:
        """Stop the button's spinner, optionally with a short notice shown by Telegram."""
        await self.bot.answer_callback_query(callback_query_id, text=notice)

    async def remove_keyboard(self, chat_id: str, message_id: int) -> None:
        """A pressed keyboard is removed so the same choice is not sent twice."""
        await self.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=None
        )
