"""Read articles from JSON Lines, CSV, plain text files or folders, and RSS/Atom feeds.

Every reader yields, in input order, either an :class:`Article` or a :class:`Rejected`
record naming the file, the line (or feed entry) and the reason, so a batch job can account
for every input record. A file that cannot be read at all raises :class:`InputError`.
Readers stream: memory does not grow with the size of a JSON Lines, CSV or text input.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Union

import orjson

FORMATS = ("jsonl", "csv", "text", "feed")
_EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv",
    ".txt": "text",
    ".xml": "feed", ".rss": "feed", ".atom": "feed",
}


class InputError(Exception):
    """An input that cannot be read at all (missing, a folder given as a file, not a feed)."""


@dataclass
class Article:
    id: str
    text: str
    file: str
    line: int  #: where the record starts: line number, or entry number for feeds
    unit: str = "line"
    date: str | None = None
    title: str | None = None
    source: str | None = None
    url: str | None = None


@dataclass
class Rejected:
    file: str
    line: int  #: line number, or entry number for feeds (``unit == "entry"``)
    reason: str
    unit: str = "line"

    def to_dict(self) -> dict:
        return {"file": self.file, self.unit: self.line, "reason": self.reason}


Record = Union[Article, Rejected]


@dataclass(frozen=True)
class Fields:
    """Names of the input fields holding an article's id, text and date."""

    id: str = "id"
    text: str = "text"
    date: str = "date"


def detect_format(path: str) -> str:
    """The format of ``path`` from its extension (``-`` is JSON Lines on stdin)."""
    if path == "-":
        return "jsonl"
    p = Path(path)
    if p.is_dir():
        return "text"
    try:
        return _EXTENSIONS[p.suffix.lower()]
    except KeyError:
        raise InputError(
            f"{path}: cannot tell the format from the extension; use --format "
            f"({', '.join(FORMATS)})"
        ) from None


def check_inputs(paths: Iterable[str], fmt: str | None = None) -> None:
    """Fail before any output is written if an input cannot be read at all.

    Raises
    ------
    InputError
        For a missing path, a folder given as a file, or an unknown extension.
    """
    for path in paths:
        if path == "-":
            continue
        kind = fmt or detect_format(path)
        p = Path(path)
        if not p.exists():
            raise InputError(f"{path}: cannot read (No such file or directory)")
        if p.is_dir() and kind != "text":
            raise InputError(f"{path}: is a folder, not a file")
        if not os.access(p, os.R_OK):
            raise InputError(f"{path}: cannot read (Permission denied)")


def read_inputs(
    paths: Iterable[str], fmt: str | None = None, fields: Fields = Fields(), date: str | None = None
) -> Iterator[Record]:
    """Read every input in turn.

    Parameters
    ----------
    paths : iterable of str
        Files, folders of ``.txt`` files, or ``-`` for JSON Lines on stdin.
    fmt : {"jsonl", "csv", "text", "feed"}, optional
        Format of all inputs; by default taken from each extension.
    fields : Fields
        Field names for JSON Lines and CSV.
    date : str, optional
        Date given to plain-text articles.

    Yields
    ------
    Article or Rejected
    """
    for path in paths:
        kind = fmt or detect_format(path)
        if kind == "jsonl":
            yield from read_jsonl(path, fields)
        elif kind == "csv":
            yield from read_csv(path, fields)
        elif kind == "text":
            yield from read_text(path, date)
        elif kind == "feed":
            yield from read_feed(path)
        else:
            raise InputError(f"{path}: unknown format {kind!r}")


def _open_binary(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    try:
        return open(p, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def article_from_record(record: dict, fields: Fields, path: str, line: int) -> Record:
    """An Article from a decoded record, or the reason it is rejected."""
    text = record.get(fields.text)
    if fields.text not in record or text is None:
        return Rejected(path, line, f"missing field {fields.text!r}")
    if not isinstance(text, str):
        return Rejected(path, line, f"field {fields.text!r} is {type(text).__name__}, not a string")
    if not text.strip():
        return Rejected(path, line, f"empty {fields.text!r}")
    article_id = record.get(fields.id)
    if article_id is None or article_id == "":
        article_id = f"{path}:{line}"
    elif not isinstance(article_id, (str, int)):
        return Rejected(path, line, f"field {fields.id!r} is {type(article_id).__name__}, not a string")
    extras = {}
    for key, name in (("date", fields.date), ("title", "title"), ("source", "source"), ("url", "url")):
        value = record.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            return Rejected(path, line, f"field {name!r} is {type(value).__name__}, not a string")
        extras[key] = value
    return Article(str(article_id), text, path, line, **extras)


def read_jsonl(path: str, fields: Fields = Fields()) -> Iterator[Record]:
    """Articles from a JSON Lines file, one object per line (blank lines are skipped)."""
    stream = _open_binary(path)
    try:
        yield from _jsonl_records(stream, path, fields)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def read_jsonl_block(
    path: str, start: int, end: int, first_line: int, fields: Fields = Fields()
) -> Iterator[Record]:
    """Articles from the lines of a JSON Lines file that lie in bytes ``[start, end)``.

    ``start`` and ``end`` must be line starts (or the end of the file), and ``first_line``
    the line number at ``start``, so records are numbered as :func:`read_jsonl` numbers them.
    """
    stream = _open_binary(path)
    try:
        stream.seek(start)
        yield from _jsonl_records(_lines_until(stream, end - start), path, fields, first_line)
    finally:
        stream.close()


def _lines_until(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """The lines of ``stream`` that start within its next ``size`` bytes."""
    for raw in stream:
        if size <= 0:
            return
        size -= len(raw)
        yield raw


def _jsonl_records(lines: Iterable[bytes], path: str, fields: Fields, first_line: int = 1) -> Iterator[Record]:
    for number, raw in enumerate(lines, start=first_line):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            reason = (
                "not valid UTF-8" if "utf-8" in exc.msg.lower()
                else f"invalid JSON ({exc.msg} at column {exc.colno})"
            )
            yield Rejected(path, number, reason)
            continue
        if not isinstance(record, dict):
            yield Rejected(path, number, f"expected a JSON object, got {type(record).__name__}")
            continue
        yield article_from_record(record, fields, path, number)


def read_csv(path: str, fields: Fields = Fields()) -> Iterator[Record]:
    """Articles from a CSV file with a header row."""
    stream = _open_binary(path)
    # surrogateescape lets a row with undecodable bytes be rejected alone.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}:1: unreadable CSV header ({exc})") from None
        if fields.text not in header:
            raise InputError(f"{path}:1: no {fields.text!r} column (header: {','.join(header)})")
        line = reader.line_num
        while True:
            start = line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = reader.line_num
                yield Rejected(path, start, f"malformed CSV ({exc})")
                continue
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                yield Rejected(path, start, f"expected {len(header)} fields, got {len(row)}")
                continue
            if any(_undecodable(value) for value in row):
                yield Rejected(path, start, "not valid UTF-8")
                continue
            yield article_from_record(dict(zip(header, row)), fields, path, start)
    finally:
        text.detach()
        stream.close()


def _undecodable(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def read_text(path: str, date: str | None = None) -> Iterator[Record]:
    """One article per ``.txt`` file; a folder is read recursively in sorted order.

    The id is the path relative to the folder (or the file name for a single file).
    """
    for file, name in text_files(path):
        yield read_text_file(file, name, date)


def text_files(path: str) -> list[tuple[Path, str]]:
    """The ``.txt`` files :func:`read_text` reads from ``path``, in order, with their ids."""
    root = Path(path)
    if root.is_dir():
        files = sorted(p for p in root.rglob("*.txt") if p.is_file())
        return [(p, p.relative_to(root).as_posix()) for p in files]
    if root.exists():
        return [(root, root.name)]
    raise InputError(f"{path}: no such file or folder")


def read_text_file(file: Path, name: str, date: str | None = None) -> Record:
    """One ``.txt`` file as an article with id ``name``, or the reason it is rejected."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        return Rejected(str(file), 0, f"cannot read ({exc.strerror or exc})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Rejected(str(file), line, "not valid UTF-8")
    if not text.strip():
        return Rejected(str(file), 1, "empty file")
    return Article(name, text, str(file), 1, date=date)


class _TextOnly(HTMLParser):
    """Collect the text of an HTML fragment, with block elements as line breaks."""

    BLOCKS = {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def strip_html(fragment: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, one paragraph a line."""
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def read_feed(path: str) -> Iterator[Record]:
    """One article per RSS or Atom entry, parsed with feedparser.

    The id is the entry's id or link, the date its published (or updated) date as ISO 8601,
    and the text its content (or summary) with HTML stripped, after its title.
    """
    import feedparser  # only feeds need it

    stream = _open_binary(path)
    try:
        raw = stream.read()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    feed = feedparser.parse(raw)
    if not feed.entries and (feed.bozo or not feed.version):
        reason = getattr(feed, "bozo_exception", None) or "no RSS or Atom entries"
        raise InputError(f"{path}: not a feed ({reason})")
    for number, entry in enumerate(feed.entries, start=1):
        body = ""
        if entry.get("content"):
            body = " ".join(part.get("value", "") for part in entry.content)
        elif entry.get("summary"):
            body = entry.summary
        title = strip_html(entry.get("title", "")) or None
        text = "\n".join(part for part in (title, strip_html(body)) if part)
        if not text.strip():
            yield Rejected(path, number, "entry has no title, content or summary", "entry")
            continue
        article_id = entry.get("id") or entry.get("link")
        if not article_id:
            yield Rejected(path, number, "entry has no id or link", "entry")
            continue
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        date = "%04d-%02d-%02dT%02d:%02d:%02dZ" % tuple(parsed[:6]) if parsed else None
        yield Article(article_id, text, path, number, "entry", date=date, title=title,
                      source=feed.feed.get("title"), url=entry.get("link"))
