"""The runtime classifier: TF-IDF features, a linear layer and a calibrated softmax."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from .features import SparseRows, TfidfFeatures, linear_scores

#: The four labels of the codebook, in the order scikit-learn sorts them.
LABELS = ("civilian-preparedness", "diplomatic", "military", "none")
#: The labels that signal activity (everything but ``none``).
SIGNAL_LABELS = ("civilian-preparedness", "diplomatic", "military")


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature``, stable for large scores."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class SignalClassifier:
    """Label sentences as diplomatic, military, civilian-preparedness or none.

    A fitted multinomial logistic regression over TF-IDF features, evaluated with numpy
    alone. Probabilities are the softmax of the decision scores divided by a temperature
    fitted on held-out predictions, so that a score of 0.8 is right about 80% of the time.

    Parameters
    ----------
    features : TfidfFeatures
    coef : ndarray of shape (n_classes, n_features)
    intercept : ndarray of shape (n_classes,)
    classes : sequence of str
    temperature : float, default=1.0
    card : dict, optional
        The model card (provenance and evaluation figures).

    Examples
    --------
    >>> from escalation import load_model
    >>> model = load_model()
    >>> model.predict(["Troops massed on the border."])[0]
    'military'
    """

    def __init__(
        self,
        features: TfidfFeatures,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: Sequence[str],
        temperature: float = 1.0,
        card: dict[str, Any] | None = None,
    ):
        coef = np.asarray(coef, dtype=np.float64)
        if coef.shape != (len(classes), len(features.vocabulary)):
            raise ValueError(
                f"coef has shape {coef.shape}, expected "
                f"({len(classes)}, {len(features.vocabulary)})"
            )
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.features = features
        # Stored feature-major so that scoring gathers contiguous rows; coef_ is a view.
        self._weights = np.ascontiguousarray(coef.T)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.classes_ = np.asarray(classes, dtype=object)
        self.temperature_ = float(temperature)
        self.card = card or {}

    @property
    def coef_(self) -> np.ndarray:
        """Weights of shape (n_classes, n_features), as in scikit-learn."""
        return self._weights.T

    def get_feature_names_out(self) -> np.ndarray:
        """Feature names in column order."""
        return self.features.get_feature_names_out()

    def transform(self, texts: Iterable[str]) -> SparseRows:
        """TF-IDF rows of ``texts``."""
        return self.features.transform(texts)

    def decision_function(self, texts: Iterable[str]) -> np.ndarray:
        """Raw linear scores, shape (n_texts, n_classes)."""
        return self.decision_from_rows(self.transform(texts))

    def decision_from_rows(self, rows: SparseRows) -> np.ndarray:
        """Raw linear scores of already transformed rows."""
        return linear_scores(rows, self._weights, self.intercept_)

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n_texts, n_classes); each row sums to 1."""
        return softmax(self.decision_function(texts), self.temperature_)

    def predict(self, texts: Iterable[str]) -> np.ndarray:
        """The most probable label of each text."""
        return self.classes_[self.decision_function(texts).argmax(axis=1)]
