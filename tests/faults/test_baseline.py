"""Without any fault, under load: `escalier verify` passes, so its differences elsewhere mean something."""

from __future__ import annotations

import asyncio

from tests.faults.harness import Agents, Load


async def test_a_steady_load_without_faults_settles_consistent(faulty):
    load = Load(faulty.url("intake")).start()
    agents = Agents(faulty).start()
    await asyncio.sleep(10)  # the duration of the load, not a wait for a condition
    await load.stop()
    await agents.stop()
    assert len(load.accepted) > 20
    await faulty.settle_and_verify(load)
    print(f"baseline: {len(load.accepted)} accepted, agents {dict(agents.actions)}, answers {dict(load.answers)}")
