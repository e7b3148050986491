"""`archiver diff` of an article edited four times: the last two versions by default, the headline,
byline, body and citations sections, changed words marked with `--word`, and the same structure in
`--json`.
"""

from __future__ import annotations

from support.history import ADDED, BYLINE, HEADLINE, STORY, cli_json, cli_ok, minute


def test_diff_defaults_to_the_last_two_versions(edited):
    archive = edited.archive
    log = cli_json(archive, "log", edited.url)
    v4, v5 = log[3], log[4]

    out = cli_ok(archive, "diff", edited.url)

    assert out == (
        f"diff {edited.url}\n"
        f"from v4 {minute(v4['captured_at'])} UTC edited HTTP 200 ({v4['commit'][:10]})\n"
        f"to   v5 {minute(v5['captured_at'])} UTC edited HTTP 200 ({v5['commit'][:10]}): "
        "Unannounced edit\n"
        "byline changed, 1 sentence added\n"
        "\nbyline\n"
        f"- {BYLINE}\n"
        "+ By Omar Ali · Published 2026-11-20\n"
        "\nbody\n"
        f"+ {ADDED}\n"
    )


def test_diff_sections_headline_byline_body_citations(edited):
    site, archive = edited.site, edited.archive
    sources = {"audit": site.url("/reports/audit"), "table": site.url("/data/payments")}
    out = cli_ok(archive, "diff", edited.url, "--", "1", "-1")

    lines = out.splitlines()
    assert lines[1].startswith("from v1 ") and " new HTTP 200 " in lines[1]
    assert lines[2].startswith("to   v5 ") and " edited HTTP 200 " in lines[2]
    assert lines[3] == (
        "headline changed, byline changed, 1 sentence changed, 1 sentence added, 1 sentence "
        "removed, 1 citation removed"
    )
    assert "\n".join(lines[4:]) == "\n".join(
        [
            "",
            "headline",
            f"- {HEADLINE}",
            "+ Finance minister resigns after audit",
            "",
            "byline",
            f"- {BYLINE}",
            "+ By Omar Ali · Published 2026-11-20",
            "",
            "body",
            f"- {STORY[0]}",
            f"+ {STORY[0].replace('on Tuesday', 'on Monday')}",
            f"+ {ADDED}",
            "- As reported in a payments table, the matter is disputed.",
            "",
            "citations",
            f"- {sources['table']}  a payments table",
        ]
    )


def test_diff_word_marks_changed_words_inside_changed_sentences(edited):
    archive = edited.archive
    out = cli_ok(archive, "diff", edited.url, "1", "2", "--word")
    assert (
        "~ The finance minister resigned on [-Tuesday-] {+Monday+} after an audit found irregular "
        "payments worth millions.\n"
    ) in out
    assert "- The finance minister" not in out and "+ The finance minister" not in out

    out = cli_ok(archive, "diff", edited.url, "2", "3", "--word")
    assert "\nheadline\n~ Finance minister resigns {+after audit+}\n" in out

    # Sentences only removed or added are whole lines, with or without --word.
    out = cli_ok(archive, "diff", edited.url, "3", "4", "--word")
    assert (
        "\n- As reported in a payments table, the matter is disputed.\n" in out and "~" not in out
    )


def test_diff_json_has_the_same_structure(edited):
    site, archive = edited.site, edited.archive
    log = cli_json(archive, "log", edited.url)
    data = cli_json(archive, "diff", edited.url, "--", "1", "-1")

    assert data["url"] == edited.url
    assert data["from"] == log[0] and data["to"] == log[4]
    assert data["headline"] == {"from": HEADLINE, "to": "Finance minister resigns after audit"}
    assert data["byline"] == {"from": BYLINE, "to": "By Omar Ali · Published 2026-11-20"}
    assert data["body"] == [
        {
            "op": "replace",
            "old": [STORY[0]],
            "new": [STORY[0].replace("on Tuesday", "on Monday")],
            "words": [
                ["=", "The finance minister resigned on"],
                ["-", "Tuesday"],
                ["+", "Monday"],
                ["=", "after an audit found irregular payments worth millions."],
            ],
        },
        {"op": "insert", "old": [], "new": [ADDED], "words": None},
        {
            "op": "delete",
            "old": ["As reported in a payments table, the matter is disputed."],
            "new": [],
            "words": None,
        },
    ]
    assert data["citations"] == {
        "added": [],
        "removed": [{"url": site.url("/data/payments"), "text": "a payments table"}],
    }
    assert data["counts"] == {
        "sentences_added": 1,
        "sentences_removed": 1,
        "sentences_changed": 1,
        "citations_added": 0,
        "citations_removed": 1,
    }
    assert data["summary"] == (
        "headline changed, byline changed, 1 sentence changed, 1 sentence added, "
        "1 sentence removed, 1 citation removed"
    )

    # The default pair, as JSON too; a citation added shows under "added".
    default = cli_json(archive, "diff", edited.url)
    assert (default["from"]["version"], default["to"]["version"]) == (4, 5)
    back = cli_json(archive, "diff", edited.url, "4", "3")
    assert back["citations"] == {
        "added": [{"url": site.url("/data/payments"), "text": "a payments table"}],
        "removed": [],
    }
