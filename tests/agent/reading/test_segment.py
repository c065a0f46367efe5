"""Tests of agent.reading.segment: exact offsets for sections, sentences and clauses."""

from __future__ import annotations

import random

import pytest

from agent.reading.assertion import Assertion, assertion_of
from agent.reading.segment import Analysis, Clause, Section, Sentence, Span, analyze
from index.errors import NoteError

NOTE = (
    "Patient: Jane Doe, 67 y.o. female, seen by Dr. Smith.\n"
    "\n"
    "HISTORY OF PRESENT ILLNESS:\n"
    "Presents with productive cough x 3 days. Temp 38.9 °C, T.A: 109/68. No chest pain. "
    "Denies fever but has cough.\n"
    "\n"
    "Past Medical History:\n"
    "1. Hypertension\n"
    "2. Type 2 diabetes mellitus, on metformin 500 mg b.i.d.\n"
    "- CKD stage 3\n"
    "\n"
    "Family History: Mother with breast cancer.\n"
    "Medications: Lisinopril 10 mg daily; metformin.\n"
    "Allergies: NKDA\n"
    "\n"
    "Assessment and Plan:\n"
    "Community-acquired pneumonia, possible sepsis. No evidence of pulmonary embolism.\n"
    "Discharge Diagnosis\n"
    "1. Pneumonia 2. Hypertension 3. CKD stage 3.\n"
    "Plan: Start ceftriaxone. Return if fever recurs.\n"
)


def check_spans(note: str, analysis: Analysis) -> None:
    """Every span is exact, trimmed, in order, and inside the span that contains it."""
    previous_end = 0
    for section in analysis.sections:
        assert 0 <= previous_end <= section.start < section.end <= len(note)
        assert note[section.start : section.end].strip() == note[section.start : section.end]
        if section.header is not None:
            h = section.header
            assert h.start == section.start and h.end <= section.end
            assert note[h.start : h.end] == h.text
        previous_end = section.end

    previous_end = 0
    for sentence in analysis.sentences:
        assert note[sentence.start : sentence.end] == sentence.text
        assert sentence.text and sentence.text == sentence.text.strip()
        assert previous_end <= sentence.start < sentence.end
        containing = [s for s in analysis.sections if s.start <= sentence.start and sentence.end <= s.end]
        assert len(containing) == 1 and containing[0].name == sentence.section
        header = containing[0].header
        assert header is None or header.end <= sentence.start
        previous_end = sentence.end

    previous_end = 0
    for clause in analysis.clauses:
        assert note[clause.start : clause.end] == clause.text
        assert clause.text and clause.text == clause.text.strip()
        sentence = analysis.sentences[clause.sentence_index]
        assert sentence.start <= clause.start < clause.end <= sentence.end
        assert previous_end <= clause.start
        previous_end = clause.end


# Notes built to make a careless regex backtrack: each must still split, with exact offsets, in
# linear time (benchmarks/reading_benchmark.py prints how long each takes).
ADVERSARIAL = [
    "a" * 1_000_000,
    "a. " * 300_000,
    " " * 1_000_000 + "x",
    "Plan" + " \t" * 500_000,
    "\n" * 1_000_000,
    ("x" * 39 + ".") * 25_000,
    "Dr." * 300_000,
    ",;" * 500_000,
    "1. " + "2" * 1_000_000 + ".",
]


def texts(analysis: Analysis) -> list[str]:
    return [s.text for s in analysis.sentences]


# --- exact offsets ---------------------------------------------------------------------------


def test_sentences_and_clauses_have_exact_offsets() -> None:
    note = "No chest pain. Denies fever but has cough."
    analysis = analyze(note)
    assert analysis.sections == (Section("body", 0, 42),)
    assert analysis.sentences == (
        Sentence(0, 14, "No chest pain.", "body"),
        Sentence(15, 42, "Denies fever but has cough.", "body"),
    )
    assert analysis.clauses == (
        Clause(0, 14, "No chest pain.", 0),
        Clause(15, 27, "Denies fever", 1),
        Clause(32, 42, "has cough.", 1),
    )
    check_spans(note, analysis)


def test_crlf_line_endings() -> None:
    note = "Allergies: NKDA\r\nPlan:\r\nFollow up in 2 weeks.\r\n"
    analysis = analyze(note)
    assert analysis.sections == (
        Section("allergies", 0, 15, Span(0, 10, "Allergies:")),
        Section("plan", 17, 45, Span(17, 22, "Plan:")),
    )
    assert analysis.sentences == (
        Sentence(11, 15, "NKDA", "allergies"),
        Sentence(24, 45, "Follow up in 2 weeks.", "plan"),
    )
    assert all("\r" not in s.text for s in analysis.sentences)
    check_spans(note, analysis)


def test_old_mac_and_unicode_line_breaks() -> None:
    note = "Cough.\rNo fever\u2028Plan:\rRest."
    analysis = analyze(note)
    assert texts(analysis) == ["Cough.", "No fever", "Rest."]
    assert [s.section for s in analysis.sentences] == ["body", "body", "plan"]
    check_spans(note, analysis)


def test_unicode_before_spans() -> None:
    note = "Temp 38.5 °C. Café-au-lait spots 🙂 noted.\nPMH: Ménière disease. Naïve to insulin."
    analysis = analyze(note)
    assert texts(analysis) == [
        "Temp 38.5 °C.",
        "Café-au-lait spots 🙂 noted.",
        "Ménière disease.",
        "Naïve to insulin.",
    ]
    menieres = analysis.sentences[2]
    assert (menieres.start, menieres.end) == (47, 63)  # code points: "é", "°", "🙂" count one each
    assert menieres.start == note.index("Ménière") and menieres.section == "history"
    check_spans(note, analysis)


def test_realistic_note() -> None:
    analysis = analyze(NOTE)
    check_spans(NOTE, analysis)

    expected_sections = [
        ("body", None),
        ("hpi", "HISTORY OF PRESENT ILLNESS:"),
        ("history", "Past Medical History:"),
        ("family_history", "Family History:"),
        ("medications", "Medications:"),
        ("allergies", "Allergies:"),
        ("assessment", "Assessment and Plan:"),
        ("diagnoses", "Discharge Diagnosis"),
        ("plan", "Plan:"),
    ]
    assert [(s.name, s.header.text if s.header else None) for s in analysis.sections] == expected_sections
    for section in analysis.sections[1:]:
        assert section.start == NOTE.index("\n" + section.header.text) + 1
    assert analysis.sections[0] == Section("body", 0, 53)
    assert analysis.sections[5] == Section("allergies", 395, 410, Span(395, 405, "Allergies:"))

    assert [(s.section, s.text) for s in analysis.sentences] == [
        ("body", "Patient: Jane Doe, 67 y.o. female, seen by Dr. Smith."),
        ("hpi", "Presents with productive cough x 3 days."),
        ("hpi", "Temp 38.9 °C, T.A: 109/68."),
        ("hpi", "No chest pain."),
        ("hpi", "Denies fever but has cough."),
        ("history", "Hypertension"),
        ("history", "Type 2 diabetes mellitus, on metformin 500 mg b.i.d."),
        ("history", "CKD stage 3"),
        ("family_history", "Mother with breast cancer."),
        ("medications", "Lisinopril 10 mg daily; metformin."),
        ("allergies", "NKDA"),
        ("assessment", "Community-acquired pneumonia, possible sepsis."),
        ("assessment", "No evidence of pulmonary embolism."),
        ("diagnoses", "Pneumonia"),
        ("diagnoses", "Hypertension"),
        ("diagnoses", "CKD stage 3."),
        ("plan", "Start ceftriaxone."),
        ("plan", "Return if fever recurs."),
    ]
    hypertension = analysis.sentences[5]
    assert (hypertension.start, hypertension.end) == (220, 232)
    assert [(c.sentence_index, c.text) for c in analysis.clauses if c.sentence_index in (0, 2, 9, 11)] == [
        (0, "Patient: Jane Doe"),
        (0, "67 y.o. female"),
        (0, "seen by Dr. Smith."),
        (2, "Temp 38.9 °C"),
        (2, "T.A: 109/68."),
        (9, "Lisinopril 10 mg daily"),
        (9, "metformin."),
        (11, "Community-acquired pneumonia"),
        (11, "possible sepsis."),
    ]


def test_assertions_over_the_realistic_note() -> None:
    analysis = analyze(NOTE)

    def assertion(phrase: str, occurrence: int = 0) -> Assertion:
        start = -1
        for _ in range(occurrence + 1):
            start = NOTE.index(phrase, start + 1)
        sentence = analysis.sentences[analysis.sentence_at(start)]
        local = start - sentence.start
        return assertion_of(sentence.text, local, local + len(phrase), sentence.section)

    assert assertion("productive cough") == Assertion.PRESENT
    assert assertion("chest pain") == Assertion.NEGATED
    assert assertion("fever") == Assertion.NEGATED
    assert assertion("cough", 1) == Assertion.PRESENT  # "... but has cough"
    assert assertion("Hypertension") == Assertion.HISTORICAL  # past medical history
    assert assertion("breast cancer") == Assertion.FAMILY
    assert assertion("Community-acquired pneumonia") == Assertion.PRESENT
    assert assertion("sepsis") == Assertion.UNCERTAIN
    assert assertion("pulmonary embolism") == Assertion.NEGATED
    assert assertion("Hypertension", 1) == Assertion.PRESENT  # discharge diagnosis
    assert assertion("fever", 1) == Assertion.HYPOTHETICAL


# --- sections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("HISTORY OF PRESENT ILLNESS:", "hpi"),
        ("HPI:", "hpi"),
        ("Past Medical History:", "history"),
        ("PMH:", "history"),
        ("Family History:", "family_history"),
        ("Assessment and Plan:", "assessment"),
        ("Diagnoses:", "diagnoses"),
        ("Discharge Diagnosis", "diagnoses"),
        ("DISCHARGE DIAGNOSES:", "diagnoses"),
        ("Medications:", "medications"),
        ("Allergies:", "allergies"),
        ("Social History:", "social_history"),
        ("Review of Systems:", "review_of_systems"),
        ("Physical Exam:", "exam"),
        ("Impression:", "assessment"),
        ("Plan:", "plan"),
        ("  Plan :", "plan"),
        ("past\tmedical   history", "history"),
    ],
)
def test_section_headers(header: str, name: str) -> None:
    note = f"Seen today.\n{header}\nSomething here."
    analysis = analyze(note)
    assert [s.name for s in analysis.sections] == ["body", name]
    section = analysis.sections[1]
    assert section.header == Span(section.start, section.start + len(header.strip()), header.strip())
    assert section.end == len(note)
    assert [(s.text, s.section) for s in analysis.sentences] == [
        ("Seen today.", "body"),
        ("Something here.", name),
    ]
    check_spans(note, analysis)


@pytest.mark.parametrize(
    "line",
    [
        "Plan to discharge tomorrow.",
        "Patient: John Doe",
        "History of hypertension.",
        "Allergies to penicillin noted.",
        "Planned follow-up in clinic.",
        "The assessment: stable.",
    ],
)
def test_lines_that_are_not_headers(line: str) -> None:
    analysis = analyze(f"Seen today.\n{line}")
    assert [s.name for s in analysis.sections] == ["body"]
    assert texts(analysis) == ["Seen today.", line]


def test_header_with_text_on_the_same_line_and_no_body() -> None:
    note = "  Allergies: Penicillin (rash).\nMEDICATIONS:\n\n"
    analysis = analyze(note)
    assert analysis.sections == (
        Section("allergies", 2, 31, Span(2, 12, "Allergies:")),
        Section("medications", 32, 44, Span(32, 44, "MEDICATIONS:")),
    )
    assert analysis.sentences == (Sentence(13, 31, "Penicillin (rash).", "allergies"),)
    check_spans(note, analysis)


# --- sentences -------------------------------------------------------------------------------


def test_abbreviations_and_numbers_do_not_end_sentences() -> None:
    note = (
        "Seen by Dr. Smith and Mrs. Jones. Metformin 500 mg b.i.d. with meals. "
        "Pneumonia vs. bronchitis, e.g. viral. Temp 40.2, T.A: 109/68. "
        "Lisinopril 10 mg. Aspirin 81 mg. daily. Pt. seen at 8 a.m. today! Is she better? Yes."
    )
    assert texts(analyze(note)) == [
        "Seen by Dr. Smith and Mrs. Jones.",
        "Metformin 500 mg b.i.d. with meals.",
        "Pneumonia vs. bronchitis, e.g. viral.",
        "Temp 40.2, T.A: 109/68.",
        "Lisinopril 10 mg.",
        "Aspirin 81 mg. daily.",
        "Pt. seen at 8 a.m. today!",
        "Is she better?",
        "Yes.",
    ]
    check_spans(note, analyze(note))


def test_sentence_end_details() -> None:
    note = 'He said "no pain." Then slept (well.) Next... ?pneumonia on film. fever. no chills.'
    assert texts(analyze(note)) == [
        'He said "no pain."',
        "Then slept (well.)",
        "Next...",
        "?pneumonia on film.",
        "fever.",
        "no chills.",
    ]


def test_a_line_break_ends_a_sentence() -> None:
    note = "Patient with cough\nand fever\n\n   \nstable"
    assert texts(analyze(note)) == ["Patient with cough", "and fever", "stable"]


def test_lists_of_diagnoses() -> None:
    note = (
        "Diagnoses:\n"
        "1. Hypertension\n"
        "2) Type 2 diabetes mellitus. Well controlled.\n"
        "- CKD stage 3\n"
        "* Obesity\n"
        "\t• Hyperlipidemia\n"
        "(6) Gout\n"
        "#7 Anemia\n"
        "-----\n"
        "Problems: 1. HTN 2. DM type 2 3. CKD stage 3. Diabetes.\n"
        "Stage 3. Diabetes 4. Test\n"
    )
    analysis = analyze(note)
    assert texts(analysis) == [
        "Hypertension",
        "Type 2 diabetes mellitus.",
        "Well controlled.",
        "CKD stage 3",
        "Obesity",
        "Hyperlipidemia",
        "Gout",
        "Anemia",
        "HTN",
        "DM type 2",
        "CKD stage 3.",
        "Diabetes.",
        "Stage 3.",
        "Diabetes 4.",
        "Test",
    ]
    assert {s.section for s in analysis.sentences} == {"diagnoses"}
    first = analysis.sentences[0]
    assert (first.start, first.end) == (14, 26)
    check_spans(note, analysis)


def test_clauses() -> None:
    note = "Cough, fever; no rash but itching however, BP 1,200/80 and HR 72."
    analysis = analyze(note)
    assert [c.text for c in analysis.clauses] == [
        "Cough",
        "fever",
        "no rash",
        "itching",
        "BP 1,200/80 and HR 72.",
    ]
    assert {c.sentence_index for c in analysis.clauses} == {0}
    check_spans(note, analysis)


def test_clauses_are_not_split_at_with() -> None:
    note = "Type 2 diabetes mellitus with diabetic chronic kidney disease."
    assert [c.text for c in analyze(note).clauses] == [note]


def test_html_is_text_like_any_other() -> None:
    note = "<script>alert(1)</script> Hypertension.\nPlan: <b>Start</b> lisinopril &amp; recheck."
    analysis = analyze(note)
    assert texts(analysis) == [
        "<script>alert(1)</script> Hypertension.",
        "<b>Start</b> lisinopril &amp; recheck.",
    ]
    first = analysis.sentences[0]
    assert (first.start, first.end) == (0, 39)
    start = first.text.index("Hypertension")
    assert note[first.start + start : first.start + start + len("Hypertension")] == "Hypertension"
    assert assertion_of(first.text, start, start + len("Hypertension")) == Assertion.PRESENT
    check_spans(note, analysis)


@pytest.mark.parametrize("note", ["", " ", "\r\n\r\n", "\t \u2028 ", "-----", "...", "1."])
def test_notes_without_text(note: str) -> None:
    analysis = analyze(note)
    assert analysis.sentences == () and analysis.clauses == ()
    check_spans(note, analysis)


def test_a_note_must_be_text() -> None:
    with pytest.raises(NoteError):
        analyze(b"No fever.")  # type: ignore[arg-type]


def test_sentence_at() -> None:
    analysis = analyze("No chest pain. Denies fever.")
    assert analysis.sentence_at(0) == 0
    assert analysis.sentence_at(13) == 0
    assert analysis.sentence_at(14) is None  # the space between
    assert analysis.sentence_at(15) == 1
    assert analysis.sentence_at(100) is None


def test_random_notes_keep_exact_offsets() -> None:
    # fmt: off
    pieces = [
        "No fever", ". ", "Dr.", " ", "\n", "\r\n", "PMH:", "Plan", ":", "1.", "2)", "- ", "40.2", "é", "°", ",", ";",
        " but ", "b.i.d.", "\t", "?", "!", "(", ")", '"', "\u00a0", "\u2028", "Hypertension", "mg.", "Family History",
        "  ", "<br>", "…", "🙂",
    ]
    # fmt: on
    rng = random.Random(20240601)
    for _ in range(300):
        note = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        check_spans(note, analyze(note))


# --- big and hostile notes (their times: benchmarks/reading_benchmark.py) --------------------


def test_a_5_mb_note_keeps_exact_offsets() -> None:
    note = NOTE * (5_000_000 // len(NOTE) + 1)
    analysis = analyze(note)
    assert len(analysis.sentences) == 18 * (len(note) // len(NOTE))
    for span in (*analysis.sections, *analysis.sentences, *analysis.clauses):
        assert span.end > span.start
    assert all(note[s.start : s.end] == s.text for s in analysis.sentences)
    assert all(note[c.start : c.end] == c.text for c in analysis.clauses)


@pytest.mark.parametrize("note", ADVERSARIAL, ids=lambda n: repr(n[:8]))
def test_adversarial_notes_keep_exact_offsets(note: str) -> None:
    check_spans(note, analyze(note))
