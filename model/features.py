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
        # Column of each term, plus the sentinel (-2); one dict, as it is the largest object
        # a scoring process holds.
        self._lookup = {term: i for i, term in enumerate(self.vocabulary)}
        self._lookup[self._SENTINEL] = -2
        # With min_df as the only pruning, a text containing an n-gram contains each of its
        # words, so every word of a known n-gram is a known word too. Then only runs of known
        # words need their n-grams built and looked up. Checked, not assumed: a vocabulary
        # pruned otherwise falls back to looking up every n-gram.
        self._closed = low == 1 and all(
            word in self._lookup for term in self.vocabulary if " " in term for word in term.split(" ")
        )
        self.idf = np.asarray(idf, dtype=np.float64)
        self.ngram_range = (low, high)
        self.sublinear_tf = sublinear_tf
        self.norm = norm
        self._tokenize = re.compile(TOKEN_PATTERN).findall

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
        # One tokenizer call and one vocabulary pass for the whole batch, in C, instead of a
        # Python loop per text: the sentinel marks where each text ends.
        tokens = self._tokenize(f" {self._SENTINEL} ".join(t.lower() for t in texts))
        lookup = self._lookup.get
        words = np.fromiter(map(lookup, tokens, itertools.repeat(-1)), np.int64, len(tokens))
        breaks = np.flatnonzero(words == -2)
        # Words an n-gram may start or continue with; never the sentinel, so no n-gram spans
        # two texts.
        usable = words >= 0 if self._closed else words != -2
        low, high = self.ngram_range
        ids = [words] if low == 1 else []
        starts = [np.arange(len(tokens), dtype=np.int64)] if low == 1 else []
        for n in range(max(low, 2), high + 1):
            run = usable[: len(tokens) - n + 1].copy()
            for k in range(1, n):
                run &= usable[k : len(tokens) - n + 1 + k]
            at = np.flatnonzero(run)
            if n == 2:
                grams = [tokens[i] + " " + tokens[i + 1] for i in at.tolist()]
            else:
                grams = [" ".join(tokens[i : i + n]) for i in at.tolist()]
            ids.append(np.fromiter(map(lookup, grams, itertools.repeat(-1)), np.int64, len(grams)))
            starts.append(at)
        ids_a, starts_a = np.concatenate(ids), np.concatenate(starts)
        known = ids_a >= 0
        rows = np.searchsorted(breaks, starts_a[known])  # text of each n-gram: breaks before it
        # Count each (row, term) pair in one sort.
        keys, counts = np.unique(rows * n_features + ids_a[known], return_counts=True)
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
    return _row_sums(weights[rows.indices] * rows.data[:, None], rows.indptr) + intercept
