"""Issue 3: where a scoring worker spends its time, per sentence.

One worker's work on the same chunks as `escalation score` (256 articles of the synthetic
feed), stage by stage: splitting (and within it blingfire's C call), TF-IDF features, the
linear layer with the softmax, and the whole of `score_articles` (the rest of which is
encoding the records). Each stage is timed over the same chunks five times and the fastest
pass kept, so that other work on the machine inflates the figures as little as possible.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feeds import write_feed  # noqa: E402

from escalation.readers import read_jsonl  # noqa: E402
from escalation.classifier import softmax  # noqa: E402
from escalation.scoring import score_articles  # noqa: E402
from escalation.sentences import _text_to_sentences, split_sentences  # noqa: E402
from escalation.store import load_model  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
ARTICLES, CHUNK, PASSES = 5_120, 256, 5


def fastest(stage, chunks) -> float:
    """Seconds of the fastest of ``PASSES`` passes of ``stage`` over every chunk."""
    best = float("inf")
    for _ in range(PASSES):
        start = time.perf_counter()
        for chunk in chunks:
            stage(chunk)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    OUT.mkdir(exist_ok=True)
    feed = OUT / "feed_stages.jsonl"
    write_feed(feed, ARTICLES, seed=1)
    model = load_model()
    articles = list(read_jsonl(str(feed)))
    chunks = [articles[i : i + CHUNK] for i in range(0, len(articles), CHUNK)]
    texts = [[s.text for a in chunk for s in split_sentences(a.text)] for chunk in chunks]
    n = sum(map(len, texts))
    flat = [[a.text.replace("\n", " ") for a in chunk] for chunk in chunks]
    rows = [model.transform(t) for t in texts]
    seconds = {
        "split_sentences": fastest(lambda chunk: [split_sentences(a.text) for a in chunk], chunks),
        "  of which blingfire": fastest(lambda chunk: [_text_to_sentences(t) for t in chunk], flat),
        "features (transform)": fastest(model.transform, texts),
        "linear layer and softmax": fastest(
            lambda r: softmax(model.decision_from_rows(r), model.temperature_), rows
        ),
        "score_articles, all of it": fastest(lambda chunk: score_articles(model, chunk, summaries=False), chunks),
    }
    seconds["  of which the rest (records)"] = seconds["score_articles, all of it"] - sum(
        seconds[k] for k in ("split_sentences", "features (transform)", "linear layer and softmax")
    )
    micro = {stage: s / n * 1e6 for stage, s in seconds.items()}
    print(f"{n} sentences in {len(chunks)} chunks of {CHUNK} articles; fastest of {PASSES} passes")
    for stage, us in micro.items():
        print(f"{stage:<28}{us:>7.2f} us/sentence")
    (OUT / "stages.json").write_text(json.dumps({"sentences": n, "us_per_sentence": micro}, indent=1))


if __name__ == "__main__":
    main()
