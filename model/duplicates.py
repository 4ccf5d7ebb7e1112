"""When two texts count as the same sentence, or as near-duplicates.

One definition for the whole project: training de-duplicates labelled rows with
:func:`normalise`, ``suggest`` keeps near-duplicates out of its picks with :func:`shingles`,
and the corpus tests hold the corpus to the same measure.
"""

from __future__ import annotations

import re
import unicodedata

#: Words per shingle.
SHINGLE_WORDS = 5


def normalise(text: str) -> str:
    """Key under which two texts are the same sentence: case, compatibility forms,
    punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def shingles(key: str, size: int = SHINGLE_WORDS) -> frozenset:
    """The word ``size``-grams of a normalised text; a shorter text is one shingle."""
    words = key.split()
    if len(words) <= size:
        return frozenset([tuple(words)])
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    """Shared shingles over all shingles of the two texts."""
    return len(a & b) / len(a | b)
