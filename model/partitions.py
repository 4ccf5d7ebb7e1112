"""Split inputs into partitions that workers read on their own, and score one partition.

A partition is a block of lines of a JSON Lines file (a byte range that starts and ends on
line starts, with the line number at its start, so every record keeps its true line number),
a whole CSV, feed or ``.txt`` file, or a group of files of a text folder. Workers open the
paths themselves: the process that plans the partitions reads a few bytes at each block
boundary and lists folders, never records.

CSV files are not split: whether a newline ends a record depends on the quoting of everything
before it (a quoted field may hold newlines, and the csv module takes a stray quote inside an
unquoted field literally), so no byte offset can be known to start a record without parsing
the file from its start. A CSV file is one partition, parsed by :func:`read_csv` as a whole.

:func:`write_part` scores a partition with :func:`escalation.scoring.score_articles`, the
code path of the single-machine ``score``, so the part files of a run, concatenated in
partition order, are the single-machine output byte for byte. Each file of a part is written
under a temporary name and renamed into place, the sentence part last: a part file that
exists is complete, and so are its summary, rejected and stats files.
"""

from __future__ import annotations

import os
import re
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import orjson

from .batch import CHUNK_ARTICLES, Settings, Stats, articles_of, chunked, json_line, tally
from .classifier import SignalClassifier
from .readers import (
    Record,
    detect_format,
    read_csv,
    read_feed,
    read_jsonl_block,
    read_text,
    read_text_file,
    text_files,
)
from .scoring import score_articles

#: Partitions a run aims at, so that work spreads over a cluster whatever the input size...
TARGET_PARTITIONS = 64
#: ...within these bounds on a JSON Lines block: a few seconds to a minute of work per core.
MIN_BLOCK, MAX_BLOCK = 1 << 20, 64 << 20
#: At most this many text files per partition.
MAX_FILES_PER_PART = 1000
#: Bytes read at a time when looking for a line start or counting lines.
_READ = 1 << 20

_OWN_FILE = re.compile(r"^(?:(?:part|summary|rejected)-\d+\.jsonl|stats-\d+\.json|manifest\.json)$")
_OWN_TEMP = re.compile(r"^\.(?:part|summary|rejected|stats)-\d+\.jsonl?\.[0-9a-f]{32}\.tmp$")


@dataclass(frozen=True)
class Partition:
    """One unit of work: what a worker reads, and where.

    Attributes
    ----------
    kind : {"jsonl", "csv", "text", "feed"}
    path : str
        The input as given on the command line.
    start, end : int
        JSON Lines: the byte range ``[start, end)``; other files: ``0`` and the file size.
    first_line : int
        JSON Lines: the line number at ``start``.
    files : tuple of str
        Text folder: the names, relative to ``path``, of this group of files.
    """

    kind: str
    path: str
    start: int = 0
    end: int = 0
    first_line: int = 1
    files: tuple[str, ...] = ()

    def describe(self) -> dict:
        """The partition as the manifest shows it."""
        where = {"input": self.path, "format": self.kind}
        if self.files:
            where["files"] = {"count": len(self.files), "first": self.files[0], "last": self.files[-1]}
        else:
            where["bytes"] = [self.start, self.end]
        if self.kind == "jsonl":
            where["first_line"] = self.first_line
        return where


def part_name(index: int, kind: str = "part") -> str:
    """File name of a partition's sentence (``part``), ``summary``, ``rejected`` or ``stats`` file."""
    return f"{kind}-{index:05d}.json" if kind == "stats" else f"{kind}-{index:05d}.jsonl"


def plan(
    settings: Settings,
    blocksize: int | None = None,
    files_per_part: int | None = None,
    count_lines: Callable[[list[tuple[str, int, int]]], Sequence[int]] | None = None,
) -> list[Partition]:
    """The partitions of a run, in input order.

    Parameters
    ----------
    settings : Settings
    blocksize : int, optional
        Bytes per JSON Lines block; by default the JSON Lines input over
        :data:`TARGET_PARTITIONS`, within :data:`MIN_BLOCK` and :data:`MAX_BLOCK`. It depends
        on the input only, so a resumed run makes the same plan on any cluster.
    files_per_part : int, optional
        Files per text-folder partition; by default each folder over
        :data:`TARGET_PARTITIONS`, at most :data:`MAX_FILES_PER_PART`.
    count_lines : callable, optional
        Maps a list of ``(path, start, end)`` to the newlines in each byte range; by default
        counted here. A cluster passes one that counts on its workers.

    Returns
    -------
    list of Partition
    """
    kinds = [(path, settings.fmt or detect_format(path)) for path in settings.inputs]
    if blocksize is None:
        total = sum(os.path.getsize(path) for path, kind in kinds if kind == "jsonl")
        blocksize = min(max(total // TARGET_PARTITIONS, MIN_BLOCK), MAX_BLOCK)
    partitions: list[Partition] = []
    blocks: list[int] = []  # JSON Lines blocks after a file's first: their line numbers come last
    for path, kind in kinds:
        if kind == "jsonl":
            starts = _line_starts(path, blocksize)
            for k, (start, end) in enumerate(zip(starts, starts[1:])):
                if k:
                    blocks.append(len(partitions))
                partitions.append(Partition(kind, path, start, end))
        elif kind == "text" and Path(path).is_dir():
            names = [name for _, name in text_files(path)]
            size = files_per_part or min(max(-(-len(names) // TARGET_PARTITIONS), 1), MAX_FILES_PER_PART)
            for k in range(0, len(names), size):
                partitions.append(Partition(kind, path, files=tuple(names[k : k + size])))
        else:
            partitions.append(Partition(kind, path, 0, os.path.getsize(path)))
    _number_lines(partitions, blocks, count_lines or (lambda ranges: [count_newlines(*r) for r in ranges]))
    return partitions


def _line_starts(path: str, blocksize: int) -> list[int]:
    """Block boundaries of a JSON Lines file: 0, line starts about ``blocksize`` apart, its size."""
    size = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as fh:
        while starts[-1] + blocksize < size:
            fh.seek(starts[-1] + blocksize - 1)  # the first line start at or after the target
            position = fh.tell()
            while True:
                data = fh.read(_READ)
                newline = data.find(b"\n")
                if newline >= 0 or not data:
                    break
                position += len(data)
            if newline < 0:
                break
            position += newline + 1
            if position >= size:
                break
            starts.append(position)
    starts.append(size)
    return starts


def _number_lines(partitions: list[Partition], blocks: list[int], count_lines) -> None:
    """Give each JSON Lines block after a file's first the line number at its start."""
    if not blocks:
        return
    # A block starts on the line after the lines of the block before it, in the same file.
    ranges = [(partitions[i - 1].path, partitions[i - 1].start, partitions[i - 1].end) for i in blocks]
    for i, count in zip(blocks, count_lines(ranges)):
        partitions[i] = replace(partitions[i], first_line=partitions[i - 1].first_line + count)


def count_newlines(path: str, start: int, end: int) -> int:
    """Newlines in bytes ``[start, end)`` of a file."""
    count = 0
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start
        while left > 0:
            data = fh.read(min(_READ, left))
            if not data:
                break
            count += data.count(b"\n")
            left -= len(data)
    return count


def read_partition(part: Partition, settings: Settings) -> Iterator[Record]:
    """The records of a partition, as the single-machine readers yield them."""
    if part.kind == "jsonl":
        return read_jsonl_block(part.path, part.start, part.end, part.first_line, settings.fields)
    if part.kind == "csv":
        return read_csv(part.path, settings.fields)
    if part.kind == "feed":
        return read_feed(part.path)
    if part.files:
        root = Path(part.path)
        return (read_text_file(root / name, name, settings.date) for name in part.files)
    return read_text(part.path, settings.date)


def write_part(
    out_dir: Path,
    index: int,
    part: Partition,
    settings: Settings,
    model: SignalClassifier,
    model_sha256: str,
    summaries: bool = False,
) -> dict:
    """Score a partition into ``part-NNNNN.jsonl`` and its sibling files in ``out_dir``.

    Also writes ``summary-NNNNN.jsonl`` (with ``summaries``), ``rejected-NNNNN.jsonl`` (when
    a record is rejected) and ``stats-NNNNN.json``, all atomically, the part file last.

    Returns
    -------
    dict
        The partition's manifest entry: its files, what it read, its counts, and the SHA-256
        of the model card it was scored with.
    """
    names = {"part": part_name(index), "rejected": part_name(index, "rejected")}
    if summaries:
        names["summary"] = part_name(index, "summary")
    # A unique temporary name per attempt: a retried task never writes into another's file.
    temps = {key: out_dir / f".{name}.{uuid.uuid4().hex}.tmp" for key, name in names.items()}
    stats = Stats()
    try:
        with ExitStack() as stack:
            out = {key: stack.enter_context(open(temp, "wb")) for key, temp in temps.items()}
            for chunk in chunked(read_partition(part, settings), CHUNK_ARTICLES):
                batch = score_articles(model, articles_of(chunk), settings.min_score, settings.output_format, summaries)
                rejected = tally(chunk, batch, stats)
                out["part"].write(batch.records)
                out["rejected"].write(b"".join(json_line(r.to_dict()) for r in rejected))
                if summaries:
                    out["summary"].write(b"".join(map(json_line, batch.summaries)))
        if not stats.records_rejected:
            temps.pop("rejected").unlink()
            del names["rejected"]
        names["stats"] = part_name(index, "stats")
        entry = {key: names.get(key) for key in ("part", "summary", "rejected")}
        entry.update(part.describe(), **asdict(stats), model=model_sha256)
        temps["stats"] = out_dir / f".{names['stats']}.{uuid.uuid4().hex}.tmp"
        temps["stats"].write_bytes(orjson.dumps(entry))
        for key in ("rejected", "summary", "stats", "part"):  # the part file last: it marks completion
            if key in temps:
                os.replace(temps.pop(key), out_dir / names[key])
        return entry
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)


def clear(out_dir: Path) -> None:
    """Remove what an earlier run wrote to ``out_dir`` (and nothing else)."""
    for path in out_dir.iterdir():
        if _OWN_FILE.match(path.name) or _OWN_TEMP.match(path.name):
            path.unlink()


def remove_temps(out_dir: Path) -> None:
    """Remove the temporary files of attempts that died before renaming them."""
    for path in out_dir.iterdir():
        if _OWN_TEMP.match(path.name):
            path.unlink(missing_ok=True)
