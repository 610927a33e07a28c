"""The bench's /proc readings: a process's wake-ups (voluntary switches, all threads), memory; who listens on a port."""

from __future__ import annotations

import os
import socket
import threading

from escalier_cli.bench.procstat import ProcessWatch, context_switches, listening_pid
from escalier_cli.bench.target import find_pids


def _ping_pong(rounds: int) -> None:
    """This thread sends a byte and waits for another thread's answer: it sleeps and is woken each round."""
    ping, pong = os.pipe(), os.pipe()

    def answer() -> None:
        for _ in range(rounds):
            os.write(pong[1], os.read(ping[0], 1))

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        for _ in range(rounds):
            os.write(ping[1], b"x")
            os.read(pong[0], 1)
    finally:
        thread.join()
        for fd in (*ping, *pong):
            os.close(fd)


def test_context_switches_are_counted_over_every_thread_of_the_process():
    before = context_switches(os.getpid())
    started, finished = threading.Event(), threading.Event()
    thread = threading.Thread(target=lambda: (started.set(), finished.wait()))
    thread.start()
    started.wait()
    during = context_switches(os.getpid())
    finished.set()
    thread.join()
    assert before is not None and during is not None
    assert during[2] == before[2] + 1  # the extra thread is read too
    assert during[0] >= before[0]


def test_a_process_that_is_gone_has_no_context_switches():
    assert context_switches(2**22 + 1) is None  # above the kernel's largest pid


def test_the_watch_gives_wake_ups_a_second_since_its_mark():
    watch = ProcessWatch({"me": os.getpid()})
    watch.mark()
    _ping_pong(200)
    figures = watch.usage(1.0)["me"]
    assert figures["wakeups_per_s"] is not None and figures["wakeups_per_s"] >= 1
    assert figures["threads"] >= 1 and figures["rss_mb"] > 0 and figures["cpu_s"] >= 0


def test_the_process_listening_on_a_loopback_port_is_found_by_that_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert listening_pid(port) == os.getpid()
        found = find_pids({"me": f"http://127.0.0.1:{port}", "named": f"http://127.0.0.1:{port}",
                           "remote": f"http://192.0.2.1:{port}"}, skip={"named"})
    assert found == {"me": os.getpid()}
    assert listening_pid(port) is None  # closed: nobody listens there now
