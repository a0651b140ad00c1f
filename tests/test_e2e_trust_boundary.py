"""The trust boundary against the real servers (docs/security.md): one public surface, an
action server only Rasa can call, identity from the server's state, sender namespaces,
throttled guessing, input limits and no identity digits where conversations are kept.

The servers are test_e2e_rest's (tests/conftest.py: one set for both modules, other senders).
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
import requests
from rasa.core.run import configure_app, create_http_input_channels

from bot.db import models
from bot.db.store import Store
from bot.launcher import Servers
from bot.settings import VAR_DIR, load_settings
from tests.conftest import REST_CLIENT_LIMIT
from tests.support import Chat, stored_events

pytestmark = [pytest.mark.servers, pytest.mark.model]


@pytest.fixture
def database(rest_database: str) -> str:
    return rest_database


@pytest.fixture
def servers(rest_servers: Servers) -> Servers:
    return rest_servers


# What a cardholder's network may reach; everything else needs a credential or does not exist.
PUBLIC_PREFIXES = ("/webhooks/", "/socket.io")
PUBLIC_EXACT = ("/",)  # Rasa's "Hello from Rasa" (its version): no data


def every_rasa_route(servers: Servers) -> list[tuple[str, str]]:
    """(method, path) of every route the Rasa server can have: its HTTP API (as if on) and
    every configured channel, built in this process as `rasa run` builds them."""
    channels = create_http_input_channels(None, str(servers.credentials_path()))
    app = configure_app(channels, enable_api=True, auth_token="probe", port=0)
    routes = []
    for route in app.router.routes:
        for method in route.methods:
            routes.append((method, "/" + route.path.lstrip("/")))
    return sorted(set(routes))


def concrete(path: str) -> str:
    """A path's parameters filled with harmless values (an id nobody has)."""
    return re.sub(r"<[^>]+>", "probe-0", path)


def test_only_the_channels_are_public(servers: Servers) -> None:
    routes = every_rasa_route(servers)
    assert any(path.startswith("/conversations") for _, path in routes)  # the API was listed
    unexpected = []
    for method, path in routes:
        if method in ("OPTIONS", "HEAD"):
            continue
        public = path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)
        url = servers.rasa_url + concrete(path)
        answer = requests.request(method, url, json={}, timeout=30)
        if not public and answer.status_code not in (401, 403, 404, 405):
            unexpected.append((method, path, answer.status_code))
    assert unexpected == []
    # the API is off: the tracker of a real conversation and its events cannot be read or written
    Chat(servers, "boundary-victim").say("您好")
    assert (
        requests.get(f"{servers.rasa_url}/conversations/boundary-victim/tracker").status_code == 404
    )
    forged = [{"event": "slot", "name": "verified", "value": True}]
    put = requests.put(
        f"{servers.rasa_url}/conversations/boundary-victim/tracker/events", json=forged
    )
    assert put.status_code == 404


def test_cors_is_an_allow_list(servers: Servers) -> None:
    own = servers.rasa_url
    for origin, allowed in ((own, True), ("https://evil.example", False)):
        answer = requests.options(
            f"{servers.rasa_url}/webhooks/rest/webhook",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            timeout=30,
        )
        assert (answer.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_the_action_server_answers_only_rasa(servers: Servers) -> None:
    forged_call = {
        "next_action": "action_show_balance",
        "sender_id": "boundary-forger",
        "tracker": {
            "sender_id": "boundary-forger",
            "slots": {"verified": True, "account_id": "CC-0005"},
            "latest_message": {"intent": {"name": "ask_balance"}, "entities": [], "text": "x"},
            "events": [{"event": "user", "text": "x", "input_channel": "rest"}],
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {},
        "version": "3.6.21",
    }
    url = servers.actions_url
    assert requests.get(f"{url}/health", timeout=30).status_code == 200
    assert requests.post(f"{url}/webhook", json=forged_call, timeout=30).status_code == 401
    assert requests.get(f"{url}/actions", timeout=30).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert requests.post(f"{url}/webhook", json=forged_call, headers=wrong).status_code == 401
    # even with the token (a compromised Rasa), forged slots open no account: no verified
    # session exists for that conversation on the server
    token = load_settings(servers.environment()).action_server_token
    right = {"Authorization": f"Bearer {token}"}
    answer = requests.post(f"{url}/webhook", json=forged_call, headers=right, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["responses"] == [] and "赵敏" not in answer.text
    # and it listens on the loopback address only
    assert listening_addresses(servers.actions_port) == {"127.0.0.1"}


def listening_addresses(port: int) -> set[str]:
    addresses = set()
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        local, state = fields[1], fields[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            addresses.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return addresses


@pytest.mark.parametrize(
    "sender",
    ["123456789", "-1001234567", "0123456789abcdef0123456789abcdef", "wt-" + "a" * 32,
     "../../etc", "a\\nb", "x" * 129, "名字", "a\\u0000b"],
)  # fmt: skip
def test_rest_senders_keep_to_their_namespace(servers: Servers, sender: str) -> None:
    """Telegram's and the widget's ids, paths, newlines, NUL: refused with a clear error."""
    body = json.dumps({"sender": json.loads(f'"{sender}"'), "message": "我还欠多少钱"})
    answer = requests.post(
        f"{servers.rasa_url}/webhooks/rest/webhook",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400 and "sender" in answer.json()["error"]
    outbox = requests.get(f"{servers.rasa_url}/webhooks/rest/outbox", params={"sender": sender})
    assert outbox.status_code == 400


def test_guessing_across_conversations_is_throttled(servers: Servers, database: str) -> None:
    """Wrong pairs for one card from many conversations: after the card's limit even the right
    pair is refused, with one case for the specialists."""
    answers = []
    for conversation in range(3):
        chat = Chat(servers, f"boundary-guesser-{conversation}")
        chat.say("我想查一下欠款")
        for guess in range(3):
            answers.append(chat.text_of(f"卡号0357，身份证{guess:04d}"))
    owner = Chat(servers, "boundary-owner")
    owner.say("我想查一下欠款")
    reply = owner.text_of("卡号0357，身份证3308")
    assert "核实成功" not in reply and "尝试次数过多" in reply, reply
    store = Store.from_url(database)
    locks = [r for r in store.rows(models.Escalation) if r.reason == "identity_card_locked"]
    assert len(locks) == 1 and locks[0].account_id == "CC-0004"
    store.engine.dispose()


def holds(text: str, *groups: str) -> bool:
    """Whether a digit group stands alone in the text (not inside a timestamp or an id)."""
    return any(re.search(rf"(?<![0-9A-Za-z０-９]){g}(?![0-9A-Za-z０-９])", text) for g in groups)


def without_timestamps(value: Any) -> Any:
    """Events without their clock readings: an epoch second of today holds "6217" for a
    quarter of an hour (1796217xxx), which is no leak."""
    if isinstance(value, dict):
        return {k: without_timestamps(v) for k, v in value.items() if k != "timestamp"}
    if isinstance(value, list):
        return [without_timestamps(v) for v in value]
    return value


def test_no_identity_digits_are_kept_or_logged(servers: Servers, database: str) -> None:
    chat = Chat(servers, "boundary-digits")
    chat.say("我想查一下欠款")
    chat.say("６２１７")  # full-width digits too
    assert "核实成功" in chat.text_of("1234")
    events = without_timestamps(stored_events(database, "boundary-digits"))
    stored = json.dumps(events, ensure_ascii=False)
    leaks = [e for e in events if "6217" in json.dumps(e)]
    assert "6217" not in stored and "６２１７" not in stored and "1234" not in stored, leaks
    assert "****" in stored
    first = Chat(servers, "boundary-digits-2").text_of(
        "卡号尾号4410 身份证后四位9021，我想看看欠多少"
    )
    assert first
    stored = json.dumps(
        without_timestamps(stored_events(database, "boundary-digits-2")), ensure_ascii=False
    )
    assert "4410" not in stored and "9021" not in stored
    for log in Path("tests/artifacts/e2e-logs").glob("*.log"):
        assert not holds(log.read_text(encoding="utf-8", errors="replace"), "9021", "6217"), log
    # files that hold cardholders' data or secrets: owner only
    database_file = Path(database.removeprefix("sqlite:///"))
    for path in (database_file, VAR_DIR / "local-secrets.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_conversation_has_a_rate_limit(servers: Servers) -> None:
    chat = Chat(servers, "boundary-rate")
    statuses = []
    for _ in range(32):
        answer = requests.post(chat.url, json={"sender": chat.sender, "message": "嗯"}, timeout=60)
        statuses.append(answer.status_code)
    assert statuses[:30] == [200] * 30 and statuses[30:] == [429, 429]
    assert "稍等" in answer.json()[0]["text"]


def test_a_client_has_a_rate_limit(servers: Servers) -> None:
    """Last: it uses up this client's minute (every test here comes from 127.0.0.1). The counts
    are per clock minute, so a run that straddles a minute's end may need up to twice the limit."""
    statuses = set()
    for index in range(2 * REST_CLIENT_LIMIT + 5):
        answer = requests.post(
            f"{servers.rasa_url}/webhooks/rest/webhook",
            json={"sender": f"boundary-client-{index}", "message": "嗯"},
            timeout=60,
        )
        statuses.add(answer.status_code)
        if answer.status_code == 429:
            break
    assert 429 in statuses
