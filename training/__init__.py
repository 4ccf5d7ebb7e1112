"""Training for escalation-signals: corpus validation, fitting, evaluation, comparison.

Needs scikit-learn; the runtime in :mod:`escalation` does not.
"""
