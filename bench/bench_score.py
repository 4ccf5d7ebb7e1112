"""Issue 3: end-to-end throughput and peak memory of `escalation score`.

Two deterministic synthetic feeds 10x apart (bench/feeds.py) go through
`escalation score --jobs 2`; the smaller one also goes, in the same run, through a plain
baseline: the scikit-learn pipeline called once per article, as a straightforward script
would. Memory is the peak resident set of the whole process tree (main process and
workers), sampled every 20 ms, and of its largest single process.
"""

import csv
import json
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


def measure(command) -> dict:
    """Wall time, peak tree RSS and peak single-process RSS of a command."""
    start = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_tree = peak_single = 0
    while process.poll() is None:
        try:
            rss = [p.memory_info().rss for p in [process, *process.children(recursive=True)]]
        except psutil.Error:
            continue
        peak_tree, peak_single = max(peak_tree, sum(rss)), max(peak_single, max(rss))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read().decode()
    if process.returncode:
        raise SystemExit(f"{command} failed: {stderr}")
    sentences = int(stderr.split("sentences scored ")[1].split(",")[0])
    return {"seconds": elapsed, "sentences": sentences, "sentences_per_s": sentences / elapsed,
            "peak_tree_mb": peak_tree / 2**20, "peak_process_mb": peak_single / 2**20}


def baseline(feed: Path, out: Path) -> dict:
    """The scikit-learn pipeline called once per article, in this process."""
    from escalation import split_sentences
    from escalation_training.fit import SignalPipeline

    with open(CORPUS, encoding="utf-8", newline="") as fh:
        corpus = list(csv.DictReader(fh))
    pipeline = SignalPipeline(folds=2).fit([r["text"] for r in corpus], [r["label"] for r in corpus],
                                           [r["context"] for r in corpus])
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


def main() -> None:
    OUT.mkdir(exist_ok=True)
    results = {}
    for name, articles in SIZES.items():
        feed = OUT / f"feed_{name}.jsonl"
        write_feed(feed, articles)
        results[name] = measure([ESCALATION, "score", str(feed), "-o", str(OUT / f"scored_{name}.jsonl"), "--jobs", "2"])
    results["baseline_small"] = baseline(OUT / "feed_small.jsonl", OUT / "baseline_small.jsonl")
    print(f"{'run':<16}{'sentences':>10}{'seconds':>9}{'sent/s':>10}{'tree MB':>9}{'proc MB':>9}")
    for name, r in results.items():
        print(f"{name:<16}{r['sentences']:>10}{r['seconds']:>9.2f}{r['sentences_per_s']:>10,.0f}"
              f"{r.get('peak_tree_mb', float('nan')):>9.0f}{r.get('peak_process_mb', float('nan')):>9.0f}")
    ratio = results["small"]["sentences_per_s"] / results["baseline_small"]["sentences_per_s"]
    print(f"escalation score --jobs 2 / baseline on the small feed: {ratio:.1f}x "
          f"(targets: >= 60,000 sentences/s, >= 3x baseline, peak RSS <= 250 MB)")
    results["speedup_vs_baseline"] = ratio
    (OUT / "score.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
