"""`escalation suggest`: least-sure sentences, no near-duplicates, bounded memory, and a
suggest → label → train round trip."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import tracemalloc
import unicodedata
from collections import defaultdict

import pytest
from click.testing import CliRunner

from escalation import load_model, split_sentences
from escalation.cli import cli
from escalation.readers import Article
from escalation.suggest import COLUMNS, Candidate, Selector, suggest


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


# An independent reading of the rule, to check the streaming selection against.
def words(text):
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())).split()


def near_duplicates(a, b):
    wa, wb = words(a), words(b)
    if wa == wb:
        return True
    grams_a = {tuple(wa[i : i + 5]) for i in range(max(len(wa) - 4, 1))}
    grams_b = {tuple(wb[i : i + 5]) for i in range(max(len(wb) - 4, 1))}
    return len(grams_a & grams_b) / len(grams_a | grams_b) >= 0.5


def greedy(model, articles, n):
    """Every sentence scored, sorted by margin then input order, near-duplicates skipped."""
    sentences = [(f"{a['id']}:{k}", s.text) for a in articles for k, s in enumerate(split_sentences(a["text"]))]
    probabilities = model.predict_proba([text for _, text in sentences])
    top = -probabilities
    top.sort(axis=1)
    margin = top[:, 1] - top[:, 0]
    chosen = []
    for i in sorted(range(len(sentences)), key=lambda i: (margin[i], i)):
        if not any(near_duplicates(sentences[i][1], sentences[j][1]) for j in chosen):
            chosen.append(i)
        if len(chosen) == n:
            break
    return [sentences[i][0] for i in chosen], {sentences[i][0]: margin[i] for i in range(len(sentences))}


def read_csv_text(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture(scope="session")
def articles(corpus_rows):
    """Articles of one-sentence corpus rows, one per context, none in ``corpus_rows[::4]``."""
    by_context = defaultdict(list)
    for k, row in enumerate(corpus_rows):
        if k % 4 and len(split_sentences(row["text"])) == 1:
            by_context[row["context"]].append(row["text"])
    return [{"id": f"art-{context}", "text": "\n".join(texts)} for context, texts in sorted(by_context.items())]


@pytest.fixture
def articles_jsonl(tmp_path, articles):
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    return path


def test_writes_the_least_sure_sentences_as_a_csv_to_label(tmp_path, model, articles, articles_jsonl):
    out = tmp_path / "to_label.csv"
    result = run("suggest", articles_jsonl, "-n", 25, "-o", out)
    assert result.exit_code == 0, result.output
    assert "25 sentences to label" in result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "id,text,guess,margin,label,context" == ",".join(COLUMNS)
    rows = read_csv_text(text)
    expected_ids, margins = greedy(model, articles, 25)
    assert [r["id"] for r in rows] == expected_ids
    for row in rows:
        assert row["label"] == ""
        assert row["context"] == row["id"].rsplit(":", 1)[0]
        assert float(row["margin"]) == pytest.approx(margins[row["id"]], abs=1e-6)
        assert row["guess"] == model.predict([row["text"]])[0]
    assert [float(r["margin"]) for r in rows] == sorted(float(r["margin"]) for r in rows)
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            assert not near_duplicates(a["text"], b["text"])


def test_same_input_same_file(tmp_path, articles_jsonl):
    outputs = []
    for name in ("one.csv", "two.csv"):
        assert run("suggest", articles_jsonl, "-n", 10, "-o", tmp_path / name).exit_code == 0
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    stdout = run("suggest", articles_jsonl, "-n", 10).stdout
    assert stdout.encode() == outputs[0]


def test_near_duplicates_are_suggested_once(tmp_path, model):
    base = "The army moved three brigades to the northern border on Monday night"
    variants = [
        base + ".",
        base.upper() + "!",  # identical once normalised
        base.replace("night", "evening") + ".",  # 7 of 9 word 5-grams shared
    ]
    others = ["Talks resumed in Geneva.", "Sirens sounded over the capital.", "Shares rose 2 percent."]
    path = tmp_path / "in.jsonl"
    path.write_text(
        "".join(json.dumps({"id": f"a{k}", "text": t}) + "\n" for k, t in enumerate(variants + others)),
        encoding="utf-8",
    )
    result = run("suggest", path, "-n", 10)
    assert result.exit_code == 0, result.output
    rows = read_csv_text(result.stdout)
    kept = [r for r in rows if "brigades" in r["text"]]
    assert len(kept) == 1
    assert len(rows) == 1 + len(others)
    # The one kept is the least sure of the three, the earliest on a tie.
    margins = [float(m) for m in _margins(model, variants)]
    best = min(range(3), key=lambda k: (round(margins[k], 12), k))
    assert kept[0]["id"] == f"a{best}:0"


def _margins(model, texts):
    p = model.predict_proba(texts)
    p.sort(axis=1)
    return p[:, -1] - p[:, -2]


def test_sentence_per_line_text_file(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("Troops massed on the border.\nTalks resumed in Geneva.\n\nSirens sounded.\n", encoding="utf-8")
    result = run("suggest", path, "-n", 5)
    assert result.exit_code == 0, result.output
    rows = read_csv_text(result.stdout)
    assert sorted(r["id"] for r in rows) == ["lines.txt:0", "lines.txt:1", "lines.txt:2"]
    assert {r["context"] for r in rows} == {"lines.txt"}


def test_rejected_records_go_to_stderr_as_json_lines(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "Troops moved."}\n{"id": "b"}\nnot json\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run("suggest", path, "-o", out)
    assert result.exit_code == 3
    rejected = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [(r["line"], r["file"]) for r in rejected] == [(2, str(path)), (3, str(path))]
    assert "Traceback" not in result.output
    assert [r["id"] for r in read_csv_text(out.read_text(encoding="utf-8"))] == ["a:0"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["absent.jsonl"], "absent.jsonl: cannot read"),
        (["in.unknown"], "cannot tell the format from the extension"),
        (["in.jsonl", "-o", "no/such/folder/out.csv"], "no such folder to write into"),
        (["in.jsonl", "--model", "absent-model"], "no model folder there"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"text": "Troops moved."}\n', encoding="utf-8")
    (tmp_path / "in.unknown").write_text("x", encoding="utf-8")
    result = run("suggest", *args)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert message in result.output


def test_n_must_be_positive():
    result = run("suggest", "-", "-n", 0, input="")
    assert result.exit_code == 2 and result.output.count("\n") == 1


def test_suggest_help_has_an_example():
    result = run("suggest", "--help")
    assert result.exit_code == 0 and "Example" in result.output


def candidates(count, seed=0):
    rng = random.Random(seed)
    return [Candidate(f"c{k}", f"distinct sentence number {k} {k * 7} {k * 13}", "x", "none",
                      rng.choice([0.1, 0.2, 0.3, rng.random()]), k) for k in range(count)]


def test_selector_keeps_the_smallest_margins_in_a_bounded_pool():
    pool = Selector(5, pool=12)
    items = candidates(3000)
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    for item in shuffled:
        pool.offer(item)
        assert len(pool) <= 12
        assert len(pool._heap) <= 2 * 12 + 1
    expected = sorted(items, key=lambda c: (c.margin, c.order))[:5]
    assert [c.id for c in pool.result()] == [c.id for c in expected]


def test_selector_breaks_ties_by_input_order():
    pool = Selector(3)
    for k in range(10):
        pool.offer(Candidate(f"c{k}", f"a different sentence {k} {k * 3}", "x", "none", 0.25, k))
    assert [c.id for c in pool.result()] == ["c0", "c1", "c2"]


def test_selector_replaces_a_near_duplicate_with_a_less_sure_twin():
    text = "one two three four five six seven eight nine ten"
    pool = Selector(5)
    pool.offer(Candidate("first", text, "x", "none", 0.3, 0))
    pool.offer(Candidate("twin", text.replace("ten", "eleven"), "x", "none", 0.1, 1))
    pool.offer(Candidate("later", text.upper(), "x", "none", 0.2, 2))
    pool.offer(Candidate("other", "something else entirely", "x", "none", 0.5, 3))
    assert [c.id for c in pool.result()] == ["twin", "other"]


def test_memory_stays_flat_however_long_the_input(model):
    texts = [f"Convoy {k} of trucks reached depot {k * 7} near the frontier town" for k in range(40)]

    def stream(count):
        for k in range(count):
            yield Article(f"a{k}", f"{texts[k % 40]} on day {k}. Officials met to discuss item {k}.", "-", k)

    def peak(count):
        tracemalloc.start()
        try:
            result = suggest(model, stream(count), n=20, chunk=512)
            return tracemalloc.get_traced_memory()[1], result
        finally:
            tracemalloc.stop()

    small, _ = peak(500)
    large, result = peak(4000)
    assert result.articles == 4000 and result.sentences == 8000
    assert len(result.candidates) == 20
    assert large < 1.5 * small


def test_suggest_label_train_round_trip(tmp_path, corpus_rows, articles_jsonl):
    base = tmp_path / "base.csv"
    with open(base, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label", "context"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(corpus_rows[::4])
    to_label = tmp_path / "to_label.csv"
    result = run("suggest", articles_jsonl, "-n", 20, "-o", to_label)
    assert result.exit_code == 0, result.output

    # A person fills in the label column; here the corpus knows the answers.
    truth = {row["text"]: row["label"] for row in corpus_rows}
    with open(to_label, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["label"] = truth[row["text"]]
    with open(to_label, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    out = tmp_path / "model"
    result = run("train", "--no-base", base, to_label, "--folds", 2, "-o", out)
    assert result.exit_code == 0, result.output
    retrained = load_model(out)
    training = retrained.card["training"]
    assert [f["name"] for f in training["files"]] == ["base.csv", "to_label.csv"]
    assert training["files"][1]["rows"] == 20
    assert training["rows"] == len(corpus_rows[::4]) + 20
    assert training["duplicates_removed"] == 0
    new_per_label = defaultdict(int)
    for row in rows + corpus_rows[::4]:
        new_per_label[row["label"]] += 1
    assert training["rows_per_label"] == dict(sorted(new_per_label.items()))
    assert retrained.predict(["Troops massed on the border."])[0] in retrained.classes_


def test_suggest_uses_the_runtime_alone():
    import subprocess
    import sys

    code = (
        "import sys, escalation.suggest; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'escalation_training', 'scipy')]; "
        "print(bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
