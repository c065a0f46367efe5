"""The case's claim: the codes that go on it, its validation (errors block export, warnings do not),
the exports (FHIR R4 Claim, X12 837P HI segment for outpatient cases, CSV), "Mark case done" /
"Reopen for review", and the audit trail of every decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import streamlit as st

from app.review.exports import claim_codes, claim_csv, fhir_claim, x12_hi_segment
from app.review.records import AuditEntry, Case, CaseCode
from app.review.store import CaseStore
from app.review.validation import Validation
from app.ui.session import act, coder_name
from app.workbench import audit_rows, export_name, md_escape
from index.errors import ExportError


def claim_section(store: CaseStore, case: Case, codes: list[CaseCode], validation: Validation) -> None:
    """The final claim, its validation (errors block export, warnings do not), exports and status."""
    st.markdown("#### Claim")
    if not codes:
        st.caption("Code the note first: the claim is built from the codes you accept or add.")
        return
    final = claim_codes(codes)
    if final:
        st.dataframe(
            [
                {"#": i, "code": c.code, "title": c.title, "type": "principal" if c.principal else "other"}
                for i, c in enumerate(final, 1)
            ],
            hide_index=True,
            key="claim_table",
        )
    for f in validation.errors:
        if f.kind == "no_codes":  # where every review starts: a hint, though it still blocks export
            st.info(md_escape(f.message), icon=":material/info:")
        else:
            st.error(md_escape(f.message), icon=":material/block:")
    for f in validation.warnings:
        st.warning(md_escape(f.message), icon=":material/warning:")
    if final and not validation.errors and not validation.warnings:
        st.success("The claim passes validation.", icon=":material/verified:")
    exports = {"fhir": "", "x12": "", "csv": ""}
    blocked = validation.blocks_export
    if not blocked:
        try:
            exports["fhir"] = json.dumps(fhir_claim(case, codes), indent=2)
            exports["csv"] = claim_csv(case, codes, coder_name(), datetime.now(UTC))
            if case.setting == "outpatient":
                exports["x12"] = x12_hi_segment(codes)
        except ExportError as exc:
            st.error(md_escape(str(exc)), icon=":material/block:")
            blocked = True
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
        st.download_button(
            "Codes (CSV)",
            exports["csv"],
            file_name=export_name(case, "csv"),
            mime="text/csv",
            key="export_csv",
            **download,
        )
        st.space("stretch")
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
                disabled=blocked,
                on_click=set_status,
                args=(store, case.id, "done", f"{case.id} is done"),
            )
    if blocked:
        st.caption('Export and "done" wait until the errors above are fixed.')
    elif exports["x12"]:
        st.code(exports["x12"], language=None)


def audit_trail(entries: list[AuditEntry]) -> None:
    with st.expander(f"Audit trail ({len(entries)} entries)", expanded=False):
        if entries:
            st.dataframe(audit_rows(entries), hide_index=True, key="audit_table")
        else:
            st.caption("No decisions yet.")


def set_status(store: CaseStore, case_id: str, status: str, done: str) -> None:
    act(lambda: store.set_status(case_id, status, coder_name()), done)
