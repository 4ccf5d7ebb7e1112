"""Retrain time: validation, 5-fold grouped cross-validation and the final fit on 10,000
sentences, end to end as `escalation train` runs them. Target: under 20 s on this machine.

The 10,000 sentences are data/corpus.csv repeated, each copy's rows ending in a token of
their own ("... zcopy07") so that validation does not fold them together as duplicates, and
each copy's contexts being contexts of their own, as in a corpus ten times larger. They are
benchmark input only, never training data for the shipped model. Repeated sentences give a
smaller vocabulary than 10,000 different ones would, so this is a lower bound on a real
corpus's time, not an estimate of it.

The first run in a process also starts the worker processes for the folds, as every
`escalation train` does, so it is reported separately from the warm runs after it.

    python bench/bench_retrain.py [--sentences N] [--runs K]

Writes bench/out/retrain.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "data" / "corpus.csv"
OUT = HERE / "out" / "retrain.json"
TARGET_SECONDS = 20.0


def build_input(path: Path, sentences: int) -> int:
    """Write ``sentences`` rows of the repeated corpus to ``path``; return the copies used."""
    with open(CORPUS, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label", "context"])
        for k in range(sentences):
            copy, row = divmod(k, len(rows))
            source = rows[row]
            writer.writerow([f"{source['text']} zcopy{copy:02d}", source["label"], f"{source['context']}-{copy:02d}"])
    return -(-sentences // len(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="the first is cold, the rest warm")
    args = parser.parse_args()

    started = time.perf_counter()
    from escalation_training.corpus import load_dataset
    from escalation_training.fit import TrainOptions, train
    from threadpoolctl import threadpool_info

    import_seconds = time.perf_counter() - started
    options = TrainOptions()  # the shipped model's: 5 grouped folds, C=10, bigrams, min_df=2
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-retrain-") as tmp:
        data = Path(tmp) / "sentences.csv"
        copies = build_input(data, args.sentences)
        for run in range(args.runs):
            t0 = time.perf_counter()
            dataset = load_dataset([data], include_base=False)
            t1 = time.perf_counter()
            card = train(dataset, Path(tmp) / f"model-{run}", options)
            t2 = time.perf_counter()
            runs.append({"validate": t1 - t0, "train": t2 - t1, "total": t2 - t0})
            print(f"run {run + 1} ({'cold' if run == 0 else 'warm'}): validate {t1 - t0:.2f} s, "
                  f"cross-validate and fit {t2 - t1:.2f} s, total {t2 - t0:.2f} s", flush=True)
    assert len(dataset.texts) == args.sentences, "rows were folded together as duplicates"

    cold = runs[0]["total"]
    warm = min(r["total"] for r in runs[1:]) if len(runs) > 1 else None
    result = {
        "benchmark": "retrain",
        "sentences": args.sentences,
        "corpus_copies": copies,
        "contexts": card["training"]["contexts"],
        "features": card["features"],
        "folds": options.folds,
        "options": card["options"],
        "import_seconds": import_seconds,
        "runs": runs,
        "seconds_cold": cold,
        "seconds_warm_best": warm,
        "target_seconds": TARGET_SECONDS,
        "meets_target": cold < TARGET_SECONDS,
        "cv_macro_f1": card["evaluation"]["cross_validation"]["macro_f1"],
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0],
            # The final fit runs in this process with this many BLAS threads; on a busy
            # machine more threads than free cores slow L-BFGS down, so record it.
            "blas_threads": max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"),
                                default=None),
            "python": platform.python_version(),
        },
        "versions": card["versions"],
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")

    print()
    print(f"{'retrain + 5-fold grouped CV':<34}{'seconds':>10}")
    print(f"{f'{args.sentences:,} sentences, cold':<34}{cold:>10.2f}")
    if warm is not None:
        print(f"{f'{args.sentences:,} sentences, warm (best)':<34}{warm:>10.2f}")
    print(f"{'target':<34}{'< ' + format(TARGET_SECONDS, '.0f'):>10}")
    print(f"{'meets target (cold)':<34}{'yes' if result['meets_target'] else 'NO':>10}")
    machine = result["machine"]
    print(f"({result['features']:,} features, {result['contexts']} contexts, {machine['cpus']} CPUs, "
          f"{machine['blas_threads']} BLAS threads, load {machine['load_average_1min']:.2f}; "
          f"wrote {OUT.relative_to(HERE.parent)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
