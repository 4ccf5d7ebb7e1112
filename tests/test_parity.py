"""The numpy runtime must score exactly like the scikit-learn pipeline it was exported from."""

import numpy as np
import pytest

from conftest import SEED


@pytest.fixture(scope="module")
def fitted(corpus_rows):
    from escalation_training.fit import SignalPipeline

    texts = [r["text"] for r in corpus_rows]
    labels = [r["label"] for r in corpus_rows]
    groups = [r["context"] for r in corpus_rows]
    pipeline = SignalPipeline(folds=3).fit(texts, labels, groups)
    return pipeline, texts


def test_runtime_equals_sklearn_pipeline_on_the_whole_corpus(fitted):
    pipeline, texts = fitted
    runtime = pipeline.to_runtime()
    texts = texts + SEED.read_text(encoding="utf-8").splitlines() + ["", "ok", "Ünïcode ÉLAN 東京"]
    np.testing.assert_allclose(runtime.decision_function(texts), pipeline.decision_function(texts), rtol=0, atol=1e-9)
    np.testing.assert_allclose(runtime.predict_proba(texts), pipeline.predict_proba(texts), rtol=0, atol=1e-9)
    assert list(runtime.predict(texts)) == list(pipeline.predict(texts))
    assert list(runtime.get_feature_names_out()) == list(pipeline.get_feature_names_out())
    assert list(runtime.classes_) == list(pipeline.classes_)


def test_temperature_is_fitted_not_default(fitted):
    pipeline, _ = fitted
    assert pipeline.temperature_ != 1.0
    assert 0.05 < pipeline.temperature_ < 20


@pytest.mark.parametrize(
    "settings",
    [
        {"ngram_range": (1, 3)},
        {"ngram_range": (2, 3)},
        # Pruned by frequency rank, so that many word pairs are kept whose words are not.
        {"ngram_range": (1, 2), "max_features": 3000},
    ],
    ids=["1-3", "2-3", "max_features"],
)
def test_features_equal_tfidf_vectorizer_for_other_vocabularies(corpus_rows, settings):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from escalation.features import TfidfFeatures

    texts = [r["text"] for r in corpus_rows[:4000]]
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, **settings).fit(texts)
    features = TfidfFeatures(
        vectorizer.get_feature_names_out(), vectorizer.idf_, settings["ngram_range"]
    )
    probe = texts[::7] + [r["text"] for r in corpus_rows[4000:6000]] + ["", "a b", "the the the"]
    rows = features.transform(probe)
    expected = vectorizer.transform(probe).tocsr()
    expected.sort_indices()
    np.testing.assert_array_equal(rows.indptr, expected.indptr)
    np.testing.assert_array_equal(rows.indices, expected.indices)
    np.testing.assert_allclose(rows.data, expected.data, rtol=0, atol=1e-12)
