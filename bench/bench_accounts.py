"""A cardholder of its own for every benchmark conversation.

The assistant remembers what an account has agreed (issue 15: an account with an agreement or
application that stands is told so and never gets a second one), so a hundred conversations of
one demo cardholder would stop proposing plans after the first. Each conversation therefore
verifies as its own account: copies of CC-0001's balances under cards 1000–9999 (the demo cards
left out), ID last-4 1234, written in whichever schema the side's revision has (the ID digits
as their digest where the accounts table keeps one).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sqlalchemy import MetaData, Table, create_engine, inspect, select

DEMO_CARDS = {"6217", "8832", "4410", "0357", "7788"}
BENCH_CARDS = [f"{n:04d}" for n in range(1000, 10000) if f"{n:04d}" not in DEMO_CARDS]
BENCH_ID_LAST4 = "1234"
TEMPLATE_ACCOUNT = "CC-0001"


def add_bench_accounts(database_url: str, pepper: str) -> int:
    """Insert one account per card into a seeded database; returns how many."""
    engine = create_engine(database_url, future=True)
    try:
        columns = {column["name"] for column in inspect(engine).get_columns("accounts")}
        accounts = Table("accounts", MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            template = dict(
                connection.execute(
                    select(accounts).where(accounts.c.account_id == TEMPLATE_ACCOUNT)
                )
                .mappings()
                .one()
            )
            secret: dict[str, str]
            if "id_last4_hmac" in columns:
                from bot.identity.knowledge import id_last4_digest

                secret = {"id_last4_hmac": id_last4_digest(BENCH_ID_LAST4, pepper)}
            else:  # a revision before the digests
                secret = {"id_last4": BENCH_ID_LAST4}
            rows = [
                {**template, **secret, "account_id": f"BENCH-{index:05d}", "card_last4": card}
                for index, card in enumerate(BENCH_CARDS)
            ]
            connection.execute(accounts.insert(), rows)
        return len(rows)
    finally:
        engine.dispose()


_cards: Iterator[str] = itertools.cycle(BENCH_CARDS)


def next_card() -> str:
    """The card of the next conversation (8,995 before one repeats: more than a run holds)."""
    return next(_cards)
