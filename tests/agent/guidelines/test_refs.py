"""Tests of agent.guidelines.refs: code references in the Tabular's notes."""

from __future__ import annotations

import pytest

from agent.guidelines.refs import CodeRef, parse_refs

# --- parse_refs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "refs"),
    [
        ("type 1 diabetes mellitus (E10.-)", ["E10.-"]),
        (
            "hypertensive disease complicating pregnancy, childbirth and the puerperium (O10-O11, O13-O16)",
            ["O10-O11", "O13-O16"],
        ),
        ("code to identify stage of chronic kidney disease (N18.1-N18.6)", ["N18.1-N18.6"]),
        (
            "diabetic chronic kidney disease (E08.22, E09.22, E10.22, E11.22, E13.22)",
            ["E08.22", "E09.22", "E10.22", "E11.22", "E13.22"],
        ),
        ("hypertensive chronic kidney disease (I12.-, I13.-)", ["I12.-", "I13.-"]),
        ("insulin (Z79.4)", ["Z79.4"]),
        ("certain localized infections - see body system-related chapters", []),
        ("Escherichia coli [E. coli] as the cause of diseases classified elsewhere", []),
        ("congenital tuberculosis (P37.0) (A15-A19)", ["P37.0", "A15-A19"]),
        ("underlying disease, such as:", []),
        ("hearing loss as classified in H90.-", []),  # a code outside any group is not read
        ("deficiency of glucose-6-phosphate dehydrogenase [G6PD] (D55.0)", ["D55.0"]),
        ("prostatic intraepithelial neoplasia II [PIN II] (N42.3-)", ["N42.3-"]),
        ("secondary pulmonary hypertension, if applicable (I27.2-)", ["I27.2-"]),
        ("diabetes mellitus (E08-E13 with .42)", ["E08-E13 with .42"]),
        (
            "code for adverse effect, if applicable, to identify drug (T36-T50 with fifth or sixth character 5)",
            ["T36-T50 with fifth or sixth character 5"],
        ),
        ("open fracture of foot (S92.-with 7th character B)", ["S92.- with 7th character B"]),
        ("(J00-J06; J20-J22)", ["J00-J06", "J20-J22"]),
        ("(A00-R94 and T80-T88.6, T88.8)", ["A00-R94", "T80-T88.6", "T88.8"]),
        ("(I70.2--I70.7-)", ["I70.2-I70.7-"]),
        ("(P28.3- - P28.4-)", ["P28.3-P28.4-"]),
        ("(F11.-F17.-)", ["F11-F17.-"]),
        ("(S00 - S09)", ["S00-S09"]),
        ("(M05.00 to M05.8A)", ["M05.00-M05.8A"]),
        ("(K50.014, K50.114, K50.814, K50.914,", ["K50.014", "K50.114", "K50.814", "K50.914"]),
        ("acquired absence of knee joint (Z89.52-", ["Z89.52-"]),  # the Tabular never closes it
        ("electrolyte imbalance (E87.8}", ["E87.8"]),
        ("insulin (Z79.4), or insulin (Z79.4)", ["Z79.4"]),
    ],
)
def test_parse_refs_on_tabular_notes(note: str, refs: list[str]) -> None:
    assert [str(r) for r in parse_refs(note)] == refs


def test_parse_refs_gives_the_ends_and_the_dash() -> None:
    assert parse_refs("type 1 diabetes mellitus (E10.-)") == (CodeRef("E10", "E10", dash=True),)
    assert parse_refs("(N18.1-N18.6)") == (CodeRef("N18.1", "N18.6"),)
    assert parse_refs("(Z79.4)") == (CodeRef("Z79.4", "Z79.4"),)
    assert parse_refs("(E08-E13 with .42)") == (CodeRef("E08", "E13", qualifier="with .42"),)


# --- CodeRef.covers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "code", "covered"),
    [
        ("(E10.-)", "E10", True),
        ("(E10.-)", "E10.9", True),
        ("(E10.-)", "E10.649", True),
        ("(E10.-)", "e1065", True),
        ("(E10.-)", "E11.9", False),
        ("(E10.-)", "E1", False),
        ("(N18.1-N18.6)", "N18.1", True),
        ("(N18.1-N18.6)", "N18.30", True),
        ("(N18.1-N18.6)", "N18.6", True),
        ("(N18.1-N18.6)", "N18.9", False),
        ("(N18.1-N18.6)", "N18", False),
        ("(N18.1-N18.6)", "N19", False),
        ("(O10-O11, O13-O16)", "O10.011", True),
        ("(O10-O11, O13-O16)", "O11.1", True),
        ("(O10-O11, O13-O16)", "O12.00", False),
        ("(O10-O11, O13-O16)", "O16.9", True),
        ("(O10-O11, O13-O16)", "O09.90", False),
        ("(A15-A19)", "A18.89", True),
        ("(A15-A19)", "A20.0", False),
        ("(I10-I1A)", "I1A.0", True),  # letters sort after digits, as in the Tabular
        ("(I10-I1A)", "I20.9", False),
        ("(Z79.4)", "Z79.4", True),
        ("(Z79.4)", "Z79.84", False),
        ("(S72.001)", "S72.001A", True),  # a code covers its 7th-character extensions
        ("(E08-E13 with .42)", "E11.42", True),
        ("(E08-E13 with .42)", "E08.42", True),
        ("(E08-E13 with .42)", "E11.9", False),
        ("(E08-E13 with .51-.52)", "E11.52", True),
        ("(E08-E13 with .51-.52)", "E11.59", False),
        ("(T36-T50 with fifth or sixth character 5)", "T36.0X5A", True),
        ("(T36-T50 with fifth or sixth character 5)", "T40.415A", True),
        ("(T36-T50 with fifth or sixth character 5)", "T36.0X1A", False),
        ("(T36-T65 with fifth or sixth character 1-4)", "T51.0X4A", True),
        ("(T36-T65 with fifth or sixth character 1-4)", "T51.0X5A", False),
        ("(I69. with final characters -23)", "I69.123", True),
        ("(I69. with final characters -23)", "I69.23", False),
        ("(F11-F19 with fifth to sixth characters 51)", "F12.251", True),
        ("(F11-F19 with fifth to sixth characters 51)", "F12.250", False),
        ("(S02.- with 7th character B)", "S02.0XXB", True),
        ("(S02.- with 7th character B)", "S02.0XXA", False),
    ],
)
def test_covers(ref: str, code: str, covered: bool) -> None:
    assert any(r.covers(code) for r in parse_refs(ref)) is covered


def test_an_unreadable_qualifier_is_approximate_and_covers_its_whole_range() -> None:
    (ref,) = parse_refs("open fracture of elbow and forearm (S52.- with open fracture 7th character)")
    assert ref.approximate
    assert ref.covers("S52.001A") and not ref.covers("S62.001A")
    assert not parse_refs("(E08-E13 with .42)")[0].approximate
    assert not parse_refs("(E10.-)")[0].approximate
