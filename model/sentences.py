"""Split article text into sentences with character offsets.

Blingfire's finite-state sentence breaker does the splitting: on the seed article it gets
every sentence right (as does syntok) and is about ten times faster than syntok, which
matters when scoring feeds in bulk. It keeps "U.S." or "(Feb.)" inside a sentence and a
closing quote with the sentence it closes. Two of its habits are corrected here, for the
titles and month names that wire copy is full of: it sometimes ends a sentence after a title
that starts the next one ("... Geneva. Dr." + "Ana Ruiz spoke."), and sometimes runs two
sentences together when the second starts with one ("They met. Gen. Milley said no.").

A line break always ends a sentence, so each line is split on its own: link lines such as
"Read: ..." and headlines never run into the paragraph that follows them.
"""

from __future__ import annotations

import re
from typing import Iterator, NamedTuple

import blingfire

# Titles that come before a name, and month abbreviations: a sentence never ends on them.
# ("St.", "Jr." and "Sr." are left out: they do end sentences, as in "Main St." or "Smith Jr.")
_NEVER_FINAL = (
    "Mr|Mrs|Ms|Dr|Prof|Gen|Lt|Col|Maj|Capt|Cmdr|Adm|Sgt|Cpl|Gov|Sen|Rep|Rev|Fr|Brig|Amb|Pres|Hon"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_TITLE = re.compile(rf"(?:{_NEVER_FINAL})\.")
# Where a sentence may end before a title and a capitalised name ("... no. Gen. Lee left.").
_BREAK_BEFORE_TITLE = re.compile(rf"[.!?][\"”’)]?(?=\s+(?:{_NEVER_FINAL})\.\s+[A-Z])")
# Tokens whose full stop is an abbreviation's, not a sentence end: titles, months, initials
# and dotted initialisms ("U.S.", "p.m.").
_ABBREVIATION = re.compile(rf"(?:{_NEVER_FINAL}|St|Jr|Sr|No|[A-Za-z]|(?:[A-Za-z]\.)+[A-Za-z])\.")


class Sentence(NamedTuple):
    """One sentence of an article: ``text == article[start:end]``."""

    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences with offsets into ``text``.

    Parameters
    ----------
    text : str
        An article, possibly of several lines.

    Returns
    -------
    list of Sentence
        Sentences in order; ``text[s.start:s.end] == s.text`` for each one. Blank lines and
        surrounding white space produce no sentence.

    Examples
    --------
    >>> [s.text for s in split_sentences("Troops moved. Talks resumed.\\nRead: more")]
    ['Troops moved.', 'Talks resumed.', 'Read: more']
    """
    return list(_iter_sentences(text))


def _iter_sentences(text: str) -> Iterator[Sentence]:
    line_start = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            for start, end in _line_spans(line):
                # Trim so that offsets always slice back to exactly the reported text.
                piece = line[start:end]
                left = len(piece) - len(piece.lstrip())
                right = len(piece.rstrip())
                if right > left:
                    yield Sentence(
                        line_start + start + left,
                        line_start + start + right,
                        piece[left:right],
                    )
        line_start += len(line)


def _line_spans(line: str) -> list[tuple[int, int]]:
    """Sentence spans of one line: blingfire's, with the two title fixes applied."""
    # Blingfire's offsets are character offsets into the string it was given.
    _, offsets = blingfire.text_to_sentences_and_offsets(line)
    merged: list[list[int]] = []
    for start, end in offsets:
        if merged and _TITLE.fullmatch(_last_word(line, *merged[-1])):
            merged[-1][1] = end
        else:
            merged.append([start, end])
    spans = []
    for start, end in merged:
        for match in _BREAK_BEFORE_TITLE.finditer(line, start, end):
            if not _ABBREVIATION.fullmatch(_last_word(line, start, match.start() + 1)):
                spans.append((start, match.end()))
                start = match.end()
        spans.append((start, end))
    return spans


def _last_word(line: str, start: int, end: int) -> str:
    """The last white-space separated word of ``line[start:end]``, opening punctuation removed."""
    return line[start:end].rsplit(None, 1)[-1].lstrip("\"“‘([")
