"""The workbench's page logic without Streamlit: samples, uploads, the code list and its colours, the
spans of the note, clicks, the codes a coder may change to, the coding run and the audit rows."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.records import Evidence, Step
from app.cases import AuditEntry, Case, CaseCode, CaseStore
from app.note_view import palette
from app.workbench import (
    REJECTED_COLOUR,
    SAMPLES_DIR,
    ChangeOption,
    CodeRow,
    Sample,
    UploadedNote,
    audit_rows,
    case_label,
    change_options,
    change_steps,
    click_codes,
    code_colours,
    code_rows,
    export_name,
    list_samples,
    llm_unavailable,
    md_escape,
    merge_update,
    move_target,
    neighbour,
    next_undecided,
    note_from_upload,
    note_spans,
    notes_from_uploads,
    pick_from_click,
    profile_names,
    quote_evidence,
    rejected_by,
    run_coding,
    status_counts,
    steps_by_stage,
    upload_title,
)
from index.errors import NoteError
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


# -- samples and uploads --------------------------------------------------------------------------


def test_the_shipped_samples_are_listed_with_their_titles_and_settings():
    samples = list_samples()
    assert [(s.name[:2], s.setting) for s in samples] == [
        ("01", "outpatient"),
        ("02", "inpatient"),
        ("03", "inpatient"),
        ("04", "inpatient"),
        ("05", "inpatient"),
        ("06", "outpatient"),
        ("07", "outpatient"),
        ("08", "outpatient"),
    ]
    assert samples[0] == Sample(
        "01-outpatient-diabetes-ckd-followup",
        "Outpatient visit: diabetes and kidney follow-up",
        "outpatient",
        SAMPLES_DIR / "01-outpatient-diabetes-ckd-followup.txt",
    )
    assert (SAMPLES_DIR / "README.md").read_text(encoding="utf-8").count("synthetic") >= 1


def test_samples_that_are_not_notes_are_left_out(tmp_path):
    (tmp_path / "b-inpatient-x.txt").write_text("\n  Discharge summary  \nbody\n", encoding="utf-8")
    (tmp_path / "a-empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "c.md").write_text("not a note", encoding="utf-8")
    assert list_samples(tmp_path) == [
        Sample("b-inpatient-x", "Discharge summary", "inpatient", tmp_path / "b-inpatient-x.txt")
    ]
    assert list_samples(tmp_path / "missing") == []


def test_an_upload_is_decoded_like_a_note_on_disk_and_kept_exactly():
    assert note_from_upload("a.txt", b"HTN.\r\nCKD 3.\r\n") == "HTN.\r\nCKD 3.\r\n"
    assert note_from_upload("bom.txt", codecs.BOM_UTF8 + "Fièvre.".encode()) == "Fièvre."
    assert note_from_upload("utf16.txt", "Fièvre.".encode("utf-16")) == "Fièvre."
    assert note_from_upload("cp1252.txt", "Patient’s BP 150/90.".encode("cp1252")) == "Patient’s BP 150/90."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"  \n\t\n", "note empty.txt is empty"),
        (b"\x00\x01\x02 binary", "note empty.txt looks binary (contains NUL bytes), not like text"),
        (b"x" * 11, "note empty.txt is too large: 11 bytes, over the limit of 10 bytes"),
    ],
)
def test_a_bad_upload_is_refused_with_its_own_name(data, message):
    with pytest.raises(NoteError) as err:
        note_from_upload("folder/empty.txt", data, max_bytes=10)
    assert str(err.value) == message


def test_a_bad_upload_does_not_stop_the_others():
    got = notes_from_uploads([("a.txt", b"HTN."), ("b.txt", b""), ("c.txt", b"CKD 3.")])
    assert got == [
        UploadedNote("a.txt", "HTN."),
        UploadedNote("b.txt", None, "note b.txt is empty"),
        UploadedNote("c.txt", "CKD 3."),
    ]


def test_upload_title():
    assert upload_title("discharge_summary-03.txt") == "discharge summary 03"
    assert upload_title("dir/visit.TXT") == "visit"


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


def test_code_rows_in_list_order():
    rows = code_rows(CODES)
    colours = code_colours(CODES)
    assert rows == [
        CodeRow("E11.22", "title of E11.22", "accepted", 1, True, colours["E11.22"], "0.99", "agent", "", 1),
        CodeRow("N18.30", "title of N18.30", "suggested", 2, False, colours["N18.30"], "0.95", "agent", "", 1),
        CodeRow("I10", "title of I10", "suggested", 3, False, colours["I10"], "0.65", "agent", "", 1),
        CodeRow("J45.909", "title of J45.909", "rejected", 4, False, None, "", "agent", "negated: denies", 0),
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


def test_change_steps_change_in_place_or_swap_in_a_rejected_candidate():
    e11_29 = code("E11.29", "rejected", 5, reason="a loose semantic neighbour", confidence=None)
    codes = [DM, CKD, HTN, ASTHMA, e11_29]
    assert change_steps(codes, "N18.30", "N18.31") == [("change", "N18.30", "N18.31")]
    assert change_steps(codes, "E11.22", "E11.29") == [
        ("reject", "E11.22", "changed to E11.29"),
        ("accept", "E11.29"),
        ("principal", "E11.29"),
    ]
    assert change_steps(codes, "N18.30", "E11.29") == [
        ("reject", "N18.30", "changed to E11.29"),
        ("accept", "E11.29"),
        ("move", "E11.29", "2"),
    ]
    assert change_steps(codes, "I10", "E11.29") == [("reject", "I10", "changed to E11.29"), ("accept", "E11.29")]
    assert change_steps(codes, "I10", "N18.30") == [("change", "I10", "N18.30")]  # the store refuses it


# -- reasoning, coding ----------------------------------------------------------------------------


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


def test_merge_update_accumulates_progress_and_replaces_the_rest():
    state = merge_update({"note": "n", "progress": ["analyze: 1"]}, {"codes": [1], "progress": ["locate: 2"]})
    assert state == {"note": "n", "codes": [1], "progress": ["analyze: 1", "locate: 2"]}
    assert merge_update(state, None) == state


class ScriptedGraph:
    """A fake compiled graph: streams the updates it was given, and records its input."""

    def __init__(self, updates):
        self.updates = updates
        self.input = None

    def stream(self, graph_input, stream_mode):
        assert stream_mode == "updates"
        self.input = graph_input
        yield from self.updates


def test_run_coding_reports_each_step_and_returns_the_final_state():
    graph = ScriptedGraph(
        [
            {"analyze": {"statements": [], "progress": ["analyze: 2 sentences"]}},
            {"assign": {"proposals": ["x"], "progress": ["assign: 1 code"]}},
            {"reconcile": {"codes": ["E11.22"], "rejected": [], "progress": ["reconcile: 1 code"]}},
        ]
    )
    lines: list[str] = []
    state = run_coding(graph, case(setting="inpatient"), lines.append)
    assert lines == ["analyze: 2 sentences", "assign: 1 code", "reconcile: 1 code"]
    assert graph.input == {
        "note_id": "C0007",
        "note": NOTE,
        "setting": "inpatient",
        "reasoner": "offline",
        "profile": None,
    }
    assert state["codes"] == ["E11.22"] and state["proposals"] == ["x"] and state["progress"] == lines


def test_run_coding_on_the_mini_code_book_saves_as_a_case_result(mini_coder, tmp_path):
    cases = CaseStore(tmp_path / "cases.sqlite")
    new = cases.create_case("Type 2 diabetes with diabetic CKD stage 3. HTN.")
    lines: list[str] = []
    state = run_coding(mini_coder.graph, new, lines.append)
    assert [line.split(":")[0] for line in lines] == ["analyze", "locate", "assign", "verify", "reconcile"]
    saved = cases.save_result(new.id, state, "dana")
    assert [(c.code, c.status, c.principal) for c in saved if c.status != "rejected"] == [
        ("E11.22", "suggested", True),
        ("N18.30", "suggested", False),
        ("I10", "suggested", False),
    ]
    assert [(e.start, e.end, e.text) for e in saved[2].evidence] == [(43, 46, "HTN")]


# -- the audit trail and exports ------------------------------------------------------------------


def test_audit_rows():
    entries = [
        AuditEntry(1, "C0001", "2026-01-02T03:04:05+00:00", "dana", "coded", None, None, ""),
        AuditEntry(2, "C0001", "2026-01-02T03:05:00+00:00", "dana", "changed", "E11.22", "E11.29", "no CKD"),
        AuditEntry(3, "C0001", "2026-01-02T03:06:00+00:00", "dana", "rejected", "I10", None, "not documented"),
        AuditEntry(4, "C0001", "2026-01-02T03:07:00+00:00", "dana", "moved", "N18.30", "N18.30", "3 -> 2"),
    ]
    assert audit_rows(entries) == [
        {"time (UTC)": "2026-01-02 03:04:05", "coder": "dana", "action": "coded", "code": "", "reason": ""},
        {"time (UTC)": "2026-01-02 03:05:00", "coder": "dana", "action": "changed", "code": "E11.22 → E11.29",
         "reason": "no CKD"},
        {"time (UTC)": "2026-01-02 03:06:00", "coder": "dana", "action": "rejected", "code": "I10",
         "reason": "not documented"},
        {"time (UTC)": "2026-01-02 03:07:00", "coder": "dana", "action": "moved", "code": "N18.30",
         "reason": "3 -> 2"},
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
    assert [export_name(c, k) for k in ("fhir", "x12", "csv")] == [
        "C0007-claim.json",
        "C0007-hi-segment.txt",
        "C0007-codes.csv",
    ]


def test_times_are_utc(tmp_path):
    clock = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    cases = CaseStore(tmp_path / "c.sqlite", clock=lambda: clock)
    made = cases.create_case("HTN.")
    cases.set_status(made.id, "done", "dana")
    assert audit_rows(cases.audit(made.id))[0]["time (UTC)"] == "2026-03-04 05:06:07"


def test_samples_dir_is_in_assets():
    assert Path(__file__).resolve().parents[2] / "assets" / "samples" == SAMPLES_DIR


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
