"""escalation report: aggregation per period, the picture, the page, and the command line."""

import base64
import json
import math
import struct
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalation.cli import cli
from escalation.report import aggregate, parse_date, period_label, period_start
from escalation.scoring import escalation_index

LABELS = ["civilian-preparedness", "diplomatic", "military", "none"]
DEMO_FEED = Path(__file__).resolve().parent.parent / "data" / "demo" / "crisis_feed.jsonl"

# (id, date, [(label, probability of that label), ...]); dates in ISO weeks 10 and 13 of 2024.
ARTICLES = [
    ("a1", "2024-03-04", [("military", 0.9), ("diplomatic", 0.6), ("none", 0.8)]),
    ("a2", "2024-03-06T08:00:00Z", [("civilian-preparedness", 0.8), ("military", 0.7)]),
    # Sunday evening where it was written, Monday of week 11 in UTC: the day as written counts.
    ("a3", "2024-03-10T23:30:00-05:00", [("diplomatic", 0.5)]),
    ("a4", "2024-03-25", [("military", 1.0)]),
    ("a5", None, [("military", 0.9), ("none", 0.7)]),
    ("a6", "soon", [("diplomatic", 0.8)]),  # a date, but not one we can read
]
INDEX = {
    "a1": (0.9 - 0.6) / (0.9 + 0.6 + 1),
    "a2": (0.8 + 0.7) / (0.8 + 0.7 + 1),
    "a3": -0.5 / 1.5,
    "a4": 1.0 / 2.0,
    "a5": 0.9 / 1.9,
    "a6": -0.8 / 1.8,
}


def sentence_records(articles=ARTICLES):
    for article_id, day, sentences in articles:
        for i, (label, p) in enumerate(sentences):
            rest = (1 - p) / 3
            record = {"article_id": article_id, "sentence": i, "start": 10 * i, "end": 10 * i + 9,
                      "text": f"{article_id} says {label} <{i}>", "label": label,
                      "scores": {name: p if name == label else rest for name in LABELS}}
            if day is not None:
                record["date"] = day
            yield record


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def scored(tmp_path):
    return write_jsonl(tmp_path / "sentences.jsonl", sentence_records())


def summary_records(sources, titles=None, indexes=None):
    """Summary lines for ARTICLES, as `score --summary` writes them."""
    for article_id, day, sentences in ARTICLES:
        record = {"article_id": article_id, "sentences": len(sentences), "counts": {},
                  "strongest": {"civilian-preparedness": None, "diplomatic": None,
                                "military": {"sentence": 0, "score": 0.5, "text": f"strongest of {article_id}"}},
                  "escalation_index": (indexes or INDEX)[article_id]}
        if day is not None:
            record["date"] = day
        if sources.get(article_id):
            record["source"] = sources[article_id]
        if titles and titles.get(article_id):
            record["title"] = titles[article_id]
        yield record


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


class Page(HTMLParser):
    """The parts of the report page the tests look at."""

    def __init__(self, text):
        super().__init__()
        self.rows, self.tables, self.images, self.links, self.notes, self.top = [], [], [], [], {}, []
        self._cells = self._note = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append(attrs.get("data-group"))
        elif tag == "tr" and "data-period" in attrs:
            self._cells = [attrs["data-period"]]
            self.rows.append((self.tables[-1], self._cells))
        elif tag == "td" and self._cells is not None:
            self._cells.append("")
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "p" and attrs.get("class") == "note":
            self._note = attrs.get("id")
            self.notes[self._note] = (attrs, "")
        elif tag == "li" and "data-article" in attrs:
            self.top.append((attrs["data-article"], []))
        elif tag == "p" and "data-label" in attrs:
            self.top[-1][1].append(attrs["data-label"])

    def handle_endtag(self, tag):
        if tag == "tr":
            self._cells = None
        elif tag == "p":
            self._note = None

    def handle_data(self, data):
        if self._cells is not None and len(self._cells) > 1:
            self._cells[-1] += data
        if self._note is not None:
            attrs, text = self.notes[self._note]
            self.notes[self._note] = (attrs, text + data)


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR width, height


# --- dates and periods -----------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("2024-03-04", date(2024, 3, 4)),
    ("2024-03-04T08:15:00Z", date(2024, 3, 4)),
    ("2024-03-04T23:59:59z", date(2024, 3, 4)),
    ("2024-03-04T01:00:00+09:00", date(2024, 3, 4)),
    ("2024-03-04T08:15:00.250-05:00", date(2024, 3, 4)),
    ("2024-03-04 08:15", date(2024, 3, 4)),
    (" 2024-03-04 ", date(2024, 3, 4)),
    ("04/03/2024", None),
    ("Mon, 04 Mar 2024", None),
    ("", None),
    (None, None),
    (20240304, None),
])
def test_parse_date_reads_iso_dates_and_datetimes(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("day, start, label", [
    (date(2024, 3, 4), date(2024, 3, 4), "2024-W10"),   # Monday
    (date(2024, 3, 10), date(2024, 3, 4), "2024-W10"),  # Sunday of the same week
    (date(2024, 3, 11), date(2024, 3, 11), "2024-W11"),
    (date(2025, 1, 1), date(2024, 12, 30), "2025-W01"),  # ISO year differs from the calendar year
    (date(2021, 1, 3), date(2020, 12, 28), "2020-W53"),
])
def test_week_bucketing_follows_iso_weeks(day, start, label):
    assert period_start(day, "week") == start
    assert period_label(start, "week") == label
    assert period_start(day, "day") == day
    assert period_label(day, "day") == day.isoformat()


# --- aggregation -----------------------------------------------------------------------


def test_weekly_counts_per_period_and_label(scored):
    report = aggregate(str(scored), by="week")
    assert [report.label(p) for p in report.periods] == ["2024-W10", "2024-W11", "2024-W12", "2024-W13"]
    (group,) = report.groups
    week10, week13 = group.periods[date(2024, 3, 4)], group.periods[date(2024, 3, 25)]
    assert (week10.articles, week10.sentences) == (3, 6)
    assert week10.counts == {"civilian-preparedness": 1, "diplomatic": 2, "military": 2, "none": 1}
    assert (week13.articles, week13.sentences) == (1, 1)
    assert week13.counts == {"civilian-preparedness": 0, "diplomatic": 0, "military": 1, "none": 0}
    assert set(group.periods) == {date(2024, 3, 4), date(2024, 3, 25)}
    assert (report.articles, report.sentences) == (6, 10)


def test_mean_index_is_recomputed_per_article_from_the_sentences(scored):
    report = aggregate(str(scored), by="week")
    (group,) = report.groups
    expected = (INDEX["a1"] + INDEX["a2"] + INDEX["a3"]) / 3
    assert group.periods[date(2024, 3, 4)].mean_index == pytest.approx(expected, abs=1e-12)
    assert group.periods[date(2024, 3, 25)].mean_index == pytest.approx(0.5, abs=1e-12)
    # The same formula as the summary of `score`: each sentence adds its own label's probability.
    assert INDEX["a1"] == pytest.approx(escalation_index({"military": 0.9, "diplomatic": 0.6}))


def test_undated_and_unreadable_dates_are_kept_out_of_the_trend(scored):
    report = aggregate(str(scored), by="week")
    (group,) = report.groups
    assert (report.undated, report.unreadable_dates) == (2, 1)
    assert (group.undated.articles, group.undated.sentences) == (2, 3)
    assert group.undated.counts == {"civilian-preparedness": 0, "diplomatic": 1, "military": 1, "none": 1}
    assert group.undated.mean_index == pytest.approx((INDEX["a5"] + INDEX["a6"]) / 2, abs=1e-12)
    assert sum(t.articles for t in group.periods.values()) == 4


def test_empty_periods_are_nan_not_zero(scored):
    report = aggregate(str(scored), by="week")
    series = report.series(report.groups[0])
    for key in ("diplomatic", "military", "civilian-preparedness", "escalation_index"):
        assert len(series[key]) == 4
        assert math.isnan(series[key][1]) and math.isnan(series[key][2]), key
    assert series["military"].tolist()[0] == 2 and series["military"].tolist()[3] == 1
    assert series["diplomatic"][3] == 0  # a period with articles but no such sentence is a zero
    assert series["escalation_index"][3] == pytest.approx(0.5)


def test_by_day_spans_every_day_from_first_to_last(scored):
    report = aggregate(str(scored), by="day")
    assert len(report.periods) == 22
    assert report.label(report.periods[0]) == "2024-03-04" and report.label(report.periods[-1]) == "2024-03-25"
    series = report.series(report.groups[0])
    assert math.isnan(series["escalation_index"][1])  # 2024-03-05: no article
    assert series["civilian-preparedness"][2] == 1  # 2024-03-06


def test_a_repeated_article_id_starting_again_at_sentence_0_is_a_new_article(tmp_path):
    records = list(sentence_records([("x", "2024-03-04", [("military", 0.9)]),
                                     ("x", "2024-03-05", [("diplomatic", 0.9)])]))
    report = aggregate(str(write_jsonl(tmp_path / "s.jsonl", records)), by="day")
    assert report.articles == 2
    assert [t.articles for t in report.groups[0].periods.values()] == [1, 1]


def test_top_articles_by_index_with_their_strongest_sentences(scored):
    report = aggregate(str(scored))
    assert [a.article_id for a in report.top] == ["a2", "a4", "a5", "a1", "a3", "a6"]
    a1 = next(a for a in report.top if a.article_id == "a1")
    assert a1.strongest["military"] == {"sentence": 0, "score": 0.9, "text": "a1 says military <0>"}
    assert a1.strongest["diplomatic"]["sentence"] == 1
    assert a1.strongest["civilian-preparedness"] is None


def test_top_keeps_the_ten_highest_and_earlier_articles_on_ties(tmp_path):
    articles = [(f"t{k:02d}", "2024-03-04", [("military", 0.5)]) for k in range(12)]
    articles.append(("best", "2024-03-04", [("military", 0.9)]))
    report = aggregate(str(write_jsonl(tmp_path / "s.jsonl", sentence_records(articles))))
    assert [a.article_id for a in report.top] == ["best"] + [f"t{k:02d}" for k in range(9)]


def test_summary_supplies_sources_titles_and_index(scored, tmp_path):
    indexes = {**INDEX, "a4": -0.9}
    summary = write_jsonl(tmp_path / "summary.jsonl",
                          summary_records({"a1": "Wire A", "a2": "Wire B", "a4": "Wire A"},
                                          titles={"a2": "Title of a2"}, indexes=indexes))
    report = aggregate(str(scored), summary=str(summary), group="source")
    assert [(g.name, g.articles) for g in report.groups] == [("(no source)", 3), ("Wire A", 2), ("Wire B", 1)]
    wire_a = report.groups[1]
    assert wire_a.periods[date(2024, 3, 25)].mean_index == -0.9  # the summary's index, not recomputed
    assert report.top[0].title == "Title of a2" and report.top[0].source == "Wire B"
    assert report.top[0].strongest["military"]["text"] == "strongest of a2"


# --- the command, the page and the picture ----------------------------------------------


def test_report_writes_a_page_with_the_period_table_and_the_embedded_picture(scored, tmp_path):
    out = tmp_path / "report"
    result = run("report", scored, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out / "index.html")
    page = Page((out / "index.html").read_text(encoding="utf-8"))
    rows = {cells[0]: cells[1:] for _, cells in page.rows}
    assert list(rows) == ["2024-W10", "2024-W11", "2024-W12", "2024-W13", "undated"]
    # period, articles, sentences, then diplomatic, military, civilian-preparedness, none, mean index
    mean10 = (INDEX["a1"] + INDEX["a2"] + INDEX["a3"]) / 3
    assert rows["2024-W10"][1:] == ["3", "6", "2", "2", "1", "1", f"{mean10:+.2f}"]
    assert rows["2024-W11"][1:] == ["no articles"]
    assert rows["2024-W13"][1:] == ["1", "1", "0", "1", "0", "0", "+0.50"]
    assert rows["undated"][1:7] == ["2", "3", "1", "1", "0", "1"]
    (image,) = page.images
    prefix = "data:image/png;base64,"
    assert image.startswith(prefix)
    assert base64.b64decode(image[len(prefix):]) == (out / "trend.png").read_bytes()
    assert "trend.png" in page.links
    attrs, text = page.notes["undated-note"]
    assert attrs["data-count"] == "2"
    assert text.startswith("2 articles without a date are left out of the trend")
    assert "1 of them with a date that is not ISO 8601" in text
    assert [article_id for article_id, _ in page.top] == ["a2", "a4", "a5", "a1", "a3", "a6"]
    assert dict(page.top)["a1"] == ["military", "diplomatic"]  # in reading order


def test_trend_png_is_a_real_picture(scored, tmp_path):
    assert run("report", scored, "-o", tmp_path / "r").exit_code == 0
    png = tmp_path / "r" / "trend.png"
    assert png.stat().st_size > 10_000
    width, height = png_size(png)
    assert width >= 1000 and 300 <= height <= 700


def test_page_is_self_contained_and_escapes_text(scored, tmp_path):
    summary = write_jsonl(tmp_path / "summary.jsonl",
                          summary_records({"a2": "<b>Wire</b>"}, titles={"a2": "<script>alert(1)</script>"}))
    assert run("report", scored, "--summary", summary, "-o", tmp_path / "r").exit_code == 0
    text = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;b&gt;Wire&lt;/b&gt;" in text
    assert "a1 says military &lt;0&gt;" not in text  # with a summary, its strongest sentences are shown
    assert "strongest of a1" in text
    assert "http://" not in text and "https://" not in text and "<link" not in text


def test_group_source_draws_one_panel_per_source(scored, tmp_path):
    from escalation.report_plot import draw_trend

    summary = write_jsonl(tmp_path / "summary.jsonl",
                          summary_records({"a1": "Wire A", "a2": "Wire B", "a4": "Wire A"}))
    report = aggregate(str(scored), summary=str(summary), group="source")
    figure = draw_trend(report)
    panels = [ax for ax in figure.axes if ax.get_ylabel() == "signal sentences"]
    assert [ax.get_title(loc="left") for ax in panels] == [
        "(no source) (3 articles)", "Wire A (2 articles)", "Wire B (1 article)"]
    assert all(ax.get_shared_x_axes().joined(panels[0], ax) for ax in panels)

    result = run("report", scored, "--summary", summary, "--group", "source", "-o", tmp_path / "grouped")
    assert result.exit_code == 0, result.output
    assert run("report", scored, "-o", tmp_path / "single").exit_code == 0
    page = Page((tmp_path / "grouped" / "index.html").read_text(encoding="utf-8"))
    assert page.tables == ["(no source)", "Wire A", "Wire B"]
    wire_b = [cells for table, cells in page.rows if table == "Wire B"]
    assert [cells[0] for cells in wire_b] == ["2024-W10", "2024-W11", "2024-W12", "2024-W13"]
    assert wire_b[0][2:4] == ["1", "2"]  # a2 alone: one article, two sentences
    assert png_size(tmp_path / "grouped" / "trend.png")[1] > 2.5 * png_size(tmp_path / "single" / "trend.png")[1]


def test_no_dated_article_gives_an_empty_trend_and_a_note(tmp_path):
    records = sentence_records([("u1", None, [("military", 0.9)]), ("u2", "last week", [("none", 0.9)])])
    scored = write_jsonl(tmp_path / "s.jsonl", records)
    result = run("report", scored, "-o", tmp_path / "r")
    assert result.exit_code == 0, result.output
    page = Page((tmp_path / "r" / "index.html").read_text(encoding="utf-8"))
    assert [cells[0] for _, cells in page.rows] == ["undated"]
    _, text = page.notes["undated-note"]
    assert "No article has a date, so the trend is empty" in text
    assert (tmp_path / "r" / "trend.png").stat().st_size > 10_000


def test_an_empty_scored_file_gives_an_empty_report(tmp_path):
    scored = tmp_path / "empty.jsonl"
    scored.write_text("\n", encoding="utf-8")
    result = run("report", scored, "-o", tmp_path / "r")
    assert result.exit_code == 0, result.output
    page = Page((tmp_path / "r" / "index.html").read_text(encoding="utf-8"))
    assert "empty-note" in page.notes and page.rows == [] and page.top == []


def test_help_has_an_example():
    result = run("report", "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and "escalation report sentences.jsonl" in result.output


# --- errors: one line, no traceback ----------------------------------------------------


def assert_one_line_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_invalid_json_line_names_file_and_line(scored, tmp_path):
    lines = scored.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = '{"article_id": "a1", "sentence": 2,\n'
    scored.write_text("".join(lines), encoding="utf-8")
    result = run("report", scored, "-o", tmp_path / "r")
    assert_one_line_error(result, 1, f"{scored}:3: not valid JSON")
    assert not (tmp_path / "r").exists()  # nothing written on failure


def test_csv_output_is_rejected_on_its_first_line(tmp_path):
    scored = tmp_path / "s.csv"
    scored.write_text("article_id,sentence,start,end,text,label\n", encoding="utf-8")
    assert_one_line_error(run("report", scored, "-o", tmp_path / "r"), 1, f"{scored}:1: not valid JSON")


@pytest.mark.parametrize("line, message", [
    ('{"article_id": "a", "sentence": 0, "text": "x"}', "not a sentence record"),
    ('["a", 0]', "not a JSON object"),
    ('{"article_id": "a", "sentence": 0, "label": "war", "scores": {"war": 1}}', "unknown label 'war'"),
    ('{"article_id": "a", "sentence": "0", "label": "none", "scores": {"none": 1}}', "must be an integer"),
])
def test_records_that_are_not_sentence_records_are_errors(tmp_path, line, message):
    scored = tmp_path / "s.jsonl"
    scored.write_text(json.dumps(next(sentence_records())) + "\n\n" + line + "\n", encoding="utf-8")
    assert_one_line_error(run("report", scored, "-o", tmp_path / "r"), 1, f"{scored}:3:", message)


def test_missing_input_is_a_one_line_error(tmp_path):
    result = run("report", tmp_path / "absent.jsonl", "-o", tmp_path / "r")
    assert_one_line_error(result, 2, "absent.jsonl", "does not exist")


def test_group_source_without_summary_is_a_one_line_error(scored, tmp_path):
    result = run("report", scored, "--group", "source", "-o", tmp_path / "r")
    assert_one_line_error(result, 2, "--group source needs --summary")


def test_summary_of_another_run_is_an_error(scored, tmp_path):
    records = list(summary_records({}))
    records[1], records[2] = records[2], records[1]
    summary = write_jsonl(tmp_path / "summary.jsonl", records)
    result = run("report", scored, "--summary", summary, "-o", tmp_path / "r")
    assert_one_line_error(result, 1, f"{summary}:2: article 'a3' where {scored} has 'a2'")

    short = write_jsonl(tmp_path / "short.jsonl", list(summary_records({}))[:5])
    assert_one_line_error(run("report", scored, "--summary", short, "-o", tmp_path / "r"), 1,
                          f"{short}: ends before article 'a6'")
    extra = write_jsonl(tmp_path / "extra.jsonl", [*summary_records({}), {"article_id": "zz"}])
    assert_one_line_error(run("report", scored, "--summary", extra, "-o", tmp_path / "r"), 1,
                          f"{extra}:7: article 'zz' is not in")


def test_output_that_is_a_file_is_a_one_line_error(scored, tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    assert_one_line_error(run("report", scored, "-o", target / "sub"), 1, "cannot write")


def test_matplotlib_is_imported_only_by_the_report_path():
    code = ("import sys, escalation.cli, escalation.report; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the demo feed, scored for real ------------------------------------------------------


def test_demo_feed_scores_and_reports_the_same_with_or_without_summary(tmp_path):
    rows = [json.loads(line) for line in DEMO_FEED.read_text(encoding="utf-8").splitlines()]
    assert 40 <= len(rows) <= 60 and len({r["id"] for r in rows}) == len(rows)
    assert len({r["source"] for r in rows}) == 3
    sentences, summary = tmp_path / "sentences.jsonl", tmp_path / "articles.jsonl"
    result = run("score", DEMO_FEED, "-o", sentences, "--summary", summary, "--jobs", "1")
    assert result.exit_code == 0, result.output
    plain = aggregate(str(sentences))
    with_summary = aggregate(str(sentences), summary=str(summary))
    assert 6 <= len(plain.periods) <= 8 and plain.undated == 2
    for period in plain.periods:
        a, b = plain.groups[0].periods.get(period), with_summary.groups[0].periods.get(period)
        assert (a is None) == (b is None)
        if a is not None:
            assert a.counts == b.counts
            assert a.mean_index == pytest.approx(b.mean_index, abs=1e-12)
    assert [x.article_id for x in plain.top] == [x.article_id for x in with_summary.top]
    assert [x.strongest for x in plain.top] == [x.strongest for x in with_summary.top]
    grouped = aggregate(str(sentences), summary=str(summary), group="source")
    assert len(grouped.groups) == 3
