"""Keep the counts in the data card (data/README.md) equal to the corpus.

The card's counts section lies between two markers and is written by this module, so it
cannot drift from ``data/corpus.csv``: ``make datacard`` rewrites it, and a test fails when
the two differ.

Usage: ``python -m escalation_training.datacard data/corpus.csv data/README.md``
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from escalation.classifier import LABELS

START, END = "<!-- counts:start -->", "<!-- counts:end -->"
_YEAR = re.compile(r"(?:19|20)\d\d")


def counts_markdown(corpus: Path) -> str:
    """Markdown tables of rows per label, per decade and per context of ``corpus``."""
    with open(corpus, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    per_label = Counter(row["label"] for row in rows)
    per_context: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        per_context[row["context"]][row["label"]] += 1
    decades: Counter = Counter()
    for context, counts in per_context.items():
        year = _YEAR.search(context)
        decades[f"{year.group()[:3]}0s" if year else "no year (general news, traps)"] += sum(counts.values())

    header = "| " + " | ".join(["context", *LABELS, "total"]) + " |"
    rule = "|---" * (len(LABELS) + 2) + "|"
    lines = [
        f"{len(rows):,} rows in {len(per_context):,} contexts.",
        "",
        "| label | rows |",
        "|---|---|",
        *(f"| `{label}` | {per_label[label]:,} |" for label in LABELS),
        "",
        "| decade of the context | rows |",
        "|---|---|",
        *(f"| {decade} | {n:,} |" for decade, n in sorted(decades.items())),
        "",
        "<details><summary>Rows per context and label</summary>",
        "",
        header,
        rule,
    ]
    for context in sorted(per_context):
        counts = per_context[context]
        cells = [str(counts[label]) for label in LABELS]
        lines.append(f"| {context} | " + " | ".join(cells) + f" | {sum(counts.values())} |")
    lines += ["", "</details>"]
    return "\n".join(lines)


def update_card(corpus: Path, card: Path) -> bool:
    """Rewrite the counts section of ``card``; return whether it changed."""
    text = card.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise ValueError(f"{card}: no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    updated = f"{head}{START}\n{counts_markdown(corpus)}\n{END}{tail}"
    if updated != text:
        card.write_text(updated, encoding="utf-8")
    return updated != text


def card_counts(card: Path) -> str:
    """The counts section currently in ``card``."""
    text = card.read_text(encoding="utf-8")
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


if __name__ == "__main__":
    corpus_path, card_path = map(Path, sys.argv[1:3])
    changed = update_card(corpus_path, card_path)
    print(f"{card_path}: counts {'updated' if changed else 'already up to date'}")
