"""Several Rasa workers over HTTP, in both configurations that share the load: production
(PostgreSQL, Redis locks) and the embedded demo (SQLite, locks in an SQLite file beside it).

Two workers share conversations only through the database and the lock store, so these tests
check what would break without them: a whole conversation whose turns land on either worker,
many cardholders at once (both workers serving), and one cardholder's messages sent at once
(without a shared lock, two workers would save the same conversation over each other).
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests
import socketio

from bot.db import models
from bot.db.scratch import scratch_postgres_database
from bot.db.seed import seed
from bot.db.store import Store
from bot.launcher import Servers, free_port, listening_sockets, tcp_sockets
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support import Chat, seeded_database, stored_events
from tests.widget.support import WidgetClient

pytestmark = [pytest.mark.servers, pytest.mark.model, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/14"
API_TOKEN = secrets.token_urlsafe(24)  # made per run, never in the repository
WORKERS = 2


CONFIGURATIONS = ["production", "embedded"]


@pytest.fixture(scope="module", params=CONFIGURATIONS)
def configuration(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def database(configuration: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if configuration == "embedded":
        yield seeded_database(tmp_path_factory.mktemp("embedded-workers"))
        return
    with scratch_postgres_database(POSTGRES_ADMIN_URL, prefix="assistant_test") as url:
        store = Store.from_url(url)
        seed(store)
        store.engine.dispose()
        yield url


@pytest.fixture(scope="module")
def servers(configuration: str, database: str) -> Iterator[Servers]:
    env = {"BOT_TODAY": "2026-11-22", "RASA_WORKERS": str(WORKERS)}
    if configuration == "production":
        env["RASA_API_TOKEN"] = API_TOKEN  # a bank turns Rasa's API on with a credential
        redis.StrictRedis.from_url(REDIS_URL, socket_timeout=2).ping()  # Redis runs (.ci/run)
        env["REDIS_URL"] = REDIS_URL
    with Servers(
        rasa_port=free_port(),
        actions_port=free_port(),
        database_url=database,
        log_dir=Path(f"tests/artifacts/{configuration}-workers-logs"),
        extra_env=env,
    ) as running:
        yield running


def rasa_workers(servers: Servers) -> list[int]:
    """The worker processes sanic forked from the Rasa process."""
    parent = servers.processes[1].pid
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def established_connections(pid: int, port: int) -> int:
    """Connections to ``port`` that process ``pid`` holds open (from /proc)."""
    inodes = tcp_sockets(port, "01")
    assert inodes is not None, "this test reads /proc/net"
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_the_launcher_starts_two_workers_on_the_shared_lock_store(
    servers: Servers, configuration: str, database: str
) -> None:
    assert servers.rasa_workers == WORKERS
    assert servers.endpoints_left_out == []  # the lock_store block is kept
    assert len(rasa_workers(servers)) == WORKERS
    assert listening_sockets(servers.rasa_port) == WORKERS  # each serving, on its own socket
    lock_url = servers.environment()["LOCK_STORE_URL"]
    if configuration == "production":
        assert lock_url == REDIS_URL
    else:
        assert lock_url == database.replace(".db", "-locks.db")


def test_connections_opened_at_once_are_spread_over_the_workers(servers: Servers) -> None:
    """With one shared listening socket the first worker to wake accepts every waiting
    connection, and keep-alive then pins those cardholders to it; each worker listens on its
    own socket, so the kernel spreads them."""
    connections = [http.client.HTTPConnection("127.0.0.1", servers.rasa_port, timeout=30)
                   for _ in range(24)]  # fmt: skip

    def status(connection: http.client.HTTPConnection) -> int:
        connection.request("GET", "/webhooks/rest/")
        response = connection.getresponse()
        response.read()
        return response.status

    try:
        with ThreadPoolExecutor(max_workers=len(connections)) as pool:
            assert set(pool.map(status, connections)) == {200}
        held = [established_connections(pid, servers.rasa_port) for pid in rasa_workers(servers)]
    finally:
        for connection in connections:
            connection.close()
    assert sum(held) == len(connections)
    assert min(held) >= 2, held  # spread by hash: fewer than 2 of 24 on one worker, 1 in 300 000


def test_a_whole_conversation_across_workers_ends_in_an_agreement(
    servers: Servers, database: str
) -> None:
    chat = Chat(servers, "prod-cardholder-1")
    assert "转人工" in chat.text_of("您好")
    assert "卡号后四位" in chat.text_of("我想办分期还款")
    assert "身份证" in chat.text_of("6217")
    assert "核实成功" in chat.text_of("1234")
    for answer in ("同意", "我最近失业了", "4500", "3000", "500", "一个孩子"):
        chat.say(answer)
    plans = chat.say("大概6个月")
    buttons = [b for m in plans for b in m.get("buttons", [])]
    assert 2 <= len(buttons) <= 4, plans
    assert "年化利率" in chat.text_of(buttons[0]["payload"])
    reference = re.search(r"编号: ([A-Z]{2}-[A-Z0-9]{8})", chat.text_of("/affirm"))
    assert reference

    store = Store.from_url(database)
    (agreement,) = store.rows(models.Agreement, conversation_id="prod-cardholder-1")
    assert agreement.reference == reference.group(1) and agreement.account_id == "CC-0001"
    store.engine.dispose()


ACCOUNTS = [
    ("6217", "1234"),
    ("8832", "567X"),
    ("4410", "9021"),
    ("0357", "3308"),
    ("7788", "4455"),
]


def verify_and_ask_balance(servers: Servers, index: int) -> str:
    card, identity = ACCOUNTS[index % len(ACCOUNTS)]
    chat = Chat(servers, f"prod-many-{index}")
    chat.say("我还欠多少钱")
    chat.say(card)
    return chat.text_of(identity)


def test_many_cardholders_at_once_are_served_by_both_workers(servers: Servers) -> None:
    workers = rasa_workers(servers)
    before = {pid: cpu_ticks(pid) for pid in workers}
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(lambda i: verify_and_ask_balance(servers, i), range(32)))
    assert all("核实成功" in reply for reply in replies), replies
    assert all("欠款合计" in reply or "元" in reply for reply in replies), replies
    used = {pid: cpu_ticks(pid) - before[pid] for pid in workers}
    busy = [pid for pid in workers if used[pid] > 0.2 * sum(used.values())]  # a fair share
    assert len(busy) == WORKERS, used


def test_one_cardholders_messages_sent_at_once_are_all_kept(servers: Servers) -> None:
    sender = "prod-burst"
    texts = [f"逾期会上征信吗{i}" for i in range(6)]

    def send(text: str) -> int:
        reply = requests.post(
            f"{servers.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        )
        return reply.status_code

    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        assert set(pool.map(send, texts)) == {200}
    events = stored_events(servers.environment()["DATABASE_URL"], sender)
    said = [e["text"] for e in events if e.get("event") == "user"]
    assert sorted(said) == sorted(texts)  # none lost: the workers took turns on the conversation
    answers = [e for e in events if e.get("event") == "bot"]
    assert len(answers) >= len(texts)


def test_rasas_api_needs_its_token_when_a_bank_turns_it_on(
    servers: Servers, configuration: str
) -> None:
    tracker_url = f"{servers.rasa_url}/conversations/workers-api/tracker"
    status_url = f"{servers.rasa_url}/status"
    if configuration != "production":
        assert requests.get(status_url, timeout=30).status_code == 404  # off: not there at all
        return
    assert requests.get(status_url, timeout=30).status_code == 401
    assert requests.get(tracker_url, params={"token": "guess"}, timeout=30).status_code == 401
    forged = [{"event": "slot", "name": "verified", "value": True}]
    put = requests.put(f"{tracker_url}/events", json=forged, timeout=30)
    assert put.status_code == 401
    answer = requests.get(status_url, params={"token": API_TOKEN}, timeout=30)
    assert answer.status_code == 200 and answer.json()["model_id"]


def test_the_widget_talks_over_websockets_and_long_polling(servers: Servers) -> None:
    chat = WidgetClient(servers, transport="websocket")
    try:
        for text in ("您好", "逾期会上征信吗", "我想办分期"):
            answered = len(chat.replies)
            assert chat.say(text) == {"ok": True}
            chat.wait_for(lambda answered=answered: len(chat.replies) > answered)
        assert "卡号后四位" in chat.texts()
    finally:
        chat.close()
    # long-polling spreads one socket's requests over the workers: each reaches its owner
    # (bot/channels/widget_engine.py), so rasa-webchat's default transport works too
    polling = socketio.Client(reconnection=False)
    confirmed: list[str] = []
    polling.on("session_confirm", confirmed.append)
    polling.connect(servers.rasa_url, socketio_path="/socket.io", transports=["polling"])
    try:
        for _ in range(5):
            polling.emit("session_request", {"session_id": None})
        deadline = time.monotonic() + 30
        while len(confirmed) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(set(confirmed)) == 5 and polling.transport() == "polling"
    finally:
        polling.disconnect()
