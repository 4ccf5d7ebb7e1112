"""Evaluation figures: per-label precision/recall/F1, macro-F1, accuracy, confusion matrix and
expected calibration error."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from escalation.classifier import SignalClassifier


def expected_calibration_error(
    y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], bins: int = 10
) -> float:
    """Expected calibration error of the top-label probability.

    Predictions are grouped into ``bins`` equal-width bins of confidence; the ECE is the
    average gap between confidence and accuracy, weighted by the share of predictions in each
    bin. 0 is perfect calibration.
    """
    proba = np.asarray(proba)
    confidence = proba.max(axis=1)
    correct = np.asarray(classes, dtype=object)[proba.argmax(axis=1)] == np.asarray(y_true, dtype=object)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            ece += members.mean() * abs(confidence[members].mean() - correct[members].mean())
    return float(ece)


def report(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> dict:
    """All figures for predictions ``proba`` (rows over ``classes``) against ``y_true``.

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``macro_f1``, ``ece``, ``per_label`` (precision, recall, f1,
        support per label), and ``confusion`` (``labels`` and ``matrix``, rows true labels,
        columns predicted).
    """
    classes = [str(c) for c in classes]
    y_true = [str(y) for y in y_true]
    y_pred = [classes[i] for i in np.asarray(proba).argmax(axis=1)]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    return {
        "n": len(y_true),
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        "macro_f1": float(np.mean(f1)),
        "ece": expected_calibration_error(y_true, proba, classes),
        "per_label": {
            label: {
                "precision": float(precision[k]),
                "recall": float(recall[k]),
                "f1": float(f1[k]),
                "support": int(support[k]),
            }
            for k, label in enumerate(classes)
        },
        "confusion": {
            "labels": classes,
            "matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
        },
    }


def evaluate(model: SignalClassifier, texts: Sequence[str], labels: Sequence[str]) -> dict:
    """Evaluate ``model`` on labelled ``texts``; see :func:`report`."""
    return report(labels, model.predict_proba(texts), model.classes_)


def format_report(figures: dict, title: str = "") -> str:
    """A human-readable table of :func:`report`'s figures."""
    lines = [title] if title else []
    lines.append(f"{'label':<24}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for label, m in figures["per_label"].items():
        lines.append(
            f"{label:<24}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>10d}"
        )
    lines.append(
        f"macro-F1 {figures['macro_f1']:.3f}   accuracy {figures['accuracy']:.3f}   "
        f"ECE {figures['ece']:.3f}   n {figures['n']}"
    )
    labels = figures["confusion"]["labels"]
    short = [label[:8] for label in labels]
    lines.append("confusion (rows: true, columns: predicted)")
    lines.append(" " * 24 + "".join(f"{s:>10}" for s in short))
    for label, row in zip(labels, figures["confusion"]["matrix"]):
        lines.append(f"{label:<24}" + "".join(f"{v:>10d}" for v in row))
    return "\n".join(lines)
