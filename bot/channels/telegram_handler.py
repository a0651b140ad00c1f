"""One Telegram update, handled the way the product promises: every cardholder gets a calm,
clear answer, and nothing reaches the bot while a specialist holds the conversation.

Text and pressed buttons go to Rasa (sender id = chat id), except a plan card's "details"
button, whose full terms the channel sends itself; ``/start`` greets, ``/help`` explains;
edits, stickers, photos, voice, files and group chats get a polite explanation.
``/link <code>`` (or the deep link ``t.me/<bot>?start=<code>``) links the Telegram user to the
account the bank gave the code for, ``/unlink`` undoes it; these never reach Rasa or a
specialist's transcript (the code must not be stored there), and a linked user's chat is
verified before each message goes to Rasa.
Replies that cannot be sent right now are moved to the outbox, so the delivery loop sends
them later instead of losing them.
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from rasa.core.channels.channel import UserMessage
from telegram import CallbackQuery, Message, Update
from telegram.error import Forbidden, TelegramError

from bot.channels.client_metadata import CLIENT_METADATA_KEY, with_client
from bot.channels.guard import InputGuard
from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.telegram_format import command_argument, command_of
from bot.channels.telegram_identity import TelegramIdentity
from bot.channels.telegram_output import TelegramCollector, TelegramSender
from bot.channels.telegram_records import TelegramRecords, details_of
from bot.channels.telegram_texts import (
    LINK_DONE,
    LINK_HOW,
    LINK_INVALID,
    LINK_LOCKED,
    NOT_LINKED,
    UNLINKED,
    link_text,
)
from bot.identity.linking import LINKED, LOCKED, normalise_code
from bot.privacy import mask
from bot.responses import render
from bot.settings import load_settings

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
PRIVATE = "private"
START_INTENT = "/greet"
LINK_COMMANDS = {"link", "unlink"}
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
        identity: TelegramIdentity | None = None,
    ) -> None:
        self.on_new_message = on_new_message
        self.agent_of = agent_of
        self.sender = sender
        self.records = records
        self.bridge = bridge
        self.max_chars = max_chars
        self.identity = identity or TelegramIdentity(bridge.store)
        self.guard = InputGuard(replace(load_settings(), max_message_chars=max_chars))

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
            if await self.held(chat_id, message.caption or media_label(message)):
                return  # the specialist sees that something arrived; the bot stays silent
            await self.notice(message, "utter_telegram_unsupported_media")
            return
        text = message.text
        user_id = str(message.from_user.id if message.from_user else chat_id)
        command = command_of(text)
        argument = command_argument(text)
        if command in LINK_COMMANDS or (command == "start" and normalise_code(argument)):
            await self.on_link_command(chat_id, user_id, command or "", argument)
            return
        if await self.held(chat_id, text[: self.max_chars]):
            return
        if command == "help":
            await self.reply(chat_id, [{"text": await self.render(chat_id, "utter_telegram_help")}])
        elif command == "start":
            await self.to_rasa(chat_id, START_INTENT, user_id)
        else:
            await self.to_rasa(chat_id, text, user_id)

    async def on_link_command(self, chat_id: str, user_id: str, command: str, code: str) -> None:
        """``/link <code>``, ``/start <code>`` and ``/unlink``, answered by the channel itself."""
        script = await self.script_of(chat_id)
        try:
            if command == "unlink":
                had_link = await self.identity.unlink(user_id, chat_id)
                answer = link_text(UNLINKED if had_link else NOT_LINKED, script)
            elif not code:
                answer = link_text(LINK_HOW, script)
            else:
                outcome = await self.identity.link(user_id, chat_id, code)
                if outcome.status == LINKED:
                    answer = link_text(LINK_DONE, script, card_last4=outcome.card_last4 or "")
                else:
                    refusal = LINK_LOCKED if outcome.status == LOCKED else LINK_INVALID
                    answer = link_text(refusal, script)
        except Exception:  # noqa: BLE001 - the cardholder gets an answer whatever failed
            logger.exception("/%s from %s failed", command, mask(chat_id))
            answer = render("utter_technical_problem", script=script)
        await self.reply(chat_id, [{"text": answer}])
        if command == "start" and not await self.held(chat_id, "/start"):
            await self.to_rasa(chat_id, START_INTENT, user_id)  # a deep link opens the chat too

    async def on_button(self, query: CallbackQuery) -> None:
        message = query.message if isinstance(query.message, Message) else None
        chat_id = str(message.chat.id if message else query.from_user.id)
        payload = self.records.button_payload(chat_id, query.data or "")
        details = details_of(payload) if payload else None
        notice = None if payload else await self.render(chat_id, "utter_telegram_button_expired")
        try:
            await self.sender.answer_button(query.id, notice)
            if message is not None and payload and details is None:
                # a choice is made once; a card's terms can be read again
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
        if details is not None:  # a plan card's full terms: the channel shows them, not Rasa
            await self.reply(chat_id, [{"text": details}])
            return
        if not await self.held(chat_id, payload):
            await self.to_rasa(chat_id, payload, str(query.from_user.id))

    async def notice(self, message: Message, response: str) -> None:
        chat_id = str(message.chat.id)
        await self.reply(chat_id, [{"text": await self.render(chat_id, response)}])

    # --- the turn --------------------------------------------------------------------------

    async def held(self, chat_id: str, text: str) -> bool:
        """True when a specialist holds the chat (the message is kept for them)."""
        return await asyncio.to_thread(self.bridge.hold, chat_id, text)

    async def to_rasa(self, chat_id: str, text: str, user_id: str) -> None:
        # the Telegram user is the client: failures and rate limits count per user
        metadata = with_client(None, f"telegram:{user_id}")
        refusal = self.guard.refusal(chat_id, metadata.get(CLIENT_METADATA_KEY), text)
        if refusal:
            values = dict(refusal.values)
            await self.reply(chat_id, [{"text": render(refusal.response, text, **values)}])
            return
        await self.identity.verify(user_id, chat_id)
        collector = TelegramCollector()
        try:
            await self.on_new_message(
                UserMessage(text, collector, chat_id, input_channel=CHANNEL, metadata=metadata)
            )
        except CancelledError:
            logger.error("message from %s timed out", mask(chat_id))
        except Exception:  # noqa: BLE001 - the cardholder gets an answer whatever failed
            logger.exception("message from %s failed", mask(chat_id))
        replies = list(collector.messages)
        if not replies:
            replies.append({"text": render("utter_technical_problem", text)})
        await self.reply(chat_id, replies)

    async def script_of(self, chat_id: str) -> str | None:
        """The script this cardholder writes; None (Simplified) when it cannot be read."""
        try:
            return await self.bridge.script_of(self.agent_of(), chat_id)
        except Exception:  # noqa: BLE001 - the answer only loses its script
            logger.warning("could not read the script of %s", mask(chat_id), exc_info=True)
            return None

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
