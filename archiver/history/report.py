"""The HTML evidence report of a page: its version timeline, and what changed between two versions.

Pure: data in, one self-contained HTML string out (inline CSS, no script, nothing fetched), readable
from phone to desktop width and on paper. Everything that came from the web is hostile input: every
text and attribute is escaped, only http(s) URLs become links, and a Content-Security-Policy forbids
scripts and remote loads should anything slip through. Changes are marked by strike-through and
underline, not by colour alone.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from ..storage.meta import GONE_KINDS
from ..storage.versions import Version
from ..words import counted
from . import announcement
from .align import Budget
from .citations import ALIVE, CHANGED, GONE, NOT_ARCHIVED, CitedSource
from .compare import (
    Comparison,
    Sections,
    body_runs,
    parse_article,
    sentence_pairs,
    word_budget,
    word_diff,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PREFIXES = (("## ", "sub"), ("- ", "item"), ("> ", "quote"))
# A changed sentence sharing less than this share of its words with the old one reads better as
# "old struck, new inserted" than as a word-by-word patchwork.
WORD_LEVEL_MIN_SHARED = 0.34
STATUS_TEXT = {ALIVE: "alive", CHANGED: "changed", GONE: "gone", NOT_ARCHIVED: "not archived"}


@dataclass
class ReportData:
    url: str
    folder: str  # the page's folder in the archive, e.g. pages/example.com/news-budget-1a2b3c4d
    versions: list[Version]  # oldest first
    old: Version  # FROM
    new: Version  # TO
    old_text: str | None  # article.md of each (None: the page had no text)
    new_text: str | None
    comparison: Comparison
    citations: list[CitedSource]
    generated_at: datetime
    software: str  # e.g. "archiver 0.1.0"


def render(data: ReportData) -> str:
    """The whole report as one HTML document."""
    old, new = parse_article(data.old_text), parse_article(data.new_text)
    body_html, changes = _body(data, old, new)
    title = new.headline or old.headline or data.new.meta.get("title") or data.url
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "base-uri 'none'; form-action 'none'\">\n",
            '<meta name="referrer" content="no-referrer">\n',
            f'<meta name="generator" content="{esc(data.software)}">\n',
            f"<title>Changes: {esc(title)} (v{data.old.number} \u2192 v{data.new.number})</title>\n",
            f'<style>{CSS}</style>\n</head>\n<body>\n<div class="page">\n',
            _header(data, title, changes),
            '<main>\n<section id="changes" aria-labelledby="changes-h">\n<h2 id="changes-h">Changes</h2>\n',
            _legend(),
            _line_part(
                "headline", "Headline", old.headline, new.headline, data.comparison.headline
            ),
            _line_part("byline", "Byline", old.byline, new.byline, data.comparison.byline),
            body_html,
            _citations(data),
            "</section>\n",
            _timeline(data),
            _evidence(data),
            "</main>\n",
            _footer(data),
            "</div>\n</body>\n</html>\n",
        ]
    )


# -- pieces ------------------------------------------------------------------------------------


def _header(data: ReportData, title: str, changes: int) -> str:
    jumps = "".join(f' <a href="#change-{n}">{n}</a>' for n in range(1, changes + 1))
    body_jump = f"<li>Body changes:{jumps}</li>" if changes else ""
    return (
        '<header class="top">\n<p class="eyebrow">archiver \u00b7 change report</p>\n'
        f'<h1><bdi>{esc(title)}</bdi></h1>\n<p class="page-url">{link(data.url)}</p>\n'
        '<dl class="pair">\n'
        f'<div class="from"><dt>From</dt><dd>{_version_line(data.old)}</dd></div>\n'
        f'<div class="to"><dt>To</dt><dd>{_version_line(data.new)}</dd></div>\n</dl>\n'
        f'<p class="summary"><strong>{esc(_summary(data))}</strong></p>\n'
        f"{_banner(data)}"
        '<nav class="jump" aria-label="Contents"><ul><li><a href="#headline">Headline</a></li><li>'
        f'<a href="#byline">Byline</a></li><li><a href="#body">Body</a></li>{body_jump}<li>'
        '<a href="#citations">Citations</a></li><li><a href="#timeline">Timeline</a></li><li>'
        '<a href="#evidence">Evidence</a></li></ul></nav>\n</header>\n'
    )


def _summary(data: ReportData) -> str:
    if data.old.number == data.new.number:
        return f"FROM and TO are the same version (v{data.new.number}): nothing to compare"
    if data.new_text is None and data.old_text is not None:
        new = data.new
        return (
            f"v{new.number} has no text ({new.kind}{': ' + new.summary if new.summary else ''}); "
            f"all of v{data.old.number}'s text is shown as removed"
        )
    return data.comparison.summary()


def _banner(data: ReportData) -> str:
    """Whether the outlet announced TO's edit: "Unannounced edit" or "Announced: <notice>"."""
    previous = next((v for v in data.versions if v.number == data.new.number - 1), None)
    line = announcement.banner(data.new, previous)
    if line is None:
        return ""
    css = "b-unannounced" if announcement.unannounced(data.new, previous) else "b-announced"
    return f'<p class="banner {css}" role="note"><bdi>{esc(line)}</bdi></p>\n'


def _legend() -> str:
    return (
        '<p class="legend"><span class="x-del">struck through</span>: removed in the newer '
        'version; <span class="x-ins">underlined</span>: added. Changed paragraphs are marked in '
        "the margin.</p>\n"
    )


def _version_line(version: Version) -> str:
    status = f" \u00b7 HTTP {version.status}" if version.status else ""
    return (
        f'<span class="vnum">v{version.number}</span> \u00b7 {_time(version)} \u00b7 '
        f'<span class="kind">{esc(version.kind)}</span>{status} \u00b7 <code>'
        f"{esc(version.commit[:10])}</code>"
    )


def _time(version: Version) -> str:
    stamp = version.captured_at
    return f'<time datetime="{esc(stamp)}">{esc(stamp[:16].replace("T", " "))} UTC</time>'


def _line_part(ident: str, label: str, old: str, new: str, changed: tuple[str, str] | None) -> str:
    if changed:
        content = f'<p class="changed">{_words([old] if old else [], [new] if new else [])}</p>'
    elif new:
        content = f'<p><bdi>{esc(new)}</bdi> <span class="note">(unchanged)</span></p>'
    else:
        content = f'<p class="note">No {label.lower()}.</p>'
    return f'<section id="{ident}" class="part"><h3>{label}</h3>\n{content}\n</section>\n'


# -- body --------------------------------------------------------------------------------------


@dataclass
class _Paragraph:
    kind: str  # "p", "sub", "item" or "quote"
    pieces: list[str]
    changed: bool = False


def _body(data: ReportData, old: Sections, new: Sections) -> tuple[str, int]:
    """The body of TO with FROM's deletions in place; the number of changes (each has an anchor)."""
    notes = [
        f'<p class="note">v{v.number} has no text ({esc(v.kind)}{": " + esc(v.summary) if v.summary else ""}).'
        f"</p>"
        for v, text in ((data.old, data.old_text), (data.new, data.new_text))
        if text is None
    ]
    if data.old.number == data.new.number:
        notes = notes[:1]
    paragraphs: list[_Paragraph] = []
    changes = 0

    def add(line: str, starts: bool, piece: str, changed: bool) -> None:
        kind, _ = _strip(line)
        if starts or not paragraphs:
            paragraphs.append(_Paragraph(kind, []))
        paragraphs[-1].pieces.append(piece)
        paragraphs[-1].changed |= changed

    i = j = 0  # positions in the old and new body lines (the runs cover both, in order)
    budget = word_budget([*old.body, *new.body])
    for run in body_runs(old.body, new.body):
        if run.op == "equal":
            for line in run.new:
                add(line, j in new.starts, f"<span>{esc(_strip(line)[1])}</span>", False)
                i, j = i + 1, j + 1
            continue
        changes += 1
        anchor = f' id="change-{changes}"'
        for before, after in sentence_pairs(run.old, run.new, budget=budget):
            # Each old sentence next to what it became, with word-level marks; the rest struck or
            # inserted.
            starts = (before is not None and i in old.starts) or (
                after is not None and j in new.starts
            )
            words = _words([before] if before else [], [after] if after else [], budget)
            piece = f'<span class="chg"{anchor}>{words}</span>'
            kept = after if after is not None else before
            assert kept is not None, (
                "sentence_pairs pairs each sentence with another or with nothing"
            )
            add(kept, starts, piece, True)
            anchor = ""
            i, j = i + (before is not None), j + (after is not None)
    rendered = "\n".join(_paragraph(p) for p in paragraphs) or '<p class="note">No body text.</p>'
    return (
        f'<section id="body" class="part body"><h3>Body</h3>\n{"".join(notes)}{rendered}\n'
        "</section>\n",
        changes,
    )


def _strip(line: str) -> tuple[str, str]:
    """A body line's block kind and its text without the article.md prefix ("## ", "- ", "> ",
    indent)."""
    for prefix, kind in _PREFIXES:
        if line.startswith(prefix):
            return kind, line[len(prefix) :]
    return "p", line.strip()


def _paragraph(paragraph: _Paragraph) -> str:
    tag = {"sub": "h4", "quote": "blockquote"}.get(paragraph.kind, "p")
    classes = " ".join(
        c
        for c in (
            "item" if paragraph.kind == "item" else "",
            "changed" if paragraph.changed else "",
        )
        if c
    )
    attrs = f' class="{classes}"' if classes else ""
    return f"<{tag}{attrs}>{' '.join(paragraph.pieces)}</{tag}>"


def _words(old: list[str], new: list[str], budget: Budget | None = None) -> str:
    """A changed sentence once, the words taken out struck and the words put in underlined."""
    old = [_strip(line)[1] for line in old]
    new = [_strip(line)[1] for line in new]
    if not old or not new:
        return "".join(
            [*(f"<del>{esc(s)}</del>" for s in old), *(f"<ins>{esc(s)}</ins>" for s in new)]
        )
    pieces = word_diff(old, new, budget)
    shared = sum(len(text.split()) for op, text in pieces if op == "=")
    longest = max(len(" ".join(old).split()), len(" ".join(new).split()))
    if shared / longest < WORD_LEVEL_MIN_SHARED:
        return f"<del>{esc(' '.join(old))}</del> <ins>{esc(' '.join(new))}</ins>"
    tags = {"=": "span", "-": "del", "+": "ins"}
    return " ".join(f"<{tags[op]}>{esc(text)}</{tags[op]}>" for op, text in pieces)


# -- citations, timeline, evidence ---------------------------------------------------------------


def _citations(data: ReportData) -> str:
    if not data.citations:
        return (
            '<section id="citations" class="part"><h3>Citations</h3>\n'
            '<p class="note">No citations.</p>\n</section>\n'
        )
    items = "\n".join(_citation(c, data) for c in data.citations)
    return (
        f'<section id="citations" class="part"><h3>Citations</h3>\n'
        '<p class="note">Each source\u2019s status comes from its own history in this archive.'
        "</p>\n"
        f'<ol class="cites">\n{items}\n</ol>\n</section>\n'
    )


def _citation(cite: CitedSource, data: ReportData) -> str:
    text = f'<bdi class="anchor">{esc(cite.text)}</bdi> ' if cite.text else ""
    ref = f"{text}{link(cite.url, css='url')}"
    tag = {"added": "ins", "removed": "del"}.get(cite.change)
    label = {
        "added": f"added in v{data.new.number}",
        "removed": f"removed in v{data.new.number}",
    }.get(cite.change)
    change = f' <span class="change">{label}</span>' if label else ""
    ref = f"<{tag}>{ref}</{tag}>" if tag else ref
    status = cite.status.replace(" ", "-")
    return (
        f'<li class="cite" data-status="{esc(cite.status)}" data-change="{esc(cite.change)}">'
        f'<p class="cite-ref">{ref}</p>\n<p class="cite-status"><span class="badge s-{status}">'
        f'{STATUS_TEXT[cite.status]}</span>{change} <span class="detail">{_status_detail(cite)}'
        "</span></p></li>"
    )


def _status_detail(cite: CitedSource) -> str:
    latest, cited = cite.latest, cite.cited
    if latest is None or cited is None:
        return "no version of this source is in the archive"
    if cite.status == GONE:
        why = f": {esc(latest.summary)}" if latest.summary else ""
        return f"{esc(latest.kind)} since {_time(latest)} (v{latest.number}{why})"
    if cite.status == CHANGED:
        later = latest.number - cited.number
        what = f"{esc(latest.kind)}, {esc(latest.summary)}" if latest.summary else esc(latest.kind)
        return (
            f"{counted(later, 'newer version')} since cited (v{cited.number}); "
            f"latest v{latest.number} of {_time(latest)}: {what}"
        )
    return f"unchanged since cited: v{latest.number} of {_time(latest)}"


def _timeline(data: ReportData) -> str:
    items = []
    for version in data.versions:
        roles = [r for r, v in (("from", data.old), ("to", data.new)) if v.number == version.number]
        classes = " ".join(["ver", *roles, "sel"] if roles else ["ver"])
        mark = f'<span class="mark">compared: {" and ".join(roles)}</span>' if roles else ""
        status = f'<span class="status">HTTP {version.status}</span>' if version.status else ""
        items.append(
            f'<li class="{classes}" id="v{version.number}"><span class="vnum">v{version.number}'
            f'</span>{_time(version)}<span class="kind k-{esc(version.kind)}">{esc(version.kind)}'
            f'</span>{status}<code class="commit">{esc(version.commit[:10])}</code>{mark}'
            f'<span class="vsum"><bdi>{esc(version.summary) or "&#8212;"}</bdi></span></li>'
        )
    return (
        f'<section id="timeline" aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>\n'
        f'<p class="note">{counted(len(data.versions), "version")}, oldest first; '
        f'the two compared are highlighted.</p>\n<ol class="timeline">\n'
        + "\n".join(items)
        + "\n</ol>\n</section>\n"
    )


def _evidence(data: ReportData) -> str:
    pairs = (
        [("From", data.old), ("To", data.new)]
        if data.old.number != data.new.number
        else [("Version", data.new)]
    )
    cards = "\n".join(_evidence_card(label, version, data.folder) for label, version in pairs)
    return (
        f'<section id="evidence" aria-labelledby="evidence-h"><h2 id="evidence-h">Evidence</h2>\n'
        '<p class="note">The exact bytes of each version are in the archive\u2019s WARC files, its '
        f'text in git; both can be checked without archiver.</p>\n<div class="cards">\n{cards}\n'
        "</div>\n</section>\n"
    )


def _evidence_card(label: str, version: Version, folder: str) -> str:
    meta = version.meta
    warc = meta.get("warc") or {}
    rows = [
        ("Captured", _time(version)),
        ("HTTP status", esc(str(version.status or "\u2014"))),
        ("Final URL", link(version.final_url, css="url") if version.final_url else "\u2014"),
        ("Commit", f'<code class="url">{esc(version.commit)}</code>'),
    ]
    if warc:
        rows += [
            ("WARC file", f'<code class="url">{esc(str(warc.get("file", "")))}</code>'),
            ("Offset", f"<code>{esc(str(warc.get('offset', '')))}</code>"),
            ("Record", f'<code class="url">{esc(str(warc.get("record_id", "")))}</code>'),
            (
                "Payload digest",
                f'<code class="url">{esc(str(warc.get("payload_digest", "")))}</code>',
            ),
        ]
        if warc.get("refers_to"):
            rows.append(
                (
                    "Bytes in",
                    f'<code class="url">{esc(str(warc["refers_to"].get("file", "")))}</code> '
                    f"(identical payload, stored once)",
                )
            )
    # A version without text (gone, a soft 404, a file we keep no text of) has no article.md.
    textless = version.kind in GONE_KINDS or "content_digest" in version.meta
    checks = [
        f"git show {version.commit[:10]}:{folder}/{'meta.json' if textless else 'article.md'}"
    ]
    if warc.get("file") is not None:
        held = warc.get("refers_to") or warc
        checks.insert(0, f"warcio extract {held.get('file')} {held.get('offset')}")
    rows.append(("Check", "".join(f'<code class="cmd url">{esc(c)}</code>' for c in checks)))
    cells = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return (
        f'<article class="card"><h3>{label}: v{version.number} '
        f'<span class="kind">{esc(version.kind)}</span></h3><dl>{cells}</dl></article>'
    )


def _footer(data: ReportData) -> str:
    stamp = data.generated_at.isoformat(timespec="seconds")
    return (
        f"<footer><p>Generated {esc(stamp)} by {esc(data.software)} from the archive\u2019s git "
        "history. Text is as archiver normalized it (one sentence a line); the WARC records hold "
        "what the server sent.</p></footer>\n"
    )


# -- escaping ----------------------------------------------------------------------------------


def esc(text: str) -> str:
    """Text from the web, safe in HTML content and in quoted attributes."""
    return html.escape(_CONTROL.sub("", text), quote=True)


def link(url: str, label: str | None = None, css: str = "url") -> str:
    """A link for an http(s) URL; anything else (javascript:, data:, garbage) as plain text only."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    text = esc(label if label is not None else url)
    if scheme not in ("http", "https"):
        return f'<span class="{css}">{text}</span>'
    return f'<a class="{css}" href="{esc(url)}" rel="noreferrer noopener nofollow">{text}</a>'


CSS = """
:root{--ink:#1c1c21;--muted:#5a5a66;--line:#d8d8e0;--soft:#f5f5f8;--del-bg:#fde4e4;--del-ink:#8f1313;
--ins-bg:#daf4e2;--ins-ink:#0c5a2b;--mark:#3b36a8;--mark-bg:#efefff;--warn:#b86200;color-scheme:light}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--ink);overflow-wrap:anywhere;
font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans","DejaVu Sans",Arial,sans-serif}
.page{max-width:46rem;margin:0 auto;padding:1.25rem 1rem 3rem}
a{color:#1f4fd1}
bdi,.chg,del,ins{unicode-bidi:isolate}
h1{font-size:1.65rem;line-height:1.25;margin:.35rem 0 .4rem}
h2{font-size:1.3rem;margin:2.4rem 0 .8rem;padding-bottom:.25rem;border-bottom:2px solid var(--ink)}
h3{font-size:.8rem;letter-spacing:.07em;text-transform:uppercase;color:var(--muted);margin:1.7rem 0 .5rem}
h4{font-size:1.05rem;margin:1.2rem 0 .5rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.86em}
.url{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.86em;
overflow-wrap:anywhere}
.eyebrow{margin:0;font-size:.78rem;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
.page-url{margin:0 0 1rem}
.pair{margin:0 0 .8rem;display:grid;gap:.3rem}
.pair div{display:flex;gap:.6rem;align-items:baseline;padding:.35rem .6rem;background:var(--mark-bg);
border-left:4px solid var(--mark);border-radius:0 4px 4px 0}
.pair dt{flex:none;white-space:nowrap;font-weight:700;width:3.2rem;text-transform:uppercase;font-size:.78rem;
letter-spacing:.06em;color:var(--mark)}
.pair dd{margin:0}
.summary{margin:.6rem 0}
.banner{margin:.6rem 0;padding:.45rem .75rem;border-radius:4px;font-weight:700;border-left:4px solid}
.b-unannounced{background:#fff3df;color:#8a4600;border-color:var(--warn)}
.b-announced{background:var(--soft);color:var(--ink);border-color:var(--line)}
.jump ul{list-style:none;margin:.4rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.9rem}
.legend{font-size:.9rem;color:var(--muted);background:var(--soft);padding:.5rem .75rem;border-radius:4px}
.note{color:var(--muted);font-size:.92rem}
del,ins,.x-del,.x-ins{padding:0 .12em;border-radius:2px;-webkit-box-decoration-break:clone;box-decoration-break:clone}
del,.x-del{background:var(--del-bg);color:var(--del-ink);text-decoration:line-through;text-decoration-thickness:.09em}
ins,.x-ins{background:var(--ins-bg);color:var(--ins-ink);text-decoration:underline;text-decoration-thickness:.09em;
text-underline-offset:.16em}
del::before,del::after,ins::before,ins::after{position:absolute;width:1px;height:1px;overflow:hidden;
clip-path:inset(50%);white-space:nowrap}
del::before{content:" [removed: "}ins::before{content:" [added: "}del::after,ins::after{content:"] "}
.part p,.part h4,.part blockquote{margin:0 0 .9rem}
.part blockquote{padding-left:.9rem;border-left:3px solid var(--line);font-style:italic}
.part p.item{padding-left:1.1rem;position:relative}
.part p.item::before{content:"\\2022";position:absolute;left:.2rem}
.part .changed{box-shadow:inset 3px 0 0 var(--warn);padding-left:.75rem;margin-left:-.75rem;
border-radius:0 3px 3px 0}
.part p.item.changed{padding-left:1.85rem}
.part p.item.changed::before{left:.95rem}
.cites{padding-left:1.5rem;margin:0}
.cites li{margin:0 0 1rem;padding-left:.15rem}
.cites p{margin:0}
.cite-ref .anchor{font-weight:600}
.cite-ref .url{display:inline}
.cite-status{font-size:.9rem;margin-top:.15rem}
.badge{display:inline-block;font-size:.72rem;font-weight:700;letter-spacing:.05em;text-transform:uppercase;
padding:0 .45rem;border:1.5px solid currentColor;border-radius:3px;line-height:1.5;margin-right:.3rem}
.s-alive{color:var(--ins-ink)}
.s-changed{color:#8a4600;border-style:dashed;background:#fff3df}
.s-gone{color:#fff;background:var(--del-ink);border-color:var(--del-ink)}
.s-not-archived{color:var(--muted);border-style:dotted}
.change{font-size:.78rem;font-weight:700;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;
margin-right:.3rem}
.detail{color:var(--muted)}
.timeline{list-style:none;margin:0;padding:0;border-left:2px solid var(--line)}
.timeline li{display:flex;flex-wrap:wrap;align-items:baseline;gap:.1rem .65rem;padding:.45rem .75rem;
margin:0 0 .2rem;border-radius:0 4px 4px 0}
.timeline .vnum{font-weight:700;min-width:2rem}
.timeline .vsum{flex-basis:100%;color:var(--muted);font-size:.93rem}
.timeline li.sel{background:var(--mark-bg);box-shadow:inset 4px 0 0 var(--mark);margin-left:-2px}
.timeline .mark{font-size:.72rem;font-weight:700;text-transform:uppercase;letter-spacing:.06em;color:var(--mark)}
.kind{font-size:.8rem;border:1px solid var(--line);border-radius:999px;padding:0 .5rem;background:#fff}
.kind.k-gone,.kind.k-soft-404{border-color:var(--del-ink);color:var(--del-ink)}
.status,.commit{font-size:.85rem;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,19rem),1fr));gap:1rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.2rem .9rem .8rem;min-width:0}
.card h3{margin-top:.8rem}
.card dl{display:grid;grid-template-columns:minmax(0,1fr);margin:0;font-size:.9rem}
.card dt{font-weight:600;color:var(--muted);font-size:.78rem;margin-top:.45rem}
.card dd{margin:0}
.cmd{display:block;background:var(--soft);padding:.25rem .45rem;border-radius:3px;margin-top:.2rem}
footer{margin-top:3rem;padding-top:.8rem;border-top:1px solid var(--line);font-size:.85rem;color:var(--muted)}
@media (min-width:40rem){.page{padding:2rem 1.5rem 4rem}h1{font-size:2rem}}
@media print{
body{font-size:11pt}.page{max-width:none;padding:0}.jump{display:none}
a{color:inherit}
del,ins,.x-del,.x-ins,.badge,.sel,.pair div{-webkit-print-color-adjust:exact;print-color-adjust:exact}
p,li,h4,blockquote,.card{break-inside:avoid}h2,h3{break-after:avoid}
.part .changed{box-shadow:none;margin-left:0;border-left:3px solid var(--warn);padding-left:.6rem}
}
"""
