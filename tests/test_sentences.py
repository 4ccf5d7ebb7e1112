from escalation import split_sentences

from conftest import SEED, SEED_LABELS


def test_seed_article_splits_into_its_42_sentences(seed_labels):
    text = SEED.read_text(encoding="utf-8")
    sentences = split_sentences(text)
    assert len(sentences) == 42
    assert [s.text for s in sentences] == [row["text"] for row in seed_labels]
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_quoted_sentences_count_separately():
    texts = [s.text for s in split_sentences(SEED.read_text(encoding="utf-8"))]
    assert "“We’re calm." in texts
    assert "We’re strong." in texts
    assert "We’re together.”" in texts


def test_abbreviations_never_end_a_sentence():
    text = (
        "The U.S. and the U.K. sent envoys to Geneva. Dr. Ana Ruiz said talks on (Feb.) 16th "
        "would go ahead."
    )
    assert [s.text for s in split_sentences(text)] == [
        "The U.S. and the U.K. sent envoys to Geneva.",
        "Dr. Ana Ruiz said talks on (Feb.) 16th would go ahead.",
    ]


def test_a_line_break_always_ends_a_sentence():
    text = "Troops moved toward the border\nRead: Talks stall in Vienna\n\n  Shelters opened.  "
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Troops moved toward the border",
        "Read: Talks stall in Vienna",
        "Shelters opened.",
    ]
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_closing_quote_stays_with_its_sentence():
    text = "“We will not back down,” the minister said. “Talks go on.” Sirens sounded."
    assert [s.text for s in split_sentences(text)] == [
        "“We will not back down,” the minister said.",
        "“Talks go on.”",
        "Sirens sounded.",
    ]


def test_empty_and_blank_text_have_no_sentences():
    assert split_sentences("") == []
    assert split_sentences(" \n\t\n") == []


def test_buffered_blingfire_call_gives_blingfires_own_result():
    import blingfire

    from escalation.sentences import _text_to_sentences

    texts = [
        "Troops moved. Talks resumed.",
        "Ça va. “Quoted.” Done",  # multi-byte characters: offsets in bytes, not characters
        "x",
        "Envoys met in Geneva. Talks resumed on Monday. " * 3000,  # longer than the reused buffer
        "Short again. Two sentences.",
    ]
    assert [_text_to_sentences(t) for t in texts] == [blingfire.text_to_sentences(t) for t in texts]
