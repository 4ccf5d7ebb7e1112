"""Fit the sentence classifier and write it as a runtime model folder.

The estimator is scikit-learn's ``TfidfVectorizer`` feeding a multinomial
``LogisticRegression``, followed by temperature scaling: one scalar, fitted on out-of-fold
decision scores from cross-validation grouped by context, that makes the probabilities
honest without changing any prediction. The same grouped folds give the cross-validation
figures on the model card, so a crisis is never in train and test at once.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

import escalation
from escalation.classifier import SignalClassifier, softmax
from escalation.features import TOKEN_PATTERN, TfidfFeatures
from escalation.store import save_model

from . import evaluate
from .corpus import Dataset


@dataclass(frozen=True)
class TrainOptions:
    """What users tune. The defaults are the shipped model's."""

    C: float = 10.0
    ngram_max: int = 2
    min_df: int = 2
    class_weight: str | None = "balanced"
    seed: int = 0
    folds: int = 5


class SignalPipeline(ClassifierMixin, BaseEstimator):
    """TF-IDF + logistic regression + temperature scaling, as a scikit-learn estimator.

    Parameters
    ----------
    C : float, default=10.0
        Inverse regularisation strength of the logistic regression.
    ngram_max : int, default=2
        Longest word n-gram.
    min_df : int, default=2
        Ignore terms in fewer documents than this.
    class_weight : {"balanced", None}, default="balanced"
    seed : int, default=0
        Seed for the shuffling of cross-validation groups.
    folds : int, default=5
        Grouped folds whose out-of-fold scores fit the temperature (and, in :func:`train`,
        give the card's cross-validation figures).
    n_jobs : int, default=1
        Processes for the cross-validation folds.
    """

    def __init__(
        self, C=10.0, ngram_max=2, min_df=2, class_weight="balanced", seed=0, folds=5, n_jobs=1
    ):
        self.C = C
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.class_weight = class_weight
        self.seed = seed
        self.folds = folds
        self.n_jobs = n_jobs

    def _fit_linear(self, texts, labels):
        vectorizer = TfidfVectorizer(
            ngram_range=(1, self.ngram_max),
            min_df=self.min_df,
            sublinear_tf=True,
            lowercase=True,
            token_pattern=TOKEN_PATTERN,
            dtype=np.float64,
        )
        X = vectorizer.fit_transform(texts)
        classifier = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=5000, tol=1e-6
        )
        # One BLAS thread: L-BFGS on a sparse problem this size gains nothing from more, and
        # loses badly when the other core is busy.
        with threadpool_limits(limits=1):
            classifier.fit(X, labels)
        return vectorizer, classifier

    def out_of_fold_decisions(self, texts, labels, groups):
        """Decision scores for each text from a model that never saw its group."""
        texts, labels = np.asarray(texts, dtype=object), np.asarray(labels, dtype=object)
        n_splits = min(self.folds, len(set(groups)))
        splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=self.seed)
        splits = list(splitter.split(texts, labels, groups))

        def one_fold(train, test):
            vectorizer, classifier = self._fit_linear(texts[train], labels[train])
            return test, classifier.decision_function(vectorizer.transform(texts[test]))

        decisions = np.zeros((len(texts), len(np.unique(labels))))
        folds = Parallel(n_jobs=self.n_jobs)(delayed(one_fold)(tr, te) for tr, te in splits)
        for test, scores in folds:
            decisions[test] = scores
        return decisions

    def fit(self, X: Sequence[str], y: Sequence[str], groups: Sequence[str] | None = None):
        """Fit on texts ``X`` with labels ``y``; ``groups`` keep related texts in one fold."""
        groups = list(groups) if groups is not None else list(range(len(X)))
        self.oof_decisions_ = self.out_of_fold_decisions(X, y, groups)
        self.vectorizer_, self.classifier_ = self._fit_linear(list(X), list(y))
        self.classes_ = self.classifier_.classes_
        self.temperature_ = fit_temperature(self.oof_decisions_, y, self.classes_)
        return self

    def decision_function(self, X):
        return self.classifier_.decision_function(self.vectorizer_.transform(X))

    def predict_proba(self, X):
        return softmax(self.decision_function(X), self.temperature_)

    def predict(self, X):
        return self.classes_[self.decision_function(X).argmax(axis=1)]

    def get_feature_names_out(self, input_features=None):
        return self.vectorizer_.get_feature_names_out()

    def to_runtime(self, card: dict | None = None) -> SignalClassifier:
        """The fitted pipeline as a numpy-only :class:`~escalation.SignalClassifier`."""
        features = TfidfFeatures(
            self.vectorizer_.get_feature_names_out().tolist(),
            self.vectorizer_.idf_,
            ngram_range=self.vectorizer_.ngram_range,
            sublinear_tf=True,
            norm="l2",
        )
        return SignalClassifier(
            features,
            self.classifier_.coef_,
            self.classifier_.intercept_,
            [str(c) for c in self.classes_],
            temperature=self.temperature_,
            card=card,
        )


def fit_temperature(decisions: np.ndarray, labels: Sequence[str], classes: Sequence[str]) -> float:
    """The temperature minimising the log-loss of ``softmax(decisions / T)``."""
    index = {c: k for k, c in enumerate(classes)}
    truth = np.array([index[y] for y in labels])

    def nll(log_t: float) -> float:
        p = softmax(decisions, float(np.exp(log_t)))[np.arange(len(truth)), truth]
        return float(-np.log(np.clip(p, 1e-15, None)).mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                             options={"xatol": 1e-6})
    return float(np.exp(result.x))


def train(
    data: Dataset,
    out_dir,
    options: TrainOptions = TrainOptions(),
    eval_sets: dict[str, tuple[list[str], list[str]]] | None = None,
    progress: Callable[[str], None] = lambda message: None,
    n_jobs: int = -1,
) -> dict:
    """Fit on ``data``, evaluate, and write a complete model folder to ``out_dir``.

    Parameters
    ----------
    data : Dataset
        Validated rows (see :func:`escalation_training.corpus.load_dataset`).
    out_dir : path-like
        Model folder to write (atomically).
    options : TrainOptions
    eval_sets : dict, optional
        Extra labelled sets ``name -> (texts, labels)`` to evaluate on for the card.
    progress : callable
        Called with a short message at each stage.
    n_jobs : int, default=-1
        Processes for the cross-validation folds.

    Returns
    -------
    dict
        The model card written.
    """
    progress(
        f"fitting on {len(data.texts)} sentences, with {options.folds}-fold cross-validation "
        "grouped by context"
    )
    pipeline = SignalPipeline(**asdict(options), n_jobs=n_jobs)
    pipeline.fit(data.texts, data.labels, data.groups)
    oof = pipeline.oof_decisions_
    classes = [str(c) for c in pipeline.classes_]
    evaluation = {
        "cross_validation": {
            "folds": options.folds,
            "grouped_by": "context",
            **evaluate.report(data.labels, softmax(oof, pipeline.temperature_), classes),
        }
    }
    runtime = pipeline.to_runtime()
    for name, (texts, labels) in (eval_sets or {}).items():
        progress(f"evaluating on {name}")
        evaluation[name] = evaluate.evaluate(runtime, texts, labels)
    card = {
        # Kept apart from the weights so identical data and options give identical files
        # but for this one field.
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training": {
            "sha256": data.sha256,
            "rows": len(data.texts),
            "rows_per_label": data.rows_per_label(),
            "contexts": len(set(data.groups)),
            "duplicates_removed": data.duplicates_removed,
            "conflicts_resolved": data.conflicts_resolved,
            "files": data.files,
        },
        "options": asdict(options),
        "temperature": pipeline.temperature_,
        "features": len(runtime.get_feature_names_out()),
        "versions": _versions(),
        "evaluation": evaluation,
    }
    progress(f"writing {out_dir}")
    save_model(runtime, out_dir, card)
    return card


def _versions() -> dict[str, str]:
    import sklearn

    return {
        "escalation-signals": escalation.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
