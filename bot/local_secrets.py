"""Secrets the embedded demo makes for itself, so nothing secret lives in the repository.

A bank sets every secret in the environment (``ASSISTANT_ENV=production`` makes a missing one an
error). The demo and the tests have none set: each secret is then made once, at random, and kept
in ``.var/local-secrets.json`` (mode 0600), which every process of the demo reads, so the Rasa
server, the action server and the console agree on them across restarts.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from pathlib import Path

SECRETS_NAME = "local-secrets.json"


def _read(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def local_secret(name: str, folder: Path) -> str:
    """The demo's own value of ``name`` (kept in ``folder``), made the first time it is asked
    for."""
    path = folder / SECRETS_NAME
    known = _read(path)
    if name in known:
        return known[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_suffix(".lock")
    # one process at a time adds a secret; the others wait and then read what it wrote
    descriptor = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        known = _read(path)
        if name not in known:
            known[name] = secrets.token_urlsafe(32)
            temporary = path.with_suffix(".tmp")
            handle = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(known, out)
            os.replace(temporary, path)
        return known[name]
    finally:
        os.close(descriptor)
