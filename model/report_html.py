"""Render a report as one self-contained HTML page.

The CSS is inline and the picture is embedded as a data URI, so the page opens from disk,
moved or mailed, with no network and no other file. Every piece of text from the data goes
through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import math
from datetime import timedelta
from html import escape

from .report import LABEL_COLOURS, LABEL_ORDER, MAX_PANELS, Group, Report, ScoredArticle, Tally, parse_date, plural

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
       margin: 0; background: #fafafa; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
.meta { color: #555; margin: 0 0 6px; }
.note { background: #fff6d9; border: 1px solid #e8c95a; border-radius: 4px; padding: 8px 12px;
        margin: 12px 0; }
figure { margin: 16px 0 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { color: #555; font-size: 13px; margin-top: 4px; }
table.periods { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.periods th, table.periods td { padding: 3px 10px; border-bottom: 1px solid #e6e6e6; }
table.periods th { text-align: right; font-weight: 600; background: #f3f3f3; vertical-align: bottom; }
table.periods td { text-align: right; }
table.periods th:first-child, table.periods td:first-child { text-align: left; }
table.periods tr.empty td { color: #888; background: #f6f6f6; }
table.periods tr.empty td + td { text-align: center; font-style: italic; }
table.periods tr.undated td { border-top: 2px solid #bbb; font-style: italic; }
.range { color: #777; font-size: 12px; margin-left: 6px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 5px; background: var(--c);
          border-radius: 2px; }
ol.top { padding-left: 24px; }
ol.top > li { margin: 0 0 18px; }
.index { display: inline-block; min-width: 52px; font-weight: 700; font-variant-numeric: tabular-nums; }
.sentence { margin: 5px 0 0; padding: 4px 10px; border-left: 5px solid var(--c); background: var(--tint); }
.tag { font-size: 12px; font-weight: 700; margin-right: 8px; white-space: nowrap; }
"""


def _label_css() -> str:
    # "1f" appended to the colour gives a light tint of it (8-digit hex, alpha 12%).
    return "".join(f".l-{label} {{ --c: {colour}; --tint: {colour}1f; }}\n" for label, colour in LABEL_COLOURS.items())


def render_page(report: Report, png: bytes) -> str:
    """The report page: notes, the picture, a table per period, the top articles.

    Parameters
    ----------
    report : Report
    png : bytes
        The trend picture, embedded in the page.

    Returns
    -------
    str
        A complete HTML document.
    """
    unit = "ISO week" if report.by == "week" else "day"
    source = f"<code>{escape(report.scored)}</code>"
    if report.summary:
        source += f" and <code>{escape(report.summary)}</code>"
    span = ""
    if report.periods:
        span = f", {escape(report.label(report.periods[0]))} to {escape(report.label(report.periods[-1]))}"
    image = base64.b64encode(png).decode("ascii")
    alt = f"Signal sentences per {unit} by label, with the mean escalation index"
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        f"<title>Escalation report: {escape(report.scored)}</title>\n",
        f"<style>{_CSS}{_label_css()}</style>\n</head>\n<body>\n<main>\n",
        "<h1>Escalation report</h1>\n",
        f"<p class=\"meta\">{plural(report.articles, 'article')}, {plural(report.sentences, 'sentence')} from {source}; "
        f"by {unit}{span}.</p>\n",
        _notes(report),
        f"<figure>\n<img src=\"data:image/png;base64,{image}\" alt=\"{escape(alt)}\">\n",
        "<figcaption>Signal sentences per period, one line per label (left axis); the mean escalation "
        "index of the period's articles, from −1 (diplomacy only) to +1 (military and preparedness "
        "only), dashed (right axis). Shaded periods have no articles. "
        "Picture file: <a href=\"trend.png\">trend.png</a>.</figcaption>\n</figure>\n",
        f"<section id=\"periods\">\n<h2>Per {unit}</h2>\n",
        *(_period_table(report, group) for group in report.groups),
        "</section>\n",
        _top_articles(report),
        "</main>\n</body>\n</html>\n",
    ]
    return "".join(parts)


def _notes(report: Report) -> str:
    notes = []
    if not report.articles:
        notes.append("<p class=\"note\" id=\"empty-note\">The scored file holds no sentence records.</p>\n")
    elif report.undated:
        n = report.undated
        text = (f"{plural(n, 'article')} without a date {'is' if n == 1 else 'are'} left out of the trend "
                "and counted in the <em>undated</em> row")
        if report.unreadable_dates:
            text += f" ({report.unreadable_dates} of them with a date that is not ISO 8601)"
        if not report.periods:
            text += ". No article has a date, so the trend is empty"
        notes.append(f"<p class=\"note\" id=\"undated-note\" data-count=\"{n}\">{text}.</p>\n")
    if len(report.groups) > MAX_PANELS:
        notes.append(f"<p class=\"note\">The picture shows the {MAX_PANELS} largest of {len(report.groups)} "
                     "sources; the tables cover all of them.</p>\n")
    return "".join(notes)


def _period_table(report: Report, group: Group) -> str:
    heading = ""
    if group.name is not None:
        heading = f"<h3>{escape(group.name)} ({plural(group.articles, 'article')})</h3>\n"
    head = "".join(
        f"<th class=\"l-{label}\"><span class=\"swatch\"></span>{escape(label)}</th>" for label in LABEL_ORDER
    )
    rows = [
        f"<table class=\"periods\" data-group=\"{escape(group.name or '')}\">\n"
        f"<thead><tr><th>period</th><th>articles</th><th>sentences</th>{head}<th>mean index</th></tr></thead>\n"
        "<tbody>\n"
    ]
    for period in report.periods:
        label = escape(report.label(period))
        cell = f"<td>{label}{_range(report, period)}</td>"
        tally = group.periods.get(period)
        if tally is None:
            rows.append(f"<tr class=\"empty\" data-period=\"{label}\">{cell}"
                        f"<td colspan=\"{len(LABEL_ORDER) + 3}\">no articles</td></tr>\n")
        else:
            rows.append(f"<tr data-period=\"{label}\">{cell}{_tally_cells(tally)}</tr>\n")
    if group.undated.articles:
        rows.append(f"<tr class=\"undated\" data-period=\"undated\"><td>undated</td>"
                    f"{_tally_cells(group.undated)}</tr>\n")
    rows.append("</tbody>\n</table>\n")
    return heading + "".join(rows)


def _range(report: Report, start) -> str:
    if report.by == "day":
        return ""
    end = start + timedelta(days=6)
    return f"<span class=\"range\">{start.day} {start:%b} – {end.day} {end:%b %Y}</span>"


def _tally_cells(tally: Tally) -> str:
    counts = "".join(f"<td>{tally.counts[label]}</td>" for label in LABEL_ORDER)
    return f"<td>{tally.articles}</td><td>{tally.sentences}</td>{counts}<td>{_signed(tally.mean_index)}</td>"


def _signed(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:+.2f}".replace("-", "−")


def _top_articles(report: Report) -> str:
    if not report.top:
        return ""
    items = "".join(_article_item(article) for article in report.top)
    return (f"<section id=\"top\">\n<h2>Top {len(report.top)} articles by escalation index</h2>\n"
            "<p class=\"meta\">With the strongest sentence of each signal label found in the article.</p>\n"
            f"<ol class=\"top\">\n{items}</ol>\n</section>\n")


def _article_item(article: ScoredArticle) -> str:
    day = parse_date(article.date)
    when = day.isoformat() if day else ("undated" if article.date is None else f"unreadable date {article.date}")
    meta = [when, *([article.source] if article.source else []), f"id {article.article_id}"]
    # In reading order, each tagged with its label and probability.
    strongest = sorted((found["sentence"], label, found) for label, found in article.strongest.items() if found)
    sentences = "".join(
        f"<p class=\"sentence l-{label}\" data-label=\"{label}\"><span class=\"tag\">"
        f"<span class=\"swatch\"></span>{escape(label)} {found['score']:.2f}</span>{escape(found['text'])}</p>\n"
        for _, label, found in strongest
    )
    return (f"<li data-article=\"{escape(article.article_id)}\"><div><span class=\"index\">"
            f"{_signed(article.escalation_index)}</span> <strong>{escape(article.title or article.article_id)}</strong>"
            f"</div>\n<div class=\"meta\">{escape(' · '.join(meta))}</div>\n{sentences}</li>\n")
