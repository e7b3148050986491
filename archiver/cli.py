"""The `archiver` command: a thin typer layer over `Archive` — parsing, rendering, exit codes."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from git.exc import GitCommandNotFound
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text
from typer._click.exceptions import ClickException  # typer ships its own click
from typer.core import TyperGroup

from . import __version__, cron, untrusted
from .archive import Archive, serve_jobs
from .errors import ArchiveDamaged, ArchiverError, ExitCode, InvalidURL, UsageError, unwritable
from .evidence import keys, waczcheck
from .history import render
from .run.results import OnResult, RunSummary
from .storage import atomic
from .storage.follows import Follow, FollowStatus
from .storage.meta import GONE_KINDS
from .storage.state import Outcome
from .urls import normalize_url

logger = logging.getLogger("archiver")

# Options of the command line as a whole, written before the command or after it.
_GLOBAL_FLAGS = frozenset({"-v", "-vv", "-vvv", "--verbose", "-q", "--quiet"})
_ARCHIVE_OPTIONS = ("-a", "--archive")


def _global_options_in_place(args: list[str]) -> list[str]:
    """`args` with `-v`/`-q` moved before the command and `-a DIR` after it, wherever the user put
    them: click reads the first only before the command, the second only after it."""
    command = next(
        (i for i, arg in enumerate(args) if not arg.startswith("-") and not _is_value(args, i)),
        None,
    )
    if command is None:
        return args
    before, name, after = args[:command], args[command], args[command + 1 :]
    moved_after: list[str] = []
    kept_before: list[str] = []
    i = 0
    while i < len(before):
        arg = before[i]
        if arg in _ARCHIVE_OPTIONS and i + 1 < len(before):
            moved_after += before[i : i + 2]
            i += 2
            continue
        joined = arg.startswith(("--archive=", "-a")) and arg != "-a"  # `--archive=DIR`, `-aDIR`
        (moved_after if joined else kept_before).append(arg)
        i += 1
    end = after.index("--") if "--" in after else len(after)
    hoisted = [arg for arg in after[:end] if arg in _GLOBAL_FLAGS]
    rest = [arg for arg in after[:end] if arg not in _GLOBAL_FLAGS] + after[end:]
    return [*kept_before, *hoisted, name, *moved_after, *rest]


def _is_value(args: list[str], i: int) -> bool:
    """`args[i]` is the value of an archive option before it."""
    return i > 0 and args[i - 1] in _ARCHIVE_OPTIONS


class _Commands(TyperGroup):
    """The command line: global options before or after the command, and every usage error one line
    (`archiver: error: …`, exit 2) rather than a box."""

    def main(  # type: ignore[override]  # the same call, typed loosely by click
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = _global_options_in_place(list(sys.argv[1:] if args is None else args))
        try:
            code = super().main(argv, prog_name or "archiver", complete_var, False, **extra)
        except ClickException as exc:
            code = _usage_error(exc)
        except typer.Abort:
            code = 130
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: ClickException) -> int:
    context = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
        typer.echo(context.get_help())  # `archiver` alone: the help, as before
        return exc.exit_code
    where = f" (see `{context.command_path} -h`)" if context is not None else ""
    message = " ".join(exc.format_message().split())
    _say(f"archiver: error: {message}{where}", err=True)
    return exc.exit_code


app = typer.Typer(
    cls=_Commands,
    name="archiver",
    help="Archive news articles and the sources they cite: WARC evidence, normalized text, git history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ArchiveOpt = Annotated[
    Path,
    typer.Option(
        "--archive", "-a", envvar="ARCHIVER_DIR", help="Archive folder.", show_default=True
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of text.")]
DepthOpt = Annotated[
    int | None,
    typer.Option(
        "--depth",
        min=0,
        show_default=False,
        help="Link hops of cited sources to follow (default: config).",
    ),
]
NoSourcesOpt = Annotated[
    bool, typer.Option("--no-sources", help="Do not archive cited sources this run.")
]
DEFAULT_ARCHIVE = Path("archive")
BrokerOpt = Annotated[
    str | None,
    typer.Option(
        "--broker",
        metavar="redis://HOST:PORT/DB",
        show_default=False,
        help="A cluster's Redis (default: [cluster] broker in archiver.toml).",
    ),
]


NOISY_LOGGERS = (
    "trafilatura",
    "htmldate",
    "courlan",
    "urllib3",
    "charset_normalizer",
    "pypdf",
    "warcio",
)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("archiver: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The extractor logs every page it finds thin as a warning; that is our business, not the
    # user's. warcio warns of a damaged record in lines of its own, where our errors say what and
    # where in one.
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose >= 2 else logging.ERROR)


class _PrintableFormatter(logging.Formatter):
    """Log lines quote what servers send (reasons, titles, URLs): never their terminal control
    sequences."""

    def format(self, record: logging.LogRecord) -> str:
        return untrusted.printable(super().format(record))


def _say(text: str, err: bool = False, nl: bool = True) -> None:
    """Print a line for people: without terminal control sequences, whatever a server put into
    it."""
    typer.echo(untrusted.printable(text), err=err, nl=nl)


# Characters JSON allows raw in strings that a terminal may still obey (C1 controls, bidirectional
# overrides): written as \u escapes, which every JSON reader reads back as the same characters.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _json(data: object) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    typer.echo(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def _version(value: bool) -> None:
    if value:
        _say(f"archiver {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, metavar="", help="More detail (-vv: debug)."),
    ] = 0,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", metavar="", help="Print nothing unless something changed."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            metavar="",
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    _setup_logging(verbose, quiet)
    ctx.obj = {"quiet": quiet, "verbose": verbose}


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one line on stderr and their documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ArchiverError as exc:
            _say(f"archiver: error: {exc}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            _say("archiver: interrupted; the archive is as the last commit left it", err=True)
            raise typer.Exit(130) from None
        except GitCommandNotFound:
            _say("archiver: error: git is not installed or not on PATH", err=True)
            raise typer.Exit(int(ExitCode.USAGE)) from None
        except Exception as exc:
            refused = unwritable(
                exc
            )  # read-only, permissions, disk full: the disk's answer, not a bug
            if refused is not None:
                typer.echo(f"archiver: error: {refused}", err=True)
                raise typer.Exit(int(refused.exit_code)) from None
            logger.exception("internal error")
            _say(f"archiver: internal error: {exc}", err=True)
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    return wrapper


@app.command()
@handles_errors
def init(
    directory: Annotated[
        Path | None, typer.Argument(help="Where to create it (default: --archive).")
    ] = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
) -> None:
    """Create an archive: a git repository with archiver.toml, urls.txt and .gitignore."""
    root = directory or archive
    Archive.init(root)
    _say(f"created archive at {root}")


@app.command()
@handles_errors
def add(
    ctx: typer.Context,
    urls: Annotated[
        list[str] | None, typer.Argument(help="Article URLs to track.", show_default=False)
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Read URLs from FILE (one a line, - for stdin)."),
    ] = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    depth: DepthOpt = None,
    no_sources: NoSourcesOpt = False,
    broker: BrokerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Track URLs (added to urls.txt) and snapshot them and their cited sources now.

    Creates the archive if absent. With a broker, the snapshot is a distributed run (as `snapshot`).
    """
    wanted = list(urls or []) + _read_url_file(file)
    if not wanted:
        raise UsageError("give at least one URL, or --file")
    arc = Archive.open(archive, create=True, broker=broker)
    with _progress(len(wanted), ctx, as_json) as on_result:
        added, summary = arc.add(wanted, on_result, depth=0 if no_sources else depth)
    if not as_json and not ctx.obj["quiet"]:
        already = [r.url for r in summary.results if r.depth == 0 and r.url not in added]
        for url in already:
            _say(f"archiver: note: already tracked: {url} (checked now all the same)", err=True)
    _finish(ctx, summary, as_json, extra={"added": added})


@app.command()
@handles_errors
def snapshot(
    ctx: typer.Context,
    urls: Annotated[
        list[str] | None,
        typer.Argument(help="Tracked URLs to capture (default: all).", show_default=False),
    ] = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    all_pages: Annotated[
        bool, typer.Option("--all", help="Check every tracked URL and source, due or not.")
    ] = False,
    depth: DepthOpt = None,
    no_sources: NoSourcesOpt = False,
    broker: BrokerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Capture what is due (tracked URLs and their sources) and commit what changed.

    One commit per run, none if nothing changed. Given URLs are captured now, due or not. With a
    broker, `archiver worker` processes fetch, and this run settles and commits (exit 69 if the
    broker or its workers fail it: nothing is committed).
    """
    arc = Archive.open(archive, broker=broker)
    count = len(urls) if urls else len(arc.tracked())
    with _progress(count, ctx, as_json) as on_result:
        summary = arc.snapshot(
            urls or None, on_result, depth=0 if no_sources else depth, all_pages=all_pages
        )
    _finish(ctx, summary, as_json)


@app.command()
@handles_errors
def follow(
    url: Annotated[str, typer.Argument(help="An outlet's feed, sitemap or front page.")],
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            metavar="feed|sitemap|page",
            show_default=False,
            help="What URL is (default: detected from the answer).",
        ),
    ] = None,
    include: Annotated[
        str | None,
        typer.Option(
            "--include", metavar="REGEX", show_default=False, help="Track only matching URLs."
        ),
    ] = None,
    exclude: Annotated[
        str | None,
        typer.Option(
            "--exclude", metavar="REGEX", show_default=False, help="Leave out matching URLs."
        ),
    ] = None,
    max_new: Annotated[
        int | None,
        typer.Option(
            "--max-new",
            metavar="N",
            show_default=False,
            help="Track at most N new articles a poll.",
        ),
    ] = None,
    since: Annotated[
        int | None,
        typer.Option(
            "--since",
            metavar="DAYS",
            show_default=False,
            help="Only articles the listing dates within DAYS days.",
        ),
    ] = None,
) -> None:
    """Follow an outlet: each snapshot tracks the new articles its feed, sitemap or page lists.

    Written to follows.toml and committed.
    """
    arc = Archive.open(archive)
    wanted = Follow(normalize_url(url), kind, include, exclude, max_new, since)
    if arc.follow(wanted):
        _say(f"following {wanted.line()}; each snapshot tracks the new articles it lists")
    else:
        _say(f"archiver: note: already followed: {wanted.url} (follows.toml unchanged)", err=True)


@app.command()
@handles_errors
def unfollow(
    url: Annotated[str, typer.Argument(help="A followed feed, sitemap or page.")],
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
) -> None:
    """Stop following an outlet; the articles it brought stay tracked."""
    arc = Archive.open(archive)
    if not arc.unfollow(url):
        raise UsageError(f"not followed: {url} (see `archiver list --follows`)")
    _say(f"no longer following {normalize_url(url)}; the articles it brought stay tracked")


@app.command("list")
@handles_errors
def list_(
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    sources: Annotated[bool, typer.Option("--sources", help="Also list archived sources.")] = False,
    followed: Annotated[
        bool, typer.Option("--follows", help="List the followed feeds, sitemaps and pages.")
    ] = False,
    cited_by: Annotated[
        str | None,
        typer.Option(
            "--cited-by",
            metavar="URL",
            show_default=False,
            help="List the sources one article cites now.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Tracked URLs with their current status, title, number of versions and last change."""
    arc = Archive.open(archive)
    if followed:
        _list_follows(arc.follow_status(), as_json)
        return
    pages = arc.cited_by(cited_by) if cited_by else arc.pages(sources=sources)
    if as_json:
        _json([asdict(p) for p in pages])
        return
    if not pages:
        _say("no tracked URLs (add one with `archiver add URL`)")
        return
    rows = [
        (
            p.status,
            str(p.versions),
            _minute(p.last_change),
            _minute(p.next_due) if p.last_checked else "now",
            p.role,
            p.title,
            p.url,
        )
        for p in pages
    ]
    if not sys.stdout.isatty():  # a pipe gets tab-separated lines, ready for cut/grep/awk
        _say("".join("\t".join(row) + "\n" for row in rows), nl=False)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("status", "versions", "last change", "next due", "role"):
        table.add_column(column, no_wrap=True, justify="right" if column == "versions" else "left")
    # URLs stay whole, to be copied; a long title is cut short instead.
    table.add_column("title", no_wrap=True, overflow="ellipsis", min_width=10)
    table.add_column(
        "url", no_wrap=True, overflow="ignore", min_width=max(len(p.url) for p in pages)
    )
    for row in rows:  # Text, not markup: a title such as "[link=…]" is shown as written
        table.add_row(*(Text(untrusted.printable(cell)) for cell in row))
    Console().print(table, crop=False)  # a line longer than the terminal wraps there, URL whole


def _list_follows(follows: list[FollowStatus], as_json: bool) -> None:
    if as_json:
        _json([f.as_dict() for f in follows])
    elif not follows:
        _say("no followed outlets (follow one with `archiver follow URL`)")
    else:
        _say("".join(f"{f.line()}\n" for f in follows), nl=False)


@app.command("log")
@handles_errors
def log_(
    url: Annotated[str, typer.Argument(help="A tracked article or an archived source.")],
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    reverse: Annotated[bool, typer.Option("--reverse", "-r", help="Newest first.")] = False,
    checks: Annotated[
        bool,
        typer.Option(
            "--checks",
            help="Also the later checks that found a version "
            "unchanged (from the committed checks WARCs).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The versions of a page, oldest first: time, kind, commit, and what changed."""
    history = Archive.open(archive).history(url)
    entries = history.timeline() if checks else history.versions()
    if reverse:
        entries = entries[::-1]
    if as_json:
        _json([entry.as_dict() for entry in entries])
        return
    _say("\n".join(render.log_lines(entries)))


# Negative version numbers ("-1") are arguments, not options.
NUMBERS_AS_ARGS = {"ignore_unknown_options": True}


@app.command(context_settings=NUMBERS_AS_ARGS)
@handles_errors
def diff(
    url: Annotated[str, typer.Argument(help="A tracked article or an archived source.")],
    old: Annotated[
        str | None,
        typer.Argument(
            metavar="[FROM]",
            show_default=False,
            help="Version number (1 first, -1 latest), commit or date/time; "
            "default: the one before TO.",
        ),
    ] = None,
    new: Annotated[
        str | None,
        typer.Argument(metavar="[TO]", show_default=False, help="Same forms; default: the latest."),
    ] = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    words: Annotated[
        bool, typer.Option("--word", "-w", help="Mark changed words inside changed sentences.")
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            show_default=False,
            help="Write the HTML report (as `archiver report`) to FILE instead (- for stdout).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What changed between two versions: headline, byline, body sentences, citations."""
    arc = Archive.open(archive)
    if html is not None:
        _write_report(arc.report(url, old, new), html)
        return
    history = arc.history(url)
    before, after = history.pair(old, new)
    comparison = history.compare(before, after)
    if as_json:
        data = {
            "url": history.url,
            "from": before.as_dict(),
            "to": after.as_dict(),
            **comparison.as_dict(),
        }
        _json(data)
        return
    Console(highlight=False, soft_wrap=True).print(
        render.diff(history.url, before, after, comparison, words, history.announcement(after)),
        end="",
    )


@app.command(context_settings=NUMBERS_AS_ARGS)
@handles_errors
def show(
    url: Annotated[str, typer.Argument(help="A tracked article or an archived source.")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="WHEN",
            show_default=False,
            help="Version number, commit or date/time (default: latest).",
        ),
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Write the archived body (HTML, PDF...) from the WARC.")
    ] = False,
    provenance: Annotated[
        bool,
        typer.Option(
            "--provenance",
            help="Who served the version: address, TLS and certificate chain of its connection.",
        ),
    ] = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    as_json: JsonOpt = False,
) -> None:
    """The normalized text of a page as of a version or a moment; --raw for the archived bytes,
    --provenance for who served them."""
    if raw and provenance:
        raise UsageError("give --raw or --provenance, not both")
    arc = Archive.open(archive)
    history = arc.history(url)
    version = history.resolve(at)
    if provenance:
        connection = arc.connection(history.url, version)
        if as_json:
            _json(connection.as_dict())
        else:
            _say(connection.line(), nl=False)
        return
    if raw:
        arc.copy_raw(version, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    text = history.text(version)
    if as_json:  # the version, and its text (null when it has none)
        _json({"url": history.url, **version.as_dict(), "text": text})
        return
    if text is None:
        why = (
            f"{version.kind}: {version.summary}"
            if version.kind in GONE_KINDS
            else "no text (not HTML/PDF)"
        )
        _say(f"archiver: v{version.number} of {history.url} has no text ({why})", err=True)
        return
    _say(text, nl=False)


@app.command()
@handles_errors
def schedule(
    every: Annotated[str, typer.Option("--every", help="How often: 15m, 2h, 1d.")] = "15m",
    install: Annotated[
        bool,
        typer.Option(
            "--install",
            help="Add the line to your crontab (replacing an earlier one for this archive).",
        ),
    ] = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
) -> None:
    """Print the crontab line that runs `archiver snapshot` every so often; --install adds it."""
    Archive.open(archive)  # an archive that does not exist is an error now, not at 3 a.m.
    line = cron.crontab_line(every, archive)
    if install:
        cron.install(line, archive)
        _say(f"installed in your crontab: {line}")
    else:
        _say(line)


@app.command(context_settings=NUMBERS_AS_ARGS)
@handles_errors
def report(
    url: Annotated[str, typer.Argument(help="A tracked article or an archived source.")],
    # Required: no default, so it stands before the arguments that have one (its place among options
    # is kept).
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            show_default=False,
            help="Where to write the HTML (- for stdout).",
        ),
    ],
    old: Annotated[
        str | None,
        typer.Argument(
            metavar="[FROM]",
            show_default=False,
            help="As for `diff`; default: the version before TO.",
        ),
    ] = None,
    new: Annotated[
        str | None,
        typer.Argument(
            metavar="[TO]", show_default=False, help="As for `diff`; default: the latest."
        ),
    ] = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
) -> None:
    """A self-contained HTML page: the version timeline and the changes between two versions, with
    the current status of every cited source."""
    _write_report(Archive.open(archive).report(url, old, new), output)


@app.command()
@handles_errors
def rebuild(
    ctx: typer.Context,
    urls: Annotated[
        list[str] | None,
        typer.Argument(help="Pages to re-derive (default: every page).", show_default=False),
    ] = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    as_json: JsonOpt = False,
) -> None:
    """Re-derive text, links and meta.json of each page's latest version from its WARC record with
    the current extractor and settings; commits what changed in one commit of its own."""
    summary = Archive.open(archive).rebuild(urls or None)
    if as_json:
        _json(summary.as_dict())
    else:
        for failed in summary.failed:
            _say(f"failed: {failed.url}: {failed.reason}", err=True)
        if summary.commit or summary.failed or not ctx.obj["quiet"]:
            _say(summary.line())
    if summary.failed:
        raise typer.Exit(int(ExitCode.SOME_FAILED))


def _write_report(page: str, output: Path) -> None:
    if str(output) == "-":
        _say(page, nl=False)
        return
    try:
        atomic.write_text(output, page)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    _say(f"wrote {output}")


@app.command()
@handles_errors
def notify(
    test: Annotated[
        bool, typer.Option("--test", help="Send a test message to every target of [notify] urls.")
    ] = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    as_json: JsonOpt = False,
) -> None:
    """Send a test message to every notification target; one line per target, sent or why not."""
    if not test:
        raise UsageError("say what to do: `archiver notify --test`")
    attempts = Archive.open(archive).notify_test()
    if as_json:
        _json({"targets": [{**asdict(a), "sent": a.sent} for a in attempts]})
    else:
        for attempt in attempts:
            _say(attempt.line())
    if any(not a.sent for a in attempts):
        raise typer.Exit(int(ExitCode.SOME_FAILED))


@app.command()
@handles_errors
def timestamp(
    ctx: typer.Context, archive: ArchiveOpt = DEFAULT_ARCHIVE, as_json: JsonOpt = False
) -> None:
    """Timestamp the commits still without a trusted timestamp, now ([evidence] tsa_urls), and push
    the tokens to git.push_remote.

    Exit 1 if no TSA gave a token that holds (the commits wait for the next run or try); exit 4 if
    the push failed (the tokens are kept; the next run that commits pushes them).
    """
    summary = Archive.open(archive).timestamp()
    if as_json:
        _json(summary.as_dict())
    elif summary.stamped or summary.failure or not ctx.obj["quiet"]:
        _say(summary.line(), err=bool(summary.failure))
    if summary.push_error:
        _say(
            f"archiver: error: git push failed (the tokens are kept): {summary.push_error}",
            err=True,
        )
    if summary.failure:
        raise typer.Exit(int(ExitCode.SOME_FAILED))
    if summary.push_error:
        raise typer.Exit(int(ExitCode.PUSH_FAILED))


@app.command()
@handles_errors
def worker(
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    broker: BrokerOpt = None,
    threads: Annotated[
        int, typer.Option("--threads", min=1, max=256, help="Jobs captured at once.")
    ] = 8,
) -> None:
    """Capture the jobs of distributed runs, taken from a cluster's broker, until stopped.

    Reads the archive's archiver.toml (the archive folder, mounted from shared storage, or a folder
    holding a copy of it): the settings must be the run's, or the worker refuses its jobs. Stop it
    with SIGTERM or Ctrl-C: the jobs in hand are finished first.
    """
    import threading

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve_jobs(archive, broker, threads, stop)


@app.command("verify")
@handles_errors
def verify_(
    ctx: typer.Context,
    wacz_file: Annotated[
        Path | None,
        typer.Option(
            "--wacz",
            metavar="FILE",
            show_default=False,
            help="Check a WACZ package instead: its files, its datapackage and its signature.",
        ),
    ] = None,
    signer: Annotated[
        str | None,
        typer.Option(
            "--signer",
            metavar="FINGERPRINT",
            show_default=False,
            help="With --wacz: also require the signature to be by this key (sha256:…).",
        ),
    ] = None,
    receipt: Annotated[
        Path | None,
        typer.Option(
            "--receipt",
            metavar="FILE.zip",
            show_default=False,
            help="Check a receipt instead (no archive needed): every claim it makes, one a line.",
        ),
    ] = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    as_json: JsonOpt = False,
    tsa_cert: Annotated[
        list[Path] | None,
        typer.Option(
            "--tsa-cert",
            metavar="FILE",
            show_default=False,
            help="A PEM file of certificates the timestamps may chain to (repeatable), beside "
            "the archive's evidence/tsa/.",
        ),
    ] = None,
) -> None:
    """Check the evidence: the WARC record of every version in the git history, every WARC file
    to its end, and every trusted timestamp against its commit; or, with --wacz, a package that
    anyone sent you.

    One line per problem (file, page, version, what is wrong); exit 5 if anything is missing, cut or
    altered, or the history was rewritten after a timestamp. With --receipt, one line per claim of
    the receipt, with --wacz per check of the package; exit 5 if one fails.
    """
    if receipt is not None and wacz_file is not None:
        raise UsageError("--receipt and --wacz each check one file: give one of them")
    if receipt is not None:
        _verify_receipt(receipt, as_json)
        return
    if wacz_file is not None:
        _verify_package(ctx, wacz_file, signer, as_json)
        return
    if signer is not None:
        raise UsageError("--signer goes with --wacz FILE")
    report = Archive.open(archive).verify(tsa_cert or ())
    if as_json:
        _json([p.as_dict() for p in report.problems])
    else:
        for problem in report.problems:
            _say(problem.line())
        if not report.problems and not ctx.obj["quiet"]:
            _say(report.summary())
    if report.problems:
        raise ArchiveDamaged(report.summary())


def _verify_package(ctx: typer.Context, wacz_file: Path, signer: str | None, as_json: bool) -> None:
    report = waczcheck.check_package(wacz_file, signer)
    if as_json:
        _json(report.as_dict())
    else:
        for check in report.checks:
            if not check.ok or not ctx.obj["quiet"]:
                _say(check.line())
        if not report.damaged and not ctx.obj["quiet"]:
            _say(report.summary())
    if report.damaged:
        raise ArchiveDamaged(report.summary())


def _verify_receipt(path: Path, as_json: bool) -> None:
    checked = Archive.check_receipt(path)
    if as_json:
        _json(checked.as_dict())
    else:
        for check in checked.checks:
            _say(check.line())
    if not checked.passed:
        raise ArchiveDamaged(checked.line())
    if not as_json:
        _say(checked.line())


@app.command(context_settings=NUMBERS_AS_ARGS)
@handles_errors
def receipt(
    url: Annotated[str, typer.Argument(help="A tracked article or an archived source.")],
    at: Annotated[
        str | None,
        typer.Argument(
            metavar="[VERSION]",
            help="Version number, commit or date/time (default: latest).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option("-o", "--output", metavar="FILE.zip", help="Where to write the receipt."),
    ] = Path("receipt.zip"),
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    as_json: JsonOpt = False,
) -> None:
    """Write a receipt of one version: its WARC records, text and meta.json, the git objects that
    tie them to their commit, the sources it cited then, and VERIFY.md (how to check it all with
    standard tools)."""
    summary = Archive.open(archive).receipt(url, at, out)
    if as_json:
        _json(summary.as_dict())
    else:
        _say(summary.line())


@app.command()
@handles_errors
def index(
    ctx: typer.Context, archive: ArchiveOpt = DEFAULT_ARCHIVE, as_json: JsonOpt = False
) -> None:
    """Update the CDXJ index of the WARC files (.archiver/indexes/index.cdxj, for pywb); reads only
    new files."""
    update = Archive.open(archive).index()
    if as_json:
        _json(update.as_dict())
    elif update.read or not ctx.obj["quiet"]:
        _say(update.line())
    if update.failed:
        raise ArchiveDamaged(
            f"could not index {len(update.failed)} WARC files (first: {update.failed[0]}); "
            "run `archiver verify`"
        )


@app.command()
@handles_errors
def export(
    wacz_file: Annotated[
        Path,
        typer.Option(
            "--wacz",
            metavar="FILE",
            show_default=False,
            help="Write a WACZ package (for ReplayWeb.page, pywb) to FILE.",
        ),
    ],
    urls: Annotated[
        list[str] | None,
        typer.Argument(
            help="Pages to export, with the sources they cite (default: the whole archive).",
            show_default=False,
        ),
    ] = None,
    sign: Annotated[
        bool,
        typer.Option(
            "--sign",
            help="Sign the package (WACZ signing spec, anonymous ECDSA) with your key.",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            show_default=False,
            help="The private key to sign with (implies --sign; default: `archiver keys init`'s).",
        ),
    ] = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    as_json: JsonOpt = False,
) -> None:
    """Export the archive, or chosen articles and the sources they cite, as a WACZ file: WARCs,
    index, page list; signed with --sign."""
    summary = Archive.open(archive).export(wacz_file, urls or [], sign=sign, key_file=key_file)
    if as_json:
        _json(summary.as_dict())
    else:
        _say(summary.line())


keys_app = typer.Typer(
    name="keys",
    help="Your signing key pair (ECDSA P-256), kept outside every archive.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(keys_app)
KeyDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        metavar="DIR",
        show_default=False,
        help="Where the keys are (default: $XDG_CONFIG_HOME/archiver/keys or ~/.config/archiver/keys).",
    ),
]


@keys_app.command("init")
@handles_errors
def keys_init(directory: KeyDirOpt = None, as_json: JsonOpt = False) -> None:
    """Make a signing key pair (the private key mode 0600); never over an existing one."""
    info = keys.create(directory)
    if as_json:
        _json(info.as_dict())
    else:
        _say(f"wrote {info.private_key} (private: keep it secret) and {info.public_key}")
        _say(info.line())


@keys_app.command("show")
@handles_errors
def keys_show(directory: KeyDirOpt = None, as_json: JsonOpt = False) -> None:
    """Print the public key (PEM) and its fingerprint, to give to whoever checks your packages."""
    info = keys.show(directory)
    if as_json:
        _json(info.as_dict())
    else:
        _say(info.public_pem.rstrip("\n"))
        _say(info.line())


def _minute(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") if stamp else "-"


def _read_url_file(file: Path | None) -> list[str]:
    if file is None:
        return []
    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    urls = []
    for number, line in enumerate(untrusted.lines(data), 1):
        if line is None:
            raise UsageError(f"{file} line {number} is not UTF-8 text")
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            urls.append(normalize_url(line))
        except InvalidURL as exc:
            raise UsageError(f"{file} line {number}: {exc}") from None
    return urls


class _Clock(ProgressColumn):
    """Time since the run began, running until it ends (rich's own stops when the count is full,
    while the run still commits)."""

    def render(self, task: Task) -> Text:
        return Text(str(timedelta(seconds=int(task.elapsed or 0))), style="progress.elapsed")


class _progress:
    """A rich progress bar on a terminal; nothing at all otherwise (cron mails what we print)."""

    def __init__(self, total: int, ctx: typer.Context, as_json: bool) -> None:
        self.enabled = sys.stderr.isatty() and not as_json and not ctx.obj["quiet"] and total > 1
        self.bar = (
            Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                _Clock(),
                console=Console(stderr=True),
                transient=True,
            )
            if self.enabled
            else None
        )
        self.total = total

    def __enter__(self) -> OnResult | None:
        if self.bar is None:
            return None
        self.bar.start()
        self._log_to(sys.stderr)  # rich's proxy now: log lines print above the bar, not through it
        bar = self.bar
        task = bar.add_task("snapshot", total=self.total)
        # The total grows as the pages checked bring sources.
        return lambda result, known: bar.update(task, advance=1, total=max(known, self.total))

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
            self._log_to(sys.stderr)

    @staticmethod
    def _log_to(stream: TextIO) -> None:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(stream)


def _finish(
    ctx: typer.Context, summary: RunSummary, as_json: bool, extra: dict | None = None
) -> None:
    if as_json:
        _json({**summary.as_dict(), **(extra or {})})
    else:
        changed = (
            summary.changed
        )  # a commit of confirmations alone is no news (cron mails what -q prints)
        for result in summary.results:  # named even under -q: cron mails what went wrong, and why
            if result.outcome == Outcome.FAILED:
                _say(f"failed: {result.url}: {result.error}", err=True)
        if changed or summary.any_failed or not ctx.obj["quiet"]:
            _say(summary.line())
        if not ctx.obj["quiet"]:
            for note in summary.notes():
                _say(f"archiver: note: {note}", err=True)
    if summary.recovered:  # even with -q: evidence was set aside, and someone should know
        _say(
            "archiver: warning: the previous run was interrupted; its uncommitted captures were "
            f"set aside: {', '.join(summary.recovered)}",
            err=True,
        )
    if summary.notify:  # even with -q: a message that did not go out is news to cron
        for problem in summary.notify.problems():
            _say(f"archiver: warning: {problem}", err=True)
        if ctx.obj["verbose"] and not as_json:
            _say(summary.notify.line(), err=True)
    if summary.timestamps and summary.timestamps.failure:  # even with -q; the run is not failed
        _say(f"archiver: warning: {summary.timestamps.line()}", err=True)
    if summary.push_error:
        _say(
            f"archiver: error: git push failed (the local commit is kept): {summary.push_error}",
            err=True,
        )
    if summary.any_failed:
        raise typer.Exit(int(ExitCode.SOME_FAILED))
    if summary.push_error:
        raise typer.Exit(int(ExitCode.PUSH_FAILED))


def main() -> None:
    os.environ.setdefault(
        "GIT_TERMINAL_PROMPT", "0"
    )  # never hang on a credentials prompt from cron
    signal.signal(signal.SIGTERM, _terminated)
    app()


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (cron's or systemd's timeout, a shutdown): unwind, so the run undoes its uncommitted
    work."""
    _say("archiver: terminated; the archive is as the last commit left it", err=True)
    raise SystemExit(128 + signum)
