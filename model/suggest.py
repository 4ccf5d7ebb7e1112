"""Pick the sentences the model is least sure of, for a person to label next.

Uncertainty sampling: a sentence whose top two label probabilities are close (a small
*margin*) is one where a label teaches the model the most. Near-duplicates are skipped,
since labelling the same wire sentence twice teaches nothing twice: two sentences count as
near-duplicates when they are identical after :func:`normalise` or when their word 5-gram
sets overlap with a Jaccard index of 0.5 or more.

Inputs can be far larger than memory, so sentences are scored in chunks and only a bounded
pool of the best candidates is kept (:class:`Selector`). Numpy only, like the rest of the
runtime.
"""

from __future__ import annotations

import csv
import heapq
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

import numpy as np

from .classifier import SignalClassifier
from .duplicates import normalise, shingles
from .readers import Article, Rejected
from .sentences import split_sentences

#: Jaccard index of shingle sets at or above which two sentences are near-duplicates.
NEAR_DUPLICATE = 0.5
#: Sentences scored per call to the model.
CHUNK_SENTENCES = 2048
#: Columns of the CSV that ``escalation train`` reads back once ``label`` is filled in.
COLUMNS = ("id", "text", "guess", "margin", "label", "context")


@dataclass
class Candidate:
    """A sentence offered for labelling.

    ``order`` is the sentence's position in the input; it breaks ties between equal margins
    (the earlier sentence wins), so the selection does not depend on anything but the input.
    """

    id: str
    text: str
    context: str
    guess: str
    margin: float
    order: int
    key: str = field(default="", repr=False)
    shingles: frozenset = field(default=frozenset(), repr=False)

    @property
    def rank(self) -> tuple[float, int]:
        """Sort key: smallest margin first, then input order."""
        return (self.margin, self.order)

    def row(self) -> dict:
        """The CSV row, with an empty ``label`` to fill in."""
        return {"id": self.id, "text": self.text, "guess": self.guess,
                "margin": f"{self.margin:.6f}", "label": "", "context": self.context}


class Selector:
    """Keep the ``n`` lowest-margin sentences of a stream, no two of them near-duplicates.

    Holds at most ``pool`` candidates (default ``2 * n``, at least ``n + 50``), pairwise not
    near-duplicates, whatever the length of the stream. A new sentence is dropped if a kept
    near-duplicate ranks before it, and otherwise replaces all its kept near-duplicates. The
    result is the greedy selection (walk all sentences from the smallest margin, skip
    near-duplicates of any taken) except in rare chains, where a dropped sentence's twin is
    itself later displaced by a third sentence the dropped one does not resemble. The spare
    pool refills the places that displaced twins leave, so the result keeps ``n`` sentences.

    Parameters
    ----------
    n : int
        How many sentences to select.
    pool : int, optional
        How many candidates to keep while streaming.
    threshold : float, default=0.5
        Jaccard index of word 5-gram sets at which two sentences are near-duplicates.
    """

    def __init__(self, n: int, pool: int | None = None, threshold: float = NEAR_DUPLICATE):
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self.n = n
        self.pool = max(pool if pool is not None else max(2 * n, n + 50), n)
        self.threshold = threshold
        self._members: dict[int, Candidate] = {}  # by order
        self._by_key: dict[str, int] = {}
        self._by_shingle: dict[tuple, set[int]] = {}
        # Max-heap of (-margin, -order) with lazy deletion: the worst member is on top.
        self._heap: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self._members)

    def offer(self, candidate: Candidate) -> None:
        """Consider one sentence; keep it if it is among the best so far."""
        if len(self._members) >= self.pool and candidate.rank >= self._worst().rank:
            return
        if not candidate.key:
            candidate.key = normalise(candidate.text)
        if not candidate.shingles:
            candidate.shingles = shingles(candidate.key)
        twins = self._near_duplicates(candidate)
        if any(twin.rank < candidate.rank for twin in twins):
            return
        for twin in twins:
            self._remove(twin)
        self._add(candidate)
        while len(self._members) > self.pool:
            self._remove(self._worst())

    def result(self) -> list[Candidate]:
        """The selected sentences, smallest margin first."""
        return sorted(self._members.values(), key=lambda c: c.rank)[: self.n]

    def _near_duplicates(self, candidate: Candidate) -> list[Candidate]:
        found = set()
        if candidate.key in self._by_key:
            found.add(self._by_key[candidate.key])
        # Only members sharing a shingle can reach the threshold; counting shared shingles
        # through the index gives each one's Jaccard index without building set unions.
        shared: dict[int, int] = {}
        for shingle in candidate.shingles:
            for order in self._by_shingle.get(shingle, ()):
                shared[order] = shared.get(order, 0) + 1
        size = len(candidate.shingles)
        for order, common in shared.items():
            if common / (size + len(self._members[order].shingles) - common) >= self.threshold:
                found.add(order)
        return [self._members[order] for order in sorted(found)]

    def _add(self, candidate: Candidate) -> None:
        self._members[candidate.order] = candidate
        self._by_key[candidate.key] = candidate.order
        for shingle in candidate.shingles:
            self._by_shingle.setdefault(shingle, set()).add(candidate.order)
        heapq.heappush(self._heap, (-candidate.margin, -candidate.order))

    def _remove(self, candidate: Candidate) -> None:
        del self._members[candidate.order]
        if self._by_key.get(candidate.key) == candidate.order:
            del self._by_key[candidate.key]
        for shingle in candidate.shingles:
            holders = self._by_shingle[shingle]
            holders.discard(candidate.order)
            if not holders:
                del self._by_shingle[shingle]
        # The heap entry goes stale; rebuild once stale entries outnumber live ones, so the
        # heap stays within twice the pool.
        if len(self._heap) > 2 * max(len(self._members), self.pool):
            self._heap = [(-c.margin, -c.order) for c in self._members.values()]
            heapq.heapify(self._heap)

    def _worst(self) -> Candidate:
        while True:
            margin, order = self._heap[0]
            member = self._members.get(-order)
            if member is not None and member.margin == -margin:
                return member
            heapq.heappop(self._heap)


def margins(probabilities: np.ndarray) -> np.ndarray:
    """Top probability minus the second, per row."""
    top_two = np.sort(probabilities, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


@dataclass
class Suggestions:
    """What :func:`suggest` chose, and what it read to choose it."""

    candidates: list[Candidate]  #: smallest margin first
    articles: int = 0  #: articles read (rejected records not counted)
    sentences: int = 0  #: sentences scored
    rejected: int = 0  #: records rejected, including articles with no sentence


def suggest(
    model: SignalClassifier,
    records: Iterable[Article | Rejected],
    n: int = 50,
    on_rejected: Callable[[Rejected], None] = lambda record: None,
    pool: int | None = None,
    chunk: int = CHUNK_SENTENCES,
) -> Suggestions:
    """The ``n`` sentences of ``records`` the model is least sure of, no two near-duplicates.

    Parameters
    ----------
    model : SignalClassifier
    records : iterable of Article or Rejected
        As yielded by :func:`escalation.readers.read_inputs`; read once, lazily.
    n : int, default=50
        How many sentences to return.
    on_rejected : callable, optional
        Called with each rejected record, and with a new :class:`Rejected` for an article in
        which no sentence is found.
    pool : int, optional
        Candidates kept while streaming; see :class:`Selector`.
    chunk : int, default=2048
        Sentences scored at a time.

    Returns
    -------
    Suggestions
        Candidates smallest margin first (fewer than ``n`` if the input has fewer distinct
        sentences). A sentence's ``id`` is ``ARTICLE_ID:INDEX`` (its index counting from 0
        within the article, as in ``score``) and its ``context`` the article id, so that
        cross-validation in ``train`` keeps an article's sentences together.
    """
    selector = Selector(n, pool)
    result = Suggestions([])
    classes = [str(c) for c in model.classes_]

    def rejected(record: Rejected) -> None:
        result.rejected += 1
        on_rejected(record)

    for batch in _sentence_chunks(records, rejected, result, chunk):
        probabilities = model.predict_proba([text for _, _, text, _ in batch])
        margin = margins(probabilities)
        guesses = probabilities.argmax(axis=1)
        result.sentences += len(batch)
        for k, (order, (article_id, index), text, key) in enumerate(batch):
            selector.offer(Candidate(f"{article_id}:{index}", text, article_id,
                                     classes[guesses[k]], float(margin[k]), order, key))
    result.candidates = selector.result()
    return result


def write_csv(candidates: Iterable[Candidate], stream: TextIO) -> None:
    """Write ``candidates`` as CSV with :data:`COLUMNS`, ready to label and train on.

    Parameters
    ----------
    candidates : iterable of Candidate
    stream : text file
        Opened with ``newline=""``.
    """
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for candidate in candidates:
        writer.writerow(candidate.row())


def write_csv_file(candidates: Iterable[Candidate], path: str | os.PathLike) -> None:
    """Write :func:`write_csv`'s CSV to ``path`` atomically.

    The file is written beside ``path`` and renamed over it, so ``path`` is never left
    half-written.

    Raises
    ------
    OSError
        If the file cannot be written; nothing is left behind.
    """
    path = Path(path)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write_csv(candidates, fh)
        os.chmod(staging, 0o644)  # mkstemp makes it private; this is a file to share and edit
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def _sentence_chunks(records, on_rejected, counts: Suggestions, size: int) -> Iterator[list]:
    """Lists of ``(order, (article_id, index), text, key)``, at most ``size`` sentences each
    (more only when one article alone has more). Sentences without a word are skipped:
    they have no features to learn from."""
    batch: list = []
    order = 0
    for record in records:
        if isinstance(record, Rejected):
            on_rejected(record)
            continue
        counts.articles += 1
        sentences = split_sentences(record.text)
        if not sentences:
            on_rejected(Rejected(record.file, record.line, "no sentence found in the text", record.unit))
            continue
        for index, sentence in enumerate(sentences):
            key = normalise(sentence.text)
            if key:
                batch.append((order, (record.id, index), sentence.text, key))
            order += 1
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
