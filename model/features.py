"""TF-IDF features computed with numpy alone.

:class:`TfidfFeatures` reproduces scikit-learn's ``TfidfVectorizer`` (word analyzer,
lower-casing, the default token pattern, n-grams, sublinear tf, idf weighting, L2
normalisation) from a vocabulary and an idf vector, so that a model trained with
scikit-learn predicts without it. ``tests/test_parity.py`` holds the two to 1e-9.

Rows are returned in CSR form as three flat arrays rather than a sparse matrix class, which
keeps scipy out of the prediction path: the linear layer only needs a gather and a segment
sum (see :func:`linear_scores`).
"""

from __future__ import annotations

import itertools
import re
from typing import Iterable, NamedTuple, Sequence

import numpy as np

#: scikit-learn's default ``token_pattern``.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
# The same tokens, found a quarter faster: a greedy run of two or more word characters can
# only start where a run starts and end where it ends, so the word boundaries are implied.
_TOKENS = re.compile(r"\w\w+")


class SparseRows(NamedTuple):
    """A batch of feature rows in CSR layout: row ``i`` is ``indices/data[indptr[i]:indptr[i+1]]``."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1


class TfidfFeatures:
    """Word n-gram TF-IDF features, equal to a fitted ``TfidfVectorizer``.

    The vectorizer must have lower-cased its input and used the default token pattern
    (what :mod:`escalation_training` always fits): batches are scored as one lower-cased
    stream with an upper-case sentinel between texts, which no lower-cased text can hold.

    Parameters
    ----------
    vocabulary : sequence of str
        Feature names in column order (``get_feature_names_out()`` of the vectorizer).
    idf : ndarray of shape (n_features,)
        The vectorizer's ``idf_``.
    ngram_range : tuple of int, default=(1, 2)
        Smallest and largest word n-gram.
    sublinear_tf : bool, default=True
        Replace a term count ``c`` by ``1 + log(c)``.
    norm : {"l2", None}, default="l2"
    """

    lowercase = True
    token_pattern = TOKEN_PATTERN
    _SENTINEL = "ZZTEXTBREAKZZ"

    def __init__(
        self,
        vocabulary: Sequence[str],
        idf: np.ndarray,
        ngram_range: tuple[int, int] = (1, 2),
        sublinear_tf: bool = True,
        norm: str | None = "l2",
    ):
        if len(vocabulary) != len(idf):
            raise ValueError(
                f"vocabulary has {len(vocabulary)} terms but idf has {len(idf)} values"
            )
        if norm not in ("l2", None):
            raise ValueError(f"unsupported norm {norm!r}")
        low, high = int(ngram_range[0]), int(ngram_range[1])
        if not 1 <= low <= high:
            raise ValueError(f"bad ngram_range {ngram_range!r}")
        self.vocabulary = list(vocabulary)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.ngram_range = (low, high)
        self.sublinear_tf = sublinear_tf
        self.norm = norm
        self._tokenize = _TOKENS.findall
        self._build_trie()

    def _build_trie(self) -> None:
        """Index the vocabulary as a trie of word ids held in numpy arrays.

        Building an n-gram string per position and hashing it cost more than tokenizing;
        with the trie, words are looked up once and every longer n-gram is found by a
        vectorised hash lookup of ``(node of its first n-1 words, id of its last word)``.
        Node ids ``0 .. n_words-1`` are the words themselves; each longer prefix of a term
        gets the next free id. ``_column[node]`` is the node's feature column, or -1 for a
        prefix that is not itself a feature.
        """
        vocabulary = self.vocabulary
        n_terms = len(vocabulary)
        length = np.fromiter(map(str.count, vocabulary, itertools.repeat(" ")), np.int64, n_terms) + 1
        # Words are numbered as they are met, one term at a time: a list of every word of
        # every term would hold ~10 MB of strings at once, and the high-water mark stays in
        # each scoring process's resident memory.
        self._word_id = {}
        number = self._word_id.setdefault
        word = np.fromiter(
            (number(w, len(self._word_id)) for term in vocabulary for w in term.split(" ")),
            np.int64,
            int(length.sum()),
        )
        n_words = len(self._word_id)
        first = np.cumsum(length) - length  # position of each term's first word in `word`
        node = word[first]  # deepest node reached so far on each term's path
        keys, children, n_nodes = [np.empty(0, np.int64)], [np.empty(0, np.int64)], n_words
        for depth in range(2, int(length.max(initial=1)) + 1):
            longer = np.flatnonzero(length >= depth)
            edge, new_node = np.unique(
                node[longer] * n_words + word[first[longer] + depth - 1], return_inverse=True
            )
            keys.append(edge)
            children.append(np.arange(n_nodes, n_nodes + len(edge)))
            node[longer] = children[-1][new_node]
            n_nodes += len(edge)
        self._column = np.full(n_nodes, -1, dtype=np.int64)
        self._column[node] = np.arange(n_terms)
        self._n_words = n_words
        self._edges = _HashTable(np.concatenate(keys), np.concatenate(children))
        # The sentinel's id (-2) stops every n-gram at a text boundary, like an unknown word.
        self._word_id[self._SENTINEL] = -2

    def get_feature_names_out(self) -> np.ndarray:
        """Feature names in column order, as scikit-learn's vectorizers return them."""
        return np.asarray(self.vocabulary, dtype=object)

    def transform(self, texts: Iterable[str]) -> SparseRows:
        """TF-IDF rows for ``texts``.

        Parameters
        ----------
        texts : iterable of str

        Returns
        -------
        SparseRows
            One row per text, column indices sorted; terms outside the vocabulary are ignored.
        """
        texts = list(texts)
        n_rows, n_features = len(texts), len(self.vocabulary)
        # One tokenizer call and one dictionary pass for the whole batch, in C, instead of a
        # Python loop per text: the sentinel marks where each text ends.
        tokens = self._tokenize(f" {self._SENTINEL} ".join(t.lower() for t in texts))
        words = np.fromiter(
            map(self._word_id.get, tokens, itertools.repeat(-1)), np.int64, len(tokens)
        )
        text_of = np.cumsum(words == -2)  # text each token belongs to
        low, high = self.ngram_range
        node = words  # node[i]: trie node of the n-gram starting at token i, or < 0
        found_cols, found_starts = [], []
        for n in range(1, high + 1):
            if n > 1:
                node = self._child(node[:-1], words[n - 1 :])
            if n >= low:
                at = np.flatnonzero(node >= 0)
                col = self._column[node[at]]
                known = col >= 0
                found_cols.append(col[known])
                found_starts.append(at[known])
        cols, starts = np.concatenate(found_cols), np.concatenate(found_starts)
        # Count each (text, term) pair in one sort, of 32-bit keys where they fit: twice as
        # fast as 64-bit.
        key_type = np.int32 if n_rows * n_features < 2**31 else np.int64
        keys, counts = np.unique(
            text_of[starts].astype(key_type) * key_type(n_features) + cols.astype(key_type),
            return_counts=True,
        )
        row_of, indices = np.divmod(keys, n_features)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=n_rows), out=indptr[1:])
        data = counts.astype(np.float64)
        if self.sublinear_tf:
            np.log(data, out=data)
            data += 1.0
        data *= self.idf[indices]
        if self.norm == "l2" and len(data):
            norms = np.sqrt(_row_sums(data * data, indptr))
            norms[norms == 0.0] = 1.0
            data /= np.repeat(norms, np.diff(indptr))
        return SparseRows(indptr, indices, data)

    def _child(self, parents: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Trie node reached from each parent by the word after it; -1 where there is none."""
        child = np.full(len(parents), -1, dtype=np.int64)
        at = np.flatnonzero((parents >= 0) & (words >= 0))
        child[at] = self._edges.get(parents[at] * self._n_words + words[at])
        return child


class _HashTable:
    """A read-only map of non-negative int64 keys to int64 values, looked up many at a time.

    Open addressing with linear probing in a table at most half full, so that most keys sit
    in their home slot: a lookup costs one or two gathers where a binary search over the
    sorted keys cost seventeen (the trie's edge lookups took a quarter of the transform).
    """

    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: 2**64 / golden ratio

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        self._bits = max(1, (2 * len(keys)).bit_length())
        size = 1 << self._bits
        self._keys = np.full(size, -1, dtype=np.int64)
        self._values = np.full(size, -1, dtype=np.int64)
        slots = self._home(keys)
        waiting = np.arange(len(keys))
        # Insert in rounds: each waiting key takes its slot if free (the first of several
        # keys that want the same free slot wins), the rest move one slot on. Slots are
        # never freed, so a lookup that meets an empty slot has passed every place its key
        # could be.
        while len(waiting):
            free = waiting[self._keys[slots[waiting]] < 0]
            taken, first = np.unique(slots[free], return_index=True)
            winners = free[first]
            self._keys[taken] = keys[winners]
            self._values[taken] = values[winners]
            waiting = np.setdiff1d(waiting, winners, assume_unique=True)
            slots[waiting] = (slots[waiting] + 1) & (size - 1)

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * self._MULTIPLIER) >> np.uint64(64 - self._bits)).astype(np.int64)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, or -1 for a key not in the table."""
        values = np.full(len(keys), -1, dtype=np.int64)
        at = np.arange(len(keys))
        slots = self._home(keys)
        mask = len(self._keys) - 1
        while len(at):
            found = self._keys[slots]
            hit = found == keys
            values[at[hit]] = self._values[slots[hit]]
            # Probe on where the slot holds another key; an empty slot ends the search.
            on = ~hit & (found >= 0)
            at, keys, slots = at[on], keys[on], (slots[on] + 1) & mask
        return values


def _row_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Sum ``values`` (1-D, or 2-D with one row per stored entry) over each CSR row."""
    out = np.zeros((len(indptr) - 1,) + values.shape[1:], dtype=np.float64)
    nonempty = indptr[1:] > indptr[:-1]
    # reduceat misreads empty segments, so only non-empty rows are reduced.
    out[nonempty] = np.add.reduceat(values, indptr[:-1][nonempty], axis=0)
    return out


def linear_scores(rows: SparseRows, weights: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """``X @ weights + intercept`` for CSR rows ``X``.

    Parameters
    ----------
    rows : SparseRows
    weights : ndarray of shape (n_features, n_classes)
        Row-major, so that gathering the weights of a row's terms reads contiguous memory.
    intercept : ndarray of shape (n_classes,)

    Returns
    -------
    ndarray of shape (n_rows, n_classes)
    """
    terms = weights[rows.indices]
    terms *= rows.data[:, None]  # in place: a second array of this size costs a quarter more
    return _row_sums(terms, rows.indptr) + intercept
