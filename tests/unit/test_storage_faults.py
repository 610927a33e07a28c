"""Which database errors are a storage outage (503 with Retry-After, the consumer waits) and which are bugs."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa_exc

from shared.web.errors import install_error_handlers
from shared.storage import FULL, LOCKED, UNAVAILABLE, storage_fault


def sqlite_error(message: str, name: str | None) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    if name:
        error.sqlite_errorname = name
    return error


def wrapped(orig: Exception) -> sa_exc.OperationalError:
    """As SQLAlchemy raises it from a statement or a commit."""
    return sa_exc.OperationalError("INSERT INTO ticket ...", {}, orig)


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"pg {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("error", "fault"), [
    (sqlite_error("database is locked", "SQLITE_BUSY"), LOCKED),
    (sqlite_error("database is locked", None), LOCKED),
    (sqlite_error("database or disk is full", "SQLITE_FULL"), FULL),
    (sqlite_error("whatever", "SQLITE_BUSY_SNAPSHOT"), LOCKED),
    (wrapped(sqlite_error("database or disk is full", "SQLITE_FULL")), FULL),
    (wrapped(PgError("53100")), FULL),
    (wrapped(PgError("55P03")), LOCKED),
    (wrapped(PgError("57P03")), UNAVAILABLE),
    (sa_exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached"), LOCKED),
])
def test_storage_outages_are_recognised_through_wrappers(error, fault):
    assert storage_fault(error) == fault


def test_a_cause_chain_is_followed():
    try:
        try:
            raise sqlite_error("database or disk is full", "SQLITE_FULL")
        except sqlite3.OperationalError as inner:
            raise RuntimeError("commit failed") from inner
    except RuntimeError as outer:
        assert storage_fault(outer) == FULL


@pytest.mark.parametrize("error", [
    sqlite_error("no such table: ticket", "SQLITE_ERROR"),
    wrapped(sqlite3.IntegrityError("UNIQUE constraint failed: inbox.event_id")),
    wrapped(PgError("23505")),
    ValueError("database is fine"),
])
def test_bugs_and_broken_rules_are_not_storage_outages(error):
    assert storage_fault(error) is None


def app_raising(error: Exception) -> TestClient:
    app = FastAPI()
    app.state.settings = type("S", (), {"service_name": "intake"})()
    install_error_handlers(app)

    @app.post("/tickets")
    async def submit():
        raise error

    return TestClient(app, raise_server_exceptions=False)


def test_a_full_disk_answers_503_storage_full_naming_the_database_with_retry_after():
    answer = app_raising(wrapped(sqlite_error("database or disk is full", "SQLITE_FULL"))).post("/tickets")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(FULL.retry_after_s)
    assert answer.json()["detail"].startswith("storage full: the intake database")


def test_a_locked_database_answers_503_with_retry_after():
    answer = app_raising(wrapped(sqlite_error("database is locked", "SQLITE_BUSY"))).post("/tickets")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(LOCKED.retry_after_s)
    assert "intake database is locked" in answer.json()["detail"]


def test_other_database_errors_stay_500():
    answer = app_raising(wrapped(sqlite_error("no such table: ticket", "SQLITE_ERROR"))).post("/tickets")
    assert answer.status_code == 500
