"""Scoring throughput of `escalation score --engine dask` on a local cluster against the
single-machine `--jobs 2` path, on the same synthetic feed (bench/feeds.py).

Three ways are timed, end to end, interleaved and repeated (best run kept):

- local: `escalation score FEED -o OUT --jobs 2`, the single-machine process pool;
- dask: `escalation score FEED -o DIR --engine dask --jobs 2`, which starts a LocalCluster of
  2 worker processes, plans, scores and writes the part files and manifest;
- dask, warm cluster: the same run through `score_to_folder` on a cluster already started,
  so the ratio to the cold run is the cluster's start-up cost.

The ratio dask / local is the engine's overhead on one machine: Dask pays it to spread the
same work over many machines. Every run's output is checked against the local one, byte for
byte.

    python bench/bench_dask.py [--articles N] [--runs K]

Writes bench/out/dask.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "dask.json"
ESCALATION = [sys.executable, "-m", "escalation.cli", "score"]

sys.path.insert(0, str(HERE))
from feeds import write_feed  # noqa: E402


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def parts(folder: Path) -> bytes:
    manifest = json.loads((folder / "manifest.json").read_text())
    return b"".join((folder / p["part"]).read_bytes() for p in manifest["parts"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import distributed

    from escalation.batch import Settings
    from escalation.dask_engine import score_to_folder

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        tmp = Path(tmp)
        feed = tmp / "feed.jsonl"
        write_feed(feed, args.articles)
        local_out, dask_out, warm_out = tmp / "local.jsonl", tmp / "dask", tmp / "warm"
        times: dict[str, list[float]] = {"local": [], "dask": [], "dask_warm": []}
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                      silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
            for run in range(args.runs):
                times["local"].append(timed(ESCALATION + [str(feed), "-o", str(local_out), "--jobs", "2"]))
                times["dask"].append(timed(ESCALATION + [str(feed), "-o", str(dask_out), "--engine", "dask",
                                                         "--jobs", "2"]))
                started = time.perf_counter()
                stats = score_to_folder(Settings([str(feed)]), warm_out, client=client)
                times["dask_warm"].append(time.perf_counter() - started)
                print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
        reference = local_out.read_bytes()
        assert parts(dask_out) == reference and parts(warm_out) == reference, "outputs differ"
        partitions = len(json.loads((dask_out / "manifest.json").read_text())["parts"])
        feed_bytes = feed.stat().st_size

    sentences = stats.sentences_scored
    best = {k: min(v) for k, v in times.items()}
    rate = {k: sentences / v for k, v in best.items()}
    print(f"\nfeed: {args.articles} articles, {sentences} sentences, {feed_bytes / 1e6:.1f} MB, "
          f"{partitions} partitions; best of {args.runs} runs on {os.cpu_count()} cores")
    print(f"{'engine':<34}{'seconds':>9}{'sentences/s':>14}{'vs local':>10}")
    for key, label in (("local", "local --jobs 2"), ("dask", "dask, local cluster of 2 (cold)"),
                       ("dask_warm", "dask, cluster already running")):
        print(f"{label:<34}{best[key]:>9.2f}{rate[key]:>14,.0f}{rate[key] / rate['local']:>10.2f}")

    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({
        "articles": args.articles,
        "sentences": sentences,
        "feed_bytes": feed_bytes,
        "partitions": partitions,
        "runs": args.runs,
        "seconds": times,
        "best_seconds": best,
        "sentences_per_second": rate,
        "ratio_dask_to_local": rate["dask"] / rate["local"],
        "ratio_dask_warm_to_local": rate["dask_warm"] / rate["local"],
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "dask": distributed.__version__,
    }, indent=2) + "\n")
    print(f"\nwrote {OUT.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
