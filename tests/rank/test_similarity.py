from __future__ import annotations

from core.rank.similarity import Example, Similarity
from core.rank.words import Words


def _liking(text: str, corpus: dict[str, str]) -> Similarity:
    keys = {paper_id: Words.of(words).keys for paper_id, words in corpus.items()}
    return Similarity({"like": [Example("liked", "Liked", text)]}, keys)


def test_similarity_is_a_cosine_so_saying_a_text_twice_changes_nothing() -> None:
    similarity = _liking(
        "sparse attention kernels for decoding",
        {
            "once": "sparse attention kernels on graphs",
            "twice": "sparse attention kernels on graphs " * 2,
            "past_the_table": "sparse attention kernels on graphs " * 1500,
            "other": "graph coloring",
        },
    )
    once = similarity.nearest("once")["like"].similarity
    assert 0 < once < 1
    assert similarity.nearest("twice")["like"].similarity == once
    assert similarity.nearest("past_the_table")["like"].similarity == once
    assert similarity.nearest("other") == {}


def test_numbers_and_single_letters_make_no_two_texts_alike() -> None:
    others = {f"other{n}": "graph coloring" for n in range(3)}
    similarity = _liking("in 2024 x and y reached 7", {"numbers": "2024 x y 7 z", **others})
    assert similarity.nearest("numbers") == {}
