"""`escalation train` through the CLI: every validation error, conflict policies, determinism.

Validation must fail before any fitting and leave nothing behind; the fitting tests train on
a few hundred corpus rows with two folds to stay quick.
"""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from escalation import load_model
from escalation.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write_rows(path, rows, columns=("text", "label", "context")):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def small_rows(corpus_rows):
    """Every fourth corpus row: all labels, many contexts, a quick fit."""
    return corpus_rows[::4]


@pytest.fixture
def small_csv(tmp_path, small_rows):
    return write_rows(tmp_path / "small.csv", small_rows)


def assert_nothing_written(result, tmp_path, out):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.rstrip().splitlines()[-1].startswith("Error: ")
    assert "nothing was trained" in result.output
    assert not out.exists()
    # No staging folder left beside the destination either.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_missing_columns(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("text,context\nTroops moved.,x\n", encoding="utf-8")
    out = tmp_path / "model"
    result = run("train", "--no-base", data, "-o", out)
    assert f"{data}:1: missing column(s) label" in result.output
    assert_nothing_written(result, tmp_path, out)


def test_missing_fields_in_json_lines(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text('{"text": "Troops moved."}\n', encoding="utf-8")
    out = tmp_path / "model"
    result = run("train", "--no-base", data, "-o", out)
    assert f"{data}:1: missing field(s) label" in result.output
    assert_nothing_written(result, tmp_path, out)


def test_empty_text(tmp_path, small_rows):
    data = write_rows(tmp_path / "data.csv", [{"text": "   ", "label": "none", "context": "c"}] + small_rows)
    out = tmp_path / "model"
    result = run("train", "--no-base", data, "-o", out)
    assert f"{data}:2: empty text" in result.output
    assert_nothing_written(result, tmp_path, out)


def test_unknown_label_with_hint(tmp_path, small_rows):
    data = write_rows(tmp_path / "data.csv", small_rows + [{"text": "Tanks rolled in.", "label": "militray"}])
    out = tmp_path / "model"
    result = run("train", "--no-base", data, "-o", out)
    line = len(small_rows) + 2
    assert f"{data}:{line}: unknown label 'militray' (did you mean 'military'?)" in result.output
    assert_nothing_written(result, tmp_path, out)


def test_undecodable_bytes(tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes(b"text,label\nTroops moved.,military\nBad \xff\xfe bytes.,none\n")
    out = tmp_path / "model"
    result = run("train", "--no-base", data, "-o", out)
    assert f"{data}:3: text is not valid UTF-8" in result.output
    assert_nothing_written(result, tmp_path, out)


def test_every_problem_reported_at_once(tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes(b"text,label\n,none\nFine.,diplomacy\nBad \xff.,none\n")
    out = tmp_path / "model"
    result = run("train", "--no-base", data, "-o", out)
    assert "Error: 3 problem(s) in the data" in result.output
    for line in (2, 3, 4):
        assert f"{data}:{line}:" in result.output
    assert_nothing_written(result, tmp_path, out)


def test_conflicting_labels_are_an_error_naming_both_places(tmp_path, small_rows):
    first = write_rows(tmp_path / "a.csv", small_rows + [{"text": "Envoys met at the border.", "label": "diplomatic"}])
    second = write_rows(tmp_path / "b.csv", [{"text": "envoys met at the border", "label": "military"}])
    out = tmp_path / "model"
    result = run("train", "--no-base", first, second, "-o", out)
    line = len(small_rows) + 2
    assert "same text with different labels" in result.output
    assert f"{first}:{line} says diplomatic" in result.output
    assert f"{second}:2 says military" in result.output
    assert_nothing_written(result, tmp_path, out)


def train_card(tmp_path, *args):
    out = tmp_path / "model"
    result = run("train", "--no-base", "--folds", 2, *args, "-o", out)
    assert result.exit_code == 0, result.output
    load_model(out)  # a complete, loadable model
    return json.loads((out / "card.json").read_text(encoding="utf-8"))


def test_exact_and_normalised_duplicates_kept_once_and_counted(tmp_path, small_rows):
    text = small_rows[0]["text"]
    extra = [
        dict(small_rows[0]),  # exact copy
        {**small_rows[0], "text": "  " + text.upper().rstrip(".") + " !"},  # same once normalised
    ]
    data = write_rows(tmp_path / "data.csv", small_rows + extra)
    card = train_card(tmp_path, data)
    assert card["training"]["duplicates_removed"] == 2
    assert card["training"]["rows"] == len(small_rows)
    assert card["training"]["files"][0]["rows"] == len(small_rows) + 2


def conflicting(tmp_path, small_rows):
    text = "Envoys met at the border."
    rows = small_rows + [
        {"text": text, "label": "diplomatic", "context": "x"},
        {"text": text.lower(), "label": "military", "context": "x"},
    ]
    return write_rows(tmp_path / "data.csv", rows)


def counts(rows):
    return {label: sum(r["label"] == label for r in rows) for label in
            ("civilian-preparedness", "diplomatic", "military", "none")}


def test_on_conflict_last_keeps_the_last_label(tmp_path, small_rows):
    card = train_card(tmp_path, conflicting(tmp_path, small_rows), "--on-conflict", "last")
    expected = counts(small_rows)
    expected["military"] += 1
    assert card["training"]["conflicts_resolved"] == 1
    assert card["training"]["rows"] == len(small_rows) + 1
    assert card["training"]["rows_per_label"] == expected


def test_on_conflict_drop_keeps_neither(tmp_path, small_rows):
    card = train_card(tmp_path, conflicting(tmp_path, small_rows), "--on-conflict", "drop")
    assert card["training"]["conflicts_resolved"] == 1
    assert card["training"]["rows"] == len(small_rows)
    assert card["training"]["rows_per_label"] == counts(small_rows)


def test_same_data_and_options_give_the_same_files(tmp_path, small_csv):
    folders = []
    for name in ("one", "two"):
        out = tmp_path / name
        result = run("train", "--no-base", small_csv, "--folds", 2, "--seed", 3, "-o", out)
        assert result.exit_code == 0, result.output
        folders.append(out)
    one, two = folders
    for name in ("features.json", "weights.npz"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    card_one = json.loads((one / "card.json").read_text(encoding="utf-8"))
    card_two = json.loads((two / "card.json").read_text(encoding="utf-8"))
    assert card_one.pop("created") and card_two.pop("created")
    assert card_one == card_two


def test_train_help_has_an_example():
    result = run("train", "--help")
    assert result.exit_code == 0 and "Example" in result.output


def test_train_includes_the_shipped_corpus_by_default(tmp_path):
    from escalation_training.corpus import base_corpus_path

    extra = tmp_path / "extra.csv"
    extra.write_text('text,label\n"Our shelter adopted out twelve dogs this weekend.",none\n', encoding="utf-8")
    out = tmp_path / "model"
    result = CliRunner().invoke(cli, ["train", str(extra), "-o", str(out), "--folds", "2"])
    assert result.exit_code == 0, result.output
    card = json.loads((out / "card.json").read_text())
    base_rows = sum(1 for _ in open(base_corpus_path(), encoding="utf-8")) - 1
    assert [f["name"] for f in card["training"]["files"]] == ["corpus.csv", "extra.csv"]
    assert card["training"]["files"][1]["rows"] == 1
    assert card["training"]["rows"] <= base_rows + 1
