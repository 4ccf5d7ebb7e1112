"""`escalation compare` on constructed models whose mistakes are known in advance.

Each tiny model has one word per label (alpha → civilian-preparedness, bravo → diplomatic,
charlie → military, delta → none), and some models send one word to the wrong label, so
exactly which sentences each model gets wrong — and so McNemar's counts — is known.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest, chi2

from escalation import LABELS, SignalClassifier, save_model
from escalation.cli import cli
from escalation.features import TfidfFeatures
from escalation_training.compare import mcnemar, verdict

WORDS = ("alpha", "bravo", "charlie", "delta")  # in LABELS order


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def build_model(folder, wrong=None):
    """A model right on every word, except that ``wrong = (word, label)`` sends word to label."""
    coef = np.eye(len(LABELS)) * 5.0
    if wrong:
        word, label = wrong
        row = WORDS.index(word)
        coef[:, row] = 0.0
        coef[LABELS.index(label), row] = 5.0
    features = TfidfFeatures(list(WORDS), np.ones(len(WORDS)), ngram_range=(1, 1))
    save_model(SignalClassifier(features, coef, np.zeros(len(LABELS)), LABELS), folder, {"created": "test"})
    return folder


def labelled(path, per_word):
    """A CSV of distinct sentences, ``per_word[w]`` of them for each word, labelled truly."""
    lines = ["text,label"]
    for word, label in zip(WORDS, LABELS):
        lines += [f"report {k} mentions {word},{label}" for k in range(per_word.get(word, 0))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def models(tmp_path):
    return {
        "right": build_model(tmp_path / "right"),
        "delta_wrong": build_model(tmp_path / "delta_wrong", ("delta", "military")),
        "bravo_wrong": build_model(tmp_path / "bravo_wrong", ("bravo", "none")),
        "charlie_wrong": build_model(tmp_path / "charlie_wrong", ("charlie", "none")),
    }


def compare_json(data, a, b, *extra):
    result = run("compare", data, "--model", a, "--model", b, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_b_far_more_often_right_is_significant(tmp_path, models):
    data = labelled(tmp_path / "data.csv", {"alpha": 10, "bravo": 10, "charlie": 10, "delta": 30})
    report = compare_json(data, models["delta_wrong"], models["right"])
    test = report["mcnemar"]
    assert (test["a_only"], test["b_only"]) == (0, 30)
    assert test["method"] == "chi-square with continuity correction"
    assert test["statistic"] == pytest.approx((30 - 1) ** 2 / 30)
    assert test["p_value"] == pytest.approx(chi2.sf((30 - 1) ** 2 / 30, 1))
    assert test["p_value"] < 1e-6
    assert report["verdict"].startswith("B is better than A (p=")
    assert report["a"]["accuracy"] == pytest.approx(0.5)
    assert report["b"]["accuracy"] == 1.0
    assert report["delta"]["accuracy"] == pytest.approx(0.5)
    assert report["delta"]["per_label"]["none"]["recall"] == 1.0
    assert report["delta"]["per_label"]["civilian-preparedness"]["f1"] == 0.0


def test_few_discordant_pairs_use_the_exact_test(tmp_path, models):
    data = labelled(tmp_path / "data.csv", {"alpha": 3, "bravo": 3, "charlie": 3, "delta": 8})
    test = compare_json(data, models["right"], models["delta_wrong"])["mcnemar"]
    assert (test["a_only"], test["b_only"]) == (8, 0)
    assert test["method"] == "exact binomial" and test["statistic"] is None
    assert test["p_value"] == pytest.approx(2 * 0.5**8)
    text = run("compare", data, "--model", models["right"], "--model", models["delta_wrong"]).output
    assert "McNemar's test (exact binomial)" in text
    assert "A is better than B (p=0.008)" in text


def test_equal_mistakes_are_not_significant(tmp_path, models):
    data = labelled(tmp_path / "data.csv", {"alpha": 5, "bravo": 20, "charlie": 20, "delta": 5})
    report = compare_json(data, models["bravo_wrong"], models["charlie_wrong"])
    test = report["mcnemar"]
    assert (test["a_only"], test["b_only"]) == (20, 20)
    assert test["p_value"] == 1.0
    assert report["verdict"] == "no significant difference (p=1.000)"
    assert report["disagreements"] == 40


def test_identical_models_are_not_significant(tmp_path, models):
    data = labelled(tmp_path / "data.csv", {"alpha": 5, "bravo": 5, "charlie": 5, "delta": 5})
    report = compare_json(data, models["right"], models["right"])
    assert report["mcnemar"]["p_value"] == 1.0
    assert report["verdict"].startswith("no significant difference")
    assert report["disagreements"] == 0 and report["disagreeing"] == []


def test_show_lists_the_first_disagreements_with_both_labels_and_the_truth(tmp_path, models):
    data = labelled(tmp_path / "data.csv", {"alpha": 2, "bravo": 2, "charlie": 2, "delta": 30})
    report = compare_json(data, models["delta_wrong"], models["right"], "--show", 2)
    assert report["disagreements"] == 30
    assert report["disagreeing"] == [
        {"index": 6, "text": "report 0 mentions delta", "truth": "none", "a": "military", "b": "none"},
        {"index": 7, "text": "report 1 mentions delta", "truth": "none", "a": "military", "b": "none"},
    ]
    text = run("compare", data, "--model", models["delta_wrong"], "--model", models["right"], "--show", 3).output
    assert "they disagree on 30 sentence(s); showing 3:" in text
    assert text.count("report ") == 3
    for heading in ("civilian-preparedness", "macro-F1", "accuracy", "ECE", "ΔF1", "B is better than A (p="):
        assert heading in text


def test_mcnemar_matches_the_textbook_formulas():
    a = [True] * 40 + [False] * 12 + [True] * 3
    b = [True] * 40 + [True] * 12 + [False] * 3
    exact = mcnemar(a, b)
    assert exact.method == "exact binomial"
    assert exact.p_value == pytest.approx(binomtest(3, 15, 0.5).pvalue)
    large = mcnemar([True] * 30 + [False] * 10, [False] * 30 + [True] * 10)
    assert large.method == "chi-square with continuity correction"
    assert large.statistic == pytest.approx((abs(30 - 10) - 1) ** 2 / 40)
    assert verdict(large).startswith("A is better than B")
    assert mcnemar([True, False], [True, False]).p_value == 1.0
    with pytest.raises(ValueError):
        mcnemar([True], [True, False])


@pytest.mark.parametrize("count", [0, 1, 3])
def test_model_given_other_than_twice_is_a_usage_error(tmp_path, models, count):
    data = labelled(tmp_path / "data.csv", {w: 2 for w in WORDS})
    result = run("compare", data, *(["--model", models["right"]] * count))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"Error: give --model exactly twice, A then B (got {count})")


def test_missing_model_is_a_one_line_error(tmp_path, models):
    data = labelled(tmp_path / "data.csv", {w: 2 for w in WORDS})
    result = run("compare", data, "--model", models["right"], "--model", tmp_path / "absent")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert "absent: no model folder there" in result.output


def test_bad_data_is_a_one_line_error(tmp_path, models):
    data = tmp_path / "data.csv"
    data.write_text("text,label\nreport mentions alpha,civil\nother,bogus\n", encoding="utf-8")
    result = run("compare", data, "--model", models["right"], "--model", models["right"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"Error: {data}:2: unknown label 'civil'")
    assert result.output.rstrip().endswith("(and 1 more)")
    result = run("compare", tmp_path / "absent.csv", "--model", models["right"], "--model", models["right"])
    assert result.exit_code == 2 and result.output.count("\n") == 1


def test_compare_help_has_an_example():
    result = run("compare", "--help")
    assert result.exit_code == 0 and "Example" in result.output
