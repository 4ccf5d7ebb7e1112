"""Shared fixtures. Data under ../shared is evaluation-only and optional: tests that need it
skip when it is absent (a user's clone has none)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_2b75bc2e4ec607c4.txt"
SEED_LABELS = ROOT / "seeds" / "000_2b75bc2e4ec607c4.labels.csv"
CORPUS = ROOT / "data" / "corpus.csv"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def model():
    from escalation import load_model

    return load_model()


@pytest.fixture(scope="session")
def corpus_rows():
    with open(CORPUS, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def real_dev_rows():
    path = SHARED_DATA / "real_dev.csv"
    if not path.exists():
        pytest.skip("../shared/data/real_dev.csv is not here (evaluation data is optional)")
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def seed_labels():
    with open(SEED_LABELS, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
