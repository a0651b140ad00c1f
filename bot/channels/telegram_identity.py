"""Who a Telegram chat is: account links made with the bank's one-time code, turned into the
verified session that every account action checks (bot.identity.sessions).

A linked user's message is verified before Rasa reads it, so they are never asked for card or
ID digits; a live session (even one for another account, from the knowledge check) is never
replaced. The database work runs in a worker thread: the event loop serves other chats meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

from bot.db.store import Store
from bot.identity.linking import LINKED, AccountLinks, Redemption
from bot.identity.sessions import TELEGRAM_LINK, VerifiedSessions
from bot.privacy import mask

logger = logging.getLogger(__name__)

CHANNEL = "telegram"


class TelegramIdentity:
    def __init__(
        self,
        store: Store,
        links: AccountLinks | None = None,
        sessions: VerifiedSessions | None = None,
    ) -> None:
        self.links = links or AccountLinks(store)
        self.sessions = sessions or VerifiedSessions(store)

    async def link(self, user_id: str, chat_id: str, code: str) -> Redemption:
        """Redeem the code; on success this chat is verified at once."""
        return await asyncio.to_thread(self._link, user_id, chat_id, code)

    def _link(self, user_id: str, chat_id: str, code: str) -> Redemption:
        outcome = self.links.attempt(user_id, code, chat_id)
        if outcome.status == LINKED and outcome.account_id:
            self.sessions.grant(chat_id, CHANNEL, outcome.account_id, TELEGRAM_LINK)
        return outcome

    async def unlink(self, user_id: str, chat_id: str) -> bool:
        """Forget the link and end this chat's verification; True when there was a link."""
        return await asyncio.to_thread(self._unlink, user_id, chat_id)

    def _unlink(self, user_id: str, chat_id: str) -> bool:
        had_link = self.links.unlink(user_id, chat_id)
        self.sessions.revoke(chat_id, "unlinked")
        return had_link

    async def verify(self, user_id: str, chat_id: str) -> None:
        """Grant a linked user's chat a verified session when it has none; a failure here only
        means the cardholder is asked the usual identity questions."""
        try:
            await asyncio.to_thread(self._verify, user_id, chat_id)
        except Exception:  # noqa: BLE001 - the message still goes to Rasa
            logger.exception("checking the account link of %s failed", mask(chat_id))

    def _verify(self, user_id: str, chat_id: str) -> None:
        account_id = self.links.linked_account(user_id)
        if account_id is None:
            return
        if self.sessions.current(chat_id, CHANNEL) is None:
            self.sessions.grant(chat_id, CHANNEL, account_id, TELEGRAM_LINK)
