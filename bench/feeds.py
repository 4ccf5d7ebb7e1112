"""Deterministic synthetic article feeds for benchmarks.

Articles are made of corpus sentences drawn with a seeded generator, so a feed of a given
size is the same on every run and machine. This is benchmark input only: nothing here is
ever training data.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus.csv"


def corpus_sentences() -> list[str]:
    with open(CORPUS, encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def write_feed(path: Path, articles: int, seed: int = 0) -> int:
    """Write ``articles`` JSON Lines articles of 4 to 30 sentences; return the sentence count."""
    sentences = corpus_sentences()
    rng = random.Random(seed)
    total = 0
    with open(path, "wb") as fh:
        for i in range(articles):
            n = rng.randint(4, 30)
            total += n
            paragraphs, body = [], rng.sample(sentences, n)
            while body:
                k = rng.randint(1, 4)
                paragraphs.append(" ".join(body[:k]))
                body = body[k:]
            day = 1 + i % 28
            record = {"id": f"bench-{i}", "date": f"2024-02-{day:02d}", "text": "\n".join(paragraphs)}
            fh.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    return total
