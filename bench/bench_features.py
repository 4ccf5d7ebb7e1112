"""Issue 7: the chosen features against alternatives, by accuracy and by speed.

Every variant is fitted on the same training corpus and scored on the same held-out split:
the real, hand-labelled sentences of ../shared/data/real_dev.csv (agreed rows) when that file
is present, otherwise one grouped fold of the corpus (a crisis never in both halves). Speed
is sentences per second through the fitted scikit-learn pipeline, measured in the same run;
for the chosen variant also through the numpy runtime that ships.
"""

import csv
import json
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline, make_union

from escalation_training.fit import SignalPipeline

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
REAL_DEV = ROOT.parent / "shared" / "data" / "real_dev.csv"


def read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def split():
    corpus = read(ROOT / "data" / "corpus.csv")
    train = ([r["text"] for r in corpus], [r["label"] for r in corpus], [r["context"] for r in corpus])
    if REAL_DEV.exists():
        agreed = [r for r in read(REAL_DEV) if r["label"] == r["label2"]]
        return "real_dev agreed rows", train, ([r["text"] for r in agreed], [r["label"] for r in agreed])
    texts, labels, groups = map(np.asarray, train)
    tr, te = next(GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=0).split(texts, labels, groups))
    return "one grouped fold of the corpus", (list(texts[tr]), list(labels[tr]), list(groups[tr])), (list(texts[te]), list(labels[te]))


def classifier():
    return LogisticRegression(C=10.0, class_weight="balanced", max_iter=5000)


VARIANTS = {
    "word 1-2 grams (chosen)": lambda: make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), classifier()),
    "word 1 grams": lambda: make_pipeline(
        TfidfVectorizer(ngram_range=(1, 1), min_df=2, sublinear_tf=True), classifier()),
    "word 1-3 grams": lambda: make_pipeline(
        TfidfVectorizer(ngram_range=(1, 3), min_df=2, sublinear_tf=True), classifier()),
    "word 1-2 + char_wb 2-5": lambda: make_pipeline(make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)), classifier()),
    "hashing word 1-2 (2^18)": lambda: make_pipeline(
        HashingVectorizer(ngram_range=(1, 2), n_features=2**18, alternate_sign=False, norm=None),
        TfidfTransformer(sublinear_tf=True), classifier()),
}


def speed(predict, texts, repeat=3):
    best = min(_timed(predict, texts) for _ in range(repeat))
    return len(texts) / best


def _timed(predict, texts):
    start = time.perf_counter()
    predict(texts)
    return time.perf_counter() - start


def main():
    name, (texts, labels, groups), (test_texts, test_labels) = split()
    speed_texts = (test_texts * (20_000 // len(test_texts) + 1))[:20_000]
    print(f"held-out split: {name} ({len(test_texts)} sentences); training on {len(texts)}")
    results = {}
    for variant, make in VARIANTS.items():
        pipeline = make().fit(texts, labels)
        f1 = f1_score(test_labels, pipeline.predict(test_texts), average="macro")
        results[variant] = {"macro_f1": f1, "sklearn_sentences_per_s": speed(pipeline.predict_proba, speed_texts)}
    runtime = SignalPipeline(folds=2).fit(texts, labels, groups).to_runtime()
    results["word 1-2 grams (chosen)"]["runtime_sentences_per_s"] = speed(runtime.predict_proba, speed_texts)
    print(f"{'features':<28}{'macro-F1':>9}{'sklearn sent/s':>16}{'runtime sent/s':>16}")
    for variant, r in results.items():
        rt = r.get("runtime_sentences_per_s")
        print(f"{variant:<28}{r['macro_f1']:>9.3f}{r['sklearn_sentences_per_s']:>16,.0f}"
              f"{(f'{rt:,.0f}' if rt else '-'):>16}")
    OUT.mkdir(exist_ok=True)
    (OUT / "features.json").write_text(json.dumps({"split": name, "results": results}, indent=1))


if __name__ == "__main__":
    main()
