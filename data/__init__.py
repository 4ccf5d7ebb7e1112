"""The labelled corpus the shipped model is trained on (``corpus.csv``), installed as package
data so that ``escalation train`` can add it to a user's own labels."""
