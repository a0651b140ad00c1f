"""The PostgreSQL engine checks a pooled connection only when it sat idle, and then replaces a
dead one without the caller noticing (the real server on 127.0.0.1)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.db import engine as engine_module
from bot.db.engine import create_db_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    made: list[object] = []
    real_ping = engine_module._ping

    def counted(dialect: object, dbapi_connection: object) -> bool:
        made.append(dbapi_connection)
        return real_ping(dialect, dbapi_connection)

    monkeypatch.setattr(engine_module, "_ping", counted)
    return made


def backend_pid(engine) -> int:  # noqa: ANN001 - an Engine
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_in_steady_use_is_not_pinged(postgres_url: str, pings: list) -> None:
    engine = create_db_engine(postgres_url)
    try:
        for _ in range(20):
            backend_pid(engine)
    finally:
        engine.dispose()
    assert pings == []  # SQLAlchemy's pool_pre_ping would have made 19


def test_a_dead_idle_connection_is_replaced_before_use(
    postgres_url: str, pings: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_db_engine(postgres_url)
    admin = create_db_engine(postgres_url)
    try:
        first = backend_pid(engine)
        with admin.connect() as connection:  # as if the server restarted while the pool idled
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)  # it has been idle "long"
        second = backend_pid(engine)  # no error: the dead connection was found and replaced
        assert second != first
        assert len(pings) == 1
    finally:
        engine.dispose()
        admin.dispose()
