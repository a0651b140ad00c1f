"""The socket.io pieces of the widget channel without servers: Rasa's message format for
rasa-webchat, the signed worker tags in Engine.IO session ids, and the two defences kept on
python-engineio 4.12 (one ping cycle at a time, no binary packets)."""

from __future__ import annotations

from importlib import metadata
from types import SimpleNamespace

import pytest

from bot.channels.widget_engine import WidgetSocketServer, WorkerRelay, guard_pings
from bot.channels.widget_rasa import rasa_messages

BUTTONS = [{"title": "我想协商还款", "payload": "/negotiate"}]


def test_messages_take_rasas_shape_for_rasa_clients() -> None:
    assert rasa_messages({"text": "您好"}) == [{"text": "您好"}]
    # rasa-webchat reads Markdown: a line stays a line, a paragraph a paragraph
    assert rasa_messages({"text": "我可以：\n· 解答\n· 核实\n\n请问"}) == [
        {"text": "我可以：  \n· 解答  \n· 核实\n\n请问"}
    ]
    reply = {"text": "请选择", "buttons": BUTTONS, "custom": {"plan": "p1", "details": "共 36 期"}}
    assert rasa_messages(reply) == [
        {
            "text": "请选择\n\n共 36 期",
            "quick_replies": [
                {"content_type": "text", "title": "我想协商还款", "payload": "/negotiate"}
            ],
        }
    ]
    specialist = {"text": "您好，我来帮您", "custom": {"author": "specialist", "specialist": "王"}}
    assert rasa_messages(specialist) == [{"text": "【人工专员 王】您好，我来帮您"}]
    assert rasa_messages({"custom": {"event": "typing"}}) == []  # nothing rasa-webchat draws
    image = rasa_messages({"image": "https://bank.example/a.png"})
    assert image == [
        {"attachment": {"type": "image", "payload": {"src": "https://bank.example/a.png"}}}
    ]


def test_session_ids_name_their_worker_signed() -> None:
    first, second = WorkerRelay("secret"), WorkerRelay("secret")
    first.port, second.port = 41000, 42000
    sid = first.session_id("abc-_DEF")
    assert sid.startswith("41000x") and sid.endswith(".abc-_DEF")
    assert second.owner(sid) == 41000  # the other worker relays it to the owner
    assert first.owner(sid) is None  # the owner handles it itself
    forged = "43000x" + sid.split("x", 1)[1]  # another port with the same signature
    for other in (forged, "43000x0000000000000000.abc", "abc", "", None, "99999999x1.a"):
        assert second.owner(other) is None
    stranger = WorkerRelay("another deployment")
    stranger.port = 42000
    assert stranger.owner(sid) is None


def test_pongs_start_one_ping_cycle_at_a_time() -> None:
    started = []
    socket = SimpleNamespace(last_ping=None)
    socket.schedule_ping = lambda: started.append(1)
    guard_pings(socket)
    socket.schedule_ping()  # no ping sent yet in this cycle: an unasked PONG
    assert started == []
    socket.last_ping = 1000.0  # the cycle sent its ping
    for _ in range(1000):  # a thousand PONGs in one request
        socket.schedule_ping()
    assert started == [1]


async def test_binary_packets_are_refused() -> None:
    server = WidgetSocketServer(async_mode="sanic")
    dropped = []

    async def disconnect(sid: str) -> None:
        dropped.append(sid)

    server.eio.disconnect = disconnect
    await server._handle_eio_message("eio-1", '51-["user_uttered",{"_placeholder":true,"num":0}]')
    await server._handle_eio_message("eio-2", b"\x00\x01")
    assert dropped == ["eio-1", "eio-2"]
    assert server._binary_packet == {}


def test_the_relay_s_overrides_fit_the_installed_packages_or_stay_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It overrides python-socketio / python-engineio internals: the pinned versions are the
    ones it was written for, and any other version runs stock python-socketio."""
    import socketio

    from bot.channels import widget_engine

    assert widget_engine.versions_differ() == []
    assert widget_engine.server_class() is widget_engine.WidgetSocketServer
    monkeypatch.setitem(widget_engine.WRITTEN_FOR, "python-engineio", "9.")
    assert widget_engine.versions_differ() == [
        f"python-engineio {metadata.version('python-engineio')} (written for 9.)"
    ]
    assert widget_engine.server_class() is socketio.AsyncServer
