from __future__ import annotations

import pytest

from agent.candidates.matcher import MatchingRules, TermMatcher, and_variants, make_term

RULES = MatchingRules.default()


def term(text: str, code: str = "A00"):
    return make_term(text, code, "title", RULES)


@pytest.mark.parametrize(
    ("text", "essential"),
    [
        ("Type 2 diabetes mellitus without complications", {"type", "2", "diabetes"}),
        ("Essential (primary) hypertension", {"hypertension"}),
        ("Fracture of hip NOS", {"fracture", "hip"}),
        ("Malignant neoplasm of unspecified kidney, except renal pelvis", {"malignant", "neoplasm", "kidney"}),
        # "without" a complication: the default code for the condition, the clause not required
        ("Hepatitis A without hepatic coma", {"hepatitis", "a"}),
        (
            "Unilateral inguinal hernia, without obstruction or gangrene, not specified as recurrent",
            {"unilateral", "inguinal", "hernia"},
        ),
        # "without" that defines the code stays required
        (
            "Rheumatoid arthritis without rheumatoid factor, unspecified site",
            {"rheumatoid", "arthritis", "without", "factor"},
        ),
        ("Chronic kidney disease, stage 3 (moderate)", {"chronic", "kidney", "disease", "stage", "3"}),
    ],
)
def test_terms_keep_only_essential_words(text, essential):
    assert term(text).essential == frozenset(essential)


@pytest.mark.parametrize("text", ["Other specified disorders", "Activity, unspecified", "Pregnant state, incidental"])
def test_terms_too_generic_to_name_a_code_are_dropped(text):
    made = term(text, "Y93.9" if text.startswith("Activity") else "Z33.1")
    assert made is None or len(made.essential) > 1


@pytest.fixture(scope="module")
def matcher():
    rows = [
        ("Type 2 diabetes mellitus with diabetic chronic kidney disease", "E11.22", "title"),
        ("Chronic kidney disease, stage 3 (moderate)", "N18.3", "title"),
        ("Essential (primary) hypertension", "I10", "title"),
        ("Hepatitis A without hepatic coma", "B15.9", "title"),
        ("Hepatitis, unspecified", "K75.9", "title"),
        ("Old age", "R54", "inclusion"),
    ]
    return TermMatcher.from_rows(rows)


def test_words_in_any_order_with_abbreviations_and_exact_offsets(matcher):
    note = "Pt has DM2 with diabetic CKD stage 3a; HTN."
    matches = matcher.match([(0, len(note), note)])
    found = {m.term.code: (m.start, m.end, note[m.start : m.end]) for m in matches}
    assert found["E11.22"] == (7, 28, "DM2 with diabetic CKD")
    assert found["N18.3"] == (25, 37, "CKD stage 3a")  # "3a" says stage 3
    assert found["I10"] == (39, 42, "HTN")


def test_a_capital_letter_alone_is_a_name_not_a_stopword(matcher):
    note = "hepatitis a in a patient"
    assert {m.term.code for m in matcher.match([(0, len(note), note)])} == {"K75.9"}
    note = "Hepatitis A, acute"
    assert {m.term.code for m in matcher.match([(0, len(note), note)])} == {"K75.9", "B15.9"}


def test_clause_offsets_are_shifted_into_the_note(matcher):
    note = "Assessment: hypertension."
    (m,) = matcher.match([(12, 25, note[12:25])])
    assert (m.start, m.end, note[m.start : m.end]) == (12, 24, "hypertension")


@pytest.mark.parametrize(
    ("title", "variants"),
    [
        (
            "Embolism and thrombosis of renal vein",
            ("Embolism and thrombosis of renal vein", "Embolism of renal vein", "thrombosis of renal vein"),
        ),
        (
            "Secondary malignant neoplasm of liver and intrahepatic bile duct",
            (
                "Secondary malignant neoplasm of liver and intrahepatic bile duct",
                "Secondary malignant neoplasm of liver",
                "Secondary malignant neoplasm of intrahepatic bile duct",
            ),
        ),
        (  # more than a site after "and": only the two joined words are read apart
            "Disorder of the skin and subcutaneous tissue related to radiation, unspecified",
            (
                "Disorder of the skin and subcutaneous tissue related to radiation, unspecified",
                "Disorder of the skin tissue related to radiation, unspecified",
                "Disorder of the subcutaneous tissue related to radiation, unspecified",
            ),
        ),
        # A list stays whole, "and" in parentheses is not read, a title without "and" is itself.
        ("Neoplasm of unspecified behavior of bone, soft tissue, and skin", None),
        ("Diseases of lips (and mouth) and teeth", None),
        ("Nausea with vomiting, unspecified", None),
    ],
)
def test_and_in_a_title_is_read_as_and_or(title, variants):
    assert and_variants(title) == (variants or (title,))


def test_only_a_leaf_title_is_read_with_and_as_or():
    rows = [
        ("Nausea and vomiting", "R11", "title"),
        ("Vomiting, unspecified", "R11.10", "title"),
        ("Embolism and thrombosis of renal vein", "I82.3", "title"),
    ]
    rows.append(("Encounter for examination of eyes and vision without abnormal findings", "Z01.00", "title"))
    matcher = TermMatcher.from_rows(rows, leaves={"R11.10", "I82.3", "Z01.00"})
    # A Z code's "and" joins what the encounter covers: an eye examination is not Z01.00.
    note = "Vomiting since Monday; renal vein thrombosis on CT; eye examination normal."
    found = {(m.term.code, note[m.start : m.end]) for m in matcher.match([(0, len(note), note)])}
    # R11's "and" stays "and": its children tell nausea and vomiting apart.
    assert found == {("R11.10", "Vomiting"), ("I82.3", "renal vein thrombosis")}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("grade III renal adenocarcinoma", "C64.9"),
        ("bone metastases", "C79.51"),
        ("multiple adenopathies", "R59.9"),
        ("HCV positive", "B19.20"),
        ("known dyslipidemia", "E78.5"),
        ("a tumor thrombus in the renal vein", "I82.3"),  # Index: Thrombus - see Thrombosis
    ],
)
def test_index_words_of_notes_reach_the_tabular_words(text, code):
    rows = [
        ("Malignant neoplasm of unspecified kidney, except renal pelvis", "C64.9", "title"),
        ("Secondary malignant neoplasm of bone", "C79.51", "title"),
        ("Enlarged lymph nodes, unspecified", "R59.9", "title"),
        ("Lymphadenopathy NOS", "R59.1", "inclusion"),
        ("Unspecified viral hepatitis C without hepatic coma", "B19.20", "title"),
        ("Hyperlipidemia, unspecified", "E78.5", "title"),
        ("Embolism and thrombosis of renal vein", "I82.3", "title"),
    ]
    matcher = TermMatcher.from_rows(rows, leaves={"I82.3"})
    assert {m.term.code for m in matcher.match([(0, len(text), text)])} == {code}


def test_a_match_takes_the_closest_occurrences_of_its_words():
    matcher = TermMatcher.from_rows([("Chest pain, unspecified", "R07.9", "title")])
    note = "Chest radiograph ordered by the team because of recurring chest pain"
    (m,) = matcher.match([(0, len(note), note)])
    assert note[m.start : m.end] == "chest pain"


def test_words_too_far_apart_do_not_make_a_match():
    matcher = TermMatcher.from_rows([("Chest pain, unspecified", "R07.9", "title")])
    note = "Chest radiograph ordered by the emergency team because of persistent pain"
    assert matcher.match([(0, len(note), note)]) == []


def test_a_title_read_several_ways_is_shown_as_the_tabular_writes_it():
    title = "Hyperuricemia without signs of inflammatory arthritis and tophaceous disease"
    matcher = TermMatcher.from_rows([(title, "E79.0", "title")], leaves={"E79.0"})
    assert [t.text for t in matcher.terms] == [title]


def test_a_titles_leading_other_is_not_asked_of_the_note():
    rows = [
        ("Allergic rhinitis, unspecified", "J30.9", "title"),
        ("Other seasonal allergic rhinitis", "J30.2", "title"),
        ("Essential (primary) hypertension", "I10", "title"),
        ("Other hypertension", "I1A.0", "title"),
    ]
    matcher = TermMatcher.from_rows(rows)
    note = "Seasonal allergic rhinitis. Hypertension."
    found = {(m.term.code, note[m.start : m.end]) for m in matcher.match([(0, len(note), note)])}
    # J30.2's rest extends J30.9's words; "Other hypertension" would say no more than "hypertension".
    assert found == {("J30.2", "Seasonal allergic rhinitis"), ("J30.9", "allergic rhinitis"), ("I10", "Hypertension")}


@pytest.mark.parametrize(
    ("note", "code"),
    [
        ("Acute on chronic hypoxic respiratory failure.", "J96.21"),  # hypoxic: with hypoxia
        ("Laceration of the left forearm.", "S51.812"),  # "without foreign body" is the default
        ("Urine culture grew E. coli.", "B96.20"),
    ],
)
def test_the_notes_words_for_a_titles_words(note, code):
    rows = [
        ("Acute and chronic respiratory failure with hypoxia", "J96.21", "title"),
        ("Laceration without foreign body of left forearm", "S51.812", "title"),
        ("Laceration with foreign body of left forearm", "S51.822", "title"),
        ("Escherichia coli [E. coli] NOS", "B96.20", "inclusion"),
    ]
    matcher = TermMatcher.from_rows(rows)
    assert {m.term.code for m in matcher.match([(0, len(note), note)])} == {code}


@pytest.mark.parametrize(
    ("note", "codes"),
    [
        ("Seen in the hypertension clinic today.", []),
        ("Referred to the CKD stage 3 care team.", []),
        ("Hypertension clinic: essential hypertension, well controlled.", [(31, 43)]),
        ("Hypertension, seen in clinic.", [(0, 12)]),
    ],
    ids=["a clinic's name", "a care team's name", "the name and then the condition", "a condition, then a clinic"],
)
def test_a_term_that_names_a_service_is_not_the_patients_condition(matcher, note, codes):
    found = [(m.start, m.end) for m in matcher.match([(0, len(note), note)]) if m.term.code in ("I10", "N18.3")]
    assert found == codes


@pytest.mark.parametrize(
    ("note", "found"),
    [
        ("79-year-old with known age-related osteoporosis.", False),
        ("A man 80 years old.", False),
        ("Frail, old age.", True),
    ],
)
def test_the_old_of_an_age_is_not_old_age(matcher, note, found):
    assert ("R54" in {m.term.code for m in matcher.match([(0, len(note), note)])}) is found


def test_a_unit_that_names_the_care_given_still_names_its_encounter_code():
    matcher = TermMatcher.from_rows([("Encounter for palliative care", "Z51.5", "title"), ("Pain", "R52", "title")])
    note = "Admitted to our Palliative Care Unit for pain unit follow-up."
    assert {m.term.code for m in matcher.match([(0, len(note), note)])} == {"Z51.5"}
