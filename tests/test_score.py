"""`escalation score`: every input format, the output schema, bad records and accounting,
order under --jobs, and resume after a real kill."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from conftest import ATOM, RSS
from escalation.cli import cli

LABELS = ["civilian-preparedness", "diplomatic", "military", "none"]
ARTICLE = (
    "Troops massed on the border on Monday. The foreign minister proposed more talks.\n"
    "Read: Shelters open across the capital\n"
    "Residents stocked up on water and canned food."
)


def run(*args, input=None):
    return CliRunner().invoke(cli, ["score", *map(str, args)], input=input)


def records(text):
    return [json.loads(line) for line in text.splitlines()]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_output_schema_and_offsets(tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", [
        {"id": "a1", "text": ARTICLE, "date": "2022-02-14", "source": "wire"},
        {"id": "a2", "text": "Talks resumed in Geneva."},
    ])
    result = run(feed, "--jobs", 1)
    assert result.exit_code == 0, result.output
    out = records(result.stdout)
    assert [(r["article_id"], r["sentence"]) for r in out] == [
        ("a1", 0), ("a1", 1), ("a1", 2), ("a1", 3), ("a2", 0)]
    for r in out:
        expected = ["article_id", "sentence", "start", "end", "text", "label", "scores"]
        assert list(r) == expected + (["date"] if r["article_id"] == "a1" else [])
        assert list(r["scores"]) == LABELS
        assert abs(sum(r["scores"].values()) - 1) < 1e-9
        source = ARTICLE if r["article_id"] == "a1" else "Talks resumed in Geneva."
        assert source[r["start"] : r["end"]] == r["text"]
    assert out[2]["text"] == "Read: Shelters open across the capital"
    assert result.stderr.strip() == (
        "articles read 2, articles scored 2, sentences scored 5, records rejected 0")


def test_renamed_fields(tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", [{"key": "k9", "body": "Jets struck the depot.", "day": "2021-01-02"}])
    result = run(feed, "--id-field", "key", "--text-field", "body", "--date-field", "day", "--jobs", 1)
    assert result.exit_code == 0
    (r,) = records(result.stdout)
    assert (r["article_id"], r["date"]) == ("k9", "2021-01-02")


def test_csv_input_and_csv_output(tmp_path):
    feed = tmp_path / "a.csv"
    feed.write_text('id,text,date\nc1,"Jets struck targets, officials said. Talks stalled.",2022-03-01\n', encoding="utf-8")
    result = run(feed, "--output-format", "csv", "--jobs", 1)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["text"] for r in rows] == ["Jets struck targets, officials said.", "Talks stalled."]
    assert list(rows[0]) == ["article_id", "sentence", "start", "end", "text", "label",
                             *[f"score_{l}" for l in LABELS], "date"]
    assert rows[0]["date"] == "2022-03-01"


def test_text_files_and_folders(tmp_path):
    folder = tmp_path / "news"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("Sirens sounded in the city.", encoding="utf-8")
    (folder / "sub" / "a.txt").write_text("Envoys met in Vienna.", encoding="utf-8")
    (folder / "ignored.md").write_text("not an article")
    result = run(folder, "--date", "2020-05-01", "--jobs", 1)
    assert result.exit_code == 0
    out = records(result.stdout)
    assert [r["article_id"] for r in out] == ["b.txt", "sub/a.txt"]
    assert {r["date"] for r in out} == {"2020-05-01"}
    single = run(folder / "b.txt", "--jobs", 1)
    assert records(single.stdout)[0]["article_id"] == "b.txt"


def test_rss_feed_entries_and_broken_entry(tmp_path):
    feed = tmp_path / "wire.rss"
    feed.write_text(RSS, encoding="utf-8")
    errors = tmp_path / "errors.jsonl"
    result = run(feed, "--errors", errors, "--jobs", 1)
    assert result.exit_code == 3
    out = records(result.stdout)
    assert [r["text"] for r in out if r["article_id"] == "g-1"] == [
        "Envoy flies to Moscow", "The envoy will meet the president for talks."]
    assert out[0]["date"] == "2022-02-14T10:00:00Z"
    assert {r["article_id"] for r in out} == {"g-1", "http://example.org/3"}
    assert records(errors.read_text()) == [
        {"file": str(feed), "entry": 2, "reason": "entry has no title, content or summary"}]


def test_atom_feed(tmp_path):
    feed = tmp_path / "wire.atom"
    feed.write_text(ATOM, encoding="utf-8")
    result = run(feed, "--jobs", 1)
    assert result.exit_code == 0
    out = records(result.stdout)
    assert [r["text"] for r in out] == ["Troops move", "Columns of tanks left their garrisons."]
    assert out[0]["article_id"] == "urn:x:1" and out[0]["date"] == "2022-02-15T08:30:00Z"


def test_stdin_dash_reads_jsonl():
    result = run("-", "--jobs", 1, input='{"id": "s1", "text": "Talks resumed."}\n')
    assert result.exit_code == 0
    assert records(result.stdout)[0]["article_id"] == "s1"


def test_every_bad_record_is_reported_and_counted(tmp_path):
    feed = tmp_path / "bad.jsonl"
    feed.write_bytes(
        b'{"id": "ok1", "text": "Talks resumed in Geneva."}\n'
        b"not json\n"
        b'{"id": "e", "text": "   "}\n'
        b'{"id": "t", "text": 5}\n'
        b'{"id": "m"}\n'
        b"[1, 2]\n"
        b'{"id": "u", "text": "bad \xff bytes"}\n'
        b'{"id": "d", "text": "ok", "date": 20220101}\n'
        b"\n"
        b'{"id": "ok2", "text": "Troops moved."}\n'
    )
    errors = tmp_path / "errors.jsonl"
    result = run(feed, "--errors", errors, "--jobs", 1)
    assert result.exit_code == 3
    assert [r["article_id"] for r in records(result.stdout)] == ["ok1", "ok2"]
    reported = records(errors.read_text())
    assert [(e["line"], e["reason"].split(" (")[0]) for e in reported] == [
        (2, "invalid JSON"),
        (3, "empty 'text'"),
        (4, "field 'text' is int, not a string"),
        (5, "missing field 'text'"),
        (6, "expected a JSON object, got list"),
        (7, "not valid UTF-8"),
        (8, "field 'date' is int, not a string"),
    ]
    assert all(e["file"] == str(feed) for e in reported)
    assert result.stderr.strip() == (
        "articles read 9, articles scored 2, sentences scored 2, records rejected 7")


def test_bad_csv_rows_are_rejected_with_their_line(tmp_path):
    feed = tmp_path / "bad.csv"
    feed.write_bytes(b'id,text\nc1,"Talks resumed.\nin Geneva"\nc2,too,many\nc3,\nc4,"bad \xff"\nc5,Troops moved.\n')
    result = run(feed, "--jobs", 1)
    assert result.exit_code == 3
    assert [r["article_id"] for r in records(result.stdout)] == ["c1", "c1", "c5"]
    errors = [json.loads(l) for l in result.stderr.splitlines()[:-1]]
    assert [(e["line"], e["reason"]) for e in errors] == [
        (4, "expected 2 fields, got 3"), (5, "empty 'text'"), (6, "not valid UTF-8")]


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "absent.jsonl", "cannot read"),
    (lambda p: p, "is a folder, not a file"),
    (lambda p: (p / "x.xml").write_text("hello") and p / "x.xml", "not a feed"),
    (lambda p: (p / "x.doc").write_text("hello") and p / "x.doc", "cannot tell the format"),
    (lambda p: (p / "x.csv").write_text("a,b\n1,2\n") and p / "x.csv", "no 'text' column"),
])
def test_unreadable_input_stops_with_one_line(tmp_path, make, message):
    path = make(tmp_path)
    result = run(path, "--jobs", 1, *(["--format", "jsonl"] if path == tmp_path else []))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and message in result.output
    assert result.output.startswith("Error: ")


def test_unreadable_input_is_found_before_anything_is_written(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"id": "g", "text": "Talks resumed."}])
    out = tmp_path / "out.jsonl"
    result = run(good, tmp_path / "absent.jsonl", "-o", out, "--jobs", 1)
    assert result.exit_code == 1
    assert not out.exists()


def test_summary_per_article(tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", [{"id": "a1", "text": ARTICLE, "date": "2022-02-14", "source": "wire", "title": "T"}])
    summary = tmp_path / "summary.jsonl"
    sentences = records(run(feed, "--summary", summary, "--jobs", 1).stdout)
    (s,) = records(summary.read_text())
    assert s["article_id"] == "a1" and s["date"] == "2022-02-14" and s["source"] == "wire"
    assert s["sentences"] == len(sentences) == sum(s["counts"].values())
    for label, count in s["counts"].items():
        assert count == sum(r["label"] == label for r in sentences)
    for label, best in s["strongest"].items():
        mine = [r for r in sentences if r["label"] == label]
        if not mine:
            assert best is None
        else:
            top = max(mine, key=lambda r: r["scores"][label])
            assert (best["sentence"], best["text"]) == (top["sentence"], top["text"])
    assert -1 < s["escalation_index"] < 1


def test_min_score_reports_weak_signals_as_none(tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": ARTICLE}])
    plain = records(run(feed, "--jobs", 1).stdout)
    signals = sorted(r["scores"][r["label"]] for r in plain if r["label"] != "none")
    assert len(signals) >= 2 and signals[0] < signals[-1]
    threshold = (signals[0] + signals[-1]) / 2
    strict = records(run(feed, "--min-score", threshold, "--jobs", 1).stdout)
    for before, after in zip(plain, strict):
        assert after["scores"] == before["scores"]
        weak = before["label"] != "none" and before["scores"][before["label"]] < threshold
        assert after["label"] == ("none" if weak else before["label"])
    assert sum(a["label"] != b["label"] for a, b in zip(plain, strict)) >= 1


def scored_with_one_and_two_jobs(tmp_path, rows) -> tuple[bytes, bytes]:
    """The output of ``score`` on ``rows`` with ``--jobs 1`` and with ``--jobs 2``."""
    feed = write_jsonl(tmp_path / "many.jsonl", rows)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run(feed, "-o", one, "--jobs", 1).exit_code == 0
    assert run(feed, "-o", two, "--jobs", 2).exit_code == 0
    return one.read_bytes(), two.read_bytes()


def test_output_order_is_input_order_with_parallel_jobs(tmp_path):
    rows = [{"id": f"n{i}", "text": f"Talks resumed on day {i}. Troops moved {i} km."} for i in range(1300)]
    one, two = scored_with_one_and_two_jobs(tmp_path, rows)
    assert one == two
    assert [r["article_id"] for r in records(one.decode())][::2] == [r["id"] for r in rows]


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_parallel_workers_forked_or_spawned_give_the_same_output(tmp_path, monkeypatch, start):
    # Forked workers use the main process's model; where fork is missing they load their own.
    import multiprocessing

    from escalation import batch

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: [start])
    rows = [{"id": f"n{i}", "text": f"Envoys met on day {i}. Shelters opened in zone {i}."} for i in range(600)]
    one, two = scored_with_one_and_two_jobs(tmp_path, rows)
    assert one == two
    assert batch._worker_model is None  # the main process lets go of the model afterwards


def test_no_progress_output_when_stderr_is_not_a_terminal(tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": "Talks resumed."}])
    result = run(feed, "--jobs", 1)
    assert result.stderr.splitlines() == [
        "articles read 1, articles scored 1, sentences scored 1, records rejected 0"]


def test_resume_needs_an_output_file_and_the_same_settings(tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": "Talks resumed."}])
    assert "needs an output file" in run(feed, "--resume").output
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.checkpoint").write_text(
        '{"fingerprint": "other", "records": 0, "stats": {}, "offsets": {}}')
    out.write_text("")
    result = run(feed, "-o", out, "--resume")
    assert result.exit_code == 1 and "other inputs, options or model" in result.output


def test_resume_of_a_finished_run_is_refused(tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": "Talks resumed."}])
    out = tmp_path / "out.jsonl"
    assert run(feed, "-o", out, "--jobs", 1).exit_code == 0
    result = run(feed, "-o", out, "--resume", "--jobs", 1)
    assert result.exit_code == 1 and "had finished" in result.output


def _big_feed(path, n=6000):
    sentences = [
        "Troops massed near the frontier overnight.", "The envoy met the prime minister.",
        "Residents taped their windows and filled sandbags.", "Shares closed higher in Tokyo.",
        "A ceasefire proposal was put to both sides.", "Sirens sounded twice before dawn.",
    ]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            body = " ".join(sentences[(i + k) % 6] for k in range(1 + i % 7))
            fh.write(json.dumps({"id": f"b{i}", "text": f"Report {i}. {body}", "date": "2024-01-01"}) + "\n")
    return path


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_resume_after_a_real_kill_completes_the_output_exactly_once(tmp_path, sig):
    feed = _big_feed(tmp_path / "big.jsonl")
    reference, out, summary = tmp_path / "ref.jsonl", tmp_path / "out.jsonl", tmp_path / "sum.jsonl"
    ref_summary = tmp_path / "ref_sum.jsonl"
    base = [sys.executable, "-m", "escalation.cli", "score", str(feed), "--jobs", "2"]
    subprocess.run(base + ["-o", str(reference), "--summary", str(ref_summary)], check=True, capture_output=True)
    process = subprocess.Popen(base + ["-o", str(out), "--summary", str(summary)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it is mid-run: some output, not all
        if out.exists() and 0 < out.stat().st_size < reference.stat().st_size // 2:
            break
        time.sleep(0.005)
    os.killpg(process.pid, sig)  # the whole group: workers die too, as with Ctrl-C or kill -9
    process.wait(timeout=30)
    assert out.stat().st_size < reference.stat().st_size
    resumed = subprocess.run(base + ["-o", str(out), "--summary", str(summary), "--resume"],
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes() == reference.read_bytes()
    assert summary.read_bytes() == ref_summary.read_bytes()
    assert resumed.stderr.strip().endswith("records rejected 0")
    assert "articles read 6000, articles scored 6000" in resumed.stderr
    assert not (tmp_path / "out.jsonl.checkpoint").exists()
