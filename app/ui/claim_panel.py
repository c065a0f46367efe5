"""The case's claim: who it is for, from and to (its FHIR references), the codes that go on it, its
validation (errors block export, warnings do not; an Excludes1 pair may be kept with a reason), the
exports (FHIR R4 Claim, X12 837P HI segment for outpatient cases, an X12 837I interchange for
inpatient ones when the site's claim parties are set, CSV), "Mark case done" / "Reopen
for review", and the audit trail of every decision with its CSV export."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from agent.records import Finding
from app.review.claim import claim_codes
from app.review.claim_parties import load_parties
from app.review.drg import GROUPER_DISCHARGES, DrgResult, covers
from app.review.exports import audit_csv, claim_csv, fhir_claim, institutional_837i, x12_hi_segment
from app.review.records import REFERENCE_TYPES, AuditEntry, Case, CaseCode, CaseProcedure, KeptPair, References
from app.review.store import CaseStore
from app.review.validation import Validation
from app.ui.fold import fold
from app.ui.session import act, coder_name
from app.workbench import audit_rows, export_name, markdown_table, md_escape
from index.errors import ExportError
from index.store import CodeStore

REFERENCE_LABELS = {"patient": "Patient", "provider": "Provider", "insurer": "Insurer", "coverage": "Coverage"}


def claim_section(
    store: CaseStore,
    book: CodeStore,
    case: Case,
    codes: list[CaseCode],
    validation: Validation,
    kept: list[KeptPair],
    procedures: Sequence[CaseProcedure] = (),
    drg: DrgResult | None = None,
    parties_dir: Path | None = None,
) -> None:
    """The final claim, its validation (errors block export, warnings do not), exports and status."""
    st.markdown("#### Claim")
    references_panel(store, case)
    if not codes:
        st.caption("Code the note first: the claim is built from the codes you accept or add.")
        return
    final = claim_codes(codes)
    if final:  # a plain table: light to redraw after each decision
        rows = [(i, c.code, c.title, "principal" if c.principal else "other") for i, c in enumerate(final, 1)]
        st.markdown(markdown_table(("#", "code", "title", "type"), rows))
    performed = sorted((p for p in procedures if p.on_claim), key=lambda p: (not p.principal, p.sequence))
    if performed and case.setting == "inpatient":
        rows = [(i, p.code, p.title, "principal" if p.principal else "other") for i, p in enumerate(performed, 1)]
        st.markdown(markdown_table(("#", "procedure", "title", "type"), rows))
    for f in validation.errors:
        if f.kind == "no_codes":  # where every review starts: a hint, though it still blocks export
            st.info(md_escape(f.message), icon=":material/info:")
        else:
            st.error(md_escape(f.message), icon=":material/block:")
            if f.kind == "excludes1":
                keep_both(store, case, f)
    for f in validation.warnings:
        st.warning(md_escape(f.message), icon=":material/warning:")
    if final and not validation.errors and not validation.warnings:
        st.success("The claim passes validation.", icon=":material/verified:")
    exports = {"fhir": "", "x12": "", "csv": "", "837i": ""}
    why_no_837i = ""
    if drg is not None and not covers(case.encounter.discharged):
        # A DRG of a grouper that does not apply to the discharge is a preview, never written on a claim.
        st.caption(
            f"The claim carries no DRG: MS-DRG v43.1 applies to discharges from {GROUPER_DISCHARGES[0]} to "
            f"{GROUPER_DISCHARGES[1]}, and this case's discharge date is {case.encounter.discharged or 'not set'}."
        )
        drg = None
    blocked = validation.blocks_export
    undecided = [c.code for c in codes if c.status == "suggested"]  # never dropped off the claim unseen
    if not blocked:
        try:
            exports["fhir"] = json.dumps(fhir_claim(case, codes, book, procedures=procedures, drg=drg), indent=2)
            exports["csv"] = claim_csv(case, codes, book, coder_name(), datetime.now(UTC), kept)
            if case.setting == "outpatient":
                exports["x12"] = x12_hi_segment(case, codes, book)
        except ExportError as exc:
            st.error(md_escape(str(exc)), icon=":material/block:")
            blocked = True
    if not blocked and case.setting == "inpatient":
        try:  # what the site has not set stops the 837I alone, not the other exports
            parties = load_parties(parties_dir, case.id)
            exports["837i"] = institutional_837i(case, codes, book, procedures, parties, drg, datetime.now(UTC))
        except ExportError as exc:
            why_no_837i = str(exc)
    with st.container(horizontal=True, vertical_alignment="center", key="exports"):
        download = {"disabled": blocked, "on_click": "ignore", "icon": ":material/download:"}
        st.download_button(
            "FHIR R4 Claim (JSON)",
            exports["fhir"],
            file_name=export_name(case, "fhir"),
            mime="application/fhir+json",
            key="export_fhir",
            **download,
        )
        if case.setting == "outpatient":
            st.download_button(
                "X12 837P HI segment",
                exports["x12"],
                file_name=export_name(case, "x12"),
                mime="text/plain",
                key="export_x12",
                **download,
            )
        if case.setting == "inpatient":
            st.download_button(
                "X12 837I",
                exports["837i"],
                file_name=export_name(case, "837i"),
                mime="text/plain",
                key="export_837i",
                **{**download, "disabled": blocked or not exports["837i"]},
            )
        st.download_button(
            "Codes (CSV)",
            exports["csv"],
            file_name=export_name(case, "csv"),
            mime="text/csv",
            key="export_csv",
            **download,
        )
        st.space("stretch")
        if case.status == "done" and st.session_state["account"].role in ("auditor", "admin"):
            st.button(
                "Sign off",
                key="sign_off",
                icon=":material/verified_user:",
                on_click=sign_off,
                args=(store, case.id),
            )
        if case.status == "done":
            st.button(
                "Reopen for review",
                key="reopen",
                icon=":material/undo:",
                on_click=set_status,
                args=(store, case.id, "in_review", f"{case.id} is open for review again"),
            )
        else:
            st.button(
                "Mark case done",
                key="mark_done",
                type="primary",
                icon=":material/task_alt:",
                disabled=blocked or bool(undecided),
                on_click=set_status,
                args=(store, case.id, "done", f"{case.id} is done"),
            )
    if undecided and case.status != "done":
        st.caption(f'"Done" waits until every suggestion is accepted or rejected: {len(undecided)} undecided.')
    if blocked:
        st.caption('Export and "done" wait until the errors above are fixed.')
    elif why_no_837i:
        st.caption(f"No 837I yet: {md_escape(why_no_837i)}")
    elif exports["x12"]:
        st.code(exports["x12"], language=None)


def references_panel(store: CaseStore, case: Case) -> None:
    """Who the claim is for, from and to, as FHIR references entered per case; every change is
    audited. A missing one is written "not recorded" in the FHIR Claim (validation warns of it)."""
    missing = case.references.missing()
    label = "Claim references (FHIR)" + (f": {len(missing)} not recorded" if missing else "")
    done = case.status == "done"
    box = fold(label, key=f"references_box_{case.id}")
    with box:
        if not box.open:
            return
        st.caption(
            "Who the claim is for, from and to, as FHIR references such as Patient/123. One left blank is "
            'written "not recorded on case" in the FHIR Claim, which cannot be submitted until it is set.'
        )
        with st.container(horizontal=True, wrap=True):
            for role, types in REFERENCE_TYPES.items():
                st.text_input(
                    REFERENCE_LABELS[role],
                    value=getattr(case.references, role) or "",
                    key=f"ref_{case.id}_{role}",
                    placeholder=f"{types[0]}/123",
                    help=f"A FHIR reference to a {' or '.join(types)}",
                    disabled=done,
                )
        st.button(
            "Save references",
            key="save_references",
            icon=":material/save:",
            disabled=done,
            on_click=save_references,
            args=(store, case.id),
        )


def keep_both(store: CaseStore, case: Case, finding: Finding) -> None:
    """Keep both codes of an Excludes1 pair with the coder's reason (Guidelines I.A.12.a)."""
    a, b = finding.codes
    with st.container(horizontal=True, vertical_alignment="bottom", wrap=False, key=f"keep_box_{a}_{b}"):
        st.text_input(
            f"Keep {a} and {b}: why the conditions are unrelated",
            key=f"keep_reason_{a}_{b}",
            placeholder="both documented, unrelated conditions",
            disabled=case.status == "done",
        )
        st.button(
            "Keep both",
            key=f"keep_{a}_{b}",
            icon=":material/call_split:",
            disabled=case.status == "done",
            on_click=keep_excludes1,
            args=(store, case.id, a, b),
            help="Guidelines I.A.12.a: both codes may be reported when the two conditions are unrelated",
        )


def audit_trail(case: Case, entries: list[AuditEntry]) -> None:
    box = fold(f"Audit trail ({len(entries)} entries)", key=f"audit_box_{case.id}")
    with box:
        if not box.open:
            return
        if entries:
            st.dataframe(audit_rows(entries), hide_index=True, key="audit_table")
            st.download_button(
                "Audit trail (CSV)",
                audit_csv(case, entries),
                file_name=export_name(case, "audit"),
                mime="text/csv",
                key="export_audit",
                on_click="ignore",
                icon=":material/download:",
            )
        else:
            st.caption("No decisions yet.")


# -- callbacks --------------------------------------------------------------------------------------


def sign_off(store: CaseStore, case_id: str) -> None:
    act(lambda: store.sign_off(case_id, coder_name()), f"Signed off {case_id}")


def set_status(store: CaseStore, case_id: str, status: str, done: str) -> None:
    act(lambda: store.set_status(case_id, status, coder_name()), done)


def save_references(store: CaseStore, case_id: str) -> None:
    given = References(**{role: st.session_state.get(f"ref_{case_id}_{role}", "") for role in REFERENCE_TYPES})
    act(lambda: store.set_references(case_id, given, coder_name()), f"Saved the claim references of {case_id}")


def keep_excludes1(store: CaseStore, case_id: str, a: str, b: str) -> None:
    reason = st.session_state.get(f"keep_reason_{a}_{b}", "")
    act(lambda: store.keep_excludes1(case_id, a, b, reason, coder_name()), f"Kept {a} and {b} on the claim")
