"""Score articles sentence by sentence, and summarise each article.

:func:`score_articles` is the single code path that turns a batch of articles into output
records; the single-machine runner (:mod:`escalation.batch`) and the Dask engine both call
it, so their results are identical record for record.
"""

from __future__ import annotations

import csv
import io
import operator
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
    best = probabilities.argmax(axis=1)
    if min_score > 0:
        none = list(model.classes_).index("none")
        weak = probabilities[np.arange(len(best)), best] < min_score
        best[weak] = none
    classes = [str(c) for c in model.classes_]
    return [classes[k] for k in best], probabilities


_TEXT = operator.attrgetter("text")


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
            texts.extend(map(_TEXT, sentences))
        else:
            batch.empty.append(position)
    if not texts:
        return batch
    labels, probabilities = label_sentences(model, texts, min_score)
    classes = [str(c) for c in model.classes_]
    encode = _ENCODERS[output_format](classes)
    if summaries:
        # The probability of each sentence's own label, in one gather rather than per sentence.
        own = probabilities[np.arange(len(labels)), [classes.index(label) for label in labels]].tolist()
    out = []
    row = 0
    for article, sentences in split:
        end = row + len(sentences)
        out.append(encode(article, sentences, labels[row:end], probabilities[row:end]))
        if summaries:
            batch.summaries.append(summarise(article, sentences, labels[row:end], own[row:end], classes))
        row = end
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


def summarise(article, sentences, labels, scores, classes) -> dict:
    """One article's summary: counts per label, strongest sentence per signal label, index.

    ``scores`` holds the probability of each sentence's own label.
    """
    signals = ArticleSignals(classes)
    for i, (sentence, label, score) in enumerate(zip(sentences, labels, scores)):
        signals.add(i, label, score, sentence.text)
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


# An encoder turns one article's sentences, labels and probabilities (an array with one row
# per sentence) into its output records.


def _jsonl_encoder(classes):
    # Filled in with bytes formatting rather than a dict per sentence and orjson: this is
    # the hottest loop of a scoring run, and the template halves its cost. orjson writes the
    # floats (the shortest text that reads back exactly, as repr does, at a quarter of the
    # cost) and escapes the strings.
    scores = ",".join(f"{orjson.dumps(c).decode()}:%b" for c in classes)
    template = ('{"article_id":%b,"sentence":%d,"start":%d,"end":%d,"text":%b,"label":%b,'
                f'"scores":{{{scores}}}%b}}\n').encode()
    label_json = {c: orjson.dumps(c) for c in classes}
    dumps = orjson.dumps

    def encode(article, sentences, labels, probabilities):
        article_id = dumps(article.id)
        date = b',"date":' + dumps(article.date) if article.date else b""
        # "[[p, ...], [p, ...]]" cut into one "p,...,p" per sentence.
        rows = dumps(probabilities, option=orjson.OPT_SERIALIZE_NUMPY)[2:-2].split(b"],[")
        return b"".join([
            template % (article_id, i, start, end, dumps(text), label_json[label], *row.split(b","), date)
            for i, ((start, end, text), label, row) in enumerate(zip(sentences, labels, rows))
        ])

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
    def encode(article, sentences, labels, probabilities):
        date = article.date or ""
        return b"".join(
            _csv_row([article.id, i, start, end, text, label, *map(repr, probs), date])
            for i, ((start, end, text), label, probs) in enumerate(zip(sentences, labels, probabilities.tolist()))
        )

    return encode


def _table_encoder(classes):
    def encode(article, sentences, labels, probabilities):
        return "".join(
            f"{label:<22} {probs[classes.index(label)]:.2f}  {sentence.text}\n"
            for sentence, label, probs in zip(sentences, labels, probabilities.tolist())
        ).encode("utf-8")

    return encode


_ENCODERS = {"jsonl": _jsonl_encoder, "csv": _csv_encoder, "table": _table_encoder}
OUTPUT_FORMATS = tuple(_ENCODERS)
