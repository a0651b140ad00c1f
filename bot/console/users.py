"""Console accounts: ``python -m bot.console.users --demo`` creates the demo specialists.

Passwords are random at first creation and stored only as scrypt hashes. They are printed on
the terminal once, when they are made (a second ``make run`` prints none: its output is often
copied into tickets and chats); the demo's are also kept in ``.var/console-demo-passwords.json``
(owner-readable only, never in git) for whoever lost the first output; ``--reset`` draws new ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bot.console.passwords import hash_password, new_password
from bot.console.sessions import ROLES
from bot.db import models
from bot.db.store import Store
from bot.settings import VAR_DIR, load_settings

DEMO_PASSWORDS_PATH = VAR_DIR / "console-demo-passwords.json"
DEMO_USERS = (
    ("zhangmin", "张敏", "specialist"),
    ("liqiang", "李强", "specialist"),
    ("wangfang", "王芳", "supervisor"),
)


@dataclass(frozen=True)
class CreatedUser:
    username: str
    display_name: str
    role: str
    password: str | None  # None: it existed and its password is unknown here
    created: bool


def set_user(
    store: Store, username: str, display_name: str, role: str, password: str, replace: bool
) -> bool:
    """Create the user, or (with ``replace``) set a new password; returns whether it was written."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    with store._session() as session, session.begin():
        row = session.execute(
            select(models.Specialist).where(models.Specialist.username == username)
        ).scalar_one_or_none()
        if row is not None and not replace:
            return False
        if row is None:
            row = models.Specialist(username=username, display_name=display_name, role=role)
            session.add(row)
        row.display_name, row.role, row.password_hash = display_name, role, hash_password(password)
        session.flush()
        store.audit(session, "console_user_set", None, actor="admin", username=username, role=role)
        return True


def _read_saved(path: Path) -> dict[str, dict[str, str]]:
    """Saved demo passwords per database URL (a password from another database is no use)."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _save(path: Path, passwords: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle, ensure_ascii=False, indent=2)


def ensure_demo_users(
    store: Store, reset: bool = False, path: Path = DEMO_PASSWORDS_PATH
) -> list[CreatedUser]:
    """Idempotent: existing users keep their passwords unless ``reset``."""
    store.create_schema()
    everything = _read_saved(path)
    database = store.engine.url.render_as_string(hide_password=True)
    saved = dict(everything.get(database, {}))
    result = []
    for username, display_name, role in DEMO_USERS:
        password = new_password()
        created = set_user(store, username, display_name, role, password, replace=reset)
        if created:
            saved[username] = password
        result.append(CreatedUser(username, display_name, role, saved.get(username), created))
    everything[database] = saved
    _save(path, everything)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="专员控制台账号 / console users")
    parser.add_argument("--demo", action="store_true", help="create the demo specialists")
    parser.add_argument("--reset", action="store_true", help="give the demo users new passwords")
    args = parser.parse_args(argv)
    if not args.demo:
        parser.error("nothing to do: use --demo")
    store = Store.from_url(load_settings().database_url)
    try:
        users = ensure_demo_users(store, reset=args.reset)
    finally:
        store.engine.dispose()
    for line in demo_users_report(users):
        print(line)
    return 0


def demo_users_report(users: list[CreatedUser]) -> list[str]:
    """New users with their passwords; existing ones as one line that says where to look."""
    created = [user for user in users if user.created]
    lines = []
    if created:
        lines.append("专员控制台演示账号（密码只显示这一次）/ console demo users (shown once):")
        lines += [
            f"  {u.username:<10} {u.password:<18} {u.role:<10} {u.display_name}" for u in created
        ]
    existing = [user.username for user in users if not user.created]
    if existing:
        lines.append(
            f"专员控制台演示账号已存在：{'、'.join(existing)}（密码在创建时显示过，"
            f"也存于 {DEMO_PASSWORDS_PATH.relative_to(VAR_DIR.parent)}；"
            "新密码：python -m bot.console.users --demo --reset）"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
