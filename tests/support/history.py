"""Version history end to end: an article that a loopback news site edits, deletes, redirects and
breaks on demand, snapshots taken by the library, and the real `archiver` command reading the
history back as a user would.

Shared by test_log, test_diff, test_show, test_version_specs, test_gone, test_failed_fetches,
test_moves and test_source_versions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from archiver import Archive
from archiver.errors import ExitCode
from archiver.urls import page_dir
from support.commands import git, run_cli
from support.newssite import article

PATH = "/news/2026/11/minister-resigns"
HEADLINE = "Finance minister resigns"
BYLINE = "By Jane Doe · Published 2026-11-20"
STORY = [
    "The finance minister resigned on Tuesday after an audit found irregular payments worth millions.",
    "Auditors said the payments were approved without the required signatures. The ministry disputed that.",
    "Opposition leaders called for a full public inquiry and the release of all related documents.",
    "The prime minister thanked the minister for her service and named an interim successor on Wednesday.",
]
# The body sentences of article.md for STORY, one a line, in order.
SENTENCES = [
    STORY[0],
    "Auditors said the payments were approved without the required signatures.",
    "The ministry disputed that.",
    STORY[2],
    STORY[3],
]
ADDED = "Her lawyer said she would cooperate fully with investigators and answer every question."
NOT_FOUND_PAGE = (
    b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
)


class Story:
    """The article as the site serves it now; tests change the fields, then snapshot."""

    def __init__(self, site, path: str = PATH) -> None:
        self.site, self.path, self.url = site, path, site.url(path)
        self.title, self.paragraphs, self.links, self.author = HEADLINE, list(STORY), [], "Jane Doe"
        self.archive: Archive | None = None  # where edit_history archived it
        self.serve()

    def serve(self) -> None:
        self.site.page(
            self.path,
            lambda: article(self.title, self.paragraphs, links=self.links, author=self.author),
        )


def recheck(archive: Archive):
    """A snapshot of every tracked page and source now, due or not."""
    return archive.snapshot(all_pages=True)


def outcome(summary, url: str) -> tuple[str, str | None, str]:
    [result] = [r for r in summary.results if r.url == url]
    return result.outcome, result.kind, result.summary


def cli(archive: Archive, *args: str) -> subprocess.CompletedProcess[str]:
    """`archiver ARGS --archive ROOT` (the option goes before a `--`, which ends the options)."""
    end = args.index("--") if "--" in args else len(args)
    return run_cli(*args[:end], "--archive", str(archive.root), *args[end:])


def cli_ok(archive: Archive, *args: str) -> str:
    result = cli(archive, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def cli_json(archive: Archive, *args: str):
    end = args.index("--") if "--" in args else len(args)
    return json.loads(cli_ok(archive, *args[:end], "--json", *args[end:]))


def cli_bytes(archive: Archive, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Like run_cli, but stdout as the exact bytes written (no decoding, no newline translation)."""
    exe = Path(sys.executable).with_name("archiver")
    return subprocess.run(
        [str(exe), *args, "--archive", str(archive.root)],
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def usage_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == ExitCode.USAGE, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("archiver: error: "), (
        result.stderr
    )
    for word in words:
        assert word in result.stderr


def rel(url: str, name: str = "") -> str:
    """The page's folder (or a file in it) relative to the archive root, as git names it."""
    return (page_dir(url) / name).as_posix() if name else page_dir(url).as_posix()


def head(archive: Archive) -> str:
    return git(archive.root, "rev-parse", "HEAD").strip()


def only_confirmed(archive: Archive, since: str) -> None:
    """The commits after `since` hold no version: each adds its run's checks WARC, and nothing
    else."""
    commits = git(archive.root, "rev-list", f"{since}..HEAD").split()
    assert commits
    for commit in commits:
        files = git(archive.root, "show", "--name-only", "--format=", commit).split()
        assert len(files) == 1 and files[0].startswith("warcs/checks/"), files


def text_at(archive: Archive, commit: str, url: str) -> str:
    return git(archive.root, "show", f"{commit}:{rel(url, 'article.md')}")


def message(archive: Archive, commit: str) -> str:
    return git(archive.root, "show", "-s", "--format=%B", commit)


def kinds(log: list[dict]) -> list[str]:
    return [v["kind"] for v in log]


def minute(stamp: str) -> str:
    return stamp[:16].replace("T", " ")


def write_settings(archive: Archive, replacements: dict[str, str]) -> Archive:
    """Edit archiver.toml ("read_timeout = 30.0" -> "read_timeout = 0.5") and open the archive
    again."""
    toml = archive.root / "archiver.toml"
    text = toml.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    toml.write_text(text)
    return Archive.open(archive.root)


def serve_sources(site) -> dict[str, str]:
    site.page(
        "/reports/audit",
        lambda: article(
            "The audit report",
            [
                "The audit covered every payment the ministry made between January and June.",
                "It found twelve payments approved without the required signatures.",
                "The auditors recommend new controls on approvals and a review of past contracts.",
            ],
        ),
    )
    site.page(
        "/data/payments",
        lambda: article(
            "Payments table",
            [
                "The table lists every payment examined by the auditors, with its date and amount.",
                "Each row names the payee and the official who approved the payment.",
                "Totals were checked against the ministry ledger published in September.",
            ],
        ),
    )
    return {"audit": site.url("/reports/audit"), "table": site.url("/data/payments")}


def edit_history(site, archive: Archive) -> Story:
    """v1 new; v2 one sentence edited; v3 headline changed; v4 a citation dropped; v5 byline changed
    and a sentence added."""
    sources = serve_sources(site)
    story = Story(site)
    story.links = [(sources["audit"], "the audit report"), (sources["table"], "a payments table")]
    archive.add([story.url])
    story.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "edited")
    story.title = "Finance minister resigns after audit"
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "edited")
    story.links = story.links[:1]
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "edited")
    story.author = "Omar Ali"
    story.paragraphs.append(ADDED)
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "edited")
    return story


def two_versions(site, archive) -> tuple[Story, list[dict]]:
    story = Story(site)
    archive.add([story.url])
    story.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    recheck(archive)
    return story, cli_json(archive, "log", story.url)
