"""The trust boundary's pieces without servers: sender namespaces, the input guard, login
tokens, masking, and what the tracker store keeps of identity answers."""

from __future__ import annotations

from dataclasses import replace

from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

from bot.channels.client_metadata import CLIENT_METADATA_KEY, with_client
from bot.channels.guard import InputGuard, SlidingWindow
from bot.channels.senders import channel_of, rest_sender_problem
from bot.identity.tokens import issue_token, login_conversation_id, read_token
from bot.privacy import mask, mask_identity_digits
from bot.settings import ConfigurationError, load_settings
from bot.tracker_store import stored_forms


def test_each_channel_has_its_own_namespace() -> None:
    assert channel_of("123456") == channel_of("-100123") == "telegram"
    assert channel_of("0123456789abcdef0123456789abcdef") == "widget"
    assert channel_of(login_conversation_id("CC-0001", "k")) == "widget"
    assert channel_of("demo-1") == channel_of("e2e_cardholder") == "rest"
    for bad in ("../x", "a\nb", "a\x00b", "x" * 129, "", "名字"):
        assert channel_of(bad) is None
    assert rest_sender_problem("demo-1") is None
    assert rest_sender_problem("123456") and rest_sender_problem(None)


def test_the_guard_refuses_empty_long_and_fast_messages() -> None:
    guard = InputGuard(replace(load_settings({}), rate_per_conversation=3, rate_per_client=5))
    assert guard.refusal("c", None, "  ").response == "utter_empty_message"
    assert guard.refusal("c", None, "我" * 2001).response == "utter_message_too_long"
    assert [guard.refusal("c", "k", "嗯") for _ in range(3)] == [None] * 3
    assert guard.refusal("c", "k", "嗯").status == 429
    assert guard.refusal("d", "k", "嗯") is None and guard.refusal("e", "k", "嗯") is None
    assert guard.refusal("f", "k", "嗯").response == "utter_rate_limited"  # the client's 5
    window = SlidingWindow(2)
    assert window.allow("a", 0.0) and window.allow("a", 1.0) and not window.allow("a", 2.0)
    assert window.allow("a", 61.0)  # a minute later
    assert SlidingWindow(0).allow("a")  # 0: no limit


def test_a_client_cannot_choose_its_own_client_key() -> None:
    metadata = with_client({CLIENT_METADATA_KEY: "forged", "other": 1}, "203.0.113.9", "pepper")
    assert metadata["other"] == 1 and metadata[CLIENT_METADATA_KEY] != "forged"
    assert "203.0.113.9" not in str(metadata)
    assert CLIENT_METADATA_KEY not in with_client({CLIENT_METADATA_KEY: "forged"}, None, "p")


def test_login_tokens_must_be_signed_fresh_and_short_lived() -> None:
    login = read_token(issue_token("CC-0001", "key"), "key")
    assert login and login.account_id == "CC-0001" and login.valid()
    assert login.conversation_id == login_conversation_id("CC-0001", "key")
    assert read_token(issue_token("CC-0001", "other"), "key") is None
    assert read_token(issue_token("CC-0001", "key", lifetime_s=-120), "key") is None
    assert read_token(issue_token("CC-0001", "key", lifetime_s=86400), "key") is None
    assert read_token("not.a.token", "key") is None and read_token(None, "key") is None


def test_masking_covers_full_width_digits() -> None:
    assert "6217" not in mask("卡号 6217 8832 1234 5678") and "５６７" not in mask("５６７X")
    assert mask_identity_digits("卡号６２１７，身份证567x") == "卡号****，身份证****"
    assert mask_identity_digits("收入4500") == "收入****"  # only used on identity answers


def test_the_tracker_store_keeps_no_identity_digits() -> None:
    events = [
        SlotSet("requested_slot", "card_last4"),
        UserUttered("6217", {"name": "inform_identity"}, [{"entity": "amount", "value": 6217}]),
        SlotSet("card_last4", "6217"),
        SlotSet("card_last4", "given"),
        SlotSet("requested_slot", "monthly_income"),
        UserUttered("4500", {"name": "inform_income"}),
        UserUttered("卡号尾号4410 身份证后四位9021", {"name": "ask_balance"}),
        ActionExecuted("action_listen"),
    ]
    forms = stored_forms(events, 1)
    assert forms[0]["text"] == "****" and forms[0]["parse_data"]["entities"][0]["value"] == "****"
    assert forms[1]["value"] == "****" and forms[2]["value"] == "given"
    assert forms[4]["text"] == "4500"  # an income is no identity answer
    assert "4410" not in str(forms[5]) and "9021" not in str(forms[5])
    assert len(forms) == len(events) - 1


def test_production_needs_its_secrets_from_the_environment() -> None:
    try:
        load_settings({"ASSISTANT_ENV": "production"})
    except ConfigurationError as error:
        assert "ACTION_SERVER_TOKEN" in str(error)
    else:
        raise AssertionError("production started without its secrets")
    env = {
        "ASSISTANT_ENV": "production",
        "ACTION_SERVER_TOKEN": "a",
        "IDENTITY_PEPPER": "b",
        "WIDGET_TOKEN_SECRET": "c",
        "WIDGET_DEMO_TOKENS": "1",
    }
    settings = load_settings(env)
    assert settings.production and not settings.widget_demo_tokens  # no demo logins there
