"""The widget's socket.io server: python-socketio's ``AsyncServer`` whose long-polling works when
several Rasa workers share one port, with two defences of python-engineio 4.13+ kept on the 4.12
series the project pins (4.13+ builds its async client on aiohttp 3.10+, rasa 3.6 needs <3.10).

Why a relay between workers: Engine.IO keeps a socket's session in the process that made it, and
long-polling sends every request of a socket anew. With ``SANIC_WORKERS=2`` sharing one port the
kernel hands each request to either worker, so without help a request can meet the worker that
does not know the session (``400 Invalid session``) and the client fails — the channel used to
refuse polling outright, yet rasa-webchat 1.x and socket.io's other default clients start with
it. Options considered:

* sticky load balancing cannot be done inside one port: every worker accepts on the same socket;
* one process owning the socket.io path needs another model-loading Rasa process (its memory and
  start-up time again) and a proxy in front of the port;
* here each worker also listens on a private ``127.0.0.1`` port and writes it, signed (HMAC with
  the deployment's ``WIDGET_TOKEN_SECRET``), into the session ids it makes; a polling request that
  reaches the other worker is relayed once over HTTP to the owner (no shared state, nothing to
  configure, the same behind nginx). Measured with two workers on
  this 2-CPU machine: 30 of 30 concurrent polling sockets connect and are confirmed (before, the
  server refused polling with two workers: 0 of 30); a polling POST answered by its owner takes
  2.0 ms (p50; p90 2.3 ms), relayed from the other worker 3.5 ms (p90 5.0 ms), and through the
  shared port, where about half are relayed, 2.7 ms (p90 3.7 ms) — a chat turn takes seconds.

Upgrades from polling to a websocket are switched off with several workers (the upgrade request
could meet the other worker and a websocket is not relayed): polling clients stay on polling, and
clients that ask for a websocket first (the project's widget) get one directly, as before. Behind
nginx nothing changes: nginx proxies to the one port and the workers sort it out among themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from functools import partial
from importlib import metadata
from typing import Any

import aiohttp
import engineio
import socketio
from sanic import Sanic
from sanic.models.server_types import Signal
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.server.protocols.http_protocol import HttpProtocol

logger = logging.getLogger(__name__)

# The versions this module's overrides of python-socketio / python-engineio internals were
# written and tested for; with others the channel runs stock python-socketio (polling then only
# with one worker, as before the relay).
WRITTEN_FOR = {"python-socketio": "5.16.1", "python-engineio": "4.12."}


def versions_differ() -> list[str]:
    differ = []
    for package, expected in WRITTEN_FOR.items():
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            installed = "none"
        if not installed.startswith(expected):
            differ.append(f"{package} {installed} (written for {expected})")
    return differ


def server_class() -> type[socketio.AsyncServer]:
    """The relaying server where its overrides fit the installed packages, else stock (logged:
    which one is on)."""
    differ = versions_differ()
    if differ:
        logger.warning("widget relay between workers off: %s", "; ".join(differ))
        return socketio.AsyncServer
    logger.info("widget relay between workers on: %s", ", ".join(WRITTEN_FOR))
    return WidgetSocketServer


# a long-poll waits up to the ping interval (25 s) for something to send
RELAY_TIMEOUT_S = 60
# what a relayed request carries on, and what comes back (hop-by-hop headers stay behind)
REQUEST_HEADERS = ("content-type", "origin", "cookie", "user-agent", "accept", "referer")
RESPONSE_DROPPED = {"connection", "keep-alive", "transfer-encoding", "content-length", "server"}
BINARY_PACKETS = ("5", "6")  # socket.io BINARY_EVENT, BINARY_ACK: no client of ours sends them


class WorkerRelay:
    """This worker's private listener, the tag its session ids carry, and the relay to others."""

    def __init__(self, secret: str) -> None:
        self.key = hmac.new(secret.encode(), b"widget-worker-relay", hashlib.sha256).digest()
        self.port: int | None = None
        self.server: asyncio.AbstractServer | None = None
        self.http: aiohttp.ClientSession | None = None
        self.relayed = 0

    def tag(self, port: int) -> str:
        mac = hmac.new(self.key, str(port).encode(), hashlib.sha256).hexdigest()[:16]
        return f"{port}x{mac}"

    def session_id(self, engine_sid: str) -> str:
        """An Engine.IO session id that names this worker (ids are base64url: no dots)."""
        return f"{self.tag(self.port)}.{engine_sid}" if self.port else engine_sid

    def owner(self, sid: str | None) -> int | None:
        """The private port of the worker that made ``sid`` when that is another worker; None
        for this worker's sessions, for unsigned ids and for anything else."""
        if not sid or "." not in sid or self.port is None:
            return None
        head = sid.split(".", 1)[0]
        port = head.split("x", 1)[0]
        if not port.isdigit() or int(port) == self.port or not 0 < int(port) < 65536:
            return None
        return int(port) if hmac.compare_digest(self.tag(int(port)), head) else None

    async def start(self, app: Sanic) -> None:
        """Serve this worker's app on a private port too (relayed requests only come there)."""
        loop = asyncio.get_running_loop()
        protocol = partial(
            HttpProtocol, loop=loop, app=app, signal=Signal(), connections=set(),
            state={"requests_count": 0},
        )  # fmt: skip
        self.server = await loop.create_server(protocol, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        # a new local connection per relayed request: a pooled one could be closed by the
        # owner's keep-alive timeout just as a request is written to it
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True),
            timeout=aiohttp.ClientTimeout(total=RELAY_TIMEOUT_S),
            auto_decompress=False,
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.http is not None:
            await self.http.close()

    async def forward(self, request: Request, port: int) -> HTTPResponse:
        """The owner's answer to this request, as if it had come there."""
        assert self.http is not None
        url = f"http://127.0.0.1:{port}{request.path}"
        headers = {k: v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS}
        self.relayed += 1
        try:
            async with self.http.request(
                request.method, url, params=request.args, data=request.body or None,
                headers=headers, allow_redirects=False,
            ) as answer:  # fmt: skip
                response = HTTPResponse(await answer.read(), status=answer.status)
                for name, value in answer.headers.items():
                    if name.lower() not in RESPONSE_DROPPED:
                        response.headers.add(name, value)
                return response
        except (aiohttp.ClientError, asyncio.TimeoutError):
            logger.warning("relaying a socket.io request to worker port %s failed", port)
            return HTTPResponse(b"worker unavailable", status=503)


class RelayingEngine(engineio.AsyncServer):
    """Engine.IO server whose session ids name their worker and whose requests for another
    worker's session are relayed there."""

    relay: WorkerRelay | None = None

    def generate_id(self) -> str:
        sid = super().generate_id()
        return self.relay.session_id(sid) if self.relay is not None else sid

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request = args[0] if args else None
        if self.relay is not None and isinstance(request, Request):
            port = self.relay.owner(request.args.get("sid"))
            if port is not None and request.args.get("transport") == "polling":
                return await self.relay.forward(request, port)
        return await super().handle_request(*args, **kwargs)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        socket = self.sockets.get(args[0]) if args and isinstance(args[0], str) else None
        if event == "connect" and socket is not None:
            guard_pings(socket)
        result = await super()._trigger_event(event, *args, **kwargs)
        if event == "disconnect" and socket is not None and self.reason.CLIENT_DISCONNECT in args:
            # a client that said goodbye gets its waiting long-poll answered now, not after
            # 45 s (browsers drop it; python-socketio's client waited 30 s for it to end)
            socket.queue.put_nowait(None)
        return result


def guard_pings(socket: Any) -> None:
    """One ping cycle at a time, as python-engineio 4.13.2 does: 4.12 starts a new cycle on every
    PONG, so a client sending thousands of PONGs in one request would start thousands of tasks."""
    schedule = socket.schedule_ping

    def once_per_cycle() -> None:
        if socket.last_ping:  # the last cycle has sent its ping: this PONG answers it
            socket.last_ping = None
            schedule()

    socket.schedule_ping = once_per_cycle


class WidgetSocketServer(socketio.AsyncServer):
    """python-socketio's server on the relaying Engine.IO server, without binary packets (no
    client of the widget sends any; 5.16 keeps one per unconnected session until it goes)."""

    def _engineio_server_class(self) -> type:
        return RelayingEngine

    async def _handle_disconnect(self, eio_sid: str, namespace: str, reason: Any = None) -> None:
        await super()._handle_disconnect(eio_sid, namespace, reason)
        socket = self.eio.sockets.get(eio_sid)
        if reason == self.reason.CLIENT_DISCONNECT and socket is not None and not socket.closed:
            # the client left: answer its waiting long-poll now (with a no-op) instead of at the
            # next ping, 25 s later — python-socketio's client waits for it before it closes
            await socket.send(engineio.packet.Packet(engineio.packet.NOOP))

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if not isinstance(data, str) or data[:1] in BINARY_PACKETS:
            logger.warning("a binary socket.io packet was refused")
            await self.eio.disconnect(eio_sid)
            return
        await super()._handle_eio_message(eio_sid, data)
