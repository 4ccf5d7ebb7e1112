"""Why the model chose a label: per-term contributions to the decision score."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .classifier import SignalClassifier, softmax


class Contribution(NamedTuple):
    term: str
    weight: float  #: the term's TF-IDF value times its coefficient for the label


class Explanation(NamedTuple):
    """The decision for one text, broken down term by term.

    ``intercept + sum(c.weight for c in contributions) == score`` for the explained label.
    """

    text: str
    label: str
    scores: dict[str, float]
    score: float
    intercept: float
    contributions: list[Contribution]


def explain(model: SignalClassifier, text: str, label: str | None = None) -> Explanation:
    """Break the decision score of ``text`` for ``label`` into per-term contributions.

    Parameters
    ----------
    model : SignalClassifier
    text : str
    label : str, optional
        The label to explain; by default the predicted one.

    Returns
    -------
    Explanation
        Contributions sorted from the strongest push toward the label to the strongest push
        away from it.
    """
    rows = model.transform([text])
    decision = model.decision_from_rows(rows)
    probabilities = softmax(decision, model.temperature_)[0]
    classes = [str(c) for c in model.classes_]
    if label is None:
        k = int(decision[0].argmax())
    elif label in classes:
        k = classes.index(label)
    else:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(classes)}")
    names = model.get_feature_names_out()
    weights = rows.data * model.coef_[k, rows.indices]
    order = np.argsort(-weights, kind="stable")
    return Explanation(
        text=text,
        label=classes[k],
        scores=dict(zip(classes, probabilities.tolist())),
        score=float(decision[0, k]),
        intercept=float(model.intercept_[k]),
        contributions=[Contribution(str(names[rows.indices[i]]), float(weights[i])) for i in order],
    )


def top_features(model: SignalClassifier, label: str, n: int = 20) -> list[Contribution]:
    """The ``n`` terms with the largest coefficients for ``label``."""
    classes = [str(c) for c in model.classes_]
    if label not in classes:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(classes)}")
    coef = model.coef_[classes.index(label)]
    names = model.get_feature_names_out()
    order = np.argsort(-coef, kind="stable")[:n]
    return [Contribution(str(names[j]), float(coef[j])) for j in order]
