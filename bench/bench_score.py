"""Issue 3: end-to-end throughput and peak memory of `escalation score`.

Two deterministic synthetic feeds 10x apart (bench/feeds.py) go through
`escalation score --jobs 2`; the smaller one also goes, in the same run, through a plain
baseline: the scikit-learn pipeline called once per article, as a straightforward script
would.

The machine has 2 cores and is shared, so each measurement is repeated (the runs of the
three contenders alternate) and the median reported with the range. Throughput runs are not
watched: sampling the memory of a process tree every 20 ms takes a core's time slices from
the workers and cost about a tenth of the throughput. Memory is measured in one more run of
its own: the peak resident set of the whole process tree (main process and workers), sampled
every 20 ms, and of its largest single process.
"""

import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feeds import CORPUS, write_feed  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
ESCALATION = str(Path(sys.executable).parent / "escalation")
SIZES = {"small": 2_000, "large": 20_000}
REPEATS = 3


def sentences_scored(stderr: str) -> int:
    return int(stderr.split("sentences scored ")[1].split(",")[0])


def timed(command) -> dict:
    """Wall time and throughput of a command, unobserved while it runs."""
    start = time.perf_counter()
    process = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{command} failed: {process.stderr.decode()}")
    sentences = sentences_scored(process.stderr.decode())
    return {"seconds": elapsed, "sentences": sentences, "sentences_per_s": sentences / elapsed}


def memory(command) -> dict:
    """Peak tree RSS and peak single-process RSS of a command."""
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_tree = peak_single = 0
    while process.poll() is None:
        try:
            rss = [p.memory_info().rss for p in [process, *process.children(recursive=True)]]
        except psutil.Error:
            continue
        peak_tree, peak_single = max(peak_tree, sum(rss)), max(peak_single, max(rss))
        time.sleep(0.02)
    if process.returncode:
        raise SystemExit(f"{command} failed: {process.stderr.read().decode()}")
    return {"peak_tree_mb": peak_tree / 2**20, "peak_process_mb": peak_single / 2**20}


def fit_baseline():
    """The scikit-learn pipeline, fitted on the corpus as the shipped model is."""
    from escalation_training.fit import SignalPipeline

    with open(CORPUS, encoding="utf-8", newline="") as fh:
        corpus = list(csv.DictReader(fh))
    return SignalPipeline(folds=2).fit([r["text"] for r in corpus], [r["label"] for r in corpus],
                                       [r["context"] for r in corpus])


def baseline(pipeline, feed: Path, out: Path) -> dict:
    """The scikit-learn pipeline called once per article, in this process."""
    from escalation import split_sentences

    classes = [str(c) for c in pipeline.classes_]
    start, n = time.perf_counter(), 0
    with open(feed, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            article = json.loads(line)
            sentences = split_sentences(article["text"])
            probabilities = pipeline.predict_proba([s.text for s in sentences])
            for i, (s, p) in enumerate(zip(sentences, probabilities)):
                dst.write(json.dumps({"article_id": article["id"], "sentence": i, "start": s.start,
                                      "end": s.end, "text": s.text, "label": classes[p.argmax()],
                                      "scores": dict(zip(classes, p.tolist()))}) + "\n")
            n += len(sentences)
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "sentences": n, "sentences_per_s": n / elapsed}


def summary(runs: list[dict]) -> dict:
    rates = [r["sentences_per_s"] for r in runs]
    return {"sentences": runs[0]["sentences"], "sentences_per_s": statistics.median(rates),
            "min_per_s": min(rates), "max_per_s": max(rates), "runs": runs}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    commands = {}
    for name, articles in SIZES.items():
        feed = OUT / f"feed_{name}.jsonl"
        write_feed(feed, articles)
        commands[name] = [ESCALATION, "score", str(feed), "-o", str(OUT / f"scored_{name}.jsonl"), "--jobs", "2"]
    pipeline = fit_baseline()
    runs = {name: [] for name in [*SIZES, "baseline_small"]}
    for _ in range(REPEATS):
        for name, command in commands.items():
            runs[name].append(timed(command))
        runs["baseline_small"].append(baseline(pipeline, OUT / "feed_small.jsonl", OUT / "baseline_small.jsonl"))
    results = {name: summary(r) for name, r in runs.items()}
    for name, command in commands.items():
        results[name].update(memory(command))
    print(f"{'run':<16}{'sentences':>10}{'sent/s':>10}{'range':>18}{'tree MB':>9}{'proc MB':>9}")
    for name, r in results.items():
        spread = f"{r['min_per_s']:,.0f}-{r['max_per_s']:,.0f}"
        print(f"{name:<16}{r['sentences']:>10}{r['sentences_per_s']:>10,.0f}{spread:>18}"
              f"{r.get('peak_tree_mb', float('nan')):>9.0f}{r.get('peak_process_mb', float('nan')):>9.0f}")
    ratio = results["small"]["sentences_per_s"] / results["baseline_small"]["sentences_per_s"]
    print(f"sentences/s: median of {REPEATS} alternating runs. escalation score --jobs 2 / baseline on the "
          f"small feed: {ratio:.1f}x (targets: >= 60,000 sentences/s, >= 3x baseline, peak RSS <= 250 MB)")
    results["speedup_vs_baseline"] = ratio
    (OUT / "score.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
