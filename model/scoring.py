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


def summarise(article, sentences, labels, probabilities, classes) -> dict:
    """One article's summary: counts per label, strongest sentence per signal label, index."""
    counts = {label: 0 for label in classes}
    mass = {label: 0.0 for label in SIGNAL_LABELS}
    strongest: dict[str, dict | None] = {label: None for label in SIGNAL_LABELS}
    for i, (sentence, label, probs) in enumerate(zip(sentences, labels, probabilities)):
        counts[label] += 1
        if label in mass:
            p = probs[classes.index(label)]
            mass[label] += p
            best = strongest[label]
            if best is None or p > best["score"]:
                strongest[label] = {"sentence": i, "score": p, "text": sentence.text}
    summary = {"article_id": article.id}
    if article.date:
        summary["date"] = article.date
    for key in ("title", "source"):
        value = getattr(article, key)
        if value:
            summary[key] = value
    summary.update(
        sentences=len(sentences),
        counts=counts,
        strongest=strongest,
        escalation_index=escalation_index(mass),
    )
    return summary


def _jsonl_encoder(classes):
    # Filled in with bytes formatting rather than a dict per sentence and orjson: this is
    # the hottest loop of a scoring run, and the template halves its cost. orjson escapes
    # the strings; repr gives the shortest float that reads back exactly, as JSON allows.
    scores = ",".join(f"{orjson.dumps(c).decode()}:%r" for c in classes)
    template = ('{"article_id":%b,"sentence":%d,"start":%d,"end":%d,"text":%b,"label":%b,'
                f'"scores":{{{scores}}}%b}}\n').encode()

    def encode(article, i, sentence, label, probs):
        date = b',"date":' + orjson.dumps(article.date) if article.date else b""
        return template % (orjson.dumps(article.id), i, sentence.start, sentence.end,
                           orjson.dumps(sentence.text), orjson.dumps(label), *probs, date)

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
