"""The doorbell: datagrams between a producer's bell and a consumer's sockets on this host."""

from __future__ import annotations

import asyncio
import os

from shared.messaging.doorbell import Bell, Doorbell, folder
from shared.waits import wait_for_event


def test_the_folder_depends_on_the_bootstrap_servers_and_the_root(tmp_path):
    assert folder("a:9092", tmp_path) == folder("a:9092", tmp_path)
    assert folder("a:9092", tmp_path) != folder("b:9092", tmp_path)
    assert folder("a:9092", tmp_path).parent == tmp_path


async def test_a_ring_reaches_every_consumer_of_the_topic_with_the_highest_ends(tmp_path):
    one, two = Doorbell(tmp_path, ["t", "u"], "g1"), Doorbell(tmp_path, ["t"], "g2")
    bell = Bell(tmp_path)
    try:
        bell.ring("t", {0: 5, 2: 9})
        bell.ring("t", {0: 7})
        bell.ring("u", {1: 3})
        assert await wait_for_event(two.rung, 5)
        await _until(lambda: len(one._ends) == 3 and len(two._ends) == 2)
        assert one.take() == {("t", 0): 7, ("t", 2): 9, ("u", 1): 3}
        assert two.take() == {("t", 0): 7, ("t", 2): 9}
        assert not one.rung.is_set() and one.take() == {}
    finally:
        for b in (one, two, bell):
            b.close()


async def test_a_socket_whose_consumer_is_gone_is_removed_and_a_closed_doorbell_leaves_nothing(tmp_path):
    gone = tmp_path / "t" / "g.1.sock"
    gone.parent.mkdir()
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as dead:
        dead.bind(str(gone))  # bound, then closed: nobody reads it any more
    bell = Bell(tmp_path)
    bell.ring("t", {0: 1})
    assert not gone.exists()
    doorbell = Doorbell(tmp_path, ["t"], "g")
    assert len(os.listdir(tmp_path / "t")) == 1
    doorbell.close()
    assert os.listdir(tmp_path / "t") == []
    bell.close()


async def test_rings_that_find_the_queue_full_are_merged_and_sent_again(tmp_path):
    doorbell = Doorbell(tmp_path, ["t"], "g")
    loop = asyncio.get_running_loop()
    loop.remove_reader(doorbell._sockets[0][0].fileno())  # a consumer too busy to read for a while
    bell = Bell(tmp_path)
    try:
        for end in range(1, 501):
            bell.ring("t", {end % 7: end})
        assert bell._waiting  # the kernel's queue filled up: the rest waits in the bell
        loop.add_reader(doorbell._sockets[0][0].fileno(), doorbell._receive, doorbell._sockets[0][0])
        await _until(lambda: not bell._waiting and len(doorbell._ends) == 7)
        assert doorbell.take() == {("t", p): max(e for e in range(1, 501) if e % 7 == p) for p in range(7)}
    finally:
        doorbell.close()
        bell.close()


async def test_a_datagram_that_is_not_ours_still_wakes_and_changes_nothing(tmp_path):
    import socket

    doorbell = Doorbell(tmp_path, ["t"], "g")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as other:
            other.sendto(b"hello", doorbell._sockets[0][1])
        assert await wait_for_event(doorbell.rung, 5)
        assert doorbell.take() == {}
    finally:
        doorbell.close()


async def _until(condition, timeout_s: float = 15.0) -> None:
    deadline = loop_time() + timeout_s
    while not condition():
        assert loop_time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def loop_time() -> float:
    return asyncio.get_running_loop().time()
