"""Compare two models on the same labelled sentences, before switching from one to the other.

Both models label every sentence; the figures of each (see :mod:`.evaluate`) are set side by
side with their differences, and McNemar's test on the paired right/wrong outcomes says
whether the difference in accuracy is more than chance. Only the sentences on which exactly
one model is right carry information, so the test looks at those alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy.stats import binomtest, chi2

from escalation.classifier import SignalClassifier

from . import evaluate

#: Below this many discordant pairs the chi-square approximation is poor, so the exact
#: binomial test is used instead (the usual rule of thumb, e.g. Fagerland et al. 2013).
EXACT_BELOW = 25
#: Significance level of the verdict.
ALPHA = 0.05


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on paired predictions.

    Attributes
    ----------
    a_only : int
        Sentences model A gets right and model B gets wrong.
    b_only : int
        Sentences model B gets right and model A gets wrong.
    method : str
        ``"exact binomial"`` or ``"chi-square with continuity correction"``.
    statistic : float or None
        The chi-square statistic; ``None`` for the exact test.
    p_value : float
        Two-sided.
    """

    a_only: int
    b_only: int
    method: str
    statistic: float | None
    p_value: float


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool], exact_below: int = EXACT_BELOW) -> McNemarResult:
    """McNemar's test of whether two classifiers are equally accurate on paired data.

    Parameters
    ----------
    a_correct, b_correct : sequence of bool
        Whether model A, and model B, labelled each sentence correctly (same order).
    exact_below : int, default=25
        Use the exact binomial test when there are fewer discordant pairs than this, and
        the chi-square test with continuity correction otherwise.

    Returns
    -------
    McNemarResult

    Examples
    --------
    >>> mcnemar([True] * 10 + [False] * 10, [True] * 20).p_value < 0.01
    True
    """
    a_correct = np.asarray(a_correct, dtype=bool)
    b_correct = np.asarray(b_correct, dtype=bool)
    if a_correct.shape != b_correct.shape:
        raise ValueError(f"paired outcomes differ in length: {a_correct.shape} and {b_correct.shape}")
    a_only = int(np.sum(a_correct & ~b_correct))
    b_only = int(np.sum(b_correct & ~a_correct))
    discordant = a_only + b_only
    if discordant == 0:
        return McNemarResult(a_only, b_only, "exact binomial", None, 1.0)
    if discordant < exact_below:
        p = binomtest(min(a_only, b_only), discordant, 0.5).pvalue
        return McNemarResult(a_only, b_only, "exact binomial", None, float(min(1.0, p)))
    # Edwards' continuity correction, clamped so that it never overshoots past zero: equal
    # counts give a statistic of 0 and p = 1, not the 1 / discordant of the bare formula.
    statistic = max(abs(a_only - b_only) - 1, 0) ** 2 / discordant
    return McNemarResult(
        a_only, b_only, "chi-square with continuity correction", float(statistic),
        float(chi2.sf(statistic, df=1)),
    )


def verdict(test: McNemarResult, alpha: float = ALPHA) -> str:
    """One plain line: which model is better, or that the difference is not significant."""
    p = _format_p(test.p_value)
    if test.p_value >= alpha or test.a_only == test.b_only:
        return f"no significant difference (p={p})"
    better, worse = ("B", "A") if test.b_only > test.a_only else ("A", "B")
    return f"{better} is better than {worse} (p={p})"


def compare(
    model_a: SignalClassifier,
    model_b: SignalClassifier,
    texts: Sequence[str],
    labels: Sequence[str],
    show: int = 10,
    alpha: float = ALPHA,
) -> dict:
    """Evaluate two models on the same labelled sentences and test the difference.

    Parameters
    ----------
    model_a, model_b : SignalClassifier
        The current model (A) and the candidate (B).
    texts, labels : sequence of str
        The labelled sentences.
    show : int, default=10
        How many of the sentences the models disagree on to return, in input order.
    alpha : float, default=0.05
        Significance level of the verdict.

    Returns
    -------
    dict
        ``n``; ``a`` and ``b``, each model's figures (see
        :func:`escalation_training.evaluate.report`); ``delta``, B minus A for
        ``macro_f1``, ``accuracy``, ``ece`` and per label for precision, recall and F1;
        ``mcnemar`` (see :class:`McNemarResult`); ``verdict``; ``disagreements``, the
        number of sentences the two label differently; and ``disagreeing``, the first
        ``show`` of them as ``{"index", "text", "truth", "a", "b"}``.
    """
    labels = [str(y) for y in labels]
    proba_a, proba_b = model_a.predict_proba(texts), model_b.predict_proba(texts)
    pred_a = np.asarray(model_a.classes_, dtype=object)[proba_a.argmax(axis=1)]
    pred_b = np.asarray(model_b.classes_, dtype=object)[proba_b.argmax(axis=1)]
    truth = np.asarray(labels, dtype=object)
    test = mcnemar(pred_a == truth, pred_b == truth)
    figures_a = evaluate.report(labels, proba_a, model_a.classes_)
    figures_b = evaluate.report(labels, proba_b, model_b.classes_)
    delta = {key: figures_b[key] - figures_a[key] for key in ("macro_f1", "accuracy", "ece")}
    # Labels the two models share; a label only one of them knows has nothing to subtract.
    shared = [label for label in figures_a["per_label"] if label in figures_b["per_label"]]
    delta["per_label"] = {
        label: {
            metric: figures_b["per_label"][label][metric] - figures_a["per_label"][label][metric]
            for metric in ("precision", "recall", "f1")
        }
        for label in shared
    }
    differ = np.flatnonzero(pred_a != pred_b)
    return {
        "n": len(labels),
        "a": figures_a,
        "b": figures_b,
        "delta": delta,
        "mcnemar": asdict(test),
        "verdict": verdict(test, alpha),
        "disagreements": int(len(differ)),
        "disagreeing": [
            {"index": int(i), "text": texts[i], "truth": labels[i], "a": str(pred_a[i]), "b": str(pred_b[i])}
            for i in differ[: max(show, 0)]
        ],
    }


def format_comparison(result: dict, name_a: str = "A", name_b: str = "B") -> str:
    """A human-readable side-by-side table of :func:`compare`'s result.

    Parameters
    ----------
    result : dict
        As returned by :func:`compare`.
    name_a, name_b : str
        How to name the two models in the header (their folders, say).

    Returns
    -------
    str
    """
    a, b, delta = result["a"], result["b"], result["delta"]
    lines = [f"A: {name_a}", f"B: {name_b}", f"{result['n']} labelled sentences", ""]
    head = f"{'label':<24}" + "".join(f"{h:>8}" for h in ("A prec", "A rec", "A F1", "B prec", "B rec", "B F1", "ΔF1"))
    lines.append(head)
    for label in delta["per_label"]:
        ma, mb = a["per_label"][label], b["per_label"][label]
        values = (ma["precision"], ma["recall"], ma["f1"], mb["precision"], mb["recall"], mb["f1"])
        lines.append(
            f"{label:<24}" + "".join(f"{v:>8.3f}" for v in values) + f"{delta['per_label'][label]['f1']:>+8.3f}"
        )
    lines.append("")
    lines.append(f"{'':<24}{'A':>8}{'B':>8}{'B−A':>8}")
    for key, name in (("macro_f1", "macro-F1"), ("accuracy", "accuracy"), ("ece", "ECE (lower is better)")):
        lines.append(f"{name:<24}{a[key]:>8.3f}{b[key]:>8.3f}{delta[key]:>+8.3f}")
    test = result["mcnemar"]
    lines.append("")
    statistic = f", chi2={test['statistic']:.3f}" if test["statistic"] is not None else ""
    lines.append(
        f"McNemar's test ({test['method']}): A right and B wrong {test['a_only']}, "
        f"B right and A wrong {test['b_only']}{statistic}, p={_format_p(test['p_value'])}"
    )
    lines.append(result["verdict"])
    shown = result["disagreeing"]
    if result["disagreements"]:
        lines.append("")
        lines.append(f"they disagree on {result['disagreements']} sentence(s); showing {len(shown)}:")
        for item in shown:
            lines.append(f"  truth {item['truth']:<22} A {item['a']:<22} B {item['b']:<22} {item['text']}")
    return "\n".join(lines)


def _format_p(p: float) -> str:
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"
