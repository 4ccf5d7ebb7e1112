"""Issue 7: the shipped model on real, hand-labelled news it never saw.

Scores ../shared/data/real_dev.csv (evaluation only; never trained on) and prints per-label
precision, recall and F1, macro-F1, accuracy, calibration error and the confusion matrix,
on the rows both annotators agree on (the main figure) and on all rows against the first
annotator. Skips when the file is absent.

    python bench/bench_real_dev.py [--model DIR]
"""

import argparse
import csv
import json
import sys
from pathlib import Path

from escalation import load_model
from escalation_training import evaluate

ROOT = Path(__file__).resolve().parent.parent
REAL_DEV = ROOT.parent / "shared" / "data" / "real_dev.csv"
OUT = ROOT / "bench" / "out"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    args = parser.parse_args()
    if not REAL_DEV.exists():
        print("skipped: ../shared/data/real_dev.csv is not here")
        return 0
    with open(REAL_DEV, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    model = load_model(args.model)
    results = {}
    for name, subset in (("agreed rows", [r for r in rows if r["label"] == r["label2"]]), ("all rows", rows)):
        figures = evaluate.evaluate(model, [r["text"] for r in subset], [r["label"] for r in subset])
        print(evaluate.format_report(figures, title=f"real_dev.csv, {name}"), end="\n\n")
        results[name] = figures
    OUT.mkdir(exist_ok=True)
    (OUT / "real_dev.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
