"""Issue 7: does more writing still pay? Real-dev macro-F1 by share of the corpus.

Fits the shipped configuration on 25%, 50%, 75% and 100% of the corpus (rows drawn with a
fixed seed, the same draw nested in the next share, every label kept in proportion) and
scores each model on the agreed rows of ../shared/data/real_dev.csv. Skips when that file is
absent.
"""

import csv
import json
import sys
from pathlib import Path

import numpy as np

from escalation_training import evaluate
from escalation_training.fit import SignalPipeline

ROOT = Path(__file__).resolve().parent.parent
REAL_DEV = ROOT.parent / "shared" / "data" / "real_dev.csv"
OUT = ROOT / "bench" / "out"
SHARES = (0.25, 0.5, 0.75, 1.0)


def read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def main() -> int:
    if not REAL_DEV.exists():
        print("skipped: ../shared/data/real_dev.csv is not here")
        return 0
    corpus = read(ROOT / "data" / "corpus.csv")
    agreed = [r for r in read(REAL_DEV) if r["label"] == r["label2"]]
    rng = np.random.default_rng(0)
    # A random rank per row within its label: taking the lowest ranks nests the subsets.
    order = {}
    for label in {r["label"] for r in corpus}:
        members = [i for i, r in enumerate(corpus) if r["label"] == label]
        for rank, i in enumerate(rng.permutation(members)):
            order[i] = rank / len(members)
    results = []
    print(f"{'share':>6}{'rows':>7}{'agreed macro-F1':>17}{'all-rows macro-F1':>19}")
    every = read(REAL_DEV)
    for share in SHARES:
        rows = [r for i, r in enumerate(corpus) if order[i] < share]
        model = SignalPipeline(folds=2).fit([r["text"] for r in rows], [r["label"] for r in rows],
                                            [r["context"] for r in rows]).to_runtime()
        f_agreed = evaluate.evaluate(model, [r["text"] for r in agreed], [r["label"] for r in agreed])["macro_f1"]
        f_all = evaluate.evaluate(model, [r["text"] for r in every], [r["label"] for r in every])["macro_f1"]
        results.append({"share": share, "rows": len(rows), "agreed_macro_f1": f_agreed, "all_macro_f1": f_all})
        print(f"{share:>6.0%}{len(rows):>7}{f_agreed:>17.3f}{f_all:>19.3f}")
    OUT.mkdir(exist_ok=True)
    (OUT / "learning_curve.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
