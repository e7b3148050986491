"""`archiver rebuild`: the latest version of each page re-derived from its WARC record, in a commit
of its own.

An extractor change is simulated the way it shows in an archive: text in git that today's extractor
would not write (an edited article.md committed, or an older extractor version in meta.json), or a
new ignore rule in archiver.toml. The real command then re-derives, commits once, and a second run
changes nothing. The archive the cases start from is built once and copied for each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources
from support.commands import git, run_cli
from support.newssite import Response, Site, article
from support.userview import Outcome, archiver

from archiver import Archive
from archiver.errors import ExitCode
from archiver.text.normalize import extractor_versions
from archiver.urls import page_dir

STORY = [
    "The harbour authority approved the new ferry terminal on Thursday after a two year review.",
    "Construction is due to start in the spring and last about eighteen months.",
    "Opposition councillors said the cost estimate had doubled since the plan was first presented.",
]
SOURCE_1252 = [
    "Le café du port sera démoli pour faire place au terminal.",
    "Les propriétaires recevront une indemnité fixée par le tribunal.",
]


@dataclass
class Harbour:
    archive: Archive
    article: str  # a tracked article, served gzip-compressed
    source: str  # a cited source in windows-1252, declared only in the Content-Type header
    gone: str  # a cited source that is now gone (404)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--archive", str(self.archive.root))

    def read(self, *args: str) -> Outcome:
        """A command that only reads the archive back, run in this process."""
        result = archiver(self.archive.root, *args)
        assert result.code == 0, result.stderr
        return result

    def path(self, url: str, name: str) -> Path:
        return self.archive.root / page_dir(url) / name

    def rel(self, url: str, name: str) -> str:
        return (page_dir(url) / name).as_posix()

    def head(self) -> str:
        return git(self.archive.root, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def harbour_site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def harbour_template(
    harbour_site: Site, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str, str]:
    """An archive of a gzip-served article citing a windows-1252 source and a source since gone;
    its root and those three URLs. Each test works on a copy (`harbour`)."""
    site = harbour_site
    root = tmp_path_factory.mktemp("harbour") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    archive = Archive.open(root)
    source = site.url("/sources/cafe")
    gone = site.url("/sources/withdrawn")
    links = [(source, "a notice to owners"), (gone, "a withdrawn statement")]
    site.page(
        "/news/ferry", article("Ferry terminal approved", STORY, links=links), encoding="gzip"
    )
    notice = article("Avis aux propriétaires", SOURCE_1252).replace('<meta charset="utf-8">', "")
    site.routes["/sources/cafe"] = Response(
        body=notice.encode("cp1252"), content_type="text/html; charset=windows-1252"
    )
    site.page(
        "/sources/withdrawn",
        article(
            "Statement",
            [
                "The statement was published and later withdrawn.",
                "Nothing in it was ever confirmed by the ministry.",
            ],
        ),
    )
    url = site.url("/news/ferry")
    archive.add([url])
    site.routes.pop("/sources/withdrawn")
    archive.snapshot(all_pages=True)
    return root, url, source, gone


@pytest.fixture
def harbour(harbour_template: tuple[Path, str, str, str], tmp_path: Path) -> Harbour:
    template, url, source, gone = harbour_template
    root = tmp_path / "archive"
    shutil.copytree(template, root, symlinks=True)
    harbour = Harbour(Archive.open(root), url, source, gone)
    assert json.loads(harbour.path(gone, "meta.json").read_text())["kind"] == "gone"
    assert "démoli" in harbour.path(source, "article.md").read_text(encoding="utf-8")
    return harbour


def summary(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_rebuild_of_a_fresh_archive_changes_nothing(harbour):
    """The same derivation as the snapshot: gzip and a header-only charset decoded as when
    fetched."""
    before = harbour.head()
    assert (
        summary(harbour.cli("rebuild"))
        == "2 pages re-derived, 1 skipped (no text): 0 changed; no commit\n"
    )
    assert harbour.head() == before


def test_rebuild_restores_the_derived_text_in_a_commit_of_its_own(harbour):
    root = harbour.archive.root
    original = harbour.path(harbour.article, "article.md").read_text(encoding="utf-8")
    meta_before = harbour.path(harbour.article, "meta.json").read_text()
    # What an older extractor might have written: a sentence cut short, another lost.
    harbour.path(harbour.article, "article.md").write_text(
        original.replace("after a two year review.", "after a review.").replace(
            STORY[2] + "\n", ""
        ),
        encoding="utf-8",
    )
    git(root, "commit", "-qam", "text from an older extractor")
    log_before = harbour.read("log", harbour.article, "--json").stdout

    out = summary(harbour.cli("rebuild"))
    commit = harbour.head()
    assert out == f"2 pages re-derived, 1 skipped (no text): 1 changed; commit {commit[:10]}\n"
    assert harbour.path(harbour.article, "article.md").read_text(encoding="utf-8") == original
    # The commit touches only the file whose derivation changed, and names the extractor that
    # derived it.
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == [
        harbour.rel(harbour.article, "article.md")
    ]
    message = git(root, "show", "-s", "--format=%B", "HEAD")
    for name, version in extractor_versions().items():
        assert f"{name} {version}" in message
    assert harbour.article in message
    assert harbour.path(harbour.article, "meta.json").read_text() == meta_before
    # Not a new version: the history commands read the same versions as before.
    assert harbour.read("log", harbour.article, "--json").stdout == log_before

    # Twice changes nothing.
    assert (
        summary(harbour.cli("rebuild"))
        == "2 pages re-derived, 1 skipped (no text): 0 changed; no commit\n"
    )
    assert harbour.head() == commit


def test_rebuild_records_the_current_extractor_versions(harbour):
    root = harbour.archive.root
    meta_path = harbour.path(harbour.source, "meta.json")
    meta = json.loads(meta_path.read_text())
    meta["extractor"]["trafilatura"] = "2.2.0"
    meta_path.write_text(json.dumps(meta, sort_keys=True, indent=2, ensure_ascii=False) + "\n")
    git(root, "commit", "-qam", "made by trafilatura 2.2.0")

    result = json.loads(summary(harbour.cli("rebuild", harbour.source, "--json")))
    assert result["pages"] == [harbour.source] and result["changed"] == [harbour.source]
    assert result["extractor"] == extractor_versions() and result["commit"] == harbour.head()
    assert json.loads(meta_path.read_text())["extractor"] == extractor_versions()
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == [
        harbour.rel(harbour.source, "meta.json")
    ]
    again = json.loads(summary(harbour.cli("rebuild", harbour.source, "--json")))
    assert again["changed"] == [] and again["commit"] is None


def test_a_new_ignore_rule_applies_on_rebuild_and_the_next_snapshot_agrees(harbour):
    root = harbour.archive.root
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text() + '\n[[ignore]]\npatterns = ["^Opposition councillors .*$"]\n')

    out = summary(harbour.cli("rebuild", harbour.article))
    assert out.startswith("1 page re-derived: 1 changed; commit ")
    text = harbour.path(harbour.article, "article.md").read_text(encoding="utf-8")
    assert "Opposition councillors" not in text and STORY[1] in text
    # The rule that shaped the text is committed with it.
    assert set(git(root, "show", "--name-only", "--format=", "HEAD").split()) == {
        "archiver.toml",
        harbour.rel(harbour.article, "article.md"),
    }
    rebuilt = harbour.head()
    # The next snapshot derives the same text from a fresh fetch: no spurious change, only
    # confirmations.
    snapshot = harbour.cli("snapshot", "--all", "--json")
    assert snapshot.returncode == 0, snapshot.stderr
    run = json.loads(snapshot.stdout)
    assert run["counts"]["changed"] == 0 and run["confirmed"] == run["counts"]["unchanged"] > 0
    assert git(root, "rev-parse", "HEAD~1").strip() == rebuilt
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == [run["checks"]]


def test_gone_pages_are_skipped(harbour):
    result = json.loads(summary(harbour.cli("rebuild", harbour.gone, harbour.article, "--json")))
    assert result["pages"] == [harbour.article]
    assert result["skipped"] == [
        {"url": harbour.gone, "reason": "no text in the latest version (gone)"}
    ]
    assert not harbour.path(harbour.gone, "article.md").exists()


def test_rebuild_holds_the_run_lock(harbour):
    before = harbour.head()
    harbour.path(harbour.article, "article.md").write_text("# Edited by hand\n", encoding="utf-8")
    git(harbour.archive.root, "commit", "-qam", "hand edit")
    with harbour.archive.lock():
        result = harbour.cli("rebuild")
    assert result.returncode == ExitCode.LOCKED
    assert result.stdout == "" and "holds the lock" in result.stderr
    assert (
        harbour.path(harbour.article, "article.md").read_text(encoding="utf-8")
        == "# Edited by hand\n"
    )
    assert git(harbour.archive.root, "rev-list", "--count", f"{before}..HEAD").strip() == "1"


def test_rebuild_of_a_page_not_in_the_archive_is_a_usage_error(harbour, harbour_site):
    result = harbour.cli("rebuild", harbour_site.url("/never/archived"))
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith("archiver: error: not in the archive: ")


def test_a_large_rebuild_extracts_in_worker_processes_with_the_same_result(
    site: Site, archive: Archive
):
    """Past the pool threshold rebuild extracts in the snapshot's worker processes; every page comes
    out as a snapshot wrote it, whatever order the workers finish in."""
    urls = []
    for i in range(30):
        site.page(f"/news/{i}", article(f"Story {i}", [f"Paragraph {i}: {line}" for line in STORY]))
        urls.append(site.url(f"/news/{i}"))
    archive.add(urls)
    root = archive.root
    written = {url: (root / page_dir(url) / "article.md").read_text() for url in urls}
    spoiled = urls[::3]
    for url in spoiled:  # as an older extractor might have left them
        (root / page_dir(url) / "article.md").write_text(
            "# Story\n\nText an older extractor wrote.\n"
        )
    toml = root / "archiver.toml"  # two processes whatever the machine's cores
    toml.write_text(toml.read_text().replace("extract_processes = 0", "extract_processes = 2"))
    git(root, "commit", "-qam", "older extractor")

    result = run_cli("rebuild", "--json", "--archive", str(root))
    assert result.returncode == 0, result.stderr
    done = json.loads(result.stdout)
    assert done["extract_processes"] == 2
    assert sorted(done["pages"]) == sorted(urls) and sorted(done["changed"]) == sorted(spoiled)
    assert {url: (root / page_dir(url) / "article.md").read_text() for url in urls} == written
    assert git(root, "status", "--porcelain") == ""
    assert not list((root / ".archiver").glob("rebuild-*"))  # the spooled bodies are gone
