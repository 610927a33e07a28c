"""The broker goes away under load: stopped for a while, or restarted at once; it comes back empty either way.

Tansu keeps nothing across a restart (memory storage): every topic, record and committed
offset is gone. Intake keeps answering 202 meanwhile; the services recreate the topics and
republish their retained outboxes; inboxes drop what was applied before.
"""

from __future__ import annotations

import asyncio

from tests.faults.harness import BROKER_OUTAGE_S, ROUTED_AFTER_BROKER_S, Agents, Load


async def test_a_broker_outage_keeps_intake_accepting_and_the_outboxes_drain_when_it_is_back(faulty):
    load, agents = Load(faulty.url("intake")).start(), Agents(faulty).start()
    await asyncio.sleep(3)  # the load runs a while before the fault
    before = len(load.accepted)
    outage = asyncio.create_task(faulty.broker_down(BROKER_OUTAGE_S))
    await asyncio.sleep(BROKER_OUTAGE_S - 1)
    during = len(load.accepted) - before
    back = await outage
    await asyncio.sleep(5)  # the load goes on once the broker is back
    await load.stop()
    # Every ticket accepted, before, during or after the outage, is at its tier soon after the broker is back.
    routed = await faulty.routed_by(load, deadline=back + ROUTED_AFTER_BROKER_S)
    await agents.stop()
    # Intake stores submissions while the broker is away: most of the offered load is still accepted.
    assert during >= 0.5 * load.rate * (BROKER_OUTAGE_S - 1), (during, dict(load.answers))
    await faulty.settle_and_verify(load)
    print(f"broker outage {BROKER_OUTAGE_S}s: {during} accepted during it, {len(load.accepted)} in all, "
          f"all at a tier {routed - back:.1f}s after the broker was back, "
          f"answers {dict(load.answers)}, agents {dict(agents.actions)}")


async def test_a_broker_restarted_empty_at_once_has_its_topics_recreated_and_outboxes_republished(faulty):
    load, agents = Load(faulty.url("intake")).start(), Agents(faulty).start()
    await asyncio.sleep(3)
    back = await faulty.broker_down(0)
    await asyncio.sleep(5)
    await load.stop()
    routed = await faulty.routed_by(load, deadline=back + ROUTED_AFTER_BROKER_S)
    await agents.stop()
    await faulty.settle_and_verify(load)
    print(f"broker restarted empty: {len(load.accepted)} accepted, all at a tier {routed - back:.1f}s after, "
          f"answers {dict(load.answers)}")
