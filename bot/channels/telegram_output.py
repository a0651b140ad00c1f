"""Sending replies through the Bot API: plain text, buttons as inline keyboards.

Errors are left to the caller: a live turn moves what could not be sent to the outbox, the
delivery loop decides between waiting (429), giving up (blocked) and retrying later.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram_format import chunk_text, reply_text
from bot.channels.telegram_records import TelegramRecords
from bot.responses import render


class TelegramCollector(CollectingOutputChannel):
    """Collects a turn's replies under the channel name "telegram" (for channel-specific
    response variations), so they can be sent after the turn."""

    @classmethod
    def name(cls) -> str:
        return "telegram"


class TelegramSender:
    def __init__(self, bot: Bot, records: TelegramRecords) -> None:
        self.bot = bot
        self.records = records

    def keyboard(self, chat_id: str, buttons: list[dict[str, Any]]) -> InlineKeyboardMarkup:
        """One button per row (Chinese titles are long); callback_data is a short stored id."""
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
        return InlineKeyboardMarkup(rows)

    async def send(self, chat_id: str, message: dict[str, Any]) -> int:
        """Send one Rasa reply (split if very long; buttons under the last part).
        Returns how many Telegram messages went out; a reply with nothing visible sends none."""
        chunks = chunk_text(reply_text(message))
        buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict)]
        if not chunks and buttons:
            chunks = [render("utter_telegram_choose")]
        for index, chunk in enumerate(chunks):
            markup = (
                self.keyboard(chat_id, buttons) if buttons and index == len(chunks) - 1 else None
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
