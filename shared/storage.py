"""Which database errors are the storage being unavailable for a while, not a bug.

A lock held too long by another process, a full disk, a database refusing connections: the
API answers 503 with Retry-After (shared/web/errors.py), the consumer waits and retries without
dead-lettering (shared/messaging/consumer.py). Anything else stays an error.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StorageFault:
    """A transient storage condition: what it is and when to try again."""

    kind: str  # "locked" | "full" | "unavailable"
    retry_after_s: int

    def describe(self, database: str) -> str:
        return {
            "locked": f"database busy: the {database} database is locked by another writer; retry shortly",
            "full": f"storage full: the {database} database cannot grow (disk full); retry later",
            "unavailable": f"database unavailable: the {database} database does not answer; retry shortly",
        }[self.kind]


LOCKED = StorageFault("locked", 2)
FULL = StorageFault("full", 10)
UNAVAILABLE = StorageFault("unavailable", 5)

# SQLite primary result codes (sqlite3 exceptions carry them as sqlite_errorname, Python 3.11+).
_SQLITE = {"SQLITE_BUSY": LOCKED, "SQLITE_LOCKED": LOCKED, "SQLITE_FULL": FULL}
# Messages, for wrappers that drop the code.
_MESSAGES = {"database is locked": LOCKED, "database table is locked": LOCKED, "database or disk is full": FULL}
# PostgreSQL SQLSTATEs: insufficient resources, lock not available, deadlock, server starting or stopping.
_SQLSTATE = {"53100": FULL, "53200": UNAVAILABLE, "53300": UNAVAILABLE, "55P03": LOCKED, "40P01": LOCKED,
             "57P01": UNAVAILABLE, "57P02": UNAVAILABLE, "57P03": UNAVAILABLE}


def storage_fault(exc: BaseException) -> StorageFault | None:
    """The storage condition behind `exc` (through SQLAlchemy's `.orig` and exception chains), or None."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        found = _classify(current)
        if found is not None:
            return found
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return None


def _classify(exc: BaseException) -> StorageFault | None:
    name = getattr(exc, "sqlite_errorname", None)
    if isinstance(name, str):
        primary = "_".join(name.split("_")[:2])  # SQLITE_BUSY_SNAPSHOT -> SQLITE_BUSY
        if primary in _SQLITE:
            return _SQLITE[primary]
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(code, str) and code in _SQLSTATE:
        return _SQLSTATE[code]
    if type(exc).__name__ == "TimeoutError" and type(exc).__module__.startswith("sqlalchemy"):
        return LOCKED  # waited pool_timeout for the writer connection
    message = str(exc).lower()
    return next((fault for text, fault in _MESSAGES.items() if text in message), None)
