"""CPU time and resident memory of a process tree, read from /proc (Linux only)."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _parent(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # fields after the ")" that ends the command name: state ppid ...
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def tree(root: int) -> list[int]:
    """``root`` and every descendant still alive."""
    parents = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            ppid = _parent(int(entry.name))
            if ppid is not None:
                parents[int(entry.name)] = ppid
    found, frontier = [root], [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == current]
        found += children
        frontier += children
    return found


def cpu_seconds(root: int) -> float:
    """user + system CPU seconds of ``root`` and its live descendants."""
    ticks = 0
    for pid in tree(root):
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return ticks / CLK_TCK


def rss_mib(root: int) -> float:
    """Sum of VmRSS over ``root`` and its live descendants, in MiB."""
    kib = 0
    for pid in tree(root):
        try:
            status = (PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                kib += int(line.split()[1])
    return kib / 1024
