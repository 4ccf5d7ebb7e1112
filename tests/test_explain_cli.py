"""`escalation explain` and `escalation features` through the CLI, against the model's own
arithmetic: an explanation must add up to the decision score it explains."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from escalation.cli import cli

SENTENCES = [
    "Troops massed on the border.",
    "Talks resumed in Geneva on Tuesday.",
    "Sirens sounded over Kyiv and residents went to shelters.",
    "Shares in Tesco rose 2 percent.",
    "Russia denies it plans to invade Ukraine, but the buildup continues.",
]


def explain_json(*args):
    result = CliRunner().invoke(cli, ["explain", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def check_sums(model, record):
    k = [str(c) for c in model.classes_].index(record["label"])
    decision = model.decision_function([record["text"]])[0, k]
    total = record["intercept"] + sum(c["weight"] for c in record["contributions"])
    assert total == pytest.approx(decision, abs=1e-9)
    assert record["score"] == pytest.approx(decision, abs=1e-9)


@pytest.mark.parametrize("text", SENTENCES)
def test_contributions_sum_to_the_decision_score(model, text):
    record = explain_json(text)
    assert record["label"] == model.predict([text])[0]
    check_sums(model, record)
    weights = [c["weight"] for c in record["contributions"]]
    assert weights == sorted(weights, reverse=True)


@pytest.mark.parametrize("text", SENTENCES[:3])
def test_contributions_sum_for_a_label_that_was_not_predicted(model, text):
    other = next(str(c) for c in model.classes_ if c != model.predict([text])[0])
    record = explain_json("--label", other, text)
    assert record["label"] == other
    check_sums(model, record)


def test_features_top_five_sorted_by_weight(model):
    result = CliRunner().invoke(cli, ["features", "--label", "military", "--top", "5", "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["label"] for r in records] == ["military"]
    terms = records[0]["terms"]
    assert len(terms) == 5
    weights = [t["weight"] for t in terms]
    assert weights == sorted(weights, reverse=True)
    k = [str(c) for c in model.classes_].index("military")
    expected = np.sort(model.coef_[k])[::-1][:5]
    assert weights == pytest.approx(expected.tolist(), abs=1e-12)
    names = model.get_feature_names_out()
    for t in terms:
        assert model.coef_[k, list(names).index(t["term"])] == pytest.approx(t["weight"], abs=1e-12)


@pytest.mark.parametrize("command", ["explain", "features"])
def test_help_has_an_example(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output
