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

# Small feeds for the readers: an RSS entry with HTML, an entry with no text, a title-only
# entry; and an Atom entry with HTML content.
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Envoy flies to Moscow</title><guid>g-1</guid><link>http://example.org/1</link>
<pubDate>Mon, 14 Feb 2022 10:00:00 GMT</pubDate>
<description>&lt;p&gt;The envoy will meet the &lt;b&gt;president&lt;/b&gt; for talks.&lt;/p&gt;</description></item>
<item><link>http://example.org/2</link></item>
<item><title>Sirens tested</title><link>http://example.org/3</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom wire</title>
<entry><id>urn:x:1</id><title>Troops move</title><updated>2022-02-15T08:30:00Z</updated>
<content type="html">&lt;p&gt;Columns of tanks left their garrisons.&lt;/p&gt;</content></entry>
</feed>"""


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
