"""Run ``escalation score`` over feeds larger than memory: streaming, parallel, resumable.

Records are read lazily and scored in chunks. With ``jobs > 1`` chunks go to worker
processes, at most two per worker in flight, so memory stays bounded however long the feed;
results are written in input order. Every input record is either scored or reported as
rejected with its reason.

Resuming: before writing, the runner creates ``OUT.checkpoint``, and after each chunk is fully
written it records there (atomically) how many input records are done and how long each
output file was. After a crash or a kill at any moment, ``--resume`` cuts every output back to
its last recorded length, which also removes a torn last line, skips the records already
done, and carries on: each article ends up in OUT exactly once. The checkpoint is removed
when the run completes.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

import orjson

from .readers import Article, Fields, Rejected, check_inputs, read_inputs
from .scoring import ScoredBatch, csv_header, score_articles
from .store import load_model, resolve_model_path

#: Exit code of a run that scored everything it could but rejected some records.
EXIT_REJECTED = 3
#: Articles per chunk: large enough to amortise inter-process overhead, small enough to
#: keep memory and the work lost to a kill small.
CHUNK_ARTICLES = 256
#: Seconds between checkpoints: renaming a file costs milliseconds on some file systems,
#: too much to do after every chunk; a resume redoes at most this much work.
CHECKPOINT_EVERY = 1.0


class ResumeError(Exception):
    """``--resume`` was asked for a run that does not match the checkpoint."""


@dataclass
class Settings:
    """Everything that decides the output; a resumed run must use the same."""

    inputs: list[str]
    fmt: str | None = None
    fields: Fields = field(default_factory=Fields)
    date: str | None = None
    min_score: float = 0.0
    output_format: str = "jsonl"
    model_path: str | None = None


@dataclass
class Stats:
    articles_read: int = 0
    articles_scored: int = 0
    sentences_scored: int = 0
    records_rejected: int = 0

    def line(self) -> str:
        return (
            f"articles read {self.articles_read}, articles scored {self.articles_scored}, "
            f"sentences scored {self.sentences_scored}, records rejected {self.records_rejected}"
        )


class _Outputs:
    """The output, summary and errors streams, truncatable to a checkpoint."""

    def __init__(self, out: str | None, summary: str | None, errors: str | None, append: bool):
        mode = "ab" if append else "wb"
        self.files: dict[str, BinaryIO] = {}
        self.out = self._open("out", out, mode, sys.stdout.buffer)
        self.summary = self._open("summary", summary, mode, None)
        self.errors = self._open("errors", errors, mode, sys.stderr.buffer)

    def _open(self, key, path, mode, default):
        if path is None or path == "-":
            return default
        handle = open(path, mode)
        self.files[key] = handle
        return handle

    def offsets(self) -> dict[str, int]:
        return {key: handle.tell() for key, handle in self.files.items()}

    def flush(self):
        for handle in (self.out, self.summary, self.errors):
            if handle is not None:
                handle.flush()

    def close(self):
        for handle in self.files.values():
            handle.close()


def _fingerprint(settings: Settings) -> str:
    model_card = Path(resolve_model_path(settings.model_path)) / "card.json"
    digest = hashlib.sha256(orjson.dumps(asdict(settings), option=orjson.OPT_SORT_KEYS))
    digest.update(model_card.read_bytes())
    return digest.hexdigest()


class _Checkpoint:
    def __init__(self, out: str):
        self.path = Path(f"{out}.checkpoint")

    def load(self) -> dict | None:
        try:
            return orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None

    def save(self, state: dict) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(orjson.dumps(state))
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def chunked(records: Iterator, size: int) -> Iterator[list]:
    """Lists of up to ``size`` consecutive records."""
    while True:
        chunk = list(itertools.islice(records, size))
        if not chunk:
            return
        yield chunk


_worker_model = None


def _init_worker(model_path):
    global _worker_model
    # Ctrl-C reaches the whole process group; the main process alone handles it, so that an
    # interrupted run always stops the same way: queued chunks cancelled, running ones
    # finished, the checkpoint left for --resume.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _worker_model is None:  # started fresh rather than forked from the main process
        _worker_model = load_model(model_path)


def _score_in_worker(articles, *options):
    return score_articles(_worker_model, articles, *options)


@contextlib.contextmanager
def _worker_pool(model, settings: Settings, jobs: int) -> Iterator[ProcessPoolExecutor]:
    """Worker processes that share the main process's model where they can.

    Forked workers inherit the loaded model, pages shared until written, instead of each
    loading its own copy: that saves a tenth of a second of start-up and a model's worth of
    memory per worker. Where fork is not available, each worker loads the model.
    """
    global _worker_model
    if "fork" in multiprocessing.get_all_start_methods():
        _worker_model = model
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_init_worker, initargs=(settings.model_path,)
        ) as pool:
            yield pool
    finally:
        _worker_model = None  # the main process holds no model once its workers are gone


def run(
    settings: Settings,
    out: str | None = None,
    summary: str | None = None,
    errors: str | None = None,
    jobs: int = 1,
    resume: bool = False,
    progress: Callable[[Stats], None] | None = None,
) -> Stats:
    """Score every input record, writing sentence records, summaries and rejections.

    Parameters
    ----------
    settings : Settings
    out, summary, errors : str, optional
        Paths; ``out`` defaults to stdout and ``errors`` to stderr, ``summary`` to none.
    jobs : int, default=1
        Worker processes; 1 scores in this process.
    resume : bool, default=False
        Complete an interrupted run into ``out`` (which must be a file).
    progress : callable, optional
        Called with the running totals after each chunk.

    Returns
    -------
    Stats

    Raises
    ------
    ResumeError
        If ``resume`` is asked without an output file or for different settings.
    InputError, ModelError
        If an input or the model cannot be read at all.
    """
    # Fail fast, before any output is touched.
    check_inputs(settings.inputs, settings.fmt)
    model = load_model(settings.model_path)
    checkpoint = _Checkpoint(out) if out and out != "-" else None
    stats, skip, state = Stats(), 0, None
    if resume:
        if checkpoint is None:
            raise ResumeError("--resume needs an output file (-o OUT)")
        state = checkpoint.load()
        if state is None and Path(out).exists():
            raise ResumeError(f"{out}: no checkpoint beside it; the run it came from had finished")
        if state is not None:
            if state["fingerprint"] != _fingerprint(settings):
                raise ResumeError(f"{checkpoint.path}: made by a run with other inputs, options or model")
            for key, path in (("out", out), ("summary", summary), ("errors", errors)):
                if key in state["offsets"]:
                    os.truncate(path, state["offsets"][key])
            stats, skip = Stats(**state["stats"]), state["records"]
    outputs = _Outputs(out, summary, errors, append=state is not None)
    try:
        if state is None and settings.output_format == "csv":
            outputs.out.write(csv_header(model.classes_))
        if checkpoint is not None and state is None:
            state = {"fingerprint": _fingerprint(settings), "records": 0, "stats": asdict(stats),
                     "offsets": outputs.offsets()}
            outputs.flush()
            checkpoint.save(state)
        records = itertools.islice(
            read_inputs(settings.inputs, settings.fmt, settings.fields, settings.date), skip, None
        )
        done, saved = skip, time.monotonic()
        chunks = chunked(records, CHUNK_ARTICLES)
        for chunk, batch in _score_chunks(model, settings, chunks, jobs, summary is not None):
            _write(chunk, batch, outputs, stats)
            done += len(chunk)
            if checkpoint is not None and time.monotonic() - saved >= CHECKPOINT_EVERY:
                outputs.flush()
                checkpoint.save({**state, "records": done, "stats": asdict(stats),
                                 "offsets": outputs.offsets()})
                saved = time.monotonic()
            if progress:
                progress(stats)
        outputs.flush()
    finally:
        outputs.close()
    if checkpoint is not None:
        checkpoint.remove()
    return stats


def _score_chunks(model, settings: Settings, chunks: Iterable[list], jobs: int, summaries: bool):
    """Yield ``(chunk, ScoredBatch)`` in input order."""
    options = (settings.min_score, settings.output_format, summaries)
    if jobs <= 1:
        for chunk in chunks:
            yield chunk, score_articles(model, articles_of(chunk), *options)
        return
    pending: deque = deque()
    with _worker_pool(model, settings, jobs) as pool:
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(_score_in_worker, articles_of(chunk), *options)))
                if len(pending) >= 2 * jobs:
                    chunk_done, future = pending.popleft()
                    yield chunk_done, future.result()
            while pending:
                chunk_done, future = pending.popleft()
                yield chunk_done, future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def articles_of(chunk: list) -> list[Article]:
    """The articles of a chunk of records, leaving out the rejected ones."""
    return [r for r in chunk if isinstance(r, Article)]


def json_line(record: dict) -> bytes:
    """One JSON Lines record."""
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def tally(chunk: list, batch: ScoredBatch, stats: Stats) -> list[Rejected]:
    """Add a scored chunk to ``stats``; return its rejected records, with their reasons."""
    articles = articles_of(chunk)
    rejected = [r for r in chunk if isinstance(r, Rejected)]
    rejected += [
        Rejected(articles[k].file, articles[k].line, "no sentence found in the text", articles[k].unit)
        for k in batch.empty
    ]
    stats.articles_read += len(chunk)
    stats.articles_scored += len(articles) - len(batch.empty)
    stats.sentences_scored += batch.sentences
    stats.records_rejected += len(rejected)
    return rejected


def _write(chunk, batch, outputs: _Outputs, stats: Stats) -> None:
    rejected = tally(chunk, batch, stats)
    outputs.out.write(batch.records)
    if outputs.summary is not None:
        outputs.summary.write(b"".join(map(json_line, batch.summaries)))
    for item in rejected:
        outputs.errors.write(json_line(item.to_dict()))
