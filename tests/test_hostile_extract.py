"""Pages whose extraction would take minutes or gigabytes: each fails alone, within its limits, and
a run always ends (SIGTERM and Ctrl-C included) with nothing archived touched.

Every case runs the real command in a subprocess beside a normal page and watches its whole process
tree from /proc (`userview.run_sampled`): the command, its extraction worker processes and git.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.archives import article, configure, folder, meta
from support.commands import git
from support.hostile import endless, page
from support.userview import STORY, Sampled, archiver, cpu_seconds, run_sampled
from support.warcs import responses

from archiver.text.pool import Limits, Pool, Stopped

TREE_MB = 300  # peak resident memory of the whole process tree


def story(title: str) -> bytes:
    return page(title, STORY).encode()


def paragraphs_gzip(count: int = 1_900_000) -> bytes:
    """A gzip body of ~40 KB that inflates to `count` short paragraphs (15 MB, under the decoding
    cap's old 20 MB)."""
    return gzip.compress(
        b"<html><head><title>Minutes</title></head><body>" + b"<p>a</p>" * count, 9
    )


class Pdf:
    """A PDF written object by object, as raw bytes."""

    def __init__(self) -> None:
        self.objects: list[bytes] = []
        self.font = self.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")

    def add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)

    def stream(self, content: bytes, entries: bytes = b"") -> int:
        return self.add(
            b"<< " + entries + b" /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
        )

    def pages(self, contents: list[int], resources: bytes) -> bytes:
        """The whole file: one page per content stream, each with `resources`."""
        parent = len(self.objects) + len(contents) + 1
        kids = [
            self.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources %s >>"
                % (parent, content, resources)
            )
            for content in contents
        ]
        self.add(
            b"<< /Type /Pages /Kids [%s] /Count %d >>"
            % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
        )
        catalog = self.add(b"<< /Type /Catalog /Pages %d 0 R >>" % parent)
        out, offsets = bytearray(b"%PDF-1.7\n"), []
        for number, body in enumerate(self.objects, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        size = len(self.objects) + 1
        out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            size,
            catalog,
            xref,
        )
        return bytes(out)


def nested_pdf(pages: int = 40, depth: int = 12) -> bytes:
    """A PDF of ~9 KB whose every page draws form XObject X, which draws the next X twice, `depth`
    deep: the text extractor follows thousands of form invocations on each page."""
    pdf = Pdf()

    def form(resources: bytes) -> bytes:
        return b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << %s >>" % resources

    inner = pdf.stream(
        b"BT /F1 12 Tf 72 720 Td (The minutes were read again.) Tj ET",
        form(b"/Font << /F1 %d 0 R >>" % pdf.font),
    )
    for _ in range(depth):
        inner = pdf.stream(
            b"/X Do /X Do",
            form(b"/XObject << /X %d 0 R >> /Font << /F1 %d 0 R >>" % (inner, pdf.font)),
        )
    content = pdf.stream(b"/X Do")
    return pdf.pages([content] * pages, b"<< /XObject << /X %d 0 R >> >>" % inner)


def long_pdf(pages: int, lines: int = 60) -> bytes:
    """A plain PDF report of text: `pages` pages of `lines` lines each."""
    pdf = Pdf()
    line = b"(Line %d of page %d: the council met again and the minutes were read aloud.) '"
    contents = [
        pdf.stream(
            b"BT /F1 10 Tf 50 780 Td 12 TL "
            + b" ".join(line % (i, p) for i in range(lines))
            + b" ET"
        )
        for p in range(pages)
    ]
    return pdf.pages(contents, b"<< /Font << /F1 %d 0 R >> >>" % pdf.font)


MINUTES = (
    b"<p>The council met again and the minutes of the previous meeting were read aloud in full.</p>\n"
    * 40
)
ENDLESS = endless(
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
    b"<html><head><title>Endless minutes</title></head><body><article><h1>Endless minutes</h1>",
    MINUTES,
    seconds=60,
)


def _archived_before(server, root: Path, path: str) -> tuple[str, dict]:
    """`path` archived as a normal story first: the version a hostile answer must leave alone."""
    server.answer(path, story("Harbour terminal approved"))
    first = archiver(root, "add", server.url(path), "--json")
    assert first.code == 0 and first.result(server.url(path))["outcome"] == "new"
    return git(root, "rev-parse", "HEAD").strip(), meta(root, server.url(path))


def _assert_archive_sound(root: Path) -> None:
    fsck = subprocess.run(
        ["git", "-C", str(root), "fsck", "--full", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
    )
    assert fsck.returncode == 0 and not fsck.stdout.strip(), fsck.stdout + fsck.stderr
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    checked = archiver(root, "verify")  # only reads back: in this process
    assert checked.code == 0, checked.stdout + checked.stderr


def _assert_failed_alone(
    run: Sampled, server, root: Path, bad: str, reason: str, before: tuple[str, dict]
) -> None:
    """The hostile page failed with `reason`, the normal one beside it was archived, and the page's
    earlier version is as it was; the process tree stayed under TREE_MB."""
    assert run.code == 1, run.stderr
    failed = run.result(server.url(bad))
    assert failed["outcome"] == "failed" and re.fullmatch(reason, failed["error"]), failed
    assert run.result(server.url("/fine"))["outcome"] == "new"
    assert "ferry terminal" in article(root, server.url("/fine"))
    assert run.peak_mb < TREE_MB, f"peak RSS of the process tree {run.peak_mb:.0f} MB"
    commit, earlier = before
    assert meta(root, server.url(bad)) == earlier  # version 1, untouched
    assert git(
        root, "log", "--format=%H", "--", f"{folder(root, server.url(bad)).relative_to(root)}"
    ).split() == [commit]
    assert (
        git(root, "rev-list", "--count", f"{commit}..HEAD").strip() == "1"
    )  # the run committed /fine
    # The committed WARCs hold the first version's response alone: the failed check made no version.
    assert [r.uri for r in responses(root / "warcs", server.url(bad))] == [server.url(bad)]
    _assert_archive_sound(root)


def test_two_million_paragraphs_fail_at_the_memory_limit(server, root):
    before = _archived_before(server, root, "/minutes")
    body = paragraphs_gzip()
    assert len(body) < 50_000
    server.answer(
        "/minutes", body, headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    )
    server.answer("/fine", story("Terminal approved"))

    run = run_sampled(root, "add", "--json", server.url("/minutes"), server.url("/fine"))

    _assert_failed_alone(
        run, server, root, "/minutes", r"extraction stopped: more than 160 MB of memory", before
    )
    assert (
        run.seconds < 60
    )  # stopped as its memory passed the limit, long before its 30 s of CPU time


def test_a_pdf_of_nested_forms_fails_at_the_cpu_time_limit(server, root):
    before = _archived_before(server, root, "/report.pdf")
    body = nested_pdf()
    assert len(body) < 10_000
    server.answer("/report.pdf", body, headers=[("Content-Type", "application/pdf")])
    server.answer("/fine", story("Terminal approved"))
    configure(root, max_extract_seconds=3.0)

    run = run_sampled(root, "add", "--json", server.url("/report.pdf"), server.url("/fine"))

    _assert_failed_alone(
        run, server, root, "/report.pdf", r"extraction stopped: more than 3 s of CPU time", before
    )
    assert run.seconds < 3 * 10  # the CPU limit, on a machine running other work too


def test_a_pdf_larger_than_the_html_cap_is_still_read_whole(server, root):
    """HTML is cut at fetch.max_decoded_bytes to fit the memory limit; a PDF cannot be parsed in
    part."""
    body = long_pdf(600)
    assert len(body) > 2 * 2**20
    server.answer("/report.pdf", body, headers=[("Content-Type", "application/pdf")])

    run = archiver(root, "add", "--json", server.url("/report.pdf"))

    assert run.code == 0 and run.result(server.url("/report.pdf"))["outcome"] == "new", run.stderr
    assert "Line 59 of page 599: the council met again" in article(root, server.url("/report.pdf"))


def test_rebuild_extracts_under_the_same_limits_and_leaves_a_page_over_them_as_it_is(server, root):
    server.answer(
        "/report.pdf", nested_pdf(pages=2, depth=10), headers=[("Content-Type", "application/pdf")]
    )
    server.answer("/fine", story("Terminal approved"))
    assert (
        archiver(root, "add", server.url("/report.pdf"), server.url("/fine")).code == 0
    )  # within 30 s of CPU
    head = git(root, "rev-parse", "HEAD").strip()
    pdf_text = article(root, server.url("/report.pdf"))
    configure(root, max_extract_seconds=1.0)
    git(root, "commit", "-qam", "a tighter CPU limit")

    run = archiver(root, "rebuild", "--json")

    assert run.code == 1
    assert run.data["failed"] == [
        {
            "url": server.url("/report.pdf"),
            "reason": "extraction stopped: more than 1 s of CPU time",
        }
    ]
    assert server.url("/fine") in run.data["pages"]
    assert article(root, server.url("/report.pdf")) == pdf_text
    assert (
        git(root, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    )  # the settings' commit alone
    _assert_archive_sound(root)


def test_an_endless_body_at_default_sizes_stays_within_memory(server, root):
    server.routes["/endless"] = ENDLESS
    server.answer("/fine", story("Terminal approved"))

    run = run_sampled(root, "add", "--json", server.url("/endless"), server.url("/fine"))

    assert run.code == 0, run.stderr
    assert run.result(server.url("/endless"))["outcome"] == "new"
    assert run.result(server.url("/fine"))["outcome"] == "new"
    assert run.peak_mb < TREE_MB, f"peak RSS of the process tree {run.peak_mb:.0f} MB"
    assert meta(root, server.url("/endless"))["truncated"] == "length"
    assert "minutes of the previous meeting" in article(root, server.url("/endless"))
    _assert_archive_sound(root)


def test_a_normal_run_stays_within_memory(server, root):
    urls = []
    for i in range(12):
        server.answer(
            f"/news/{i}",
            page(f"Story {i} on the terminal", [*STORY, f"This is story {i}."]).encode(),
        )
        urls.append(server.url(f"/news/{i}"))

    run = run_sampled(root, "add", "--json", *urls)

    assert run.code == 0 and run.data["counts"]["new"] == 12, run.stderr
    assert run.peak_mb < TREE_MB, f"peak RSS of the process tree {run.peak_mb:.0f} MB"


def _signal_masks(pid: int) -> str:
    """The signals each thread of `pid` blocks, ignores and catches (/proc), for a failure's message."""
    lines = []
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        with contextlib.suppress(OSError):
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
            lines.append(
                f"{fields.get('Name', '?').strip()}: blocked {fields.get('SigBlk', '?').strip()} "
                f"ignored {fields.get('SigIgn', '?').strip()} caught {fields.get('SigCgt', '?').strip()}"
            )
    return "; ".join(lines)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "Ctrl-C"]
)
def test_a_run_busy_extracting_stops_at_once_on_a_signal(server, root, signum, code):
    server.answer("/report.pdf", story("Report published"))
    server.answer("/fine", story("Terminal approved"))
    assert archiver(root, "add", server.url("/report.pdf"), server.url("/fine")).code == 0
    head = git(root, "rev-parse", "HEAD").strip()
    server.answer("/report.pdf", nested_pdf(), headers=[("Content-Type", "application/pdf")])
    sent: list[float] = []

    def interrupt(proc: subprocess.Popen, workers: set[int]) -> None:
        # Once a worker has spent a second on the PDF (whose limit is 30 s), the run is busy
        # extracting.
        if not sent and any(cpu_seconds(pid) > 1 for pid in workers):
            masks.append(
                _signal_masks(proc.pid)
            )  # what the command did with the signal, if not stop
            proc.send_signal(signum)
            sent.append(time.monotonic())

    masks: list[str] = []
    run = run_sampled(root, "snapshot", "--all", on_sample=interrupt)

    assert sent, "the run ended before it was busy extracting"
    assert run.code == code, (run.stderr, masks)
    stopped = time.monotonic() - sent[0]
    assert stopped < 10, f"exited {stopped:.1f} s after the signal"
    [line] = run.stderr.strip().splitlines()  # one line, no traceback, no word of dying workers
    assert line.startswith("archiver: ") and "the archive is as the last commit left it" in line
    assert run.workers and not [pid for pid in run.workers if Path(f"/proc/{pid}").exists()]
    assert git(root, "rev-parse", "HEAD").strip() == head
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (root / ".archiver" / "run-in-progress").exists()
    server.answer("/report.pdf", story("Report revised"))  # the next run succeeds
    again = archiver(root, "snapshot", "--all", "--json")
    assert again.code == 0 and again.result(server.url("/report.pdf"))["outcome"] == "changed"


# --- the worker pool itself -----------------------------------------------------------------------


def test_c_code_that_never_lets_the_cpu_timer_fire_is_ended_by_rlimit_cpu():
    """A long computation in C never returns to the interpreter, where the CPU timer's handler would
    run: the kernel's CPU limit ends the worker a few seconds past the task's limit, and a new
    worker takes the next task."""
    pool = Pool(1, Limits(cpu_seconds=1, memory_mb=1000))
    try:
        started = time.monotonic()
        future = pool.submit(
            hashlib.pbkdf2_hmac, "sha256", b"secret", b"salt", 10**9
        )  # an hour of CPU
        with pytest.raises(Stopped, match=r"^extraction stopped: more than 1 s of CPU time$"):
            future.result(timeout=120)
        assert time.monotonic() - started < 60
        assert pool.submit(json.loads, "[1, 2]").result(timeout=60) == [1, 2]
    finally:
        pool.close()


def test_a_worker_that_dies_twice_fails_its_task_and_the_queue_goes_on():
    pool = Pool(1, Limits(cpu_seconds=30, memory_mb=1000))
    try:
        dying = pool.submit(os.abort)  # as a crash in C code would
        queued = [pool.submit(json.loads, str(i)) for i in range(3)]
        with pytest.raises(
            Stopped,
            match=r"^extraction stopped: its worker process died twice \(killed by signal 6\)",
        ):
            dying.result(timeout=60)
        assert [f.result(timeout=60) for f in queued] == [0, 1, 2]
    finally:
        pool.close()


def test_a_task_given_after_an_interrupted_close_stops_as_the_tasks_the_close_stopped():
    """A fetch still in flight when a terminated run closes the pool hands its page over late: it is
    stopped like the rest, not an error with a traceback on the terminal."""
    pool = Pool(1, Limits(cpu_seconds=30, memory_mb=1000))
    pool.close()
    with pytest.raises(Stopped, match=r"^extraction stopped: the run was interrupted$"):
        pool.submit(json.loads, "[1]").result(timeout=5)
