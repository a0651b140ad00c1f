"""Load the demo cardholders into the database (idempotent: re-running updates them in place)."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

from bot.db.store import Store
from bot.settings import DEMO_ACCOUNTS_PATH, load_settings


def load_demo_accounts(path: Path = DEMO_ACCOUNTS_PATH) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    as_of = date.fromisoformat(str(data["as_of"]))
    accounts = []
    for entry in data["accounts"]:
        accounts.append(
            {
                "account_id": entry["account_id"],
                "holder_name": entry["holder_name"],
                "card_last4": str(entry["card_last4"]),
                "id_last4": str(entry["id_last4"]).upper(),
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


def main() -> int:
    settings = load_settings()
    store = Store.from_url(settings.database_url)
    count = seed(store)
    print(f"数据库已就绪 / database ready: {count} demo accounts ({store.engine.url!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
