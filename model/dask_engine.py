"""Score on a Dask cluster: ``escalation score ... --engine dask``, and Dask pipelines.

:func:`score_to_folder` runs a whole ``score`` on a cluster (a ``distributed.LocalCluster``
sized to the machine, or a running scheduler). The client plans the partitions
(:mod:`escalation.partitions`) and the workers read, score and write them, each partition into
its own part files in the output folder, with the code path of the single-machine ``score``:
the parts concatenated in partition order are its output byte for byte. ``manifest.json``
records the settings, the model card's SHA-256, the partitions with their files and counts,
and the totals. A part file only exists complete, so a task lost with its worker is simply
run again, and ``--resume`` recomputes the partitions whose part file is missing.

:func:`score_bag` and :func:`score_dataframe` score articles already in a Dask pipeline.

Workers must see the inputs, the output folder and the model at the paths the client uses
(one machine, or a shared file system), and have this package installed. Dask is imported
by this module only, which ``score`` imports only with ``--engine dask``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
from contextlib import contextmanager
from dataclasses import asdict, fields as dataclass_fields
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import orjson
from distributed import Client, KilledWorker, LocalCluster, as_completed

from . import partitions
from .batch import CHUNK_ARTICLES, ResumeError, Settings, Stats, chunked
from .classifier import SignalClassifier
from .readers import Article, Fields, InputError, Rejected, article_from_record, check_inputs
from .scoring import score_articles
from .store import CARD, default_model_path, file_sha256, load_model, resolve_model_path

if TYPE_CHECKING:  # dask.dataframe (with pandas) takes a second to import: only its users do
    import dask.bag
    import dask.dataframe

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "escalation-dask/1"


class EngineError(Exception):
    """The cluster could not run the job (no scheduler, workers dying, another model)."""


def score_to_folder(
    settings: Settings,
    out_dir: str | os.PathLike,
    summary: str | None = None,
    errors: str | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Client | None = None,
    resume: bool = False,
    blocksize: int | None = None,
    files_per_part: int | None = None,
    progress: Callable[[Stats], None] | None = None,
) -> Stats:
    """Score every input record on a Dask cluster, into part files in ``out_dir``.

    Parameters
    ----------
    settings : Settings
        As for the single-machine run; the output format must be ``jsonl``.
    out_dir : path-like
        Folder for ``part-NNNNN.jsonl`` (sentences), ``summary-NNNNN.jsonl``,
        ``rejected-NNNNN.jsonl``, ``stats-NNNNN.json`` and ``manifest.json``. A new run
        replaces an earlier run's files there.
    summary : str, optional
        Also write summary parts, and their concatenation to this file.
    errors : str, optional
        File for the rejected records, concatenated from the rejected parts (default: stderr).
    scheduler : str, optional
        Address of a running Dask scheduler; by default a local cluster is started.
    workers : int, optional
        Worker processes of the local cluster (default: one per core).
    client : distributed.Client, optional
        Use this client instead of connecting (``scheduler`` and ``workers`` are ignored).
    resume : bool, default=False
        Finish an earlier run into ``out_dir``: only partitions without a part file are scored.
    blocksize, files_per_part : int, optional
        Partition sizes; see :func:`escalation.partitions.plan`.
    progress : callable, optional
        Called with the running totals after each partition.

    Returns
    -------
    Stats

    Raises
    ------
    InputError, ModelError
        If an input or the model cannot be read at all.
    ResumeError
        If ``resume`` finds no earlier run in ``out_dir``, or one with other inputs,
        options, partitions or model.
    EngineError
        If the cluster cannot be reached or cannot run the job.
    """
    if "-" in settings.inputs:
        raise InputError("-: --engine dask reads files its workers open; stdin cannot be partitioned")
    if settings.output_format != "jsonl":
        raise EngineError("--engine dask writes JSON Lines parts; use --output-format jsonl")
    check_inputs(settings.inputs, settings.fmt)
    location, card_sha256 = _model_location(settings.model_path)
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise EngineError(f"{out_dir}: is a file; --engine dask writes to a folder")
    earlier = _read_manifest(out) if resume else None
    with _connected(client, scheduler, workers) as client:
        _load_on_workers(client, location, card_sha256)
        plan = partitions.plan(settings, blocksize, files_per_part, _line_counter(client))
        manifest = {
            "format": MANIFEST_FORMAT,
            "complete": False,
            "fingerprint": _fingerprint(settings, summary is not None, card_sha256, plan),
            "settings": {**asdict(settings), "summaries": summary is not None},
            "model": {"path": location, "card_sha256": card_sha256},
            "parts": [p.describe() for p in plan],
        }
        if earlier is not None and earlier.get("fingerprint") != manifest["fingerprint"]:
            raise ResumeError(f"{out / MANIFEST}: made by a run with other inputs, options or model")
        if earlier is None:
            out.mkdir(parents=True, exist_ok=True)
            partitions.clear(out)
        _write_json(out / MANIFEST, manifest)
        done = [i for i in range(len(plan)) if (out / partitions.part_name(i)).exists()]
        todo = sorted(set(range(len(plan))) - set(done))
        stats = _add(Stats(), (_entry(out, i) for i in done))
        for entry in _score_partitions(client, out, plan, todo, settings, location, summary is not None):
            _add(stats, [entry])
            if progress:
                progress(stats)
    entries = [_entry(out, i) for i in range(len(plan))]
    if any(entry["model"] != card_sha256 for entry in entries):
        raise EngineError(f"{out}: some parts were scored with another model; run without --resume")
    stats = _add(Stats(), entries)
    _write_json(out / MANIFEST, {**manifest, "complete": True, "parts": entries, "totals": asdict(stats)})
    partitions.remove_temps(out)
    _concatenate(out, [e["rejected"] for e in entries if e["rejected"]], errors, sys.stderr.buffer)
    if summary is not None:
        _concatenate(out, [e["summary"] for e in entries], summary, None)
    return stats


def _score_partitions(client, out: Path, plan, todo, settings, location, summaries) -> Iterator[dict]:
    """Run the partitions ``todo`` on the cluster; yield their manifest entries as they finish."""
    futures = client.map(
        _score_partition, todo, [plan[i] for i in todo],
        out=str(out), settings=settings, location=location, summaries=summaries,
        pure=False,  # tasks write files: never share a result with another run's task
    )
    try:
        for future in as_completed(futures):
            yield future.result()
    except KilledWorker as exc:
        raise EngineError(f"a partition kept killing its workers ({exc})") from None
    finally:
        client.cancel(futures)


def _score_partition(index, part, out, settings, location, summaries) -> dict:
    model, card_sha256 = _worker_model(location)
    return partitions.write_part(Path(out), index, part, settings, model, card_sha256, summaries)


@lru_cache(maxsize=4)
def _worker_model(location: str | None) -> tuple[SignalClassifier, str]:
    """The model at ``location`` (None: the shipped one), loaded once per worker process."""
    folder = Path(location) if location else default_model_path()
    return load_model(folder), file_sha256(folder / CARD)


def _model_sha256(location: str | None) -> str:
    return _worker_model(location)[1]


def _load_on_workers(client: Client, location: str | None, card_sha256: str) -> None:
    """Load the model on every worker now, and check that it is the client's model."""
    loaded = client.run(_model_sha256, location)
    for worker, sha256 in loaded.items():
        if sha256 != card_sha256:
            raise EngineError(f"worker {worker} has another model (card sha256 {sha256[:12]}, "
                              f"here {card_sha256[:12]}); give --model a path on a shared file system")


def _model_location(model_path: str | None) -> tuple[str | None, str]:
    """Where workers find the model (None: their shipped one), and its card's SHA-256."""
    folder = resolve_model_path(model_path)
    load_model(folder)  # fail here, before any worker starts, if it cannot be read
    shipped = folder.resolve() == default_model_path().resolve()
    return (None if shipped else str(folder.resolve())), file_sha256(folder / CARD)


@contextmanager
def _connected(client: Client | None, scheduler: str | None, workers: int | None) -> Iterator[Client]:
    """The given client, a client of the scheduler at ``scheduler``, or of a new local cluster."""
    if client is not None:
        yield client
        return
    if scheduler:
        try:
            connected = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise EngineError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        with connected:
            yield connected
        return
    # Processes, one thread each: scoring holds the GIL.
    with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as local:
        yield local


def _line_counter(client: Client):
    def count_lines(ranges: list[tuple[str, int, int]]) -> list[int]:
        return client.gather(client.map(partitions.count_newlines, *zip(*ranges)))

    return count_lines


def _fingerprint(settings: Settings, summaries: bool, card_sha256: str, plan) -> str:
    """What decides the output: settings, model and partitions (text groups with every file)."""
    identity = {**asdict(settings), "summaries": summaries, "model": card_sha256,
                "parts": [asdict(p) for p in plan]}
    del identity["model_path"]  # the model is its card's hash, wherever it is
    return hashlib.sha256(orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _read_manifest(out: Path) -> dict:
    try:
        return orjson.loads((out / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise ResumeError(f"{out / MANIFEST}: not found; there is no run to resume") from None
    except orjson.JSONDecodeError:
        raise ResumeError(f"{out / MANIFEST}: not a manifest") from None


def _entry(out: Path, index: int) -> dict:
    return orjson.loads((out / partitions.part_name(index, "stats")).read_bytes())


def _add(stats: Stats, entries) -> Stats:
    for entry in entries:
        for field in dataclass_fields(Stats):
            setattr(stats, field.name, getattr(stats, field.name) + entry[field.name])
    return stats


def _write_json(path: Path, value: dict) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))
    os.replace(temp, path)


def _concatenate(out: Path, names: list[str], path: str | None, default) -> None:
    """Copy the part files ``names``, in order, to ``path`` (``-`` or None: ``default``)."""
    if path in (None, "-") and default is None:
        return
    target = default if path in (None, "-") else open(path, "wb")
    try:
        for name in names:
            with open(out / name, "rb") as part:
                shutil.copyfileobj(part, target)
        target.flush()
    finally:
        if target is not default:
            target.close()


def score_bag(
    bag: dask.bag.Bag, model_path: str | None = None, min_score: float = 0.0, fields: Fields = Fields()
) -> dask.bag.Bag:
    """Score a bag of article dicts: a bag of sentence records.

    Parameters
    ----------
    bag : dask.bag.Bag
        Dicts with an id, a text and optionally a date, title, source and url, as in a JSON
        Lines input; ``fields`` names the id, text and date fields.
    model_path : str, optional
        Model folder, readable by the workers at this path; by default the shipped model.
    min_score : float, default=0.0
        Report a sentence as ``none`` when its best signal score is below this.
    fields : Fields

    Returns
    -------
    dask.bag.Bag
        One dict per sentence, as a line of ``escalation score`` output, articles in order.
        An article with no sentence has none. Computing raises ``ValueError`` for an article
        that ``score`` would reject (no id, no text, a field of the wrong type).
    """
    location, _ = _model_location(model_path)
    return bag.map_partitions(_score_dicts, location, min_score, fields)


def score_dataframe(
    ddf: dask.dataframe.DataFrame,
    text: str = "text",
    id: str = "id",
    date: str = "date",
    model_path: str | None = None,
    min_score: float = 0.0,
) -> dask.dataframe.DataFrame:
    """Score a dataframe of articles: a dataframe of sentence records.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        One row per article; ``text`` and ``id`` columns are required, ``date``, ``title``,
        ``source`` and ``url`` are used when present. Missing values count as absent.
    text, id, date : str
        Column names.
    model_path : str, optional
    min_score : float, default=0.0
        As for :func:`score_bag`.

    Returns
    -------
    dask.dataframe.DataFrame
        One row per sentence, with the columns of ``escalation score --output-format csv``:
        ``article_id, sentence, start, end, text, label, score_<label>..., date``.
    """
    location, _ = _model_location(model_path)
    meta = _sentence_frame([], _worker_model(location)[0].classes_)
    return ddf.map_partitions(_score_frame, location, min_score, Fields(id, text, date), meta=meta)


def _score_dicts(records, location, min_score, fields) -> list[dict]:
    model, _ = _worker_model(location)
    out = []
    for chunk in chunked(iter(records), CHUNK_ARTICLES):
        articles = [_checked_article(record, fields) for record in chunk]
        batch = score_articles(model, articles, min_score, "jsonl", summaries=False)
        out.extend(orjson.loads(line) for line in batch.records.splitlines())
    return out


def _checked_article(record: dict, fields: Fields) -> Article:
    """The article of a record as a JSON Lines input would read it; ValueError if rejected."""
    if not isinstance(record, dict):
        raise ValueError(f"expected an article dict, got {type(record).__name__}")
    if record.get(fields.id) in (None, ""):
        raise ValueError(f"an article has no {fields.id!r}")
    article = article_from_record(record, fields, "<dask>", 0)
    if isinstance(article, Rejected):
        raise ValueError(f"article {record[fields.id]!r}: {article.reason}")
    return article


def _score_frame(frame, location, min_score, fields):
    import pandas as pd

    columns = [c for c in (fields.id, fields.text, fields.date, "title", "source", "url") if c in frame.columns]
    rows = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    for row in rows:
        value = row.get(fields.date)
        if isinstance(value, pd.Timestamp):
            row[fields.date] = value.isoformat()
    return _sentence_frame(_score_dicts(rows, location, min_score, fields), _worker_model(location)[0].classes_)


def _sentence_frame(records: list[dict], classes):
    import pandas as pd

    classes = [str(c) for c in classes]
    columns = {
        "article_id": pd.Series([r["article_id"] for r in records], dtype="str"),
        **{key: pd.Series([r[key] for r in records], dtype="int64") for key in ("sentence", "start", "end")},
        "text": pd.Series([r["text"] for r in records], dtype="str"),
        "label": pd.Series([r["label"] for r in records], dtype="str"),
        **{f"score_{c}": pd.Series([r["scores"][c] for r in records], dtype="float64") for c in classes},
        "date": pd.Series([r.get("date") for r in records], dtype="str"),
    }
    return pd.DataFrame(columns)
