"""The reference documentation says what the code does: every command and option, every setting and
its default, every exit code, and every module of the package named in the architecture."""

from __future__ import annotations

import json
import re
import signal
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

import archiver
from archiver import cli, config
from archiver.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(archiver.__file__).resolve().parent

# Where each reference lives: a file, and the `## ` section of it that holds the reference.
COMMANDS_DOC, COMMANDS_SECTION = ROOT / "docs" / "commands.md", "Commands"
CONFIG_DOC, CONFIG_SECTION = ROOT / "docs" / "configuration.md", "Configuration"
EXIT_CODES_DOC, EXIT_CODES_SECTION = ROOT / "docs" / "commands.md", "Exit codes"
ARCHITECTURE_DOC = ROOT / "ARCHITECTURE.md"


# -- reading Markdown ------------------------------------------------------------------------------


def section(path: Path, title: str) -> str:
    """The text under the `## title` heading of `path`, up to the next heading of that level or
    higher."""
    text = path.read_text(encoding="utf-8")
    found = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^#{{1,2}} |\Z)", text, re.M | re.S)
    assert found, f"{path.name} has no '## {title}' section"
    return found[1]


def subsections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first `### ` heading, and each `### ` heading with the text under it."""
    parts = re.split(r"^### (.*)\n", text, flags=re.M)
    return parts[0], list(zip(parts[1::2], parts[2::2], strict=True))


def table(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in `text`, each cell keyed by its column's header."""
    lines = [line.strip() for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
    assert start is not None, "no table found"
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))])
    header, rule, *body = rows
    assert all(set(cell) <= set(":-") for cell in rule), (
        f"a table's second line is not its rule: {rule}"
    )
    return [dict(zip(header, row, strict=True)) for row in body]


def names(text: str) -> set[str]:
    """Every option-like word (`-a`, `--no-sources`) in `text`."""
    return set(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", text))


# -- the command line ------------------------------------------------------------------------------


def commands() -> Iterator[tuple[str, Any, typer.Context]]:
    """Every command of the CLI (the group first, as ""), with a context as click would give it."""
    root = typer.main.get_command(cli.app)

    def walk(path: str, command: Any, parent: typer.Context | None) -> Iterator[Any]:
        ctx = typer.Context(
            command,
            info_name=path.rpartition(" ")[2] or "archiver",
            parent=parent,
            **command.context_settings,
        )
        yield path, command, ctx
        if isinstance(command, TyperGroup):
            for name, sub in sorted(command.commands.items()):
                if not sub.hidden:
                    yield from walk(f"{path} {name}".strip(), sub, ctx)

    yield from walk("", root, None)


def options(command: Any, ctx: typer.Context) -> list[str]:
    """Every spelling of every option the command takes, `--help` included."""
    return [
        name
        for param in command.get_params(ctx)
        if param.param_type_name == "option" and not param.hidden
        for name in (*param.opts, *param.secondary_opts)
    ]


def test_every_command_and_option_is_in_the_command_reference() -> None:
    intro, parts = subsections(section(COMMANDS_DOC, COMMANDS_SECTION))
    # Options every command takes (--archive, --help) and the global ones are described once, before
    # the commands.
    common = names(intro)
    missing = []
    for path, command, ctx in commands():
        if not path:  # the group itself: its options are the global ones
            missing += [
                f"global option {name}" for name in options(command, ctx) if name not in common
            ]
            continue
        heading = re.compile(rf"`archiver {re.escape(path)}(?=[ `])")
        documented = [head + "\n" + body for head, body in parts if heading.match(head)]
        if not documented:
            missing.append(f"command `archiver {path}` (no '### `archiver {path} …`' heading)")
            continue
        known = common | names("\n".join(documented))
        missing += [
            f"option {name} of `archiver {path}`"
            for name in options(command, ctx)
            if name not in known
        ]
    assert not missing, (
        f"{COMMANDS_DOC.name} '## {COMMANDS_SECTION}' does not document: " + "; ".join(missing)
    )


# -- settings --------------------------------------------------------------------------------------


def settings() -> dict[str, Any]:
    """Every setting `archiver init` writes, by its dotted name, with its default."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, table: dict[str, Any]) -> None:
        for key, value in table.items():
            if isinstance(value, dict):
                walk(f"{prefix}{key}.", value)
            else:
                flat[f"{prefix}{key}"] = value

    walk("", tomllib.loads(config.DEFAULT_TOML))
    return flat


# A documented unit, and the unit of `config.RANGES` it stands for with the factor to it.
UNITS = {
    "s": ("seconds", 1),
    "min": ("minutes", 1),
    "days": ("days", 1),
    "MB": ("MB", 1),
    "bytes": ("bytes", 1),
    "KiB": ("bytes", 1 << 10),
    "MiB": ("bytes", 1 << 20),
}
NUMBER = re.compile(rf"(-?\d+(?:\.\d+)?)(?: ({'|'.join(UNITS)}))?")


def documented_rows() -> Iterator[tuple[str, str, str]]:
    """(setting, documented default, the row as written) for each setting in the table; a row may
    name several (`fetch.connect_timeout` / `fetch.read_timeout`, or `schedule.min_interval` /
    `growth`, the section implied)."""
    for row in table(section(CONFIG_DOC, CONFIG_SECTION)):
        written = f"| {row['setting']} | {row['default']} |"
        keys = [key.strip().strip("`") for key in row["setting"].split(" / ")]
        defaults = [value.strip() for value in row["default"].split(" / ")]
        assert len(keys) == len(defaults), (
            f"{written}: {len(keys)} settings but {len(defaults)} defaults"
        )
        section_of = keys[0].rpartition(".")[0] if not keys[0].startswith("[") else ""
        for key, default in zip(keys, defaults, strict=True):
            yield (
                (key if "." in key or key.startswith("[") else f"{section_of}.{key}"),
                default,
                written,
            )


def documented_value(name: str, text: str) -> Any:
    """The value a default cell states, in the unit the setting is read in."""
    text = text.strip("`")
    if text in ("true", "false"):
        return text == "true"
    if text in ('""', "[]"):
        return "" if text == '""' else []
    if text.startswith('["'):  # a list of strings, as TOML and JSON write it
        return json.loads(text)
    if number := NUMBER.fullmatch(text):
        value, unit = float(number[1]), number[2]
        if unit is not None:
            expected = config.RANGES[name].unit if name in config.RANGES else None
            if UNITS[unit][0] != expected:
                raise ValueError(
                    f"'{name}' is documented in {unit}, but the setting is in {expected}"
                )
            value *= UNITS[unit][1]
        return value
    return text.replace("<version>", archiver.__version__)


def test_every_setting_is_documented_with_its_default() -> None:
    real = settings()
    documented: dict[str, tuple[str, str]] = {}
    wrong = []
    for name, default, written in documented_rows():
        documented[name] = (default, written)
        if name.startswith(
            "[["
        ):  # an array of tables: no default, but a name the settings must take
            table_name = name.strip("[]")
            section_name, _, key = table_name.rpartition(".")
            try:
                config.from_dict({section_name: {key: []}} if section_name else {key: []})
            except config.ConfigError as exc:
                wrong.append(f"{written}: {exc}")
            continue
        if name not in real:
            wrong.append(f"{written}: no setting '{name}' in archiver.config.DEFAULT_TOML")
            continue
        try:
            value = documented_value(name, default)
        except ValueError as exc:
            wrong.append(f"{written}: {exc}")
            continue
        if value != real[name] or isinstance(real[name], bool) != isinstance(value, bool):
            wrong.append(f"{written}: '{name}' defaults to {real[name]!r}, not {default}")
    missing = sorted(set(real) - set(documented))
    assert not missing and not wrong, (
        f"{CONFIG_DOC.name} '## {CONFIG_SECTION}' table: "
        + "; ".join(
            [f"setting '{name}' (default {real[name]!r}) is missing" for name in missing] + wrong
        )
    )


# -- exit codes ------------------------------------------------------------------------------------


def signal_exits(capsys: pytest.CaptureFixture[str]) -> set[int]:
    """The codes the command exits with on Ctrl-C and on SIGTERM, asked of the code that exits with
    them."""

    @cli.handles_errors
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as ctrl_c:
        interrupted()
    with pytest.raises(SystemExit) as terminated:
        cli._terminated(signal.SIGTERM, None)  # the handler `cli.main` installs for SIGTERM
    capsys.readouterr()  # the one line each prints for the user
    return {ctrl_c.value.exit_code, terminated.value.code}


def test_the_exit_code_table_is_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    signals = signal_exits(capsys)
    assert signals == {128 + signal.SIGINT, 128 + signal.SIGTERM}, f"signal exits are {signals}"
    real = {int(code) for code in ExitCode} | signals
    rows = table(section(EXIT_CODES_DOC, EXIT_CODES_SECTION))
    documented = {int(row["code"]) for row in rows}
    assert documented == real, (
        f"{EXIT_CODES_DOC.name} '## {EXIT_CODES_SECTION}': missing codes "
        f"{sorted(real - documented)}, codes the command never exits with "
        f"{sorted(documented - real)}"
    )


# -- the architecture ------------------------------------------------------------------------------


def test_every_module_is_named_in_the_architecture() -> None:
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    modules = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.stem not in ("__init__", "__main__")
    )
    missing = [
        name for name in modules if not re.search(rf"(?<![\w/.]){re.escape(name)}(?![\w/])", text)
    ]
    assert not missing, (
        f"{ARCHITECTURE_DOC.name} does not name these modules by their path under archiver/: "
        + ", ".join(missing)
    )


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    found = set()
    for heading in re.findall(r"^#{1,6} (.*)$", path.read_text(encoding="utf-8"), re.M):
        found.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return found


def test_every_link_between_the_documents_resolves() -> None:
    documents = [ROOT / "README.md", ARCHITECTURE_DOC, *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for document in documents:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([\w\-]+))?\)", document.read_text()):
            if target.startswith(("http:", "https:")):
                continue
            path = (document.parent / target) if target else document
            if not path.exists():
                broken.append(f"{document.name}: {target}")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{document.name}: {target}#{anchor}")
    assert not broken, broken
