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

    Parameters
    ----------
    vocabulary : sequence of str
        Feature names in column order (``get_feature_names_out()`` of the vectorizer).
    idf : ndarray of shape (n_features,)
        The vectorizer's ``idf_``.
    ngram_range : tuple of int, default=(1, 2)
        Smallest and largest word n-gram.
    lowercase : bool, default=True
    sublinear_tf : bool, default=True
        Replace a term count ``c`` by ``1 + log(c)``.
    norm : {"l2", None}, default="l2"
    token_pattern : str, default=TOKEN_PATTERN
    """

    def __init__(
        self,
        vocabulary: Sequence[str],
        idf: np.ndarray,
        ngram_range: tuple[int, int] = (1, 2),
        lowercase: bool = True,
        sublinear_tf: bool = True,
        norm: str | None = "l2",
        token_pattern: str = TOKEN_PATTERN,
    ):
        if len(vocabulary) != len(idf):
            raise ValueError(
                f"vocabulary has {len(vocabulary)} terms but idf has {len(idf)} values"
            )
        if norm not in ("l2", None):
            raise ValueError(f"unsupported norm {norm!r}")
        self.vocabulary = list(vocabulary)
        self.index = {term: i for i, term in enumerate(self.vocabulary)}
        self.idf = np.asarray(idf, dtype=np.float64)
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.lowercase = lowercase
        self.sublinear_tf = sublinear_tf
        self.norm = norm
        self.token_pattern = token_pattern
        self._tokenize = re.compile(token_pattern).findall

    def get_feature_names_out(self) -> np.ndarray:
        """Feature names in column order, as scikit-learn's vectorizers return them."""
        return np.asarray(self.vocabulary, dtype=object)

    def terms(self, text: str) -> list[str]:
        """The word n-grams of ``text``, in order, whether or not they are in the vocabulary."""
        tokens = self._tokenize(text.lower() if self.lowercase else text)
        low, high = self.ngram_range
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), high + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams

    def transform(self, texts: Iterable[str]) -> SparseRows:
        """TF-IDF rows for ``texts``.

        Parameters
        ----------
        texts : iterable of str

        Returns
        -------
        SparseRows
            One row per text; terms outside the vocabulary are ignored.
        """
        index_get = self.index.get
        indptr = [0]
        indices: list[int] = []
        counts: list[int] = []
        for text in texts:
            row: dict[int, int] = {}
            for term in self.terms(text):
                j = index_get(term)
                if j is not None:
                    row[j] = row.get(j, 0) + 1
            indices.extend(row)
            counts.extend(row.values())
            indptr.append(len(indices))
        indptr_a = np.asarray(indptr, dtype=np.int64)
        indices_a = np.asarray(indices, dtype=np.int64)
        data = np.asarray(counts, dtype=np.float64)
        if self.sublinear_tf:
            np.log(data, out=data)
            data += 1.0
        data *= self.idf[indices_a]
        if self.norm == "l2" and len(data):
            norms = np.sqrt(_row_sums(data * data, indptr_a))
            norms[norms == 0.0] = 1.0
            data /= np.repeat(norms, np.diff(indptr_a))
        return SparseRows(indptr_a, indices_a, data)


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
