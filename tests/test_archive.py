"""`Archive` is the whole library: a program does what the command line does through it, module
globals aside."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources
from support.newssite import Site, article

from archiver import Archive
from archiver.errors import UsageError


def test_a_library_user_snapshots_verifies_indexes_and_exports_through_archive_alone(
    site: Site, tmp_path: Path
) -> None:
    site.page(
        "/story",
        article("Council passes budget", ["The vote was seven to two on Tuesday evening."]),
    )
    archive = Archive.init(tmp_path / "archive", extract_processes=1)
    _, summary = archive.add([site.url("/story")])
    assert [r.outcome for r in summary.results] == ["new"]
    assert summary.extract_processes == 1  # the argument, not one process per core

    report = archive.verify()
    assert (report.problems, report.summary().startswith("verified 1 version")) == ([], True)
    update = archive.index()
    assert summary.warc is not None
    assert (update.read, update.failed) == ([summary.warc.removeprefix("warcs/")], [])
    assert "/story" in (tmp_path / "archive" / ".archiver" / "indexes" / "index.cdxj").read_text()
    package = tmp_path / "story.wacz"
    archive.export(package, [site.url("/story")])
    with zipfile.ZipFile(package) as wacz:
        assert {"datapackage.json", "pages/pages.jsonl"} <= set(wacz.namelist())


@pytest.mark.parametrize("processes", [-1, 65, True])
def test_an_extraction_pool_size_out_of_range_is_refused(tmp_path: Path, processes: int) -> None:
    Archive.init(tmp_path / "archive")
    with pytest.raises(UsageError, match="extract_processes must be from 0 to 64"):
        Archive.open(tmp_path / "archive", extract_processes=processes)


def test_progress_counts_the_sources_as_they_are_found(site: Site, tmp_path: Path) -> None:
    """What a progress bar needs: after each check, how many the run knows of; it grows with the
    sources the articles cite and ends at the number checked, never below the checks done."""
    for n in range(3):
        site.page(
            f"/source-{n}", article(f"Source {n}", [f"Report number {n} was published today."])
        )
    links = [(site.url(f"/source-{n}"), f"report {n}") for n in range(3)]
    site.page("/story", article("Council passes budget", ["The vote was close."], links))
    archive = Archive.init(tmp_path / "archive")
    allow_loopback_sources(archive.root)
    seen: list[int] = []
    _, summary = Archive.open(archive.root).add(
        [site.url("/story")], on_result=lambda result, known: seen.append(known)
    )
    assert len(summary.results) == 4
    assert seen[0] == 4  # the article's check knows of its three sources
    assert seen == sorted(seen) and all(known >= done for done, known in enumerate(seen, 1))
    assert seen[-1] == len(summary.results)
