"""Services dying under a steady load: kill -9 each in turn, SIGTERM each in turn; then `escalier verify`."""

from __future__ import annotations

import asyncio

from escalier_cli.system import SERVICES
from tests.faults.harness import FULL, Agents, Load

# SIGTERM: the service finishes its batch, drains its outbox and exits within this bound
# (runtime.SHUTDOWN_GRACE_S is 10 s for the batch, half that for the outbox, plus uvicorn's own close).
SIGTERM_BOUND_S = 20.0
LOAD_BEFORE_FAULTS_S = 3.0


async def test_kill_9_of_each_service_in_turn_loses_nothing_and_applies_nothing_twice(faulty):
    load, agents = Load(faulty.url("intake")).start(), Agents(faulty).start()
    await asyncio.sleep(LOAD_BEFORE_FAULTS_S)  # the load runs a while before the first fault
    rounds = 2 if FULL else 1
    for _ in range(rounds):
        for name in SERVICES:
            await faulty.kill9(name, down_s=3.0 if FULL else 1.0)
    await load.stop()
    await agents.stop()
    await faulty.settle_and_verify(load)
    print(f"kill -9: {len(load.accepted)} accepted, faults {dict(faulty.faults)}, answers {dict(load.answers)}, "
          f"agents {dict(agents.actions)}")


async def test_sigterm_lets_each_service_finish_its_work_and_exit_within_a_bound(faulty):
    load, agents = Load(faulty.url("intake")).start(), Agents(faulty).start()
    await asyncio.sleep(LOAD_BEFORE_FAULTS_S)
    took = {}
    for name in SERVICES if FULL else ("intake", "tier1"):
        took[name] = await faulty.sigterm(name)
    await load.stop()
    await agents.stop()
    assert all(t < SIGTERM_BOUND_S for t in took.values()), took
    await faulty.settle_and_verify(load)
    print(f"SIGTERM: exit took {({n: round(t, 1) for n, t in took.items()})}, {len(load.accepted)} accepted, "
          f"answers {dict(load.answers)}")
