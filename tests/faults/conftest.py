"""The fault suite's fixtures: a system of its own per module, so faults never hurt the session's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import free_port
from tests.faults.harness import FULL, FaultSystem, start_fault_system


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)
            # A 30 s outage at 20 tickets/s leaves a backlog of minutes on a loaded machine; in the
            # reduced form the system once took over 120 s to settle after the 8 s outage.
            item.add_marker(pytest.mark.timeout(1500 if FULL else 900))


@pytest.fixture(scope="package")
def faulty(tmp_path_factory) -> Iterator[FaultSystem]:
    """A broker and six services of the fault suite's own, on free ports (never the session's).

    One for the whole package, to keep CI short: every test leaves it settled and verified.
    """
    running = start_fault_system(tmp_path_factory.mktemp("faults"), free_port)
    yield running
    running.system.stop()
    running.broker.stop()
