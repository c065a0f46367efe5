"""The workbench's page logic without Streamlit: the worklist, the code list and its colours, the
spans of the note, clicks, the codes a coder may change to, quotes, reasoning and the audit rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from agent.records import Evidence, NonClinical, Step
from app.note_view import palette
from app.review.records import AuditEntry, Case, CaseCode
from app.review.store import CaseStore
from app.workbench import (
    REJECTED_COLOUR,
    ChangeOption,
    CodeRow,
    aside_spans,
    asides_summary,
    audit_rows,
    case_label,
    change_options,
    click_codes,
    code_colours,
    code_rows,
    export_name,
    llm_unavailable,
    markdown_table,
    md_escape,
    move_target,
    neighbour,
    next_undecided,
    note_spans,
    pick_from_click,
    profile_names,
    quote_evidence,
    rejected_by,
    status_counts,
    steps_by_stage,
)
from index.store import CodeStore

NOTE = "Assessment:\nType 2 diabetes with diabetic CKD stage 3.\nHTN.\nDenies asthma.\n"


def span(phrase: str) -> Evidence:
    start = NOTE.index(phrase)
    return Evidence(start, start + len(phrase), phrase)


def code(
    c: str,
    status: str = "suggested",
    sequence: int = 1,
    principal: bool = False,
    evidence: tuple[Evidence, ...] = (),
    confidence: float | None = 0.9,
    reason: str = "",
    origin: str = "agent",
    alternatives: tuple[str, ...] = (),
) -> CaseCode:
    return CaseCode(
        "C0001", c, f"title of {c}", status, sequence, principal, evidence, (), confidence, reason, origin, alternatives
    )


DM = code("E11.22", "accepted", 1, True, (span("Type 2 diabetes with diabetic CKD"),), 0.99)
CKD = code("N18.30", "suggested", 2, False, (span("CKD stage 3"),), 0.95)
HTN = code("I10", "suggested", 3, False, (span("HTN"),), 0.65)
ASTHMA = code("J45.909", "rejected", 4, reason="negated: denies", confidence=None)
CODES = [DM, CKD, HTN, ASTHMA]


def case(status: str = "new", title: str = "Discharge summary", setting: str = "outpatient") -> Case:
    t = "2026-01-02T03:04:05+00:00"
    return Case("C0007", title, NOTE, status, setting, "offline", None, t, t, "pasted")


# -- text through markdown ------------------------------------------------------------------------


def test_md_escape_neutralises_markdown_html_and_directives():
    assert md_escape("**bold** <b>x</b> :red[y]") == r"\*\*bold\*\* \<b\>x\<\/b\> \:red\[y\]"
    assert md_escape("![img](http://x/a.png) $x$") == r"\!\[img\]\(http\:\/\/x\/a\.png\) \$x\$"
    assert md_escape("  two\n lines  ") == "two lines"
    assert md_escape(None) == ""


# -- the worklist ---------------------------------------------------------------------------------


def test_case_label_escapes_the_title():
    assert case_label(case("in_review", "DM *2* <b>")) == r"**C0007** DM \*2\* \<b\>"


def test_status_counts_lists_every_status():
    cases = [case("new"), case("done"), case("new")]
    assert status_counts(cases) == {"new": 2, "coded": 0, "in_review": 0, "done": 1}


# -- the code list and the note -------------------------------------------------------------------


def test_colours_follow_the_note_and_do_not_change_when_a_code_is_rejected():
    before = code_colours(CODES)
    first = palette(["E11.22", "N18.30", "I10"])  # in the order their first words come in the note
    assert before == first
    rejected = [DM, HTN, code("N18.30", "rejected", 4, evidence=CKD.evidence), ASTHMA]
    assert code_colours(rejected) == {"E11.22": first["E11.22"], "I10": first["I10"]}


def test_a_code_the_coder_adds_leaves_the_other_colours_as_they_were():
    before = code_colours(CODES)
    added = replace(code("E87.1", "added", 5, evidence=DM.evidence), origin="coder")  # words before the others'
    after = code_colours([*CODES, added])
    assert {c: after[c] for c in before} == before and after["E87.1"] not in before.values()


def test_code_rows_in_list_order():
    rows = code_rows(CODES)
    colours = code_colours(CODES)
    assert rows == [
        CodeRow("E11.22", "title of E11.22", "accepted", 1, True, colours["E11.22"], ""),
        CodeRow("N18.30", "title of N18.30", "suggested", 2, False, colours["N18.30"], ""),
        CodeRow("I10", "title of I10", "suggested", 3, False, colours["I10"], ""),
        CodeRow("J45.909", "title of J45.909", "rejected", 4, False, None, "negated: denies"),
    ]
    assert [r.live for r in rows] == [True, True, True, False]


def test_note_spans_are_the_live_codes_evidence():
    spans, colours = note_spans(CODES)
    assert spans == [(12, 45, "E11.22"), (42, 53, "N18.30"), (55, 58, "I10")]
    assert [NOTE[s:e] for s, e, _ in spans] == ["Type 2 diabetes with diabetic CKD", "CKD stage 3", "HTN"]
    assert colours == code_colours(CODES)


def test_a_selected_rejected_code_is_shown_in_grey():
    rejected_ckd = code("N18.30", "rejected", 4, evidence=CKD.evidence, reason="coder: stage 3a")
    codes = [DM, HTN, rejected_ckd]
    assert note_spans(codes)[0] == [(12, 45, "E11.22"), (55, 58, "I10")]
    spans, colours = note_spans(codes, selected="N18.30")
    assert spans == [(12, 45, "E11.22"), (55, 58, "I10"), (42, 53, "N18.30")]
    assert colours["N18.30"] == REJECTED_COLOUR


def test_click_codes_reads_the_component_state_or_a_click():
    assert click_codes({"click": {"codes": ["E11.22", "N18.30"], "start": 42, "end": 45}}) == ["E11.22", "N18.30"]
    assert click_codes({"codes": ["I10"], "start": 55, "end": 58}) == ["I10"]
    assert click_codes(None) == []
    assert click_codes({"click": None}) == []
    assert click_codes({"click": {"codes": "I10"}}) == []


def test_a_click_selects_its_first_code_then_cycles_through_overlaps():
    known = ["E11.22", "N18.30", "I10"]
    assert pick_from_click(["E11.22", "N18.30"], None, known) == "E11.22"
    assert pick_from_click(["E11.22", "N18.30"], "I10", known) == "E11.22"
    assert pick_from_click(["E11.22", "N18.30"], "E11.22", known) == "N18.30"
    assert pick_from_click(["E11.22", "N18.30"], "N18.30", known) == "E11.22"
    assert pick_from_click(["I10"], "I10", known) == "I10"
    assert pick_from_click(["Z99.9"], "I10", known) == "I10"  # a code the case no longer has


def test_next_undecided_wraps_round_and_stops_when_all_are_decided():
    assert next_undecided(CODES, "E11.22") == "N18.30"
    assert next_undecided(CODES, "N18.30") == "I10"
    assert next_undecided(CODES, "I10") == "N18.30"
    assert next_undecided([DM, ASTHMA], "E11.22") is None


def test_neighbour_moves_through_the_list_and_stops_at_the_ends():
    assert neighbour(CODES, "N18.30", 1) == "I10"
    assert neighbour(CODES, "N18.30", -1) == "E11.22"
    assert neighbour(CODES, "E11.22", -1) == "E11.22"
    assert neighbour(CODES, "J45.909", 1) == "J45.909"
    assert neighbour(CODES, None, 1) == "E11.22"
    assert neighbour([], None, 1) is None


def test_move_target_keeps_the_principal_first():
    assert move_target(CODES, "I10", -1) == 2
    assert move_target(CODES, "N18.30", -1) is None  # sequence 1 is the principal's
    assert move_target(CODES, "N18.30", 1) == 3
    assert move_target(CODES, "I10", 1) is None  # the last live code
    assert move_target(CODES, "E11.22", 1) is None  # the principal stays first
    assert move_target(CODES, "J45.909", -1) is None  # rejected
    no_principal = [code("E11.22", sequence=1), code("I10", sequence=2)]
    assert move_target(no_principal, "I10", -1) == 1


# -- changing a code ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(mini_data_dir) -> CodeStore:
    return CodeStore(mini_data_dir / "icd10cm" / "2026" / "codes.sqlite")


def test_change_to_a_sibling_the_agent_offers(store):
    assert change_options(store, "E11.22", ["E11.29"]) == [
        ChangeOption(
            "E11.29", "Type 2 diabetes mellitus with other diabetic kidney complication", "sibling", True, True
        )
    ]
    assert change_options(store, "E11.22", ["E11.29"])[0].label == (
        "E11.29 Type 2 diabetes mellitus with other diabetic kidney complication (sibling, the agent's alternative)"
    )


def test_change_to_a_seventh_character(store):
    assert [(o.code, o.relation, o.agent) for o in change_options(store, "S72.001A", ["S72.001B"])] == [
        ("S72.001B", "7th character", True),
        ("S72.001D", "7th character", False),
        ("S72.001S", "7th character", False),
    ]
    assert [(o.code, o.relation) for o in change_options(store, "S72.001")] == [
        ("S72.001A", "7th character"),
        ("S72.001B", "7th character"),
        ("S72.001D", "7th character"),
        ("S72.001S", "7th character"),
    ]


def test_change_to_a_more_specific_code(store):
    options = change_options(store, "E11")
    assert [(o.code, o.relation, o.billable) for o in options] == [
        ("E11.2", "more specific", False),
        ("E11.9", "more specific", True),
    ]
    assert options[0].label == "E11.2 Type 2 diabetes mellitus with kidney complications (more specific, not billable)"


def test_change_options_skip_unknown_codes(store):
    assert change_options(store, "N18.30") == []
    assert change_options(store, "Z99.99") == []
    assert [o.code for o in change_options(store, "E11.9", ["X00.0", "E11.9"])] == ["E11.2"]


# -- reasoning and options ----------------------------------------------------------------------------


def test_steps_are_grouped_by_stage_in_order():
    steps = [Step("locate", "a"), Step("assign", "b"), Step("locate", "c"), Step("custom", "d")]
    assert steps_by_stage(steps) == [
        ("Locate (where the note names it)", ["a", "c"]),
        ("Assign (walking the Tabular List)", ["b"]),
        ("Custom", ["d"]),
    ]


def test_llm_unavailable_says_what_to_set():
    assert "CODA_LLM_BASE_URL" in (llm_unavailable(None) or "")
    assert llm_unavailable("") == llm_unavailable(None)
    assert llm_unavailable("http://localhost:11434/v1") is None


def test_profile_names_are_the_folders_under_profiles(tmp_path):
    assert profile_names(tmp_path) == []
    for name in ("zeta", "alpha", ".tmp"):
        (tmp_path / "profiles" / name).mkdir(parents=True)
    (tmp_path / "profiles" / "notes.txt").write_text("x", encoding="utf-8")
    assert profile_names(tmp_path) == ["alpha", "zeta"]


# -- the audit trail and exports ------------------------------------------------------------------


def test_audit_rows():
    entries = [
        AuditEntry(1, "C0001", "2026-01-02T03:04:05+00:00", "dana", "coded", None, None, ""),
        AuditEntry(2, "C0001", "2026-01-02T03:05:00+00:00", "dana", "changed", "E11.22", "E11.29", "no CKD"),
        AuditEntry(3, "C0001", "2026-01-02T03:06:00+00:00", "dana", "rejected", "I10", None, "not documented"),
        AuditEntry(4, "C0001", "2026-01-02T03:07:00+00:00", "dana", "moved", "N18.30", "N18.30", "3 -> 2"),
        AuditEntry(5, "C0001", "2026-01-02T03:08:00+00:00", "dana", "kept_excludes1", "E10.9", "E11.22", "unrelated"),
    ]
    assert audit_rows(entries) == [
        {"time (UTC)": "2026-01-02 03:04:05", "coder": "dana", "action": "coded", "code": "", "reason": ""},
        {"time (UTC)": "2026-01-02 03:05:00", "coder": "dana", "action": "changed", "code": "E11.22 → E11.29",
         "reason": "no CKD"},
        {"time (UTC)": "2026-01-02 03:06:00", "coder": "dana", "action": "rejected", "code": "I10",
         "reason": "not documented"},
        {"time (UTC)": "2026-01-02 03:07:00", "coder": "dana", "action": "moved", "code": "N18.30",
         "reason": "3 -> 2"},
        {"time (UTC)": "2026-01-02 03:08:00", "coder": "dana", "action": "kept_excludes1", "code": "E10.9 + E11.22",
         "reason": "unrelated"},
    ]  # fmt: skip


def test_rejected_by_reads_the_audit_trail():
    def entry(action, before, after, coder="dana"):
        return AuditEntry(1, "C0001", "2026-01-02T03:04:05+00:00", coder, action, before, after, "")

    entries = [entry("coded", None, None), entry("rejected", "N18.30", None)]
    assert rejected_by("N18.30", entries) == "dana"
    assert rejected_by("J45.909", entries) is None  # the agent's candidate
    entries += [entry("accepted", "N18.30", "N18.30"), entry("rejected", "N18.30", None, "lee")]
    assert rejected_by("N18.30", entries) == "lee"
    assert rejected_by("N18.30", entries[:3]) is None  # accepted again since
    assert rejected_by("N18.30", [*entries, entry("coded", None, None)]) is None  # a new agent result


def test_export_names():
    c = case()
    assert [export_name(c, k) for k in ("fhir", "x12", "csv", "audit")] == [
        "C0007-claim.json",
        "C0007-hi-segment.txt",
        "C0007-codes.csv",
        "C0007-audit.csv",
    ]


def test_the_sentences_addressed_to_the_software_become_asides_and_a_summary():
    found = [NonClinical(5, 20, "Note to coder.", "addressed to the coder"), NonClinical(30, 40, "x" * 10, "a")]
    assert aside_spans(found) == [(5, 20, "addressed to the coder"), (30, 40, "a")]
    assert aside_spans([]) == []
    assert asides_summary(1) == "1 sentence addressed to the software was ignored"
    assert asides_summary(3) == "3 sentences addressed to the software were ignored"


def test_times_are_utc(tmp_path, book):
    clock = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    cases = CaseStore(tmp_path / "c.sqlite", book, clock=lambda: clock)
    made = cases.create_case("HTN.")
    cases.set_status(made.id, "done", "dana")
    assert audit_rows(cases.audit(made.id))[0]["time (UTC)"] == "2026-03-04 05:06:07"


def test_a_quote_is_found_where_the_note_has_it_whatever_its_case_and_line_breaks():
    note = "Assessment:\n1. Type 2 diabetes with diabetic CKD\nstage 3.\n2. CKD stage 3 again."
    found = quote_evidence(note, "ckd  STAGE 3")
    assert [(e.start, e.end, e.text, e.source) for e in found] == [
        (45, 56, "CKD\nstage 3", "coder"),
        (61, 72, "CKD stage 3", "coder"),
    ]
    assert all(note[e.start : e.end] == e.text for e in found)


@pytest.mark.parametrize("quote", ["", "   ", "kidney failure", "x" * 501])
def test_a_quote_that_is_blank_absent_or_too_long_finds_nothing(quote):
    assert quote_evidence("Type 2 diabetes with diabetic CKD stage 3.", quote) == []


def test_a_markdown_table_escapes_every_cell_and_no_cell_breaks_it():
    table = markdown_table(("#", "code", "why"), [(1, "E11.22", "a | b\nc *d*")])
    assert table == "| # | code | why |\n| --- | --- | --- |\n| 1 | E11\\.22 | a \\| b c \\*d\\* |"


def test_a_procedures_words_are_highlighted_once_and_its_characters_listed():
    from agent.records import AxisChoice
    from app.review.records import CaseProcedure
    from app.workbench import axis_rows, procedure_spans

    note = "PROCEDURES: Right hip hemiarthroplasty on day 2."
    right, hip, hemi = Evidence(12, 17, "Right"), Evidence(18, 21, "hip"), Evidence(22, 38, "hemiarthroplasty")
    axes = (
        AxisChoice(4, "body part", "R", "Hip Joint, Femoral Surface, Right", (right, hip, hemi)),
        AxisChoice(5, "approach", "0", "Open", (), "the only value the table row allows"),
        AxisChoice(6, "device", "J", "Synthetic Substitute", (hemi,), "what the procedure implies"),
    )
    live = CaseProcedure("C1", "0SRR0JZ", "t", "suggested", 1, True, (hemi,), axes, (), 0.7, "", "agent")
    gone = CaseProcedure(
        "C1", "0DTJ4ZZ", "t", "rejected", 2, False, (Evidence(0, 10, "PROCEDURES"),), (), (), None, "x", "agent"
    )
    assert procedure_spans([live, gone]) == [(12, 17, "0SRR0JZ"), (18, 21, "0SRR0JZ"), (22, 38, "0SRR0JZ")]
    assert all(note[s:e] for s, e, _ in procedure_spans([live]))
    assert axis_rows(live) == [
        ("4 R", "body part: Hip Joint, Femoral Surface, Right", "“Right”, “hip”, “hemiarthroplasty”"),
        ("5 0", "approach: Open", "the only value the table row allows"),
        ("6 J", "device: Synthetic Substitute", "“hemiarthroplasty”; what the procedure implies"),
    ]
