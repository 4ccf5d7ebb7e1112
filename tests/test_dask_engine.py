"""`escalation score --engine dask` on a LocalCluster of 2 worker processes: the same records
as the single-machine engine for every input format, accounting with true line numbers,
resume, a worker killed mid-run, and the bag and dataframe entry points."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")
dask_bag = pytest.importorskip("dask.bag")
dask_dataframe = pytest.importorskip("dask.dataframe")

from click.testing import CliRunner  # noqa: E402
from conftest import ATOM, RSS  # noqa: E402

from escalation.batch import Settings  # noqa: E402
from escalation.cli import cli  # noqa: E402
from escalation.dask_engine import score_bag, score_dataframe, score_to_folder  # noqa: E402

SENTENCES = [
    "Troops massed near the frontier overnight.", "The envoy met the prime minister in Vienna.",
    "Residents taped their windows and filled sandbags.", "Shares closed higher in Tokyo.",
    "A ceasefire proposal was put to both sides.", "Sirens sounded twice before dawn.",
    "Artillery units moved closer to the border.", "Talks resumed in Geneva on Tuesday.",
]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


def article(i):
    body = " ".join(SENTENCES[(i * 3 + k) % len(SENTENCES)] for k in range(2 + i % 9))
    return {"id": f"a{i}", "text": f"Report {i}. {body}", "date": f"2024-01-{1 + i % 28:02d}"}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def cli_run(*args):
    return CliRunner().invoke(cli, ["score", *map(str, args)])


def local(tmp_path, *inputs, options=()):
    """The single-machine engine's sentences, summaries, errors and summary line."""
    out, summary, errors = tmp_path / "local.jsonl", tmp_path / "local.summary", tmp_path / "local.errors"
    result = cli_run(*inputs, "-o", out, "--summary", summary, "--errors", errors, "--jobs", 1, *options)
    assert result.exit_code in (0, 3), result.output
    return out.read_bytes(), summary.read_bytes(), errors.read_bytes(), result.stderr


def parts(out, kind="part"):
    manifest = json.loads((out / "manifest.json").read_text())
    return b"".join((out / p[kind]).read_bytes() for p in manifest["parts"] if p[kind])


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """A JSON Lines feed of 1200 articles, several blocks at 24 kB, and its local output."""
    folder = tmp_path_factory.mktemp("feed")
    path = write_jsonl(folder / "feed.jsonl", [article(i) for i in range(1200)])
    return path, local(folder, path)


def test_jsonl_blocks_give_the_local_output(client, tmp_path, feed):
    path, (sentences, summaries, _, line) = feed
    out = tmp_path / "out"
    stats = score_to_folder(Settings([str(path)]), out, str(tmp_path / "s.jsonl"), client=client, blocksize=24_000)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["parts"]) > 5 and manifest["complete"]
    assert [p["part"] for p in manifest["parts"]] == [f"part-{i:05d}.jsonl" for i in range(len(manifest["parts"]))]
    assert parts(out) == sentences
    assert parts(out, "summary") == (tmp_path / "s.jsonl").read_bytes() == summaries
    assert stats.line() == line.strip()
    ranges = [p["bytes"] for p in manifest["parts"]]
    assert ranges[0][0] == 0 and ranges[-1][1] == path.stat().st_size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert manifest["totals"]["articles_read"] == sum(p["articles_read"] for p in manifest["parts"]) == 1200
    assert manifest["model"]["card_sha256"] == manifest["parts"][0]["model"]


def test_bad_records_keep_their_true_line_numbers(client, tmp_path):
    lines = []
    for i in range(400):
        if i % 97 == 50:
            lines.append("not json")
        elif i % 89 == 40:
            lines.append(json.dumps({"text": SENTENCES[i % 8]}))  # no id: the id is path:line
        elif i % 83 == 30:
            lines.append("")
        elif i % 79 == 20:
            lines.append(json.dumps({"id": f"e{i}", "text": "  "}))
        else:
            lines.append(json.dumps(article(i)))
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sentences, _, errors, line = local(tmp_path, path)
    out, errors_file = tmp_path / "out", tmp_path / "errors.jsonl"
    stats = score_to_folder(Settings([str(path)]), out, errors=str(errors_file), client=client, blocksize=8_000)
    assert parts(out) == sentences
    assert errors_file.read_bytes() == parts(out, "rejected") == errors
    reported = [json.loads(e) for e in errors.splitlines()]
    assert [e["line"] for e in reported] == [i + 1 for i, text in enumerate(lines)
                                            if text == "not json" or '"  "' in text]
    assert f"{path}:{lines.index(json.dumps({'text': SENTENCES[0]})) + 1}" in sentences.decode()
    assert stats.line() == line.strip()
    assert stats.articles_read == stats.articles_scored + stats.records_rejected


def test_cli_mixed_inputs_match_the_local_engine(cluster, tmp_path):
    table = tmp_path / "a.csv"
    table.write_bytes(b'id,text,date\nc1,"Talks resumed.\nin Geneva",2022-03-01\nc2,too,many\n'
                      b'c3,\nc4,"bad \xff"\nc5,"Jets struck targets, officials said."\n')
    news = tmp_path / "news"
    (news / "sub").mkdir(parents=True)
    for i in range(5):
        (news / f"{i}.txt").write_text(f"{SENTENCES[i]} {SENTENCES[i + 1]}", encoding="utf-8")
    (news / "sub" / "z.txt").write_text(SENTENCES[7], encoding="utf-8")
    (news / "empty.txt").write_text(" ")
    rss, atom = tmp_path / "wire.rss", tmp_path / "wire.atom"
    rss.write_text(RSS, encoding="utf-8")
    atom.write_text(ATOM, encoding="utf-8")
    inputs = [table, news, rss, atom]
    sentences, summaries, errors, line = local(tmp_path, *inputs, options=["--date", "2020-05-01"])
    out = tmp_path / "out"
    result = cli_run(*inputs, "-o", out, "--engine", "dask", "--scheduler", cluster.scheduler_address,
                     "--summary", tmp_path / "s.jsonl", "--errors", tmp_path / "e.jsonl", "--date", "2020-05-01")
    assert result.exit_code == 3, result.output
    assert result.stderr == line
    assert parts(out) == sentences and parts(out, "summary") == summaries
    assert (tmp_path / "e.jsonl").read_bytes() == errors
    manifest = json.loads((out / "manifest.json").read_text())
    assert [(p["input"], p["format"]) for p in manifest["parts"]] == [
        (str(table), "csv"), *[(str(news), "text")] * 7, (str(rss), "feed"), (str(atom), "feed")]
    assert manifest["parts"][-3]["files"] == {"count": 1, "first": "sub/z.txt", "last": "sub/z.txt"}


def test_text_folder_in_groups_of_files(client, tmp_path):
    news = tmp_path / "news"
    news.mkdir()
    for i in range(7):
        (news / f"{i:02d}.txt").write_text(" ".join(SENTENCES[i:]), encoding="utf-8")
    sentences, *_ = local(tmp_path, news)
    out = tmp_path / "out"
    score_to_folder(Settings([str(news)]), out, client=client, files_per_part=2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [p["files"]["count"] for p in manifest["parts"]] == [2, 2, 2, 1]
    assert parts(out) == sentences


def test_resume_recomputes_only_missing_parts(client, tmp_path, feed):
    path, (sentences, *_) = feed
    out = tmp_path / "out"
    score_to_folder(Settings([str(path)]), out, client=client, blocksize=64_000)
    files = sorted(out.glob("part-*.jsonl"))
    assert len(files) > 3
    mtimes = {f.name: f.stat().st_mtime_ns for f in files}
    files[2].unlink()
    time.sleep(0.01)
    stats = score_to_folder(Settings([str(path)]), out, client=client, blocksize=64_000, resume=True)
    changed = [f.name for f in sorted(out.glob("part-*.jsonl")) if f.stat().st_mtime_ns != mtimes[f.name]]
    assert changed == [files[2].name]
    assert parts(out) == sentences
    assert stats.articles_read == 1200 and json.loads((out / "manifest.json").read_text())["complete"]


def test_resume_refuses_other_settings_or_no_run(cluster, tmp_path, feed):
    path, _ = feed
    out = tmp_path / "out"
    base = [path, "-o", out, "--engine", "dask", "--scheduler", cluster.scheduler_address]
    result = cli_run(*base, "--resume")
    assert result.exit_code == 1 and "no run to resume" in result.output
    assert cli_run(*base).exit_code == 0
    result = cli_run(*base, "--resume", "--min-score", 0.5)
    assert result.exit_code == 1 and "other inputs, options or model" in result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1


@pytest.mark.parametrize("args, message, code", [
    (["-", "-o", "{out}", "--engine", "dask"], "stdin", 1),
    (["{feed}", "-o", "{out}", "--engine", "dask", "--output-format", "csv"], "JSON Lines parts", 1),
    (["{feed}", "--engine", "dask"], "needs -o OUT_DIR", 2),
    (["{feed}", "-o", "{out}", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine dask", 2),
    (["{feed}", "-o", "{tmp}", "--jobs", "1"], "only --engine dask writes to a folder", 2),
])
def test_bad_usage_is_one_line(tmp_path, args, message, code):
    feed = write_jsonl(tmp_path / "a.jsonl", [article(1)])
    result = cli_run(*[a.format(feed=feed, out=tmp_path / "out", tmp=tmp_path) for a in args])
    assert result.exit_code == code
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert message in result.output


def test_score_bag_gives_the_records_of_score(client, tmp_path):
    rows = [article(i) for i in range(60)]
    sentences, *_ = local(tmp_path, write_jsonl(tmp_path / "a.jsonl", rows))
    records = score_bag(dask_bag.from_sequence(rows, npartitions=3)).compute()
    assert records == [json.loads(line) for line in sentences.splitlines()]
    with pytest.raises(ValueError, match="'b1'.*empty 'text'"):
        score_bag(dask_bag.from_sequence([{"id": "b1", "text": " "}])).compute()


def test_score_dataframe(client, tmp_path):
    import pandas as pd

    rows = [{"key": i, "body": article(i)["text"], "day": None if i % 4 else f"2024-02-{1 + i % 28:02d}"}
            for i in range(40)]
    local_rows = [{"id": r["key"], "text": r["body"], **({"date": r["day"]} if r["day"] else {})} for r in rows]
    expected = [json.loads(line) for line in local(tmp_path, write_jsonl(tmp_path / "a.jsonl", local_rows))[0].splitlines()]
    ddf = dask_dataframe.from_pandas(pd.DataFrame(rows), npartitions=3)
    frame = score_dataframe(ddf, text="body", id="key", date="day").compute()
    assert list(frame.columns) == ["article_id", "sentence", "start", "end", "text", "label",
                                   "score_civilian-preparedness", "score_diplomatic", "score_military",
                                   "score_none", "date"]
    assert frame["article_id"].tolist() == [r["article_id"] for r in expected]
    assert frame["text"].tolist() == [r["text"] for r in expected]
    assert frame["label"].tolist() == [r["label"] for r in expected]
    assert frame["score_military"].tolist() == [r["scores"]["military"] for r in expected]
    assert [None if pd.isna(d) else d for d in frame["date"]] == [r.get("date") for r in expected]


def test_a_worker_lost_mid_run_loses_and_duplicates_nothing(cluster, client, tmp_path, feed):
    path, (sentences, *_) = feed
    out = tmp_path / "out"
    done = {}

    def score():
        try:
            done["stats"] = score_to_folder(Settings([str(path)]), out, client=client, blocksize=16_000)
        except BaseException as exc:  # re-raised below, in the test's thread
            done["error"] = exc

    runner = threading.Thread(target=score)
    runner.start()
    deadline = time.monotonic() + 30
    while not list(out.glob("part-*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.002)
    processing = client.processing()
    busy = [worker for worker, tasks in processing.items() if tasks]
    pids = client.run(os.getpid)
    assert busy, "the run finished before a worker could be killed"
    os.kill(pids[busy[0]], signal.SIGKILL)
    runner.join(120)
    assert "error" not in done, done.get("error")
    assert pids[busy[0]] not in client.run(os.getpid).values()
    # The killed worker's tasks were run again elsewhere.
    runs = [sum(s[2] == "processing" for s in cluster.scheduler.story(key)) for key in processing[busy[0]]]
    assert max(runs) >= 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and len(manifest["parts"]) > 10
    assert manifest["totals"]["articles_read"] == sum(p["articles_read"] for p in manifest["parts"]) == 1200
    assert done["stats"].articles_scored == 1200 and done["stats"].records_rejected == 0
    assert parts(out) == sentences
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_local_commands_do_not_import_dask(tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", [article(1)])
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from escalation.cli import cli\n"
        f"assert CliRunner().invoke(cli, ['score', {str(feed)!r}, '--jobs', '1']).exit_code == 0\n"
        "assert CliRunner().invoke(cli, ['predict', 'Talks resumed.']).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pandas')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
