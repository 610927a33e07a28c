"""CPU time, context switches and resident memory of processes, read from /proc (psutil is not a dependency)."""

from __future__ import annotations

import os
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process has used so far; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_mb(pid: int) -> dict[str, float] | None:
    """{'rss': current resident MB, 'hwm': peak resident MB}; None if the process is gone."""
    found: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key = "rss" if line.startswith("VmRSS") else "hwm"
                    found[key] = int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return found or None


def context_switches(pid: int) -> tuple[int, int, int] | None:
    """(voluntary, involuntary, threads): switches summed over the live threads; None if the process is gone.

    /proc/PID/status counts the main thread only; a broker or a service does its waiting in
    other threads too, so every /proc/PID/task/TID/status is read. A voluntary switch is a
    sleep, and each one ends in a wake-up.
    """
    voluntary = involuntary = threads = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        voluntary += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        involuntary += int(line.split()[1])
        except OSError:
            continue  # the thread ended between the listing and the read
        threads += 1
    return (voluntary, involuntary, threads) if threads else None


def _per_s(now: int | None, then: int, wall_s: float) -> float | None:
    # Threads that ended take their counts with them, so a difference can be negative: not a rate.
    if now is None or wall_s <= 0 or now < then:
        return None
    return round((now - then) / wall_s, 1)


def _listening_sockets(port: int) -> set[str]:
    """The inodes (as fd links read them) of TCP sockets listening on `port`, IPv4 and IPv6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                found.add(f"socket:[{fields[9]}]")
    return found


def listening_pid(port: int) -> int | None:
    """The process listening on `port`, if it is one whose descriptors this user may read; not a docker proxy."""
    sockets = _listening_sockets(port)
    for pid in (p for p in os.listdir("/proc") if p.isdigit()) if sockets else ():
        if not _links(pid) & sockets:
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        # A container's proxy holds the port, not the broker or service: its CPU would mislead.
        return None if name == "docker-proxy" else int(pid)
    return None


def _links(pid: str) -> set[str]:
    """What a process's descriptors point at; empty if this user may not read them."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    links = set()
    for fd in fds:
        try:
            links.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue  # closed since the listing (the listing's own descriptor, for one)
    return links


@dataclass
class ProcessWatch:
    """The processes of one run by name, with CPU seconds and switches counted between `mark` and `usage`."""

    pids: dict[str, int]

    def __post_init__(self) -> None:
        self._marks: dict[str, tuple[float, tuple[int, int, int]]] = {}

    @staticmethod
    def _now(pid: int) -> tuple[float, tuple[int, int, int]]:
        return cpu_seconds(pid) or 0.0, context_switches(pid) or (0, 0, 0)

    def add(self, name: str, pid: int) -> None:
        self.pids[name] = pid
        self._marks[name] = self._now(pid)

    def mark(self) -> None:
        """Start counting CPU and switches from now."""
        self._marks = {name: self._now(pid) for name, pid in self.pids.items()}

    def usage(self, wall_s: float) -> dict[str, dict]:
        """Per process since `mark`: CPU seconds and % of one core over `wall_s`, wake-ups/s, RSS and peak RSS (MB)."""
        out = {}
        for name, pid in self.pids.items():
            now, mem, switches = cpu_seconds(pid), memory_mb(pid) or {}, context_switches(pid)
            cpu_then, (vol_then, invol_then, _) = self._marks.get(name, (0.0, (0, 0, 0)))
            used = None if now is None else now - cpu_then
            out[name] = {
                "pid": pid,
                "cpu_s": None if used is None else round(used, 2),
                "cpu_pct": None if used is None or wall_s <= 0 else round(100 * used / wall_s, 1),
                "rss_mb": round(mem["rss"], 1) if "rss" in mem else None,
                "peak_rss_mb": round(mem["hwm"], 1) if "hwm" in mem else None,
                "wakeups_per_s": _per_s(switches and switches[0], vol_then, wall_s),
                "involuntary_switches_per_s": _per_s(switches and switches[1], invol_then, wall_s),
                "threads": switches and switches[2],
            }
        return out

    def rss(self) -> dict[str, float | None]:
        """Current resident MB of each process."""
        return {name: round((memory_mb(pid) or {}).get("rss", 0.0), 1) or None for name, pid in self.pids.items()}
