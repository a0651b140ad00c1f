"""Rasa's socket.io protocol on the widget channel, spoken by python-socketio's AsyncClient the
way rasa-webchat speaks it (``session_request``/``session_confirm``, ``user_uttered`` without
acknowledgements, ``bot_uttered`` in Rasa's format), over a websocket and over long-polling,
against the widget servers — two Rasa workers sharing one port, as `make run` has them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
import socketio

from bot.launcher import Servers
from tests.support import stored_events

pytestmark = [pytest.mark.servers, pytest.mark.model]

RASA_KEYS = {"text", "quick_replies", "attachment"}


class RasaChat:
    """A socket of Rasa's protocol: no acknowledgements, no history, its own session id kept."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.confirmed: str | None = None
        self.replies: list[dict[str, Any]] = []
        self.histories = 0
        self.sio.on("session_confirm", self._confirm)
        self.sio.on("bot_uttered", self._reply)
        self.sio.on("history", self._history)

    async def _confirm(self, session_id: str) -> None:
        self.confirmed = session_id

    async def _reply(self, message: dict[str, Any]) -> None:
        self.replies.append(message)

    async def _history(self, _data: Any) -> None:
        self.histories += 1

    async def connect(self, servers: Servers, transports: list[str] | None) -> None:
        await self.sio.connect(
            servers.rasa_url, socketio_path="/socket.io", transports=transports, wait_timeout=30
        )

    async def request(self, session_id: str | None) -> str:
        await self.sio.emit("session_request", {"session_id": session_id})
        await until(lambda: self.confirmed is not None)
        assert self.confirmed
        return self.confirmed

    async def say(self, text: str, session_id: str | None) -> list[dict[str, Any]]:
        """Send like rasa-webchat and return this turn's replies (the turn is over when nothing
        more arrived for a second)."""
        before = len(self.replies)
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id})
        await until(lambda: len(self.replies) > before, timeout=90)
        while True:
            count = len(self.replies)
            await asyncio.sleep(1.0)
            if len(self.replies) == count:
                return self.replies[before:]

    def texts(self) -> str:
        return "\n".join(m.get("text", "") for m in self.replies)


async def until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def user_texts(servers: Servers, session_id: str) -> list[str]:
    database = servers.environment()["DATABASE_URL"]
    return [e["text"] for e in stored_events(database, session_id) if e["event"] == "user"]


@pytest.mark.parametrize("transports", [["websocket"], None], ids=["websocket", "polling"])
async def test_the_async_client_holds_a_conversation(
    widget_servers: Servers, transports: list[str] | None
) -> None:
    chat = RasaChat()
    await chat.connect(widget_servers, transports)  # None: socket.io's default, polling first
    try:
        assert chat.sio.transport() == ("websocket" if transports else "polling")
        session_id = await chat.request(None)
        greeting = await chat.say("您好", session_id)
        assert "自动" in greeting[0]["text"]
        choices = [m for m in greeting if m.get("quick_replies")]
        titles = [q["title"] for q in choices[0]["quick_replies"]]
        assert titles[:2] == ["逾期会有什么后果", "我想协商还款"]
        assert all(q["content_type"] == "text" for q in choices[0]["quick_replies"])
        await chat.say(choices[0]["quick_replies"][1]["payload"], session_id)
        await chat.say("我想办分期", session_id)
        assert "卡号后四位" in chat.texts()
        # Rasa's format only: rasa-webchat drops a message with any other key
        assert all(set(m) <= RASA_KEYS for m in chat.replies), chat.replies
        assert chat.histories == 0
        assert user_texts(widget_servers, session_id)[0] == "您好"
    finally:
        await chat.sio.disconnect()


async def test_long_polling_connects_whichever_worker_each_request_meets(
    widget_servers: Servers,
) -> None:
    """Eight polling sockets at once: each one's requests meet both workers; all connect and
    are confirmed (before the relay, the server refused polling with two workers)."""
    chats = [RasaChat() for _ in range(8)]
    try:
        await asyncio.gather(*(chat.connect(widget_servers, ["polling"]) for chat in chats))
        confirmed = await asyncio.gather(*(chat.request(None) for chat in chats))
        assert len(set(confirmed)) == len(chats)
        # the session ids name the worker that owns them (its private port, signed)
        assert all("." in chat.sio.eio.sid for chat in chats)
    finally:
        await asyncio.gather(*(chat.sio.disconnect() for chat in chats))


def test_every_polling_request_reaches_its_session_on_a_fresh_connection(
    widget_servers: Servers,
) -> None:
    """Twenty requests of one polling socket, each on a new TCP connection (so each may meet
    either worker): every one is answered by the socket's session."""
    url, origin = f"{widget_servers.rasa_url}/socket.io/", {"Origin": widget_servers.rasa_url}
    handshake = requests.get(url, params={"EIO": "4", "transport": "polling"}, headers=origin)
    sid = json.loads(handshake.text[1:])["sid"]
    params = {"EIO": "4", "transport": "polling", "sid": sid}
    assert requests.post(url, params=params, data="40", headers=origin).text == "OK"
    assert requests.get(url, params=params, headers=origin, timeout=30).text.startswith("40")
    answers = []
    for _ in range(10):
        event = '42["session_request",{"session_id":null}]'
        posted = requests.post(url, params=params, data=event, headers=origin, timeout=30)
        polled = requests.get(url, params=params, headers=origin, timeout=30)
        answers += [posted.status_code, polled.status_code]
        assert '"session_confirm"' in polled.text, polled.text
    assert answers == [200] * 20
    requests.post(url, params=params, data="41", headers=origin, timeout=30)


async def test_a_client_that_keeps_its_own_session_id_is_answered(widget_servers: Servers) -> None:
    own = "visitor-" + uuid.uuid4().hex[:8]  # not one of the server's ids
    chat = RasaChat()
    await chat.connect(widget_servers, ["websocket"])
    try:
        confirmed = await chat.request(own)
        assert confirmed != own and len(confirmed) == 32
        replies = await chat.say("您好", own)  # the client ignores the confirmed id
        assert "自动" in replies[0]["text"]
        assert user_texts(widget_servers, confirmed) == ["您好"]
        assert user_texts(widget_servers, own) == []
    finally:
        await chat.sio.disconnect()


async def test_a_message_naming_another_conversation_stays_in_the_sockets_own(
    widget_servers: Servers,
) -> None:
    victim, intruder = RasaChat(), RasaChat()
    await victim.connect(widget_servers, ["websocket"])
    await intruder.connect(widget_servers, ["websocket"])
    try:
        victim_id = await victim.request(None)
        await victim.say("您好", victim_id)
        heard = len(victim.replies)
        intruder_id = await intruder.request(None)
        await intruder.say("逾期会上征信吗", victim_id)
        assert user_texts(widget_servers, victim_id) == ["您好"]
        assert user_texts(widget_servers, intruder_id) == ["逾期会上征信吗"]
        assert len(victim.replies) == heard
    finally:
        await victim.sio.disconnect()
        await intruder.sio.disconnect()


async def test_a_message_before_any_session_request_opens_a_conversation(
    widget_servers: Servers,
) -> None:
    chat = RasaChat()
    await chat.connect(widget_servers, None)
    try:
        replies = await chat.say("您好", None)
        assert chat.confirmed and len(chat.confirmed) == 32
        assert "自动" in replies[0]["text"]
        assert user_texts(widget_servers, chat.confirmed) == ["您好"]
    finally:
        await chat.sio.disconnect()
