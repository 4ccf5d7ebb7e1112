"""Read and write model folders.

A model folder is data, never code: ``features.json`` (analyzer settings and vocabulary),
``weights.npz`` (numpy arrays, read with ``allow_pickle=False``) and ``card.json`` (labels,
provenance, evaluation figures and the SHA-256 of the other two files). Nothing in it is
unpickled or executed, so a model from an untrusted source can at worst be wrong.

Writing is atomic: the folder is written in full beside its destination, checked by loading
it back, and renamed into place. A crash leaves either the old model or the new one where
the model stood, never a mixture; the checksums in the card catch any file changed later.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .classifier import SignalClassifier
from .features import TOKEN_PATTERN, TfidfFeatures

FORMAT = "escalation-signals/1"
CARD, FEATURES, WEIGHTS = "card.json", "features.json", "weights.npz"
#: Environment variable naming a model folder to use instead of the shipped one.
MODEL_ENV = "ESCALATION_MODEL"


class ModelError(Exception):
    """A model folder is missing, incomplete or corrupt."""


def default_model_path() -> Path:
    """The model folder shipped inside the package."""
    return Path(str(resources.files("escalation") / "default"))


def resolve_model_path(path: str | os.PathLike | None = None) -> Path:
    """``path`` if given, else ``$ESCALATION_MODEL`` if set, else the shipped model."""
    if path:
        return Path(path)
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    return default_model_path()


def load_model(path: str | os.PathLike | None = None) -> SignalClassifier:
    """Load a model folder.

    Parameters
    ----------
    path : path-like, optional
        A model folder; by default ``$ESCALATION_MODEL`` or the shipped model.

    Returns
    -------
    SignalClassifier

    Raises
    ------
    ModelError
        If the folder is missing, a file is absent, unreadable or altered, or the arrays do
        not fit together. The message names the folder and the problem on one line.
    """
    folder = resolve_model_path(path)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no model folder there")
    card = _read_json(folder / CARD)
    if card.get("format") != FORMAT:
        raise ModelError(f"{folder / CARD}: not a {FORMAT} model card")
    for name in (FEATURES, WEIGHTS):
        expected = card.get("files", {}).get(name)
        if expected is None:
            raise ModelError(f"{folder / CARD}: no checksum for {name}")
        if file_sha256(folder / name) != expected:
            raise ModelError(f"{folder / name}: checksum does not match the model card")
    spec = _read_json(folder / FEATURES)
    try:
        with np.load(folder / WEIGHTS, allow_pickle=False) as arrays:
            weights = {key: arrays[key] for key in ("idf", "coef", "intercept", "temperature")}
        if (spec["analyzer"], spec["lowercase"], spec["token_pattern"]) != ("word", True, TOKEN_PATTERN):
            raise ValueError("only lower-cased word n-grams with the default token pattern are supported")
        features = TfidfFeatures(
            spec["vocabulary"],
            weights["idf"],
            ngram_range=tuple(spec["ngram_range"]),
            sublinear_tf=spec["sublinear_tf"],
            norm=spec["norm"],
        )
        return SignalClassifier(
            features,
            weights["coef"],
            weights["intercept"],
            card["labels"],
            temperature=float(weights["temperature"]),
            card=card,
        )
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise ModelError(f"{folder}: corrupt model ({type(exc).__name__}: {exc})") from None


def save_model(model: SignalClassifier, path: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Write ``model`` and its ``card`` to the folder ``path``, atomically.

    Parameters
    ----------
    model : SignalClassifier
    path : path-like
        Destination folder; an existing model there is replaced only once the new one is
        complete and loads.
    card : dict
        Provenance and evaluation figures; ``format``, ``labels`` and ``files`` are filled in.

    Returns
    -------
    Path
        The destination folder.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a model folder is meant to be shared
        features = model.features
        _write_json(
            staging / FEATURES,
            {
                "analyzer": "word",
                "ngram_range": list(features.ngram_range),
                "lowercase": features.lowercase,
                "sublinear_tf": features.sublinear_tf,
                "norm": features.norm,
                "token_pattern": features.token_pattern,
                "vocabulary": features.vocabulary,
            },
        )
        with open(staging / WEIGHTS, "wb") as fh:
            np.savez(
                fh,
                idf=features.idf,
                coef=np.ascontiguousarray(model.coef_),
                intercept=model.intercept_,
                temperature=np.float64(model.temperature_),
            )
            _sync(fh)
        full_card = {
            "format": FORMAT,
            "labels": [str(c) for c in model.classes_],
            **card,
            "files": {name: file_sha256(staging / name) for name in (FEATURES, WEIGHTS)},
        }
        _write_json(staging / CARD, full_card)
        load_model(staging)  # never install a model that does not load
        _replace_folder(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _replace_folder(staging: Path, dest: Path) -> None:
    """Put ``staging`` where ``dest`` is, in one atomic step where the system allows it."""
    if not dest.exists():
        os.replace(staging, dest)
    elif _exchange(staging, dest):
        shutil.rmtree(staging)  # now holds the old model
    else:
        # No atomic exchange (not Linux): two renames, with the old model kept aside until
        # the new one is in place, so at no moment is a half-written model at ``dest``.
        retired = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=dest.parent))
        os.replace(dest, retired / dest.name)
        os.replace(staging, dest)
        shutil.rmtree(retired, ignore_errors=True)
    _sync_dir(dest.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically with Linux's renameat2(RENAME_EXCHANGE)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1, sort_keys=False)
        fh.write("\n")
        _sync(fh)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes; a missing file is a :class:`ModelError`."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None


def _sync(fh) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
