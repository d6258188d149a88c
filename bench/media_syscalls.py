"""System calls per call-second of ``bench.media_bridge``'s two processes, counted by ``perf stat``.

On this kind of machine (a VM with nested virtualization) a system call costs 3-20 µs and a
wake-up more, so their count per call-second is a figure to read next to the CPU: it says where
the kernel's share of the CPU goes and does not move with the neighbours' load as CPU time does.
``perf stat`` counts the kernel's syscall tracepoints in the kernel (no ptrace, unlike
``strace -c``, which slowed the media process several-fold and changed what it measured), over a
window inside the run. Failed reads (``EAGAIN``: a socket read once more after its last datagram)
are counted by a filter on the exit tracepoints. Needs ``perf`` and root (or a permissive
``perf_event_paranoid``); without them the table says so and the run goes on.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

__all__ = ["KINDS", "SyscallCounter", "report"]

# Every kind the media path can make on uvloop or asyncio's loop (Linux x86-64 names).
KINDS = (
    "recvmsg",
    "recvfrom",
    "read",
    "sendmsg",
    "sendto",
    "write",
    "writev",
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "futex",
    "clock_gettime",
    "getpid",
    "getrandom",
    "timerfd_settime",
)
FAILED = ("recvmsg", "recvfrom", "read")  # counted again when they return an error (EAGAIN)
TOTAL = "raw_syscalls:sys_enter"


def _events() -> list[str]:
    args = ["-e", ",".join([TOTAL, *(f"syscalls:sys_enter_{kind}" for kind in KINDS)])]
    for kind in FAILED:
        args += ["-e", f"syscalls:sys_exit_{kind}", "--filter", "ret < 0"]
    return args


@dataclass
class SyscallCounter:
    """``perf stat`` attached to each process for ``seconds``, started at once."""

    seconds: float
    procs: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    error: str = ""

    @classmethod
    def start(cls, pids: dict[str, int], seconds: float) -> SyscallCounter:
        counter = cls(seconds)
        perf = shutil.which("perf")
        if perf is None:
            counter.error = "perf not found (apt-get install linux-perf)"
            return counter
        for name, pid in pids.items():
            command = [perf, "stat", "-x,", *_events(), "-p", str(pid), "--", "sleep", f"{seconds}"]
            counter.procs[name] = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
        return counter

    def finish(self) -> dict[str, dict[str, int]]:
        """Counts by process and kind (``ALL``, the kinds, ``<kind> failed``)."""
        counts: dict[str, dict[str, int]] = {}
        for name, proc in self.procs.items():
            _, err = proc.communicate(timeout=self.seconds + 30)
            counts[name] = parse(err)
            if proc.returncode != 0 or not counts[name]:
                self.error = f"perf stat failed: {err.strip()[-300:]}"
        return counts


def parse(perf_csv: str) -> dict[str, int]:
    """``perf stat -x,`` output: ``count,unit,event,...`` lines, in the order asked for."""
    counts: dict[str, int] = {}
    for line in perf_csv.splitlines():
        fields = line.split(",")
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        event = fields[2]
        if event == TOTAL:
            counts["ALL"] = int(fields[0])
        elif event.startswith("syscalls:sys_enter_"):
            counts[event.removeprefix("syscalls:sys_enter_")] = int(fields[0])
        elif event.startswith("syscalls:sys_exit_"):
            counts[event.removeprefix("syscalls:sys_exit_") + " failed"] = int(fields[0])
    return counts


def report(counts: dict[str, dict[str, int]], call_seconds: float, error: str) -> None:
    """Per call-second, media next to peer; kinds neither process made are left out."""
    if error or not counts:
        print(f"system calls: not counted ({error or 'no counts'})")
        return
    names = list(counts)
    print(f"{'system calls per call-second (perf stat)':<44}" + "".join(f"{n:>9}" for n in names))
    rows = ["ALL", *(k for kind in KINDS for k in (kind, f"{kind} failed"))]
    for row in rows:
        values = [counts[n].get(row, 0) for n in names]
        if row != "ALL" and not any(values):
            continue
        label = f"  {row} (EAGAIN)" if row.endswith(" failed") else row
        print(f"{label:<44}" + "".join(f"{v / call_seconds:>9.1f}" for v in values))
