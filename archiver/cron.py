"""The crontab line that runs `archiver snapshot` on a schedule, and installing it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import UsageError

MARKER = "# archiver snapshot of "
# Characters a crontab line cannot carry: control characters (a newline ends the line), and the
# backslash.
_UNFIT = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def cron_spec(every: str) -> str:
    """ "15m" → "*/15 * * * *"; "2h" → "0 */2 * * *"; "1d" → "0 0 * * *"."""
    match = re.fullmatch(r"(\d+)\s*([mhd])", every.strip().lower())
    if not match:
        raise UsageError(
            f"--every takes minutes, hours or a day, like 15m, 2h or 1d, not {every!r}"
        )
    number, unit = int(match.group(1)), match.group(2)
    limits = {"m": 59, "h": 23, "d": 1}
    if not 1 <= number <= limits[unit]:
        raise UsageError(f"--every {every}: use 1-59m, 1-23h or 1d")
    return {"m": f"*/{number} * * * *", "h": f"0 */{number} * * *", "d": "0 0 * * *"}[unit]


def _program() -> list[str]:
    script = Path(sys.argv[0])
    if script.name == "archiver" and script.exists():
        return [str(script.resolve())]
    return [sys.executable, "-m", "archiver"]


def command_line(archive: Path) -> str:
    """The absolute command cron should run (cron's PATH and working folder are not the user's)."""
    return shlex.join([*_program(), "-q", "snapshot", "--archive", str(archive.resolve())])


def crontab_line(every: str, archive: Path) -> str:
    """The whole line, as cron reads it. A `%` in the command part (the marker comment included)
    would end the command, cron sending the rest to its input: each is escaped. A line break or
    other control character cannot be carried at all, and cron implementations differ over
    backslashes: such paths are refused."""
    for path, what in ((str(archive.resolve()), "the archive"), (_program()[0], "archiver")):
        unfit = _UNFIT.search(path)
        if unfit:
            raise UsageError(
                f"a crontab line cannot carry {unfit.group()!r}, which the path {path!r} holds: "
                f"move or rename {what}"
            )
    return f"{cron_spec(every)} {command_line(archive)} {_marker(archive)}".replace("%", "\\%")


def _marker(archive: Path) -> str:
    return f"{MARKER}{archive.resolve()}"


def install(line: str, archive: Path) -> None:
    """Add `line` to the user's crontab, replacing an earlier line for the same archive."""
    crontab = shutil.which("crontab")
    if crontab is None:
        raise UsageError(
            "no `crontab` command on this machine; add the line printed by `archiver schedule` "
            "to your scheduler yourself"
        )
    current = subprocess.run([crontab, "-l"], capture_output=True, text=True)
    lines = current.stdout.splitlines() if current.returncode == 0 else []
    mine = _marker(archive).replace("%", "\\%")
    kept = [existing for existing in lines if not existing.endswith(mine)]
    result = subprocess.run(
        [crontab, "-"], input="\n".join([*kept, line]) + "\n", capture_output=True, text=True
    )
    if result.returncode != 0:
        raise UsageError(
            f"crontab refused the new table: {result.stderr.strip() or result.returncode}"
        )
