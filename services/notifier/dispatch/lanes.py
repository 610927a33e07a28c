"""Which pending deliveries may go now. Plain Python; no I/O.

A lane (one target, one ticket) sends its deliveries one at a time in id order; only a lane's
head may go, and only once it is due. Lanes go side by side, at most `max_in_flight` at once
and at most `cap_of(endpoint)` per endpoint, so a slow receiver holds up only its own lanes.
Finding the next lane is O(1) however many deliveries wait: lanes ready to go queue in the
order they became ready, lanes waiting on a backoff sit in a heap by due time, and lanes held
back by a full endpoint wait behind that endpoint.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol


class Pending(Protocol):
    """What the book needs of a delivery (the ledger's row satisfies it)."""

    id: int | None
    lane: str
    endpoint: str
    next_attempt_at: datetime


class LaneBook:
    def __init__(self, *, max_in_flight: int, cap_of: Callable[[str], int]) -> None:
        self._max_in_flight = max_in_flight
        self._cap_of = cap_of
        self._lanes: dict[str, list] = {}  # lane -> its pending deliveries, in id order
        self._known: set[int] = set()  # held here, or sent and not yet forgotten
        self._ready: deque[str] = deque()  # may hold stale entries: checked when taken
        self._backoff: list[tuple[datetime, str]] = []  # (head due at, lane), also checked when taken
        self._parked: defaultdict[str, deque[str]] = defaultdict(deque)  # endpoint -> lanes waiting for room
        self._busy: dict[str, str] = {}  # lane in flight -> its endpoint
        self._per_endpoint: Counter[str] = Counter()

    def __len__(self) -> int:
        """How many deliveries wait here."""
        return sum(len(rows) for rows in self._lanes.values())

    def knows(self, delivery_id: int) -> bool:
        return delivery_id in self._known

    @property
    def in_flight(self) -> int:
        return len(self._busy)

    def add(self, deliveries: Iterable[Pending]) -> int:
        """Hold deliveries not seen yet, each in its lane's id order; how many were new."""
        added = 0
        for delivery in sorted(deliveries, key=lambda d: d.id):
            if delivery.id in self._known:
                continue
            self._known.add(delivery.id)
            rows = self._lanes.setdefault(delivery.lane, [])
            if rows and rows[-1].id > delivery.id:
                insort(rows, delivery, key=lambda d: d.id)  # a replayed older delivery goes first
            else:
                rows.append(delivery)
            if delivery.lane not in self._busy:
                self._ready.append(delivery.lane)
            added += 1
        return added

    def take(self, now: datetime) -> list[str]:
        """Lanes to start sending now, marked in flight: those waiting for room first, then the
        oldest ready."""
        while self._backoff and self._backoff[0][0] <= now:
            self._ready.append(heapq.heappop(self._backoff)[1])
        started: list[str] = []
        for endpoint in list(self._parked):
            waiting = self._parked[endpoint]
            while waiting and self._has_room(endpoint):
                self._try_start(waiting.popleft(), now, started)
            if not waiting:
                del self._parked[endpoint]
        while self._ready and len(self._busy) < self._max_in_flight:
            self._try_start(self._ready.popleft(), now, started)
        return started

    def _has_room(self, endpoint: str) -> bool:
        return len(self._busy) < self._max_in_flight and self._per_endpoint[endpoint] < self._cap_of(endpoint)

    def _try_start(self, lane: str, now: datetime, started: list[str]) -> None:
        rows = self._lanes.get(lane)
        if not rows or lane in self._busy:
            return  # stale: emptied, or already going
        head = rows[0]
        if head.next_attempt_at > now:
            heapq.heappush(self._backoff, (head.next_attempt_at, lane))
        elif not self._has_room(head.endpoint):
            self._parked[head.endpoint].append(lane)
        else:
            self._busy[lane] = head.endpoint
            self._per_endpoint[head.endpoint] += 1
            started.append(lane)

    def head(self, lane: str) -> Pending | None:
        """The delivery a lane in flight sends next, if any."""
        rows = self._lanes.get(lane)
        return rows[0] if rows else None

    def done(self, lane: str) -> None:
        """The lane's head went (delivered, or parked as dead): its next one may follow."""
        rows = self._lanes[lane]
        rows.pop(0)
        if not rows:
            del self._lanes[lane]

    def finished(self, lane: str) -> None:
        """A lane's sender stopped (lane empty, head backing off, or cancelled)."""
        endpoint = self._busy.pop(lane)
        self._per_endpoint[endpoint] -= 1
        if not self._per_endpoint[endpoint]:
            del self._per_endpoint[endpoint]
        if lane in self._lanes:
            self._ready.append(lane)  # its head is due or not: take() tells

    def forget(self, ids: Iterable[int]) -> None:
        """Ids recorded in the ledger as no longer pending: a rescan will not see them again."""
        self._known.difference_update(ids)

    def next_due(self) -> datetime | None:
        """When the earliest lane waiting on a backoff falls due."""
        return self._backoff[0][0] if self._backoff else None
