"""Load the demo cardholders into the database (idempotent: re-running updates them in place)."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import inspect

from bot.db.store import Store
from bot.identity.knowledge import id_last4_digest
from bot.settings import DEMO_ACCOUNTS_PATH, VAR_DIR, default_database_url, load_settings


def load_demo_accounts(path: Path = DEMO_ACCOUNTS_PATH) -> list[dict]:
    """The demo accounts as rows: the ID's last four only as its keyed digest."""
    pepper = load_settings().identity_pepper
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    as_of = date.fromisoformat(str(data["as_of"]))
    accounts = []
    for entry in data["accounts"]:
        accounts.append(
            {
                "account_id": entry["account_id"],
                "holder_name": entry["holder_name"],
                "card_last4": str(entry["card_last4"]),
                "id_last4_hmac": id_last4_digest(str(entry["id_last4"]), pepper),
                "principal": Decimal(str(entry["principal"])),
                "interest": Decimal(str(entry["interest"])),
                "penalty": Decimal(str(entry["penalty"])),
                "minimum_payment": Decimal(str(entry["minimum_payment"])),
                "overdue_days": int(entry["overdue_days"]),
                "balance_as_of": as_of,
                "credit_limit": Decimal(str(entry["credit_limit"])),
                "has_active_installment": bool(entry["has_active_installment"]),
            }
        )
    return accounts


def seed(store: Store, path: Path = DEMO_ACCOUNTS_PATH) -> int:
    store.create_schema()
    accounts = load_demo_accounts(path)
    for account in accounts:
        store.upsert_account(**account)
    return len(accounts)


def outdated(store: Store) -> bool:
    """A database made before the ID digits were stored as digests (no migrations yet)."""
    tables = inspect(store.engine)
    if not tables.has_table("accounts"):
        return False
    return "id_last4_hmac" not in {column["name"] for column in tables.get_columns("accounts")}


def main() -> int:
    settings = load_settings()
    store = Store.from_url(settings.database_url)
    if outdated(store) and settings.database_url == default_database_url():
        # the embedded demo's own file: kept aside, and a new one made
        store.engine.dispose()
        old = VAR_DIR / "assistant.db"
        for suffix in ("", "-wal", "-shm"):
            source = old.with_name(old.name + suffix)
            if source.exists():
                source.rename(source.with_name(source.name + ".outdated"))
        print("the demo database was made by an older version: kept as .var/assistant.db.outdated")
        store = Store.from_url(settings.database_url)
    elif outdated(store):
        print("error: this database was made by an older version (accounts.id_last4_hmac missing)")
        return 1
    count = seed(store)
    print(f"数据库已就绪 / database ready: {count} demo accounts ({store.engine.url!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
