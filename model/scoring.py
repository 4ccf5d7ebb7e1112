"""Score articles sentence by sentence, and summarise each article.

:func:`score_articles` is the single code path that turns a batch of articles into output
records; the single-machine runner (:mod:`escalation.batch`) and the Dask engine both call
it, so their results are identical record for record.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import orjson

from .classifier import SIGNAL_LABELS, SignalClassifier
from .readers import Article
from .sentences import split_sentences

#: Escalatory labels count for the escalation index, diplomatic against it.
ESCALATORY = ("military", "civilian-preparedness")


def escalation_index(signal_mass: dict[str, float]) -> float:
    """How strongly an article signals military and preparedness activity against diplomacy.

    ``(M + C - D) / (M + C + D + 1)``, where ``M``, ``C`` and ``D`` are the summed
    probabilities of the sentences labelled military, civilian-preparedness and diplomatic
    (each sentence contributes the probability of its own label). The index lies in
    (-1, 1): near +1 for an article of confident military and preparedness sentences, near
    -1 for one of confident diplomatic sentences, 0 when the two balance or when there is no
    signal at all. The ``+ 1`` keeps a single weak signal sentence from swinging it to an
    extreme.

    Parameters
    ----------
    signal_mass : dict
        Summed probability per signal label.

    Returns
    -------
    float
    """
    escalatory = sum(signal_mass.get(label, 0.0) for label in ESCALATORY)
    diplomatic = signal_mass.get("diplomatic", 0.0)
    return (escalatory - diplomatic) / (escalatory + diplomatic + 1.0)


@dataclass
class ScoredBatch:
    """Output of one batch: encoded sentence records and per-article summaries."""

    records: bytes = b""
    summaries: list[dict] = field(default_factory=list)
    sentences: int = 0
    empty: list[int] = field(default_factory=list)  #: positions of articles with no sentence


def label_sentences(
    model: SignalClassifier, texts: Sequence[str], min_score: float = 0.0
) -> tuple[list[str], np.ndarray]:
    """Labels and calibrated probabilities for sentences.

    A sentence whose best signal label scores below ``min_score`` is labelled ``none``; its
    probabilities are reported unchanged.
    """
    probabilities = model.predict_proba(texts)
    classes = [str(c) for c in model.classes_]
    best = probabilities.argmax(axis=1)
    labels = [classes[k] for k in best]
    if min_score > 0:
        top = probabilities[np.arange(len(best)), best]
        labels = [
            "none" if label != "none" and score < min_score else label
            for label, score in zip(labels, top)
        ]
    return labels, probabilities


def score_articles(
    model: SignalClassifier,
    articles: Sequence[Article],
    min_score: float = 0.0,
    output_format: str = "jsonl",
    summaries: bool = True,
) -> ScoredBatch:
    """Split, label and summarise a batch of articles.

    Parameters
    ----------
    model : SignalClassifier
    articles : sequence of Article
    min_score : float, default=0.0
        See :func:`label_sentences`.
    output_format : {"jsonl", "csv", "table"}, default="jsonl"
        Encoding of the sentence records.
    summaries : bool, default=True
        Also summarise each article (see :func:`summarise`).

    Returns
    -------
    ScoredBatch
        ``records`` holds one encoded record per sentence, articles in order.
    """
    batch = ScoredBatch()
    split = []
    texts: list[str] = []
    for position, article in enumerate(articles):
        sentences = split_sentences(article.text)
        if sentences:
            split.append((article, sentences))
            texts.extend(s.text for s in sentences)
        else:
            batch.empty.append(position)
    if not texts:
        return batch
    labels, probabilities = label_sentences(model, texts, min_score)
    probabilities = probabilities.tolist()  # one conversion, not one per sentence
    classes = [str(c) for c in model.classes_]
    encode = _ENCODERS[output_format](classes)
    out = []
    row = 0
    for article, sentences in split:
        n = len(sentences)
        article_labels = labels[row : row + n]
        article_probs = probabilities[row : row + n]
        for i, (sentence, label, probs) in enumerate(zip(sentences, article_labels, article_probs)):
            out.append(encode(article, i, sentence, label, probs))
        if summaries:
            batch.summaries.append(summarise(article, sentences, article_labels, article_probs, classes))
        row += n
    batch.records = b"".join(out)
    batch.sentences = len(texts)
    return batch


class ArticleSignals:
    """Counts per label, and per signal label its probability mass and strongest sentence.

    Fed one sentence at a time, so that ``score --summary`` and ``report`` (which rebuilds
    articles from sentence records) summarise an article in exactly the same way.

    Parameters
    ----------
    labels : sequence of str
        Every label a sentence may have, in the order ``counts`` lists them.
    """

    def __init__(self, labels: Sequence[str]):
        self.sentences = 0
        self.counts = dict.fromkeys(labels, 0)
        self.mass = dict.fromkeys(SIGNAL_LABELS, 0.0)
        #: Per signal label, ``{"sentence", "score", "text"}`` of its most probable sentence.
        self.strongest: dict[str, dict | None] = dict.fromkeys(SIGNAL_LABELS)

    def add(self, sentence: int, label: str, score: float, text: str) -> None:
        """Count sentence number ``sentence``, labelled ``label`` with probability ``score``."""
        self.sentences += 1
        self.counts[label] += 1
        if label in self.mass:
            self.mass[label] += score
            best = self.strongest[label]
            if best is None or score > best["score"]:
                self.strongest[label] = {"sentence": sentence, "score": score, "text": text}

    @property
    def escalation_index(self) -> float:
        """See :func:`escalation_index`."""
        return escalation_index(self.mass)


def summarise(article, sentences, labels, probabilities, classes) -> dict:
    """One article's summary: counts per label, strongest sentence per signal label, index."""
    signals = ArticleSignals(classes)
    for i, (sentence, label, probs) in enumerate(zip(sentences, labels, probabilities)):
        signals.add(i, label, probs[classes.index(label)], sentence.text)
    summary = {"article_id": article.id}
    if article.date:
        summary["date"] = article.date
    for key in ("title", "source"):
        value = getattr(article, key)
        if value:
            summary[key] = value
    summary.update(
        sentences=signals.sentences,
        counts=signals.counts,
        strongest=signals.strongest,
        escalation_index=signals.escalation_index,
    )
    return summary


def _jsonl_encoder(classes):
    # Filled in with bytes formatting rather than a dict per sentence and orjson: this is
    # the hottest loop of a scoring run, and the template halves its cost. orjson escapes
    # the strings; repr gives the shortest float that reads back exactly, as JSON allows.
    scores = ",".join(f"{orjson.dumps(c).decode()}:%r" for c in classes)
    template = ('{"article_id":%b,"sentence":%d,"start":%d,"end":%d,"text":%b,"label":%b,'
                f'"scores":{{{scores}}}%b}}\n').encode()
    label_json = {c: orjson.dumps(c) for c in classes}

    def encode(article, i, sentence, label, probs):
        date = b',"date":' + orjson.dumps(article.date) if article.date else b""
        return template % (orjson.dumps(article.id), i, sentence.start, sentence.end,
                           orjson.dumps(sentence.text), label_json[label], *probs, date)

    return encode


def csv_header(classes) -> bytes:
    """Header row of the CSV output."""
    columns = ["article_id", "sentence", "start", "end", "text", "label"]
    columns += [f"score_{c}" for c in classes] + ["date"]
    return _csv_row(columns)


def _csv_row(values) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


def _csv_encoder(classes):
    def encode(article, i, sentence, label, probs):
        scores = [repr(p) for p in probs]
        return _csv_row(
            [article.id, i, sentence.start, sentence.end, sentence.text, label, *scores, article.date or ""]
        )

    return encode


def _table_encoder(classes):
    def encode(article, i, sentence, label, probs):
        score = probs[classes.index(label)]
        return f"{label:<22} {score:.2f}  {sentence.text}\n".encode("utf-8")

    return encode


_ENCODERS = {"jsonl": _jsonl_encoder, "csv": _csv_encoder, "table": _table_encoder}
OUTPUT_FORMATS = tuple(_ENCODERS)
