"""Split article text into sentences with character offsets.

Blingfire's finite-state sentence breaker does the splitting: on the seed article it gets
every sentence right (as does syntok) and is about ten times faster than syntok, which
matters when scoring feeds in bulk. It keeps "U.S." or "(Feb.)" inside a sentence and a
closing quote with the sentence it closes. Two of its habits are corrected here, for the
titles and month names that wire copy is full of: it sometimes ends a sentence after a title
that starts the next one ("... Geneva. Dr." + "Ana Ruiz spoke."), and sometimes runs two
sentences together when the second starts with one ("They met. Gen. Milley said no.").

A line break always ends a sentence: link lines such as "Read: ..." and headlines never run
into the paragraph that follows them. Blingfire reads line breaks as spaces, so the whole
article goes to it in one call (one call per line cost more than the splitting itself) and
its sentences are then cut at every line break.
"""

from __future__ import annotations

import bisect
import ctypes
import re
import threading
from typing import NamedTuple

import blingfire

# Titles that come before a name, and month abbreviations: a sentence never ends on them.
# ("St.", "Jr." and "Sr." are left out: they do end sentences, as in "Main St." or "Smith Jr.")
_NEVER_FINAL = (
    "Mr|Mrs|Ms|Dr|Prof|Gen|Lt|Col|Maj|Capt|Cmdr|Adm|Sgt|Cpl|Gov|Sen|Rep|Rev|Fr|Brig|Amb|Pres|Hon"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
# A title at the very end of a span, not the tail of a longer word ("ADr.").
_ENDS_ON_TITLE = re.compile(rf"(?<![\w.])(?:{_NEVER_FINAL})\.$")
# Where a sentence may end before a title and a capitalised name ("... no. Gen. Lee left.").
_BREAK_BEFORE_TITLE = re.compile(rf"[.!?][\"”’)]?(?=\s+(?:{_NEVER_FINAL})\.\s+[A-Z])")
# Tokens whose full stop is an abbreviation's, not a sentence end: titles, months, initials
# and dotted initialisms ("U.S.", "p.m.").
_ABBREVIATION = re.compile(rf"(?:{_NEVER_FINAL}|St|Jr|Sr|No|[A-Za-z]|(?:[A-Za-z]\.)+[A-Za-z])\.")
# What str.splitlines breaks on ("\r\n" gives an empty piece between its two, dropped later).
_LINE_BREAK_CHARS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


class Sentence(NamedTuple):
    """One sentence of an article: ``text == article[start:end]``."""

    start: int
    end: int
    text: str


# Makes a Sentence without the Python-level __new__ of a NamedTuple: half the cost.
_new_tuple = tuple.__new__


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
    if not text or text.isspace():
        return []
    # Same length as text, so blingfire's sentences keep their offsets.
    flat = text
    for char in _LINE_BREAK_CHARS:
        if char in flat:  # a fast scan; str.translate or a regex costs several times more
            flat = flat.replace(char, " ")
    spans = _blingfire_spans(flat)
    breaks = _line_breaks(text) if flat is not text else []
    if breaks:
        spans = _cut_at(spans, breaks)
    return _sentences(text, _fix_titles(text, spans, breaks))


def _sentences(text: str, spans) -> list[Sentence]:
    """The spans as sentences, trimmed so that offsets slice back to exactly the text."""
    sentences = []
    for start, end in spans:
        if end <= start:
            continue
        if text[start].isspace() or text[end - 1].isspace():
            piece = text[start:end]
            left = len(piece) - len(piece.lstrip())
            end = start + len(piece.rstrip())
            start += left
            if end <= start:
                continue
        sentences.append(_new_tuple(Sentence, (start, end, text[start:end])))
    return sentences


def _line_breaks(text: str) -> list[int]:
    """Positions of the line-break characters in ``text`` ("\\r\\n" gives two)."""
    # splitlines finds them at C speed; a regex scan for the same characters is slower.
    breaks, end = [], 0
    for line in text.splitlines(True):
        end += len(line)
        ending = len(line) - len(line.rstrip(_LINE_BREAK_CHARS))
        breaks.extend(range(end - ending, end))
    return breaks


def _blingfire_spans(text: str) -> list[tuple[int, int]]:
    """Blingfire's sentence spans in ``text``.

    Its own offsets function maps UTF-8 offsets back in a Python loop over every byte; the
    sentences it returns are verbatim pieces of the text, so finding each one after the
    last gives the same spans at C speed.
    """
    spans, cursor = [], 0
    for piece in _text_to_sentences(text).split("\n"):
        start = text.find(piece, cursor) if piece else -1
        if start < 0:  # not verbatim after all: take the slow, exact path
            return [tuple(span) for span in blingfire.text_to_sentences_and_offsets(text)[1]]
        cursor = start + len(piece)
        spans.append((start, cursor))
    return spans


_buffers = threading.local()
#: Bytes of the reused output buffer: articles of up to half this much UTF-8 (nearly all)
#: use it; a longer one gets a buffer of its own, so that one huge article does not leave a
#: huge buffer behind for the rest of the run.
_BUFFER_BYTES = 1 << 18


def _text_to_sentences(text: str) -> str:
    """``blingfire.text_to_sentences(text)``, calling its C function with a reused buffer.

    The library's wrapper makes a new zeroed output buffer, twice the size of the input, on
    every call and reads it back up to the first NUL: a sixth of the time spent splitting.
    One buffer per thread, because ctypes releases the GIL during the call.
    """
    data = text.encode("utf-8")
    size = 2 * len(data) + 1
    if size <= _BUFFER_BYTES:
        buffer = getattr(_buffers, "output", None)
        if buffer is None:
            buffer = _buffers.output = ctypes.create_string_buffer(_BUFFER_BYTES)
    else:
        buffer = ctypes.create_string_buffer(size)
    length = blingfire.blingfire.TextToSentences(data, len(data), buffer, len(buffer))
    if not 0 < length <= len(buffer):  # blingfire's own wrapper returns "" on failure too
        return ""
    return ctypes.string_at(buffer, length - 1).decode("utf-8")  # length counts the NUL


def _cut_at(spans: list[tuple[int, int]], breaks: list[int]) -> list[tuple[int, int]]:
    """Cut spans at each line-break position inside them."""
    out = []
    for start, end in spans:
        i = bisect.bisect_left(breaks, start)
        while i < len(breaks) and breaks[i] < end:
            out.append((start, breaks[i]))
            start = breaks[i] + 1
            i += 1
        out.append((start, end))
    return out


def _fix_titles(text: str, spans, breaks: list[int]) -> list[tuple[int, int]]:
    """Join a sentence that ends on a title to the next on its line; split before a title
    that blingfire ran into the previous sentence."""
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and _ends_on_title(text, *merged[-1]) and not _has_break(breaks, merged[-1][1], start):
            merged[-1][1] = end
        else:
            merged.append([start, end])
    # One scan of the whole text; a missed break is rare.
    cuts = [
        match.end()
        for match in _BREAK_BEFORE_TITLE.finditer(text)
        if not _ABBREVIATION.fullmatch(_last_word(text, max(0, match.start() - 20), match.start() + 1))
    ]
    if not cuts:
        return merged
    fixed = []
    for start, end in merged:
        i = bisect.bisect_right(cuts, start)
        while i < len(cuts) and cuts[i] < end:
            fixed.append((start, cuts[i]))
            start = cuts[i]
            i += 1
        fixed.append((start, end))
    return fixed


def _ends_on_title(text: str, start: int, end: int) -> bool:
    # Every title starts with a capital within the four characters before its full stop, so
    # the regex runs only when those are not all lower case; its look-behind sees the
    # character before the window, so a short window is enough.
    return (
        text[end - 1] == "."
        and not text[max(start, end - 5) : end - 1].islower()
        and _ENDS_ON_TITLE.search(text, max(start, end - 6), end) is not None
    )


def _has_break(breaks: list[int], start: int, end: int) -> bool:
    i = bisect.bisect_left(breaks, start)
    return i < len(breaks) and breaks[i] < end


def _last_word(text: str, start: int, end: int) -> str:
    """The last white-space separated word of ``text[start:end]``, opening punctuation removed."""
    words = text[start:end].rsplit(None, 1)
    return words[-1].lstrip("\"“‘([") if words else ""
