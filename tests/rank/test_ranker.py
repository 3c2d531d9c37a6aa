from __future__ import annotations

import pytest

from core.config import RankConfig, Rule
from core.models import Hit, Score
from core.rank.ranker import Examples, Ranker, combine, specificity
from core.rank.similarity import Example
from tests.factories import make_paper


def _ranker(*terms: str | Rule, **options: object) -> Ranker:
    rules = [term if isinstance(term, Rule) else Rule(term=term) for term in terms]
    return Ranker(rules, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("MoE", "FlowMoE: routing tokens"),
        ("MoE", "MoE-based language models"),
        ("MoE", "Sparse MOE layers"),
        ("KV cache", "Compressing the KV-cache"),
        ("KV cache", "Sharing KV caches across requests"),
        ("KV cache", "KVCache eviction"),
        ("RL", "Deep RL for robots"),
        ("RL", "DeepRL agents"),
        ("LLM", "LLMs as judges"),
        ("decod*", "Speculative decoders"),
        ("State Space", "state-space models"),
    ],
)
def test_matches_whole_words_and_compounds(term: str, text: str) -> None:
    assert _ranker(term).score(make_paper(title=text)).rules == [term]


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("RL", "the world is particularly interesting"),
        ("Training", "constraining the search"),
        ("Attention", "attend to readers"),
        ("Distributed", "a distributor of goods"),
        ("LLM", "LLaMA and ALLM models"),
        ("MoE", "homoeopathy"),
    ],
)
def test_does_not_match_inside_words(term: str, text: str) -> None:
    assert _ranker(term).score(make_paper(title=text, abstract=text)).hits == []


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("Efficient", "improves efficiency"),
        ("Efficient", "runs efficiently"),
        ("Quantization", "quantized weights"),
        ("Prefill", "prefilling long prompts"),
        ("Parallel", "tensor parallelism"),
        ("Speculative decoding", "speculatively decoded tokens"),
        ("decode*", "decoding"),
    ],
)
def test_other_forms_of_a_word_match_at_half_points(term: str, text: str) -> None:
    hits = _ranker(term).score(make_paper(title="t", abstract=text)).hits
    assert [(h.rule, h.points) for h in hits] == [(term, 0.5)]


def test_a_word_as_written_counts_fully_and_is_preferred_to_another_form() -> None:
    paper = make_paper(title="t", abstract="Efficiency matters, so we build efficient systems")
    assert [(h.matched, h.points) for h in _ranker("Efficient").score(paper).hits] == [
        ("efficient", 1.0)
    ]


def test_acronyms_match_exactly_and_in_the_plural() -> None:
    ranker = _ranker("GPU", "RL")
    assert ranker.score(make_paper(title="GPUs for deep RL")).rules == ["GPU", "RL"]
    assert ranker.score(make_paper(title="gpuish rls")).rules == []


def test_specificity_makes_a_common_keyword_cheap_and_a_rare_one_dear() -> None:
    papers = [make_paper(f"{n}", title="A framework") for n in range(60)]
    papers += [make_paper("rare", title="A framework for the KV cache")]
    papers += [make_paper(f"x{n}", title="Graph theory") for n in range(139)]
    ranked = _ranker("Framework", "KV cache").rank(papers)
    top = ranked[0]
    assert top.id == "rare"
    points = {hit.rule: hit.points for hit in top.score.hits}
    assert points["KV cache"] > 3 * points["Framework"]
    explained = top.score.explain()
    assert "Framework (title +" in explained and "in 61 of 200 papers" in explained
    assert "in 1 of 200 papers" in explained
    plain = _ranker("Framework", "KV cache", specificity=False).rank(papers)[0]
    assert {hit.rule: hit.points for hit in plain.score.hits} == {"Framework": 1.5, "KV cache": 1.5}


def test_alias_counts_for_its_rule() -> None:
    ranker = _ranker(Rule(term="MoE", aliases=["mixture of experts"]))
    score = ranker.score(make_paper(abstract="a sparse mixture-of-experts model"))
    assert [(h.rule, h.field) for h in score.hits] == [("MoE", "abstract")]


def test_title_outweighs_abstract_and_each_rule_counts_once() -> None:
    ranker = _ranker("LLM", "Inference", title_weight=1.5, abstract_weight=1.0)
    paper = make_paper(title="LLM serving", abstract="LLM inference and more LLM inference")
    score = ranker.score(paper)
    assert score.total == 2.5
    assert [(h.rule, h.field, h.points) for h in score.hits] == [
        ("LLM", "title", 1.5),
        ("Inference", "abstract", 1.0),
    ]
    assert score.explain() == "2.5: LLM (title +1.5), Inference (abstract +1)"


def test_hits_follow_the_configured_order_of_rules_whatever_the_text_order() -> None:
    """Only rules whose first word a paper holds are tried (a prefix rule always is): the
    hits still come in the order the rules are configured, far apart in it or not."""
    unmatched = [f"Unmatched{n}" for n in range(6)]
    ranker = _ranker("decod*", "Graphs", "Serving", *unmatched, Rule(term="KV", aliases=["LLM"]))
    score = ranker.score(make_paper(title="Trees", abstract="LLM decoding for serving"))
    assert [(h.rule, h.matched) for h in score.hits] == [
        ("decod*", "decoding"),
        ("Serving", "serving"),
        ("KV", "LLM"),
    ]


def test_keywords_differing_only_by_case_count_once() -> None:
    config = RankConfig(keywords=["Inference", "inference", "INFERENCE"])  # type: ignore[list-item]
    assert [rule.term for rule in config.keywords] == ["Inference"]
    score = Ranker.from_config(config).score(make_paper(title="Fast inference"))
    assert score.total == 1.5


def test_weights_and_exclusion_veto() -> None:
    config = RankConfig(
        keywords=[Rule(term="LLM", weight=2.0)],
        exclude=[Rule(term="survey")],
        category_weights={"cs.DC": 0.5},
    )
    ranker = Ranker.from_config(config)
    normal = ranker.score(make_paper(title="LLM systems", categories=("cs.DC",)))
    assert normal.total == 3.5
    assert normal.vetoed_by is None
    vetoed = ranker.score(make_paper(title="A survey of LLM systems"))
    assert vetoed.vetoed_by == "survey"
    assert "excluded" in vetoed.explain()
    in_abstract = ranker.score(make_paper(title="LLM systems", abstract="Unlike a survey, we"))
    assert in_abstract.vetoed_by is None, "the README: excludes match titles only"


@pytest.mark.parametrize(
    ("title", "vetoed"),
    [
        ("Surveys of LLM systems", True),
        ("LLM systems: A SURVEY", True),
        ("Surveying the space of descriptions of a composite system", False),
        ("A surveyed LLM cohort", False),
    ],
)
def test_an_exclusion_matches_the_word_as_written_not_its_stem(title: str, vetoed: bool) -> None:
    ranker = Ranker.from_config(RankConfig(keywords=["LLM"], exclude=["survey"]))  # type: ignore[list-item]
    assert (ranker.score(make_paper(title=title)).vetoed_by == "survey") is vetoed


def test_negative_exclude_weight_subtracts_instead_of_vetoing() -> None:
    config = RankConfig(keywords=["LLM"], exclude=["survey"], exclude_weight=-2.0)  # type: ignore[list-item]
    score = Ranker.from_config(config).score(make_paper(title="A survey of LLM systems"))
    assert score.vetoed_by is None
    assert score.total == -0.5


def test_followed_authors_ignore_case_and_accents() -> None:
    ranker = _ranker(authors=["Denes Berta"], author_weight=3.0)
    score = ranker.score(make_paper(authors=("Dénes Berta (ELTE)", "Someone Else")))
    assert [(h.field, h.points) for h in score.hits] == [("author", 3.0)]
    assert ranker.score(make_paper(authors=("Dénes Bertalan",))).hits == []


def test_rank_orders_best_first_and_vetoed_last() -> None:
    config = RankConfig(keywords=["LLM", "MoE"], exclude=["survey"])  # type: ignore[list-item]
    papers = [
        make_paper("1", title="Nothing relevant"),
        make_paper("2", title="A survey of LLM MoE"),
        make_paper("3", title="LLM with MoE"),
        make_paper("4", title="LLM only"),
    ]
    assert [p.id for p in Ranker.from_config(config).rank(papers)] == ["3", "4", "1", "2"]


def test_combine_adds_query_terms_to_a_stored_score() -> None:
    paper = make_paper(title="LLM serving with MoE")
    base = _ranker("LLM").score(paper)
    extra = _ranker("MoE").score(paper)
    combined = combine(base, extra)
    assert combined.total == 3.0
    assert combined.rules == ["LLM", "MoE"]


@pytest.mark.parametrize(("share", "worth"), [(0.30, 0.6), (0.10, 1.0), (0.01, 2.0)])
def test_specificity_is_worth_what_the_readme_says(share: float, worth: float) -> None:
    """README: about x0.6 for a keyword in 30% of a day's papers, x1 in 10%, x2 in 1%."""
    papers = 237
    assert specificity(round(share * papers), papers) == pytest.approx(worth, abs=0.15)


def test_likes_are_not_rules_a_keyword_feed_filters_by() -> None:
    paper = make_paper("2", title="Serving paged memory")
    others = [make_paper(f"x{n}", title=f"Topology of knots {n}") for n in range(5)]
    examples = Examples([Example("1", "Paged serving", "paged serving memory")], (), 10.0)
    ranked = Ranker([Rule(term="like")], examples=examples).rank([paper, *others])
    score = next(p.score for p in ranked if p.id == "2")
    assert score.total > 0 and score.rules == []


def test_the_why_line_fits_120_characters_strongest_first_and_counts_the_rest() -> None:
    hits = [
        Hit(rule=f"keyword number {n}", field="abstract", matched="x", points=float(n))
        for n in range(1, 30)
    ]
    liked = Hit(
        rule="like",
        field="like",
        matched="A very long title of a liked paper about paged attention memory",
        points=3.0,
        similarity=0.3,
    )
    interests = Hit(rule="like", field="like", matched="your interests", points=2.0, similarity=0.2)
    why = Score(total=1.0, hits=[*hits, liked, interests]).why()
    assert len(why) <= 120
    assert why.startswith("Why: keyword number 29, keyword number 28")
    assert ' more · like "A very long title of a liked paper…" · your interests' in why
    assert Score(total=0.0, hits=[], vetoed_by="survey").why().startswith("Why last: excluded")
    assert Score().why() == "Why: in a category you follow; nothing else matched"
