"""One Telegram update, handled the way the product promises: every cardholder gets a calm,
clear answer, and nothing reaches the bot while a specialist holds the conversation.

Text and pressed buttons go to Rasa (sender id = chat id); ``/start`` greets, ``/help``
explains; edits, stickers, photos, voice, files and group chats get a polite explanation.
Replies that cannot be sent right now are moved to the outbox, so the delivery loop sends
them later instead of losing them.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from telegram import CallbackQuery, Message, Update
from telegram.error import Forbidden, TelegramError

from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.telegram_format import command_of
from bot.channels.telegram_output import TelegramCollector, TelegramSender
from bot.channels.telegram_records import TelegramRecords
from bot.privacy import mask
from bot.responses import render

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
PRIVATE = "private"
START_INTENT = "/greet"
# What a held conversation's specialist sees for a message the bot cannot read.
MEDIA_LABELS = {
    "sticker": "[贴纸]",
    "photo": "[图片]",
    "voice": "[语音]",
    "audio": "[音频]",
    "video": "[视频]",
    "video_note": "[视频消息]",
    "animation": "[动图]",
    "document": "[文件]",
    "location": "[位置]",
    "contact": "[联系人名片]",
}


def media_label(message: Message) -> str:
    for attribute, label in MEDIA_LABELS.items():
        if getattr(message, attribute, None):
            return label
    return "[非文字消息]"


class TelegramConversation:
    def __init__(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[None]],
        agent_of: Callable[[], Any],
        sender: TelegramSender,
        records: TelegramRecords,
        bridge: HandoffBridge,
        max_chars: int,
    ) -> None:
        self.on_new_message = on_new_message
        self.agent_of = agent_of
        self.sender = sender
        self.records = records
        self.bridge = bridge
        self.max_chars = max_chars

    async def handle(self, update: Update) -> None:
        if update.callback_query is not None:
            await self.on_button(update.callback_query)
        elif update.edited_message is not None:
            await self.notice(update.edited_message, "utter_telegram_edited_message")
        elif update.message is not None:
            await self.on_message(update.message)
        # other update kinds (member changes, channel posts…) need no answer

    # --- kinds of input --------------------------------------------------------------------

    async def on_message(self, message: Message) -> None:
        chat_id = str(message.chat.id)
        if message.chat.type != PRIVATE:
            await self.notice(message, "utter_telegram_group_chat")
            return
        if message.text is None:
            if self.bridge.hold(chat_id, message.caption or media_label(message)):
                return  # the specialist sees that something arrived; the bot stays silent
            await self.notice(message, "utter_telegram_unsupported_media")
            return
        text = message.text
        if self.bridge.hold(chat_id, text[: self.max_chars]):
            return
        command = command_of(text)
        if command == "help":
            await self.reply(chat_id, [{"text": await self.render(chat_id, "utter_telegram_help")}])
        elif command == "start":
            await self.to_rasa(chat_id, START_INTENT)
        else:
            await self.to_rasa(chat_id, text)

    async def on_button(self, query: CallbackQuery) -> None:
        message = query.message if isinstance(query.message, Message) else None
        chat_id = str(message.chat.id if message else query.from_user.id)
        payload = self.records.button_payload(chat_id, query.data or "")
        notice = None if payload else await self.render(chat_id, "utter_telegram_button_expired")
        try:
            await self.sender.answer_button(query.id, notice)
            if message is not None and payload:
                await self.sender.remove_keyboard(chat_id, message.message_id)
        except TelegramError as error:  # the spinner stops by itself; the turn goes on
            logger.warning(
                "answering a button of %s failed: %s", mask(chat_id), type(error).__name__
            )
        if payload is None:
            return
        if message is not None and message.chat.type != PRIVATE:
            await self.notice(message, "utter_telegram_group_chat")
            return
        if not self.bridge.hold(chat_id, payload):
            await self.to_rasa(chat_id, payload)

    async def notice(self, message: Message, response: str) -> None:
        chat_id = str(message.chat.id)
        await self.reply(chat_id, [{"text": await self.render(chat_id, response)}])

    # --- the turn --------------------------------------------------------------------------

    async def to_rasa(self, chat_id: str, text: str) -> None:
        trimmed = len(text) > self.max_chars
        collector = TelegramCollector()
        try:
            await self.on_new_message(
                UserMessage(text[: self.max_chars], collector, chat_id, input_channel=CHANNEL)
            )
        except CancelledError:
            logger.error("message from %s timed out", mask(chat_id))
        except Exception:  # noqa: BLE001 - the cardholder gets an answer whatever failed
            logger.exception("message from %s failed", mask(chat_id))
        replies = list(collector.messages)
        if not replies:
            replies.append({"text": render("utter_technical_problem", text)})
        if trimmed:
            replies.append({"text": render("utter_message_trimmed", text, limit=self.max_chars)})
        await self.reply(chat_id, replies)

    async def render(self, chat_id: str, response: str) -> str:
        """A domain response in the script this cardholder writes (Simplified when unknown)."""
        return render(response, script=await self.bridge.script_of(self.agent_of(), chat_id))

    async def reply(self, chat_id: str, replies: list[dict[str, Any]]) -> None:
        """Send now; what cannot be sent now (flood limit, network) waits in the outbox."""
        for index, reply in enumerate(replies):
            try:
                await self.sender.send(chat_id, reply)
            except Forbidden:
                logger.warning("chat %s has blocked the bot; reply dropped", mask(chat_id))
                return
            except TelegramError as error:
                logger.warning(
                    "replying to %s failed (%s); queued in the outbox",
                    mask(chat_id),
                    type(error).__name__,
                )
                for queued in replies[index:]:
                    self.bridge.outbox.post(
                        chat_id,
                        CHANNEL,
                        "bot",
                        queued.get("text") or "",
                        buttons=queued.get("buttons") or [],
                    )
                return
