"""The real command as a user runs it against hostile servers, and what they see of it.

Shared by the hostile suite (tests/test_hostile*.py): the exit code, stdout and stderr of a run, its
`--json` results, what it left in the archive, and the memory of the command's processes (the
archive's files are read with `support.archives`, its WARC records with `support.warcs`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from archiver.cli import app
from archiver.urls import normalize_url
from support.archives import folder
from support.commands import git
from support.hostile import response

STORY = [
    "The harbour authority approved the new ferry terminal on Tuesday after a long public inquiry.",
    "Residents of the old town said the plan would bring heavy traffic to streets built for carts.",
    "The authority promised a review of the traffic plan before any construction work begins next spring.",
]


# --- running the command --------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the user sees of one command."""

    code: int
    stdout: str
    stderr: str
    data: dict = field(default_factory=dict)

    def result(self, url: str) -> dict:
        wanted = normalize_url(url)
        [entry] = [r for r in self.data["results"] if r["url"] == wanted]
        return entry


def in_process(
    argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`archiver ARGV` in this process (typer's CliRunner), answered as `run_cli` answers for the
    real command: the same code path and output, without the start-up of a new interpreter. For
    reading an archive back (`log`, `list`, `show`, `diff`, `verify`); a test about the process
    itself (signals, its environment, cron, memory, exact bytes on stdout) runs the real one.
    ARCHIVER_DIR is unset, as `run_cli` unsets it."""
    logger = logging.getLogger()
    handlers, level = logger.handlers[:], logger.level
    try:
        result = CliRunner().invoke(app, argv, env={"ARCHIVER_DIR": None, **(env or {})})
    finally:  # the command points the root logger at the runner's streams; give pytest its own back
        logger.handlers[:], logger.level = handlers, level
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["archiver", *argv], result.exit_code, result.stdout, result.stderr
    )


def run(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`archiver ARGS -a ROOT` in this process (see `in_process`); `-a ROOT` goes before a `--`,
    which ends the options."""
    end = args.index("--") if "--" in args else len(args)
    return in_process([*args[:end], "-a", str(root), *args[end:]], env)


def archiver(root: Path, *args: str, env: dict[str, str] | None = None) -> Outcome:
    """`run`, with its `--json` output read, and never an internal error."""
    result = run(root, *args, env=env)
    assert result.returncode != 70 and "internal error" not in result.stderr, result.stderr
    data = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else {}
    for entry in data.get("results", []) if isinstance(data, dict) else []:
        assert not (entry["error"] or "").startswith("internal error"), entry
    return Outcome(result.returncode, result.stdout, result.stderr, data)


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]  # nothing when `path` does not exist


def assert_nothing_written(root: Path, url: str) -> None:
    """No page files, no WARC in the archive or in git, nothing left in flight."""
    assert not folder(root, url).exists()
    assert files_under(root / "warcs") == [] and files_under(root / ".archiver" / "spool") == []
    assert git(root, "ls-files", "warcs", "pages") == ""
    assert not list(root.rglob("*.open"))


def run_measured(root: Path, *args: str) -> tuple[int, str, float]:
    """Run the real command in a subprocess; its exit code, stdout, and peak RSS in MB (process
    tree)."""
    run = run_sampled(root, *args)
    return run.code, run.stdout, run.peak_mb


def streamed(root: Path, *args: str, keep: int = 0) -> tuple[int, bytes, int, float]:
    """Run the real command, reading its stdout as it comes: exit code, the first `keep` bytes, the
    number of bytes, and peak RSS in MB (relative figures only: it counts the test process forked
    before exec)."""
    exe = Path(sys.executable).with_name("archiver")
    proc = subprocess.Popen(
        [str(exe), *args, "-a", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    head = proc.stdout.read(keep) if keep else b""
    size = len(head)
    while piece := proc.stdout.read(1 << 20):
        size += len(piece)
    _pid, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), head, size, usage.ru_maxrss / 1024


def redirect(to: str, status: str = "302 Found"):
    return lambda conn: conn.send(response(status, [("Location", to)]))


# --- processes ------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """The CPU time process `pid` has used (user and system, /proc), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_processes(pid: int) -> list[int]:
    """The extraction worker processes among the descendants of `pid`."""
    return [p for p in _tree(pid)[1:] if b"archiver.text.worker" in _resident_kb(p)[1]]


@dataclass
class Sampled:
    """A run of the real command watched from outside: what it printed, and the memory of its
    process tree."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float  # the largest sum of resident memory of the tree's processes at one sample
    workers: set[int]  # extraction worker processes seen while it ran

    @property
    def data(self) -> dict:
        return json.loads(self.stdout)

    def result(self, url: str) -> dict:
        [entry] = [r for r in self.data["results"] if r["url"] == normalize_url(url)]
        return entry


def _tree(pid: int) -> list[int]:
    """`pid` and every process it started, and theirs (from each thread's list of children)."""
    members, frontier = [], [pid]
    while frontier:
        member = frontier.pop()
        members.append(member)
        try:
            tasks = list(Path(f"/proc/{member}/task").glob("*/children"))
        except OSError:
            continue  # the process ended between glob's look at the folder and its listing
        for task in tasks:
            try:
                frontier += [int(child) for child in task.read_text().split()]
            except OSError:
                continue  # the thread or process ended meanwhile
    return members


def _resident_kb(pid: int) -> tuple[int, bytes]:
    """Resident memory of a live process in KB (0 for a zombie) and its command line."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return 0, b""
    rss = [line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")]
    return (int(rss[0]) if rss else 0), cmdline


@contextlib.contextmanager
def _as_from_a_terminal() -> Iterator[None]:
    """Start a command as a terminal does, with Ctrl-C at its default. A suite started in the
    background by a script (`pytest &` in sh) has SIGINT ignored, and an ignored signal stays
    ignored across exec, while a caught one is reset to its default: so catch it while starting."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_sampled(
    root: Path,
    *args: str,
    timeout: float = 300,
    interval: float = 0.02,
    on_sample: Callable[[subprocess.Popen, set[int]], None] | None = None,
) -> Sampled:
    """Run `archiver ARGS -a ROOT` in a subprocess while sampling the resident memory of its whole
    process tree (the command, its extraction workers, git); the peak is the largest sum at one
    sample. Not the command's ru_maxrss: on Linux a child's starts at the peak of the process that
    forked it (pytest's, which may be hundreds of MB after other tests). `on_sample` may act on the
    running command (send it a signal) with the worker processes seen so far."""
    exe = Path(sys.executable).with_name("archiver")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        with _as_from_a_terminal():
            proc = subprocess.Popen(
                [str(exe), *args, "-a", str(root)],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        peak_kb, workers = 0, set()
        try:
            while not (ended := os.wait4(proc.pid, os.WNOHANG))[0]:
                assert time.monotonic() - started < timeout, f"still running after {timeout} s"
                total = 0
                for pid in _tree(proc.pid):
                    kb, cmdline = _resident_kb(pid)
                    total += kb
                    if b"archiver.text.worker" in cmdline:
                        workers.add(pid)
                peak_kb = max(peak_kb, total)
                if on_sample:
                    on_sample(proc, workers)
                time.sleep(interval)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = code = os.waitstatus_to_exitcode(ended[1])
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        peak_mb = peak_kb / 1024
        return Sampled(code, out.read().decode(), err.read().decode(), seconds, peak_mb, workers)
