from __future__ import annotations

from core.rank.words import TextField, Words

SENTENCE = "We use FlowMoE-based routing and (LLMs), x_i over a KVCache.\n\t~100%"


def test_ascii_and_other_text_read_into_the_same_words() -> None:
    """ASCII text is cut another, faster way: exactly where the general pattern cuts."""
    accented = SENTENCE.replace("routing", "routïng")
    assert accented.isascii() is False
    ascii_words = Words.of(SENTENCE).words
    assert ascii_words == tuple(w.replace("routïng", "routing") for w in Words.of(accented).words)
    assert ascii_words == (
        *("We", "use", "FlowMoE", "based", "routing", "and", "LLMs"),
        *("x", "i", "over", "a", "KVCache", "100"),
    )
    piped = ("a|b || c", "a|b || c ï")  # `|` is a word of its own, in ASCII text or not
    assert (
        Words.of(piped[0]).words == Words.of(piped[1]).words[:-1] == ("a", "|", "b", "|", "|", "c")
    )


def test_compounds_are_read_apart_from_the_words_holding_them_only() -> None:
    field = TextField.of(SENTENCE)
    assert field.split is not None
    assert field.split.words == ("Flow", "Mo", "E", "based", "|", "LLMs", "|", "KV", "Cache")
    assert TextField.of("a text in lower case, 2 numbers and Capitals").split is None
