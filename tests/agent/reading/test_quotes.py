"""Tests of agent.reading.quotes: quotes found back in the note with exact offsets."""

from __future__ import annotations

import pytest

from agent.reading.quotes import clean_quote, find_quote
from agent.reading.segment import Span

NOTE = (
    "HPI: 67 y.o. woman with Type 2 diabetes mellitus and CKD stage 3.\n"
    "Assessment:\n"
    "1. Type 2   diabetes\n   mellitus with diabetic chronic kidney disease\n"
    "2. Hypertension, on lisinopril. Hypertension is controlled.\n"
)


def check(note: str, span: Span | None) -> Span:
    assert span is not None
    assert note[span.start : span.end] == span.text
    return span


# --- exact matches ------------------------------------------------------------------------------


def test_exact_quote_gives_exact_offsets() -> None:
    span = check(NOTE, find_quote(NOTE, "CKD stage 3"))
    assert span == Span(53, 64, "CKD stage 3")


def test_exact_quote_prefers_the_occurrence_nearest_to_near() -> None:
    first = NOTE.index("Hypertension")
    second = NOTE.index("Hypertension", first + 1)
    assert check(NOTE, find_quote(NOTE, "Hypertension")).start == first
    assert check(NOTE, find_quote(NOTE, "Hypertension", near=second + 3)).start == second
    assert check(NOTE, find_quote(NOTE, "Hypertension", near=first + 1)).start == first
    assert check(NOTE, find_quote(NOTE, "Hypertension", near=10_000)).start == second
    assert check(NOTE, find_quote(NOTE, "Hypertension", near=-5)).start == first


def test_nearest_breaks_ties_to_the_earlier_occurrence() -> None:
    note = "abc...abc"
    assert find_quote(note, "abc", near=3) == Span(0, 3, "abc")  # 3 from both


@pytest.mark.parametrize(
    "quote",
    [
        '"CKD stage 3"',
        "“CKD stage 3”",
        "'CKD stage 3'",
        "...CKD stage 3...",
        "… CKD stage 3 …",
        '  "...CKD stage 3..." ',
    ],
)
def test_wrapping_quotes_and_ellipses_are_stripped(quote: str) -> None:
    assert find_quote(NOTE, quote) == Span(53, 64, "CKD stage 3")


def test_clean_quote() -> None:
    assert clean_quote(' "...Type 2 diabetes…" ') == "Type 2 diabetes"
    assert clean_quote("“”") == ""


# --- loose matches ------------------------------------------------------------------------------


def test_case_and_whitespace_are_ignored_and_mapped_back() -> None:
    quote = "type 2 diabetes mellitus with diabetic chronic kidney disease"
    span = check(NOTE, find_quote(NOTE, quote))
    start = NOTE.index("Type 2   diabetes\n")
    assert (span.start, span.end) == (
        start,
        start + len("Type 2   diabetes\n   mellitus with diabetic chronic kidney disease"),
    )
    assert span.text == "Type 2   diabetes\n   mellitus with diabetic chronic kidney disease"


def test_loose_match_across_a_line_break_and_tabs() -> None:
    note = "Dx:\tACUTE\t\tkidney\r\nfailure, resolved."
    span = check(note, find_quote(note, "acute kidney failure"))
    assert span == Span(4, 26, "ACUTE\t\tkidney\r\nfailure")


def test_typographic_marks_are_straightened() -> None:
    note = "Patient’s fall – left hip"
    span = check(note, find_quote(note, "patient's fall - left hip"))
    assert span == Span(0, len(note), note)


def test_loose_match_nearest_to_near() -> None:
    note = "HTN.\n\nhtn  again. HTN\nlater"
    later = check(note, find_quote(note, "HTN later", near=20))
    assert later.text == "HTN\nlater" and later.start == note.rindex("HTN")


def test_loose_match_keeps_offsets_when_lower_changes_length() -> None:
    # "İ".lower() is two characters; offsets must still index the note as given.
    note = "İİ  note: Chronic  Kidney disease"
    span = check(note, find_quote(note, "chronic kidney disease"))
    assert span.text == "Chronic  Kidney disease"


# --- nothing found --------------------------------------------------------------------------------


@pytest.mark.parametrize("quote", ["", "  ", "ab", '"ab"', "...", "…", "“”"])
def test_short_quotes_are_refused(quote: str) -> None:
    assert find_quote("ab ab ab", quote) is None


@pytest.mark.parametrize("quote", ["CKD stage 4", "pneumonia", "diabetes mellitus type 2", "x" * 500])
def test_text_not_in_the_note_is_not_found(quote: str) -> None:
    assert find_quote(NOTE, quote) is None


def test_bad_input_types_give_none() -> None:
    assert find_quote(NOTE, None) is None  # type: ignore[arg-type]
    assert find_quote(b"CKD stage 3", "CKD stage 3") is None  # type: ignore[arg-type]


def test_a_large_note_is_searched_to_its_end() -> None:
    # 5 MB of near misses, then the quote (benchmarks/reading_benchmark.py times this search).
    note = ("a" * 63 + "\n") * 80_000 + "Chronic\t\tKidney   DISEASE stage 3"
    exact = find_quote(note, "a" * 64 + "b")
    loose = find_quote(note, "chronic kidney disease stage 3")
    repeat = find_quote(note, "chronic kidney disease", near=len(note))
    assert exact is None
    loose = check(note, loose)
    assert loose.start == 80_000 * 64 and loose.end == len(note)
    assert check(note, repeat).start == loose.start
