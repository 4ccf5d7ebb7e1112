"""Load labelled sentences and validate them before any fitting.

Every problem in every file is collected and reported at once, each naming its file and line,
so a user fixes a file in one pass instead of one error per run. Nothing downstream runs
unless validation passes.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterator

from escalation.classifier import LABELS
from escalation.duplicates import normalise

ON_CONFLICT = ("error", "last", "drop")


class ValidationError(Exception):
    """Labelled data failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s) in the labelled data")
        self.problems = problems


@dataclass
class Row:
    text: str
    label: str
    group: str
    where: str  # "file:line", for messages


@dataclass
class Dataset:
    """Validated, de-duplicated training rows and what validation did to get them."""

    texts: list[str]
    labels: list[str]
    groups: list[str]
    files: list[dict] = field(default_factory=list)
    duplicates_removed: int = 0
    conflicts_resolved: int = 0

    @property
    def sha256(self) -> str:
        """Hash of the rows actually trained on, independent of file names and order of keys."""
        digest = hashlib.sha256()
        for text, label in zip(self.texts, self.labels):
            digest.update(f"{label}\t{text}\n".encode("utf-8"))
        return digest.hexdigest()

    def rows_per_label(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {label: counts.get(label, 0) for label in LABELS}


def base_corpus_path() -> Path:
    """The corpus the shipped model was trained on, installed with the package."""
    return Path(str(resources.files("escalation_data") / "corpus.csv"))


def load_dataset(
    paths: list[str | Path],
    include_base: bool = True,
    on_conflict: str = "error",
    require_every_label: bool = True,
) -> Dataset:
    """Read, validate and de-duplicate labelled data.

    Parameters
    ----------
    paths : list of path-like
        CSV or JSON Lines files with at least ``text`` and ``label`` (optional ``id``,
        ``context``, ``source``, ``date``).
    include_base : bool, default=True
        Put the shipped corpus before ``paths``.
    on_conflict : {"error", "last", "drop"}, default="error"
        What to do with a text labelled differently in two places: report it as a problem,
        keep the label that comes last, or drop every copy.
    require_every_label : bool, default=True
        Fail unless every label has rows, as training needs; evaluation data may lack some.

    Returns
    -------
    Dataset

    Raises
    ------
    ValidationError
        With every problem found, each as ``file:line: message``.
    """
    if on_conflict not in ON_CONFLICT:
        raise ValueError(f"on_conflict must be one of {ON_CONFLICT}, got {on_conflict!r}")
    files = ([base_corpus_path()] if include_base else []) + [Path(p) for p in paths]
    problems: list[str] = []
    rows: list[Row] = []
    file_info = []
    for path in files:
        before = len(rows)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path}: cannot read ({exc.strerror or exc})")
            continue
        reader = _read_jsonl if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else _read_csv
        for item in reader(path, raw, problems):
            rows.append(item)
        file_info.append(
            {
                "name": path.name,
                "sha256": hashlib.sha256(raw).hexdigest(),
                "rows": len(rows) - before,
            }
        )
    kept, duplicates, resolved = _deduplicate(rows, on_conflict, problems)
    if problems:
        raise ValidationError(problems)
    if not kept:
        raise ValidationError(["no labelled rows to train on"])
    missing = [label for label in LABELS if label not in {r.label for r in kept}]
    if missing and require_every_label:
        raise ValidationError([f"no rows labelled {', '.join(missing)}: every label needs examples"])
    return Dataset(
        texts=[r.text for r in kept],
        labels=[r.label for r in kept],
        groups=[r.group for r in kept],
        files=file_info,
        duplicates_removed=duplicates,
        conflicts_resolved=resolved,
    )


def _check_row(path: Path, line: int, record: dict, problems: list[str]) -> Row | None:
    where = f"{path}:{line}"
    text, label = record.get("text"), record.get("label")
    bad = False
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{where}: empty text")
        bad = True
    elif any("\udc80" <= ch <= "\udcff" for ch in text):
        problems.append(f"{where}: text is not valid UTF-8")
        bad = True
    if not isinstance(label, str) or label not in LABELS:
        hint = difflib.get_close_matches(str(label).strip().lower(), LABELS, n=1, cutoff=0.5)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        problems.append(
            f"{where}: unknown label {label!r}{suggestion}; expected one of {', '.join(LABELS)}"
        )
        bad = True
    if bad:
        return None
    group = record.get("context") or record.get("source") or where
    return Row(text.strip(), label, str(group), where)


def _read_csv(path: Path, raw: bytes, problems: list[str]) -> Iterator[Row]:
    # surrogateescape keeps undecodable bytes visible, so they are reported per line.
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in ("text", "label") if c not in header]
    if missing:
        problems.append(f"{path}:1: missing column(s) {', '.join(missing)} (header: {','.join(header)})")
        return
    line = 1
    for record in reader:
        start, line = line + 1, reader.line_num
        if None in record or any(v is None for v in record.values()):
            problems.append(f"{path}:{start}: expected {len(header)} fields")
            continue
        row = _check_row(path, start, record, problems)
        if row:
            yield row


def _read_jsonl(path: Path, raw: bytes, problems: list[str]) -> Iterator[Row]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            problems.append(f"{path}:{number}: text is not valid UTF-8")
            continue
        except ValueError as exc:
            problems.append(f"{path}:{number}: invalid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            problems.append(f"{path}:{number}: expected a JSON object")
            continue
        missing = [c for c in ("text", "label") if c not in record]
        if missing:
            problems.append(f"{path}:{number}: missing field(s) {', '.join(missing)}")
            continue
        row = _check_row(path, number, record, problems)
        if row:
            yield row


def _deduplicate(rows: list[Row], on_conflict: str, problems: list[str]):
    """Keep the first copy of each normalised text; settle texts with conflicting labels."""
    by_key: dict[str, list[Row]] = {}
    for row in rows:
        by_key.setdefault(normalise(row.text), []).append(row)
    kept, duplicates, resolved = [], 0, 0
    for copies in by_key.values():
        labels = {r.label for r in copies}
        if len(labels) == 1:
            kept.append(copies[0])
            duplicates += len(copies) - 1
        elif on_conflict == "error":
            places = "; ".join(f"{r.where} says {r.label}" for r in copies)
            problems.append(f"{copies[0].where}: same text with different labels: {places}")
        elif on_conflict == "last":
            kept.append(copies[-1])
            resolved += 1
        else:
            resolved += 1
    return kept, duplicates, resolved
