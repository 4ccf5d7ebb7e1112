"""Guards on the training corpus: schema, breadth, and no duplicates or leaks."""

import re
from collections import Counter

import pytest

from conftest import SEED, SHARED_DATA
from escalation import LABELS, split_sentences
from escalation.duplicates import jaccard, normalise, shingles

JACCARD = 0.5
#: Content-word overlap at which a row counts as a paraphrase of an evaluation sentence.
PARAPHRASE = 0.4
_STOP = set(
    "the a an and or of to in on at for by with from as is are was were be been has have had "
    "that this it its their his her they he she we you will would could should said says say "
    "not no but after before over into than more about amid".split()
)


def near_duplicates(texts_a, texts_b=None):
    """Pairs (i, j) with word-5-gram Jaccard >= 0.5, found with MinHash LSH and checked exactly.

    LSH is asked for candidates at 0.3 so that a pair at 0.5 is all but certain to be found.
    """
    datasketch = pytest.importorskip("datasketch")
    sets_a = [shingles(normalise(t)) for t in texts_a]
    sets_b = sets_a if texts_b is None else [shingles(normalise(t)) for t in texts_b]

    def minhash(s):
        m = datasketch.MinHash(num_perm=64, seed=1)
        m.update_batch([" ".join(g).encode() for g in s])
        return m

    lsh = datasketch.MinHashLSH(threshold=0.3, num_perm=64)
    for i, s in enumerate(sets_a):
        lsh.insert(i, minhash(s))
    pairs = []
    for j, s in enumerate(sets_b):
        for i in lsh.query(minhash(s)):
            if (texts_b is not None or i < j) and jaccard(sets_a[i], s) >= JACCARD:
                pairs.append((i, j))
    return pairs


def content_words(text):
    return {w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in _STOP}


def paraphrases(corpus_texts, other_texts):
    """Pairs (i, j) whose content-word sets overlap at Jaccard >= PARAPHRASE.

    Word 5-grams miss a sentence retold with a few words changed ("Ruritania's navy shelled
    ..." as "The Ruritanian navy shelled ..."); shared content words catch it.
    """
    others = [content_words(t) for t in other_texts]
    index = {}
    for j, words in enumerate(others):
        for word in words:
            index.setdefault(word, []).append(j)
    pairs = []
    for i, text in enumerate(corpus_texts):
        words = content_words(text)
        shared = Counter(j for word in words for j in index.get(word, ()))
        pairs += [(i, j) for j, n in shared.items() if n / len(words | others[j]) >= PARAPHRASE]
    return pairs


def test_paraphrase_guard_catches_a_retold_sentence():
    original = "ZENDA (Reuters) - Ruritania's navy shelled the island port of Strelsau on Monday."
    retold = "ZENDA (Reuters) - The Ruritanian navy shelled Strelsau's island port Monday."
    assert near_duplicates([retold], [original]) == []  # what 5-grams miss
    assert paraphrases([retold, "Troops massed on the border."], [original]) == [(0, 0)]


def test_schema(corpus_rows):
    assert corpus_rows, "empty corpus"
    assert list(corpus_rows[0]) == ["id", "text", "label", "context"]
    for row in corpus_rows:
        assert row["label"] in LABELS, row
        assert row["text"].strip() == row["text"] and row["text"], row
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", row["context"]), row
    ids = Counter(row["id"] for row in corpus_rows)
    assert [i for i, n in ids.items() if n > 1] == []


def test_size_per_label(corpus_rows):
    counts = Counter(row["label"] for row in corpus_rows)
    for label in ("diplomatic", "military", "civilian-preparedness"):
        assert counts[label] >= 1000, counts
    assert counts["none"] >= 3000, counts
    traps = sum(1 for r in corpus_rows if r["context"].startswith("lexical-traps") and r["label"] == "none")
    assert traps >= 600


def test_breadth_of_contexts_and_decades(corpus_rows):
    contexts = {row["context"] for row in corpus_rows}
    assert len(contexts) >= 40
    years = {int(m.group()) for c in contexts for m in [re.search(r"(19|20)\d\d", c)] if m}
    decades = {year // 10 * 10 for year in years}
    assert {1960, 1970, 1980, 1990, 2000, 2010, 2020} <= decades, sorted(decades)


def test_no_exact_or_near_duplicates(corpus_rows):
    texts = [row["text"] for row in corpus_rows]
    pairs = near_duplicates(texts)
    shown = [(corpus_rows[i]["id"], corpus_rows[j]["id"]) for i, j in pairs[:10]]
    assert pairs == [], f"{len(pairs)} near-duplicate pairs, e.g. {shown}"


def test_no_overlap_with_the_seed_article(corpus_rows):
    seed = [s.text for s in split_sentences(SEED.read_text(encoding="utf-8"))]
    pairs = near_duplicates([row["text"] for row in corpus_rows], seed)
    assert pairs == [], [(corpus_rows[i]["id"], seed[j]) for i, j in pairs]


def test_no_overlap_with_the_real_evaluation_data(corpus_rows, real_dev_rows):
    texts, dev = [row["text"] for row in corpus_rows], [r["text"] for r in real_dev_rows]
    pairs = near_duplicates(texts, dev) + paraphrases(texts, dev)
    assert pairs == [], [corpus_rows[i]["id"] for i, _ in pairs]


def test_no_overlap_with_the_held_out_texts(corpus_rows):
    import csv

    path = SHARED_DATA / "heldout_texts.csv"
    if not path.exists():
        pytest.skip("../shared/data/heldout_texts.csv is not here")
    with open(path, encoding="utf-8", newline="") as fh:
        held_out = [r["text"] for r in csv.DictReader(fh)]
    texts = [row["text"] for row in corpus_rows]
    pairs = near_duplicates(texts, held_out) + paraphrases(texts, held_out)
    assert pairs == [], [corpus_rows[i]["id"] for i, _ in pairs]


def test_data_card_counts_match_the_corpus():
    from escalation_training.datacard import card_counts, counts_markdown

    from conftest import CORPUS

    assert card_counts(CORPUS.parent / "README.md") == counts_markdown(CORPUS), "run make datacard"
