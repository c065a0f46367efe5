"""What a learned profile adds to a note: codes coded together (co-occurrence features), and the
leads it brings as candidates (codes of similar coded notes, the corpus's code in a named category)."""

from __future__ import annotations

from agent.candidates.locate import Locator
from agent.learning.profile import cooccurrence


def test_cooccurrence_is_the_share_of_a_codes_notes_that_also_have_the_other() -> None:
    notes = [frozenset(c) for c in (["I10", "E11.9"], ["I10", "E11.9"], ["I10"], ["E11.9", "N18.30"], ["N18.30"])]
    table = cooccurrence(notes)
    assert table["I10"] == {"E11.9": 0.6667}  # 2 of I10's 3 notes
    assert table["E11.9"] == {"I10": 0.6667}  # N18.30 with E11.9 once only: not a pair
    assert "N18.30" not in table  # in 2 notes: too few to say what goes with it


def test_a_candidate_the_corpus_codes_beside_a_named_code_scores_its_cooccurrence(learned) -> None:
    profile = learned.profile
    assert profile.cooccur["I10"]["N18.30"] == 0.25  # 2 of the 8 notes with I10 (E11.22 is in too few)
    names = set(profile.feature_names)
    assert {"cooccur", "cat_named", "cat_candidates"} <= names
    column = profile.feature_names.index("cooccur")
    assert learned.training.x[:, column].max() > 0  # learned out of fold, and present in the rows


def test_codes_of_similar_coded_notes_are_candidates_on_the_statement_most_like_them(learned, mini_coder) -> None:
    from agent.reading.statements import analyze_note

    note = "Seen today. Known type 2 diabetes mellitus. Blood pressure high."
    analysis, statements = analyze_note(note)
    without = mini_coder.deps.locator.locate(note, analysis, statements)
    located = mini_coder.deps.locator.locate(note, analysis, statements, learned.profile)
    assert not any("neighbours" in c.sources for c in without.candidates)
    recalled = [c for c in located.candidates if "neighbours" in c.sources]
    assert recalled
    for c in recalled:  # a statement a dense hit already rests on keeps that one span
        assert all(note[e.start : e.end] == e.text for e in c.evidence) and c.features["nb_vote"] >= 0.1
    diabetes = next(c for c in recalled if c.code.startswith("E11"))
    assert any("diabetes" in e.text for e in diabetes.evidence if e.source in ("neighbours", "dense"))


def test_a_named_category_brings_in_the_codes_its_corpus_codes_there_on_the_same_words(learned, mini_coder) -> None:
    from agent.reading.statements import analyze_note

    note = "Seen today. Fracture of the right femoral neck."
    analysis, statements = analyze_note(note)
    words_only = Locator(mini_coder.deps.store, mini_coder.deps.locator.matcher)  # no dense neighbours
    assert "S72.001A" not in {c.code for c in words_only.locate(note, analysis, statements).candidates}
    located = {c.code: c for c in words_only.locate(note, analysis, statements, learned.profile).candidates}
    assert learned.profile.category_codes("S72", 3) == ["S72.001A"]  # what the corpus codes under S72
    sibling = located["S72.001A"]
    assert sibling.sources == ("corpus",) and sibling.features["corpus_sibling"] == 1.0
    (e,) = sibling.evidence
    assert note[e.start : e.end] == e.text and "femoral neck" in e.text
