from __future__ import annotations

import pytest

from index.errors import EmptyQuery
from index.search import Filters
from index.synonyms import Synonyms


@pytest.fixture(params=["embedded", "chroma server"])
def mini_search(request, mini_search):
    """Every search test runs on the release's own Chroma folder and on a real Chroma server."""
    return mini_search if request.param == "embedded" else request.getfixturevalue("server_search")


def codes(hits):
    return [h.code for h in hits]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("high blood pressure", "I10"),
        ("HTN", "I10"),
        ("type 2 diabetes with diabetic chronic kidney disease", "E11.22"),
        ("DM2 with diabetic CKD", "E11.22"),
        ("ckd stage 3", "N18.3"),
        ("fracture of hip", "S72.00"),
        ("concussion", "S06.0"),
    ],
)
def test_text_queries_rank_the_expected_code_first(mini_search, query, first):
    assert codes(mini_search.search(query, limit=5))[0] == first


def test_code_queries_find_the_code_then_its_descendants(mini_search):
    hits = mini_search.search("e11.2", limit=4)
    assert codes(hits)[:3] == ["E11.2", "E11.22", "E11.29"]
    assert hits[0].sources[0] == "code"


def test_seventh_character_codes_are_found_by_code(mini_search):
    assert codes(mini_search.search("S72001A", limit=3))[0] == "S72.001A"


def test_hits_say_what_matched(mini_search):
    hit = mini_search.search("high blood pressure", limit=1)[0]
    assert hit.matched == "high blood pressure"
    assert "lexical" in hit.sources and "dense" in hit.sources


def test_billable_filter(mini_search):
    hits = mini_search.search("chronic kidney disease", limit=10, filters=Filters(billable=True))
    assert hits and all(h.billable for h in hits)
    assert "N18" not in codes(hits)


def test_chapter_filter(mini_search):
    hits = mini_search.search("chronic kidney disease", limit=10, filters=Filters(chapter="14"))
    assert hits and all(h.code.startswith("N18") for h in hits)


def test_dense_search_finds_paraphrases(mini_search):
    # No word of the query is in the code book; only the embedding can connect them.
    assert codes(mini_search.search("brain shaken after a blow to the head", limit=3))[0].startswith("S06.0")


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_refused(mini_search, query):
    with pytest.raises(EmptyQuery):
        mini_search.search(query)


def test_synonyms_expand_whole_words_only():
    syn = Synonyms.default()
    assert syn.expand("HTN and DM2") == ["hypertension and type 2 diabetes mellitus"]
    assert syn.expand("CHFX") == []
    assert syn.expand("nothing to expand") == []


def test_asked_for_billable_codes_a_heading_that_matches_stands_for_the_billable_codes_under_it(mini_search):
    # S72.00 says "fracture of hip"; the claim takes S72.001A and its kin, two levels under it.
    hits = mini_search.search("fracture of hip", limit=5, filters=Filters(billable=True))
    assert hits and all(h.billable for h in hits)
    assert codes(hits)[0].startswith("S72.00") and len(codes(hits)[0]) == 8
    assert hits[0].matched == "Fracture of hip NOS"  # the heading's words, shown with the code they stand for


def test_the_encoder_knows_coders_words_for_external_causes_the_agent_does_not_read():
    encoder = Synonyms.for_encoder()
    assert encoder.expand("tripped over a rug") == ["fall on same level from slipping, tripping and stumbling a rug"]
    assert encoder.expand("slipped on ice at home") == [
        "fall on same level due to ice and snow home as the place of occurrence of the external cause"
    ]
    assert encoder.expand("HTN") == ["hypertension"]  # and everything the agent's table knows
    assert Synonyms.default().expand("tripped over a rug") == []
