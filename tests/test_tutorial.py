"""The README's tutorial, played exactly as written against a news site on loopback: its commands are
read from the README, so the tutorial cannot drift from what the tool does."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from support.commands import run_cli
from support.newssite import Site, article

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE = "https://example.com/news/budget-vote"
PARAGRAPHS = [
    "The council approved the budget on Tuesday after a debate that lasted most of the night.",
    "The vote was seven to two, with the mayor abstaining.",
    "The budget takes effect in January and runs for two years.",
]


def tutorial() -> list[str]:
    """The lines of the shell block after `<!-- tutorial -->` in the README."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- tutorial -->\n```sh\n(.*?)\n```", text, re.S)
    assert found, "README.md has no tutorial block"
    return found[1].splitlines()


def example_diff() -> str:
    """The diff line the README shows for the tutorial's edit."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"`diff` shows the changed sentence[^\n]*\n\n```\n(.*?)\n```", text, re.S)
    assert found, "README.md shows no diff for the tutorial"
    return found[1]


def test_the_readme_tutorial_runs_as_written(tmp_path: Path, site: Site) -> None:
    paragraphs = list(PARAGRAPHS)
    site.page("/news/budget-vote", lambda: article("Council passes budget", paragraphs))
    url = site.url("/news/budget-vote")
    env = {"ARCHIVER_DIR": str(tmp_path / "archive")}
    outputs: dict[str, str] = {}
    for line in tutorial():
        command = line.split("#", 1)[0].strip()
        if not command:  # the narration: the outlet edits the article
            assert "edits the article" in line, line
            paragraphs[1] = "The vote was six to three, with the mayor abstaining."
            continue
        words = [url if word == EXAMPLE else word for word in shlex.split(command)]
        assert words[0] == "archiver", line
        result = run_cli(*words[1:], cwd=tmp_path, env=env)
        assert (result.returncode, result.stderr) == (0, ""), (line, result.stderr)
        outputs[words[1]] = result.stdout

    assert "1 new" in outputs["add"] and "1 changed" in outputs["snapshot"]
    assert [row.split("\t")[:3:2] for row in outputs["log"].splitlines()] == [
        ["v1", "new"],
        ["v2", "edited"],
    ]
    assert example_diff() in outputs["diff"]
    report = (tmp_path / "budget.html").read_text(encoding="utf-8")
    assert "six" in report and "warcio extract" in report and "git show" in report
    assert "no problems" in outputs["verify"]
    assert "archiver -q snapshot" in outputs["schedule"]
