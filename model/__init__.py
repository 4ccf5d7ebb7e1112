"""escalation-signals: label news sentences as diplomatic, military, civilian-preparedness or none.

>>> from escalation import load_model
>>> model = load_model()                      # the shipped model
>>> model.predict(["Troops massed on the border."])
array(['military'], dtype=object)
"""

from .classifier import LABELS, SIGNAL_LABELS, SignalClassifier
from .sentences import Sentence, split_sentences
from .store import ModelError, load_model, save_model

__version__ = "0.1.0"
__all__ = [
    "LABELS",
    "SIGNAL_LABELS",
    "ModelError",
    "Sentence",
    "SignalClassifier",
    "load_model",
    "save_model",
    "split_sentences",
]
