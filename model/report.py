"""Aggregate the output of ``escalation score`` into trends per day or ISO week.

The sentence records are read once, in order. ``score`` writes an article's sentences one
after another, so only the article being read, the running totals per period and the top
articles are held in memory, however large the file. The ``--summary`` file of the same run
has one line per article in the same order, so it is read alongside, line for line.

:func:`write_report` turns the aggregate into ``index.html`` and ``trend.png``
(:mod:`escalation.report_html`, :mod:`escalation.report_plot`).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import orjson

from .classifier import LABELS, SIGNAL_LABELS
from .scoring import ArticleSignals

PERIODS = ("day", "week")
GROUPS = ("source",)
TOP_ARTICLES = 10
#: Panels in the picture with a grouping, largest groups first; the tables cover every group.
MAX_PANELS = 8
#: Okabe-Ito colours, distinguishable with the common forms of colour blindness; the picture
#: and the page use the same ones, in this order: diplomacy, then the escalatory labels.
LABEL_COLOURS = {
    "diplomatic": "#0072B2",
    "military": "#D55E00",
    "civilian-preparedness": "#009E73",
    "none": "#999999",
}
LABEL_ORDER = tuple(LABEL_COLOURS)
SIGNAL_ORDER = tuple(label for label in LABEL_ORDER if label in SIGNAL_LABELS)
INDEX_COLOUR = "#000000"
#: Group of the articles whose summary has no source.
NO_SOURCE = "(no source)"
_SAME_RUN = "give the --summary file written by the same `escalation score` run"


class ReportError(Exception):
    """A scored or summary file that cannot be used; the message names the file and line."""


@dataclass
class ScoredArticle:
    """One article, rebuilt from its sentence records (and its summary line, when given)."""

    article_id: str
    date: str | None = None
    sentences: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    escalation_index: float = 0.0
    #: Per signal label, the ``{"sentence", "score", "text"}`` of its most probable
    #: sentence, or None; as in the ``--summary`` output.
    strongest: dict[str, dict | None] = field(default_factory=lambda: dict.fromkeys(SIGNAL_LABELS))
    title: str | None = None
    source: str | None = None


@dataclass
class Tally:
    """Totals over the articles of one period, or over the undated ones."""

    articles: int = 0
    sentences: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    index_sum: float = 0.0

    def add(self, article: ScoredArticle) -> None:
        """Count ``article`` in these totals."""
        self.articles += 1
        self.sentences += article.sentences
        for label, count in article.counts.items():
            self.counts[label] += count
        self.index_sum += article.escalation_index

    @property
    def mean_index(self) -> float:
        """Mean escalation index over the articles; NaN when there are none."""
        return self.index_sum / self.articles if self.articles else math.nan


@dataclass
class Group:
    """The articles of one source (or all articles when not grouped)."""

    name: str | None
    periods: dict[date, Tally] = field(default_factory=dict)  #: keyed by the period's first day
    undated: Tally = field(default_factory=Tally)
    unreadable_dates: int = 0  #: undated articles whose date is there but not ISO 8601

    @property
    def articles(self) -> int:
        """Articles in the group, dated or not."""
        return self.undated.articles + sum(t.articles for t in self.periods.values())


@dataclass
class Report:
    """Everything the page and the picture show."""

    scored: str
    summary: str | None
    by: str
    periods: list[date]  #: first day of every period from the first to the last, empty ones too
    groups: list[Group]  #: largest first; a single unnamed group when not grouped
    top: list[ScoredArticle]  #: highest escalation index first
    sentences: int

    @property
    def articles(self) -> int:
        """All articles read."""
        return sum(g.articles for g in self.groups)

    @property
    def undated(self) -> int:
        """Articles left out of the trend: no date, or one that is not ISO 8601."""
        return sum(g.undated.articles for g in self.groups)

    @property
    def unreadable_dates(self) -> int:
        """Undated articles that have a date, but not an ISO 8601 one."""
        return sum(g.unreadable_dates for g in self.groups)

    def label(self, period: date) -> str:
        """``2024-03-04`` for a day, ``2024-W10`` for an ISO week."""
        return period_label(period, self.by)

    def series(self, group: Group) -> dict[str, np.ndarray]:
        """Signal sentences per label and mean index, one value per period.

        Parameters
        ----------
        group : Group

        Returns
        -------
        dict of str to ndarray
            One array per signal label and ``"escalation_index"``, aligned with
            :attr:`periods`; NaN where the group has no article in the period, so that
            plots show a gap rather than a zero.
        """
        keys = [*SIGNAL_ORDER, "escalation_index"]
        series = {key: np.full(len(self.periods), np.nan) for key in keys}
        for k, period in enumerate(self.periods):
            tally = group.periods.get(period)
            if tally is not None:
                for label in SIGNAL_ORDER:
                    series[label][k] = tally.counts[label]
                series["escalation_index"][k] = tally.mean_index
        return series


def parse_date(value) -> date | None:
    """The calendar day of an ISO 8601 date or datetime, or None if it is not one.

    The day is taken as written, in the offset the date carries, since that is the day the
    source reported. ``Z`` and ``±HH:MM`` offsets are accepted.

    Parameters
    ----------
    value : object
        Usually a str such as ``"2024-03-04"`` or ``"2024-03-04T08:15:00Z"``.

    Returns
    -------
    datetime.date or None
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):  # fromisoformat reads "Z" only from Python 3.11
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def period_start(day: date, by: str) -> date:
    """First day of the period holding ``day``: the day itself, or the Monday of its ISO week."""
    return day if by == "day" else day - timedelta(days=day.weekday())


def period_label(start: date, by: str) -> str:
    """Name of the period starting on ``start``: ``2024-03-04`` or ``2024-W10``."""
    if by == "day":
        return start.isoformat()
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def plural(n: int, noun: str) -> str:
    """``"1 article"``, ``"2 articles"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _json_lines(path: str) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSON Lines file."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise ReportError(f"{path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise ReportError(
                    f"{path}:{number}: not valid JSON (report reads the JSON Lines written by "
                    "`escalation score`)"
                ) from None
            if not isinstance(record, dict):
                raise ReportError(f"{path}:{number}: not a JSON object")
            yield number, record


def read_scored(path: str) -> Iterator[ScoredArticle]:
    """Articles rebuilt from the sentence records of ``escalation score``.

    A new article starts where the ``article_id`` changes or the ``sentence`` number does
    not go up. The escalation index and the strongest sentences are computed as
    ``score --summary`` computes them: each sentence adds the probability of its own label
    to that label's mass.

    Parameters
    ----------
    path : str
        JSON Lines, one record per sentence.

    Yields
    ------
    ScoredArticle

    Raises
    ------
    ReportError
        On a line that is not JSON or not a sentence record, naming ``path:line``.
    """
    article, signals, last = None, None, -1
    for number, record in _json_lines(path):
        article_id, sentence, label, probability = _sentence_fields(path, number, record)
        if article is None or article_id != article.article_id or sentence <= last:
            if article is not None:
                yield _summed(article, signals)
            article = ScoredArticle(article_id, date=record.get("date"))
            signals = ArticleSignals(LABELS)
        text = record.get("text")
        signals.add(sentence, label, probability, text if isinstance(text, str) else "")
        last = sentence
    if article is not None:
        yield _summed(article, signals)


def _summed(article: ScoredArticle, signals: ArticleSignals) -> ScoredArticle:
    article.sentences, article.counts = signals.sentences, signals.counts
    article.strongest, article.escalation_index = signals.strongest, signals.escalation_index
    return article


def _sentence_fields(path: str, number: int, record: dict) -> tuple[str, int, str, float]:
    try:
        article_id, sentence, label = record["article_id"], record["sentence"], record["label"]
        probability = record["scores"][label]
    except (KeyError, TypeError):
        raise ReportError(
            f"{path}:{number}: not a sentence record of `escalation score` "
            "(needs article_id, sentence, label and scores)"
        ) from None
    if label not in LABELS:
        raise ReportError(f"{path}:{number}: unknown label {label!r}")
    if not isinstance(sentence, int) or not isinstance(probability, (int, float)):
        raise ReportError(f"{path}:{number}: sentence must be an integer and scores numbers")
    return str(article_id), sentence, label, float(probability)


def with_summary(articles: Iterable[ScoredArticle], path: str, scored: str) -> Iterator[ScoredArticle]:
    """Add title, source, index and strongest sentences from a ``--summary`` file.

    Parameters
    ----------
    articles : iterable of ScoredArticle
        From :func:`read_scored`.
    path : str
        The summary file: one JSON line per article, in the order of ``scored``.
    scored : str
        The sentence file, for error messages.

    Yields
    ------
    ScoredArticle

    Raises
    ------
    ReportError
        If a line is not a summary, or the two files do not list the same articles.
    """
    lines = _json_lines(path)
    for article in articles:
        item = next(lines, None)
        if item is None:
            raise ReportError(f"{path}: ends before article {article.article_id!r} of {scored}; {_SAME_RUN}")
        number, record = item
        if str(record.get("article_id")) != article.article_id:
            raise ReportError(
                f"{path}:{number}: article {record.get('article_id')!r} where {scored} has "
                f"{article.article_id!r}; {_SAME_RUN}"
            )
        index, strongest = record.get("escalation_index"), record.get("strongest")
        if not isinstance(index, (int, float)) or not _is_strongest(strongest):
            raise ReportError(
                f"{path}:{number}: not a summary line of `escalation score --summary` "
                "(needs escalation_index and strongest)"
            )
        article.escalation_index = float(index)
        article.strongest = {label: strongest.get(label) for label in SIGNAL_LABELS}
        article.title = _text_or_none(record.get("title"))
        article.source = _text_or_none(record.get("source"))
        yield article
    extra = next(lines, None)
    if extra is not None:
        raise ReportError(f"{path}:{extra[0]}: article {extra[1].get('article_id')!r} is not in {scored}; {_SAME_RUN}")


def _is_strongest(value) -> bool:
    return isinstance(value, dict) and all(
        s is None or isinstance(s, dict) and isinstance(s.get("text"), str)
        and isinstance(s.get("score"), (int, float)) and isinstance(s.get("sentence"), int)
        for s in (value.get(label) for label in SIGNAL_LABELS)
    )


def _text_or_none(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def aggregate(
    scored: str,
    by: str = "week",
    summary: str | None = None,
    group: str | None = None,
    top: int = TOP_ARTICLES,
) -> Report:
    """Totals per period (and per source), the undated articles, and the top articles.

    Parameters
    ----------
    scored : str
        Sentence records written by ``escalation score`` (JSON Lines).
    by : {"week", "day"}, default="week"
        Period of the trend; weeks are ISO weeks, Monday to Sunday.
    summary : str, optional
        The ``--summary`` file of the same run. Its titles and sources are shown, and its
        escalation index and strongest sentences are used instead of recomputing them.
    group : {"source"}, optional
        Split the totals by the article's source; needs ``summary``.
    top : int, default=10
        How many articles to keep, by highest escalation index (ties: earlier first).

    Returns
    -------
    Report

    Raises
    ------
    ReportError
        If a file cannot be read or used.
    ValueError
        If ``by`` or ``group`` is unknown, or ``group`` is asked for without ``summary``.
    """
    if by not in PERIODS:
        raise ValueError(f"by must be one of {PERIODS}, not {by!r}")
    if group is not None and group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, not {group!r}")
    if group is not None and summary is None:
        raise ValueError("grouping by source needs the summary file, which carries the sources")
    articles = read_scored(scored)
    if summary is not None:
        articles = with_summary(articles, summary, scored)
    groups: dict[str | None, Group] = {}
    best: list = []  # min-heap of (index, -position, article): the top articles so far
    sentences = 0
    for position, article in enumerate(articles):
        name = (article.source or NO_SOURCE) if group else None
        target = groups.setdefault(name, Group(name))
        day = parse_date(article.date)
        if day is None:
            target.undated.add(article)
            if article.date is not None:
                target.unreadable_dates += 1
        else:
            target.periods.setdefault(period_start(day, by), Tally()).add(article)
        sentences += article.sentences
        entry = (article.escalation_index, -position, article)  # positions differ: articles never compared
        if len(best) < top:
            heapq.heappush(best, entry)
        elif top:
            heapq.heappushpop(best, entry)
    starts = [p for g in groups.values() for p in g.periods]
    periods = []
    if starts:
        step = timedelta(days=1 if by == "day" else 7)
        period, last = min(starts), max(starts)
        while period <= last:
            periods.append(period)
            period += step
    ordered = sorted(groups.values(), key=lambda g: (-g.articles, g.name or ""))
    return Report(scored, summary, by, periods, ordered,
                  [article for *_, article in sorted(best, reverse=True)], sentences)


def write_report(
    scored: str,
    out_dir: str,
    by: str = "week",
    summary: str | None = None,
    group: str | None = None,
) -> tuple[Path, Report]:
    """Write ``index.html`` and ``trend.png`` into ``out_dir`` (created if missing).

    Parameters
    ----------
    scored, by, summary, group
        As for :func:`aggregate`.
    out_dir : str
        Folder for the report.

    Returns
    -------
    (Path, Report)
        The path of ``index.html``, and the aggregate it shows.

    Raises
    ------
    ReportError
        As :func:`aggregate`, or if matplotlib is not installed.
    OSError
        If the report cannot be written.
    """
    report = aggregate(scored, by, summary, group)
    # Imported here: matplotlib is an optional extra and slow to import, and both modules
    # build on the types above.
    try:
        from .report_plot import render_png
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "matplotlib":
            raise
        raise ReportError(
            "escalation report draws with matplotlib, which is not installed: "
            "pip install 'escalation-signals[report]'"
        ) from None
    from .report_html import render_page

    png = render_png(report)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "trend.png").write_bytes(png)
    page = out / "index.html"
    page.write_text(render_page(report, png), encoding="utf-8")
    return page, report
