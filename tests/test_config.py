"""`archiver.toml`: defaults, validation messages, loading, and the documented default file."""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from archiver import config
from archiver.errors import ConfigError, ExitCode, UsageError


def test_defaults() -> None:
    cfg = config.from_dict({})
    fetch = cfg.fetch
    assert fetch.workers == 64
    assert fetch.connect_timeout == 10.0
    assert fetch.read_timeout == 30.0
    assert fetch.deadline == 120.0
    assert fetch.max_body_bytes == 50 * 1024 * 1024
    assert fetch.max_decoded_bytes == 2 * 1024 * 1024
    assert (fetch.max_extract_seconds, fetch.max_extract_memory) == (30.0, 160)
    assert fetch.max_redirects == 10
    assert fetch.user_agent == config.DEFAULT_USER_AGENT
    assert fetch.verify_tls is True
    assert cfg.warc_prefix == "archiver"
    assert cfg.git_author_name == "archiver"
    assert cfg.git_author_email == "archiver@localhost"
    assert cfg.ignore == ()


def test_defaults_equal_default_toml() -> None:
    assert config.from_dict({}) == config.from_dict(tomllib.loads(config.DEFAULT_TOML))


def test_user_values_override() -> None:
    cfg = config.from_dict(
        {
            "fetch": {"workers": 2, "deadline": 30, "user_agent": "Bot/1"},
            "warc": {"prefix": "newsroom-1"},
            "git": {"author_name": "Desk"},
        }
    )
    assert cfg.fetch.workers == 2
    assert cfg.fetch.deadline == 30.0 and isinstance(
        cfg.fetch.deadline, float
    )  # an int is fine for a float
    assert cfg.fetch.user_agent == "Bot/1"
    assert cfg.fetch.read_timeout == 30.0  # untouched settings keep their defaults
    assert cfg.warc_prefix == "newsroom-1"
    assert cfg.git_author_name == "Desk"
    assert cfg.git_author_email == "archiver@localhost"


def test_ignore_rules_parsed() -> None:
    cfg = config.from_dict(
        {
            "ignore": [
                {
                    "hosts": ["Example.COM"],
                    "selectors": [".live", "#most-read"],
                    "patterns": ["^Live:", "(?i)ticker"],
                },
                {"patterns": ["^Last updated"]},
            ]
        }
    )
    first, second = cfg.ignore
    assert first.hosts == ("example.com",)
    assert first.selectors == (".live", "#most-read")
    assert [p.pattern for p in first.patterns] == ["^Live:", "(?i)ticker"]
    assert first.applies_to("example.com") and not first.applies_to("other.com")
    assert second.hosts == () and second.applies_to("anything.example")


def _error(user: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        config.from_dict(user, source="site/archiver.toml")
    message = str(info.value)
    assert "site/archiver.toml" in message
    assert "\n" not in message  # one line for the user
    return message


@pytest.mark.parametrize("operator", ["Desk\nWARC-Type: response", "tab\there", "bell\a"])
def test_an_operator_that_would_break_the_warcinfo_record_is_refused(operator: str) -> None:
    assert "warc.operator" in _error({"warc": {"operator": operator}})


def test_the_operator_is_free_text() -> None:
    named = "Rédaction du Port <archive@example.org>, +33 1 23 45 67 89"
    assert config.from_dict({"warc": {"operator": named}}).warc_operator == named
    assert config.from_dict({}).warc_operator == ""


@pytest.mark.parametrize(
    ("user", "names"),
    [
        ({"bogus": 1}, "bogus"),
        ({"fetch": {"wokers": 4}}, "fetch.wokers"),
        ({"warc": {"prefx": "x"}}, "warc.prefx"),
        ({"fetch": 3}, "fetch"),
    ],
)
def test_unknown_or_misplaced_setting(user: dict[str, Any], names: str) -> None:
    assert f"'{names}'" in _error(user)


@pytest.mark.parametrize(
    ("user", "names"),
    [
        ({"fetch": {"workers": "x"}}, "fetch.workers"),
        ({"fetch": {"workers": 2.5}}, "fetch.workers"),
        ({"fetch": {"workers": True}}, "fetch.workers"),
        ({"fetch": {"deadline": "soon"}}, "fetch.deadline"),
        ({"fetch": {"verify_tls": 1}}, "fetch.verify_tls"),
        ({"fetch": {"verify_tls": "no"}}, "fetch.verify_tls"),
        ({"fetch": {"user_agent": 5}}, "fetch.user_agent"),
        ({"warc": {"prefix": 7}}, "warc.prefix"),
        ({"git": {"author_email": ["a@b"]}}, "git.author_email"),
    ],
)
def test_wrong_type(user: dict[str, Any], names: str) -> None:
    assert names in _error(user)


def test_wrong_type_message_from_toml() -> None:
    message = _error(tomllib.loads("[fetch]\nworkers = 'x'\n"))
    assert "fetch.workers" in message and "'x'" in message


@pytest.mark.parametrize(
    "setting",
    [
        "workers",
        "connect_timeout",
        "read_timeout",
        "deadline",
        "max_body_bytes",
        "max_decoded_bytes",
        "max_redirects",
    ],
)
@pytest.mark.parametrize("value", [0, -1])
def test_non_positive(setting: str, value: int) -> None:
    assert f"fetch.{setting}" in _error({"fetch": {setting: value}})


def test_extraction_limits_within_range() -> None:
    fetch = config.from_dict({"fetch": {"max_extract_seconds": 5, "max_extract_memory": 512}}).fetch
    assert (fetch.max_extract_seconds, fetch.max_extract_memory) == (5.0, 512)


@pytest.mark.parametrize("setting", ["connect_timeout", "read_timeout", "deadline"])
def test_nan_is_not_a_positive_number(setting: str) -> None:
    assert f"fetch.{setting}" in _error(tomllib.loads(f"[fetch]\n{setting} = nan\n"))


@pytest.mark.parametrize(
    "prefix", ["", "bad/prefix", "../up", "-dash-first", "with space", "é", "a" * 65]
)
def test_bad_warc_prefix(prefix: str) -> None:
    assert "warc.prefix" in _error({"warc": {"prefix": prefix}})


@pytest.mark.parametrize("prefix", ["a", "newsroom", "Desk_2026.v1-x", "a" * 64])
def test_good_warc_prefix(prefix: str) -> None:
    assert config.from_dict({"warc": {"prefix": prefix}}).warc_prefix == prefix


@pytest.mark.parametrize(
    ("user", "names"),
    [
        ({"sources": {"depth": -1}}, "sources.depth"),
        ({"sources": {"include": ["(unclosed"]}}, "sources.include"),
        ({"sources": {"exclude": [3]}}, "sources.exclude"),
        ({"sources": {"other_hosts": "yes"}}, "sources.other_hosts"),
    ],
)
def test_bad_sources_settings(user: dict[str, Any], names: str) -> None:
    assert names in _error(user)


def test_bad_regex_in_ignore() -> None:
    message = _error({"ignore": [{"patterns": ["^ok$", "(unclosed"]}]})
    assert "ignore" in message and "pattern" in message


@pytest.mark.parametrize("selector", ["div[[[", "p:nth-child(x)", "..live", "#"])
def test_bad_css_selector_in_ignore(selector: str) -> None:
    message = _error({"ignore": [{"selectors": [".fine", selector]}]})
    assert "ignore" in message and selector in message


@pytest.mark.parametrize(
    "rule",
    [
        {"hosts": "example.com"},
        {"selectors": [".a", 3]},
        {"patterns": "^x$"},
        {"selector": [".typo"]},
        "not a table",
    ],
)
def test_malformed_ignore_rule(rule: Any) -> None:
    assert "ignore" in _error({"ignore": [rule]})


# --- load -----------------------------------------------------------------------------------------


def test_load_file(tmp_path: Path) -> None:
    path = tmp_path / "archiver.toml"
    path.write_text(
        '[fetch]\nworkers = 3\n\n[[ignore]]\nhosts = ["example.com"]\npatterns = ["^Live:"]\n',
        encoding="utf-8",
    )
    cfg = config.load(path)
    assert cfg.fetch.workers == 3
    assert cfg.fetch.deadline == 120.0
    assert cfg.ignore[0].hosts == ("example.com",)


def test_load_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert config.load(tmp_path / "absent.toml") == config.from_dict({})


def test_load_default_toml(tmp_path: Path) -> None:
    path = tmp_path / "archiver.toml"
    path.write_text(config.DEFAULT_TOML, encoding="utf-8")
    assert config.load(path) == config.from_dict({})


@pytest.mark.parametrize(
    "content",
    [
        b"[fetch\nworkers = 8\n",
        b"[fetch]\nworkers = = 8\n",
        b"[fetch]\nworkers = 8\nworkers = 9\n",
        b'[fetch]\nuser_agent = "unterminated\n',
        b'[fetch]\nuser_agent = "\xff\xfe latin junk"\n',
    ],
)
def test_load_invalid_toml_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "conf dir" / "archiver.toml"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, UsageError)


def test_load_invalid_value_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "archiver.toml"
    path.write_text("[fetch]\nworkers = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(path) in str(info.value) and "fetch.workers" in str(info.value)


# --- DEFAULT_TOML is documentation ----------------------------------------------------------------

KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=")


def _leaf_keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in table.items():
        if isinstance(value, dict):
            keys |= _leaf_keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def test_default_toml_parses() -> None:
    parsed = tomllib.loads(config.DEFAULT_TOML)
    assert parsed == config.defaults()
    assert parsed["fetch"]["workers"] == 64


def test_default_toml_covers_every_setting() -> None:
    parsed = tomllib.loads(config.DEFAULT_TOML)
    fetch_fields = {f.name for f in dataclasses.fields(config.FetchConfig)}
    assert set(parsed["fetch"]) == fetch_fields
    assert parsed["warc"].keys() == {"prefix", "operator"}
    assert parsed["git"].keys() == {"author_name", "author_email", "push_remote"}
    schedule_fields = {f.name for f in dataclasses.fields(config.ScheduleConfig)} - {"rules"}
    assert set(parsed["schedule"]) == schedule_fields


def test_every_default_key_is_documented() -> None:
    """Each key line sits under a comment: directly, or in a run of keys (no blank line) headed by
    one."""
    lines = config.DEFAULT_TOML.splitlines()
    seen = set()
    section = ""
    for number, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[] ") + "."
            continue
        match = KEY_LINE.match(line)
        if not match:
            continue
        seen.add(section + match.group(1))
        above = number - 1
        while above >= 0 and KEY_LINE.match(lines[above]):
            above -= 1
        assert above >= 0 and lines[above].startswith("# "), f"undocumented key: {line!r}"
        assert len(lines[above]) > len("# ") + 10, f"comment too thin for {line!r}"
    assert seen == _leaf_keys(tomllib.loads(config.DEFAULT_TOML))


def test_ignore_example_is_documented_and_valid() -> None:
    commented = [line[2:] for line in config.DEFAULT_TOML.splitlines() if line.startswith("# ")]
    start = commented.index("[[ignore]]")
    example = "\n".join(
        line.split("   #")[0].split("  #")[0] for line in commented[start : start + 4]
    )
    cfg = config.from_dict(tomllib.loads(example))
    assert len(cfg.ignore) == 1 and cfg.ignore[0].selectors and cfg.ignore[0].patterns


# --- ranges of the numeric settings ---------------------------------------------------------------


def _numeric_keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in table.items():
        if isinstance(value, dict):
            keys |= _numeric_keys(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            keys.add(f"{prefix}{key}")
    return keys


def _user(name: str, value: float) -> dict[str, Any]:
    """The smallest user table setting `name` (a dotted name; schedule.rules.* in a rule of its
    own)."""
    section, _, key = name.rpartition(".")
    if section == "schedule.rules":
        return {"schedule": {"rules": [{"pattern": "^https://example\\.com/", key: value}]}}
    return {section: {key: value}}


def _outside(name: str) -> list[float]:
    allowed = config.RANGES[name]
    integer = isinstance(
        config.defaults().get(name.split(".")[0], {}).get(name.split(".")[-1]), int
    ) and not name.startswith("schedule.rules")
    step = 1 if integer else allowed.high / 1000
    values = [allowed.high + step, allowed.low if allowed.above else allowed.low - step, -1]
    if not integer:
        values += [math.nan, math.inf, -math.inf]
    return values


def test_every_numeric_setting_has_a_range() -> None:
    assert _numeric_keys(config.defaults()) | {
        "schedule.rules.min_interval",
        "schedule.rules.max_interval",
    } == set(config.RANGES)


@pytest.mark.parametrize("name", sorted(config.RANGES))
def test_a_value_outside_its_range_is_refused_naming_the_setting_and_range(name: str) -> None:
    allowed = config.RANGES[name]
    for value in _outside(name):
        message = _error(_user(name, value))
        assert f"'{name}'" in message and str(allowed) in message, message


@pytest.mark.parametrize("name", sorted(config.RANGES))
def test_the_ends_of_a_range_and_the_default_are_accepted(name: str) -> None:
    allowed = config.RANGES[name]
    ends = [allowed.high] if allowed.above else [allowed.low, allowed.high]
    for value in ends:
        config.from_dict(_user(name, value))
    section, _, key = name.rpartition(".")
    if section != "schedule.rules":
        assert config.defaults()[section][key] in allowed


@pytest.mark.parametrize(
    "name",
    sorted(set(config.RANGES) - {"schedule.rules.min_interval", "schedule.rules.max_interval"}),
)
def test_each_range_is_written_in_the_comment_of_its_setting(name: str) -> None:
    """The range sits in the comment block above the setting's line in DEFAULT_TOML."""
    section, _, key = name.rpartition(".")
    lines = config.DEFAULT_TOML.splitlines()
    at = lines.index(f"[{section}]")
    at += next(i for i, line in enumerate(lines[at:]) if line.startswith(f"{key} ="))
    above = at - 1
    while KEY_LINE.match(lines[above]):
        above -= 1
    comment = []
    while lines[above].startswith("# "):
        comment.insert(0, lines[above][2:])
        above -= 1
    assert str(config.RANGES[name]) in " ".join(comment), (name, comment)


def test_a_huge_workers_setting_stops_the_command_with_one_line(tmp_path: Path) -> None:
    """fetch.workers = 100000000 was accepted, and a run grew to 2 GB."""
    from support.commands import run_cli

    root = tmp_path / "arc"
    assert run_cli("init", str(root)).returncode == 0
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("workers = 64", "workers = 100000000"))
    result = run_cli("snapshot", "-a", str(root))
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("archiver: error: ")
    assert "'fetch.workers' must be from 1 to 256, not 100000000" in result.stderr
    assert (
        subprocess.run(
            ["git", "-C", str(root), "log", "--oneline"], capture_output=True, text=True
        ).stdout.count("\n")
        == 1
    )  # nothing ran: only `init`'s commit


@pytest.mark.parametrize("setting", ["min_interval = 1e300", "old_after_days = 1e12"])
def test_a_schedule_beyond_any_date_is_refused_not_a_crash(
    tmp_path: Path, site, setting: str
) -> None:
    """Due times are dates: an interval past the year 9999 made every run that archived a page fail
    (exit 70)."""
    from support.commands import run_cli
    from support.newssite import article

    site.page(
        "/news/harbour",
        article("Harbour plan approved", ["The harbour authority approved the plan."]),
    )
    root = tmp_path / "arc"
    assert run_cli("init", str(root)).returncode == 0
    toml = root / "archiver.toml"
    key = setting.split(" = ")[0]
    toml.write_text(re.sub(rf"^{key} = .*$", setting, toml.read_text(), flags=re.M))
    result = run_cli("add", site.url("/news/harbour"), "-a", str(root))
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stderr.count("\n") == 1 and f"'schedule.{key}'" in result.stderr
