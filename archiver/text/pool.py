"""Worker processes that run one task at a time each, under a CPU-time, memory and wall-clock limit.

The workers are plain subprocesses (`worker.py`), not multiprocessing's: those import the program's
main module again, which runs a library user's unguarded script a second time. A thread of this
process (the manager) hands out tasks, reads answers, and watches each busy worker: past the memory
limit (its resident memory, read from /proc) or the wall-clock limit it is killed and its task
stopped with that reason. A worker that dies of anything else is replaced and its task tried once
more in the new one; a second death stops the task. Queued tasks wait in this process, so a dying
worker takes none of them along.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .worker import Answer, Task, cpu_message, memory_message, receive, send

log = logging.getLogger(__name__)

# seconds between two looks at the busy workers' memory (a worker may grow 10 MB in that time)
POLL = 0.01
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PACKAGE_ROOT = str(
    Path(__file__).resolve().parents[2]
)  # the folder that holds the archiver package
# Starting a worker costs about 0.3 s of CPU (Python and trafilatura's imports), as much as extracting
# 30 pages: a run starts one more only for each further 8 pages waiting, so a run of a few pages (a
# cron run that finds most pages unchanged) starts one worker or none.
PAGES_PER_WORKER = 8
ATTEMPTS = 2  # a task whose worker process dies is tried once more, in a new one
INTERRUPTED = "extraction stopped: the run was interrupted"
LEAVE_WAIT = (
    5.0  # seconds for a worker to be gone once killed or leaving, and for the manager to stop
)


class Stopped(Exception):
    """A task stopped for a reason given in one line: over a limit, or its worker process died
    twice."""


class WorkerError(Exception):
    """The task raised an exception in the worker process; its traceback is in the log."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float  # CPU time one task may use
    memory_mb: int  # resident memory of a worker process, its own code included

    @property
    def wall_seconds(self) -> float:
        """A busy worker that has not answered by then has stopped working (stopped, or waiting
        forever): far beyond what its CPU time allows, even on a machine whose cores are shared four
        ways."""
        return 4 * self.cpu_seconds + 30


@dataclass
class _Job:
    function: str
    args: tuple[Any, ...]
    future: Future[Any] = field(default_factory=Future)
    attempts: int = 0


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    job: _Job | None = None
    started: float = 0.0  # when the job was handed to it (monotonic)
    verdict: str | None = None  # why this process killed it, if it did


class Pool:
    """Up to `size` worker processes, started as tasks come (or by `start`); `close` ends them.

    `shared` gives the pool of this process for a set of limits, which outlives a run: a process
    that makes many runs (a service, the tests) starts its workers once.
    """

    def __init__(self, size: int, limits: Limits, preload: tuple[str, ...] = ()) -> None:
        self.size = max(1, size)
        self.limits = limits
        self.preload = preload  # modules each worker imports before its first task
        self.most = 0  # the most worker processes alive at once
        self._queue: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._prestart = 0
        self._closing = False
        self._closed = False
        self._manager: threading.Thread | None = (
            None  # started with the first task: a pool unused costs nothing
        )

    @property
    def closed(self) -> bool:
        return self._closing

    def begin(self) -> None:
        """A run begins: `most` counts from the workers alive now."""
        with self._lock:
            self.most = len(self._workers)

    def start(self, tasks: int) -> None:
        """Start now the workers that `tasks` tasks to come will need, so that their start overlaps
        other work (none for a few tasks, which may not come: a worker then starts with the first)."""
        with self._lock:
            if self._closing:
                return
            self._prestart = max(self._prestart, min(tasks // PAGES_PER_WORKER, self.size))
            self._run_manager()
        self._wake()

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """`function(*args)` in a worker; its future raises `Stopped` or `WorkerError` when it gives
        no result."""
        job = _Job(f"{function.__module__}:{function.__qualname__}", args)
        with self._lock:
            # A fetch still in flight when an interrupted run closed the pool stops like the
            # tasks the close stopped, rather than raising in its thread.
            if self._closing:
                _resolve(job.future, error=Stopped(INTERRUPTED))
                return job.future
            self._queue.append(job)
            self._run_manager()
        self._wake()
        return job.future

    def close(self) -> None:
        """Stop every worker at once (an idle one has nothing to lose; one still starting is not
        waited for).

        A task not done by then stops: when the run is being interrupted (SIGTERM, Ctrl-C).
        """
        with self._lock:
            if self._closed:  # once: the process's exit closes a shared pool a run closed already
                return
            self._closing = self._closed = True
            workers = list(self._workers)
        if self._manager is None:
            return
        for worker in workers:
            _kill(worker.process)
        self._wake()
        self._manager.join(timeout=LEAVE_WAIT)
        if (
            not self._manager.is_alive()
        ):  # else it may still wake on them; two descriptors are cheap
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _run_manager(self) -> None:
        """Start the manager thread, once (called holding the lock)."""
        if self._manager is not None or self._closing:
            return
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._manager = threading.Thread(target=self._manage, name="extract-pool", daemon=True)
        self._manager.start()

    # -- in the manager thread -------------------------------------------------------------------

    def _manage(self) -> None:
        try:
            while not self._closing:
                self._spawn_and_dispatch()
                busy = any(w.job for w in self._workers)
                for key, _ in self._selector.select(POLL if busy else None):
                    if key.data is None:
                        os.read(self._wake_r, 4096)
                    else:
                        self._read_answer(key.data)
                self._police()
        except Exception:  # never leave a caller waiting on a future that no one will resolve
            log.exception("the extraction pool failed")
            self._closing = True
            self._shut_down("extraction stopped: the extraction processes failed (see the log)")
        else:
            self._shut_down(INTERRUPTED)

    def _spawn_and_dispatch(self) -> None:
        with self._lock:
            prestart, self._prestart = self._prestart, 0
        busy = sum(1 for w in self._workers if w.job)
        waiting = busy + len(self._queue)
        wanted = min(self.size, max(prestart, -(-waiting // PAGES_PER_WORKER)))
        while len(self._workers) < wanted:
            if not self._spawn():
                break
        for worker in self._workers:
            if worker.job is None and worker.verdict is None and self._queue:
                with self._lock:
                    job = self._queue.popleft()
                self._hand(worker, job)

    def _spawn(self) -> bool:
        command = [
            sys.executable,
            "-c",
            "from archiver.text.worker import main; main()",
            *self.preload,
        ]
        path = os.pathsep.join(p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError as exc:
            log.error("cannot start an extraction process: %s", exc)
            self._fail_queue(
                f"extraction stopped: cannot start a worker process ({exc.strerror or exc})"
            )
            return False
        worker = _Worker(process)
        self._workers.append(worker)
        self._selector.register(process.stdout.raw, selectors.EVENT_READ, worker)  # type: ignore[union-attr]
        self.most = max(self.most, len(self._workers))
        return True

    def _hand(self, worker: _Worker, job: _Job) -> None:
        worker.job, worker.started = job, time.monotonic()
        task = Task(
            job.function,
            job.args,
            self.limits.cpu_seconds,
            self.limits.memory_mb * 1024,
            logging.getLogger("archiver").getEffectiveLevel(),
        )
        with contextlib.suppress(
            OSError
        ):  # it died: its end of stdout says so next, and the job is tried again
            send(worker.process.stdin, task)  # type: ignore[arg-type]

    def _read_answer(self, worker: _Worker) -> None:
        answer: Answer | None = receive(worker.process.stdout.raw)  # type: ignore[union-attr]
        if answer is None:
            self._ended(worker)
            return
        job, worker.job = worker.job, None
        if (
            answer.leaving or worker.verdict is not None
        ):  # a worker killed here as it answered goes too
            log.debug("extraction process %d leaves (%s)", worker.process.pid, answer.status)
            self._retire(worker)
        if job is None:
            return
        for name, level, message in answer.logs:
            logging.getLogger(name).log(level, "%s", message)
        if answer.status == "ok":
            _resolve(job.future, result=answer.value)
        elif answer.status == "unextractable":
            _resolve(job.future, error=Stopped(answer.value))
        else:
            log.error("extraction failed in a worker process:\n%s", answer.value.rstrip())
            _resolve(job.future, error=WorkerError(answer.value.rstrip().splitlines()[-1]))

    def _ended(self, worker: _Worker) -> None:
        """The worker's stdout reached its end: it died, or was killed here."""
        self._retire(worker)
        code = worker.process.returncode
        job = worker.job
        if job is None:
            return
        if self._closing:  # killed by `close`: no retry, and nothing to report but the interruption
            _resolve(job.future, error=Stopped(INTERRUPTED))
        elif worker.verdict is not None:
            _resolve(job.future, error=Stopped(worker.verdict))
        elif (
            code == -signal.SIGXCPU
        ):  # RLIMIT_CPU: C code that never let the CPU timer interrupt it
            _resolve(job.future, error=Stopped(cpu_message(self.limits.cpu_seconds)))
        else:
            job.attempts += 1
            how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
            if job.attempts >= ATTEMPTS:
                _resolve(
                    job.future,
                    error=Stopped(f"extraction stopped: its worker process died twice ({how})"),
                )
            else:
                log.warning(
                    "an extraction process died (%s); trying its page again in a new one", how
                )
                with self._lock:
                    self._queue.appendleft(job)

    def _retire(self, worker: _Worker) -> None:
        self._selector.unregister(worker.process.stdout.raw)  # type: ignore[union-attr]
        self._workers.remove(worker)
        for stream in (worker.process.stdin, worker.process.stdout):
            with contextlib.suppress(OSError):  # a broken pipe to a dead worker
                stream.close()  # type: ignore[union-attr]
        try:
            worker.process.wait(LEAVE_WAIT)
        except subprocess.TimeoutExpired:
            _kill(worker.process)
            worker.process.wait()

    def _police(self) -> None:
        now = time.monotonic()
        limit_kb = self.limits.memory_mb * 1024
        for worker in self._workers:
            if worker.job is None or worker.verdict is not None:
                continue
            rss = _rss_kb(worker.process.pid)
            if rss is not None and rss > limit_kb:
                worker.verdict = memory_message(limit_kb)
            elif now - worker.started > self.limits.wall_seconds:
                worker.verdict = (
                    f"extraction stopped: no answer within {self.limits.wall_seconds:g} s"
                )
            if worker.verdict is not None:
                _kill(worker.process)  # its stdout ends next, and `_ended` gives the verdict

    def _fail_queue(self, reason: str) -> None:
        with self._lock:
            jobs, self._queue = list(self._queue), deque()
        for job in jobs:
            _resolve(job.future, error=Stopped(reason))

    def _shut_down(self, reason: str) -> None:
        """Stop every worker; a task not done by then stops for `reason`."""
        for worker in self._workers:  # all at once: each dies while the next is killed
            _kill(worker.process)
        for worker in list(self._workers):
            job = worker.job
            self._retire(worker)
            if job is not None:
                _resolve(job.future, error=Stopped(reason))
        self._fail_queue(reason)
        self._selector.close()

    def _wake(self) -> None:
        if self._manager is None:
            return
        with contextlib.suppress(BlockingIOError):  # full: the manager has wake-ups enough to read
            os.write(self._wake_w, b"x")


_SHARED: dict[tuple[int, Limits, tuple[str, ...]], Pool] = {}
_SHARED_LOCK = threading.Lock()


def shared(size: int, limits: Limits, preload: tuple[str, ...] = ()) -> Pool:
    """This process's pool for `size` workers under `limits`, kept between runs until it is closed
    (an interrupted run closes it) or the process exits."""
    key = (size, limits, preload)
    with _SHARED_LOCK:
        pool = _SHARED.get(key)
        if pool is None or pool.closed:
            pool = _SHARED[key] = Pool(size, limits, preload)
    pool.begin()
    return pool


@atexit.register
def _close_shared() -> None:
    """Idle workers end with the process that started them, not after it."""
    with _SHARED_LOCK:
        pools = list(_SHARED.values())
        _SHARED.clear()
    for pool in pools:
        pool.close()


def _resolve(future: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(OSError):  # already gone
            process.kill()


def _rss_kb(pid: int) -> int | None:
    """Resident memory of a process (Linux); None where /proc cannot say."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_bytes().split()[1]) * PAGE_KB
    except (OSError, ValueError, IndexError):
        return None
