"""CPU time and resident memory of processes, read from /proc (psutil is not a dependency)."""

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


@dataclass
class ProcessWatch:
    """The processes of one run by name, with CPU seconds counted between `mark` and `usage`."""

    pids: dict[str, int]

    def __post_init__(self) -> None:
        self._marks: dict[str, float] = {}

    def add(self, name: str, pid: int) -> None:
        self.pids[name] = pid
        self._marks[name] = cpu_seconds(pid) or 0.0

    def mark(self) -> None:
        """Start counting CPU from now."""
        self._marks = {name: cpu_seconds(pid) or 0.0 for name, pid in self.pids.items()}

    def usage(self, wall_s: float) -> dict[str, dict]:
        """Per process since `mark`: CPU seconds, CPU % of one core over `wall_s`, RSS and peak RSS (MB)."""
        out = {}
        for name, pid in self.pids.items():
            now, mem = cpu_seconds(pid), memory_mb(pid) or {}
            used = None if now is None else now - self._marks.get(name, 0.0)
            out[name] = {
                "pid": pid,
                "cpu_s": None if used is None else round(used, 2),
                "cpu_pct": None if used is None or wall_s <= 0 else round(100 * used / wall_s, 1),
                "rss_mb": round(mem["rss"], 1) if "rss" in mem else None,
                "peak_rss_mb": round(mem["hwm"], 1) if "hwm" in mem else None,
            }
        return out

    def rss(self) -> dict[str, float | None]:
        """Current resident MB of each process."""
        return {name: round((memory_mb(pid) or {}).get("rss", 0.0), 1) or None for name, pid in self.pids.items()}
