"""An extraction worker process (started by `pool.py`): pages in on stdin, documents out on stdout.

Each page is extracted under a CPU-time limit: a profiling timer interrupts Python code when the
page's time is up, and `RLIMIT_CPU` (a few seconds later) ends the process if C code never gives the
timer a chance. Memory is watched from outside (`pool.py`): an allocation refused by a limit set
here would surface as a MemoryError that the extractor's own broad `except` clauses may swallow, and
a page extracted short of memory would become an empty, false version. Messages are pickled frames,
each preceded by its length.
"""

from __future__ import annotations

import logging
import os
import pickle
import resource
import signal
import struct
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

HEADER = struct.Struct("!Q")
CPU_GRACE = 3  # seconds past the page's limit before RLIMIT_CPU ends a process stuck in C code
# A worker that grew this much while extracting exits after its answer: the allocator keeps what a
# large page took, and a fresh process is smaller than one that holds it.
RECYCLE_GROWTH_KB = 48 * 1024
KB = 1 if sys.platform != "darwin" else 1024  # ru_maxrss is in KB on Linux, in bytes on macOS
STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class Task:
    """One page for a worker: `function(*args)` with its limits, and the parent's logging level."""

    function: str  # "module:name"
    args: tuple[Any, ...]
    cpu_seconds: float
    memory_kb: int
    log_level: int


@dataclass(frozen=True)
class Answer:
    status: str  # "ok", "unextractable" (value: the reason) or "error" (value: the traceback)
    value: Any
    logs: tuple[
        tuple[str, int, str], ...
    ] = ()  # (logger name, level, message) of the task's log records
    leaving: bool = False  # the worker exits after this answer (it is replaced if work remains)


class Refused(Exception):
    """A task that gives no result, for the reason its message gives in one line (a page that is not
    whole)."""


class OverCpu(BaseException):
    """Raised by the profiling timer; a BaseException, so that no `except Exception` of the
    extractor hides it."""


def send(stream: BinaryIO, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    """The next message, or None at the end of the stream (the other side closed it or died)."""
    head = _read(stream, HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    data = _read(stream, size)
    return pickle.loads(data) if len(data) == size else None


def _read(stream: BinaryIO, size: int) -> bytes:
    data = bytearray()
    while len(data) < size and (
        piece := stream.read(size - len(data))
    ):  # a raw pipe may return less
        data += piece
    return bytes(data)


def cpu_message(seconds: float) -> str:
    return f"extraction stopped: more than {seconds:g} s of CPU time"


def memory_message(kb: int) -> str:
    return f"extraction stopped: more than {kb // 1024} MB of memory"


class _Collector(logging.Handler):
    """Keeps the task's records of archiver's loggers, to be logged again by the parent process."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("archiver"):
            self.records.append((record.name, record.levelno, record.getMessage()))


def peak_kb() -> int:
    """This process's peak resident memory. ru_maxrss would do, but on Linux it starts at the
    parent's peak."""
    try:
        with STATUS.open("rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // KB


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _over_cpu(signum: int, frame: object) -> None:
    raise OverCpu


def _run(task: Task) -> tuple[str, Any]:
    module, name = task.function.split(":")
    function = getattr(__import__(module, fromlist=[name]), name)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(_cpu_used() + task.cpu_seconds + CPU_GRACE) + 1
    resource.setrlimit(
        resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard)
    )
    try:
        signal.setitimer(signal.ITIMER_PROF, task.cpu_seconds)
        try:
            return "ok", function(*task.args)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except OverCpu:
        return "unextractable", cpu_message(task.cpu_seconds)
    except Refused as exc:
        return "unextractable", str(exc)
    except Exception:
        return "error", traceback.format_exc()


def serve(tasks: BinaryIO, answers: BinaryIO) -> None:
    baseline = peak_kb()
    collector = _Collector()
    logging.getLogger().addHandler(collector)
    while (task := receive(tasks)) is not None:
        logging.getLogger().setLevel(task.log_level)
        collector.records.clear()
        status, value = _run(task)
        peak = peak_kb()
        if (
            peak > task.memory_kb
        ):  # a peak the parent's watch missed between two looks: the limit holds all the same
            status, value = "unextractable", memory_message(task.memory_kb)
        # After a stopped page, state inside the extractor may be half-changed: start afresh.
        leaving = status != "ok" or peak > baseline + RECYCLE_GROWTH_KB
        send(answers, Answer(status, value, tuple(collector.records), leaving))
        if leaving:
            return


def main() -> None:
    # The parent manages this process: Ctrl-C reaches the whole process group, but only the parent
    # acts on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPROF, _over_cpu)
    resource.setrlimit(
        resource.RLIMIT_CORE, (0, 0)
    )  # SIGXCPU dumps core by default; nothing to keep
    # Answers go on a private copy of stdout; anything a library prints goes to stderr instead.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    for module in sys.argv[1:]:  # what every task needs, loaded before the first one arrives
        __import__(module)
    serve(sys.stdin.buffer, answers)
    os._exit(
        0
    )  # every answer is flushed: the interpreter's clean-up would only delay the parent's wait
