"""The inpatient claim's panel: the stay's facts (age, sex, discharge status, dates), each
diagnosis's present-on-admission indicator with its reason, each procedure's date, and the MS-DRG
preview (the DRG with what set it, what accepting each pending suggestion would do, and the CDI
queries). Every change goes through the case store and is audited; the preview is computed by
`app.review.drg_preview` from the case as it is now."""

from __future__ import annotations

from datetime import date

import streamlit as st

from agent.records import POA_INDICATORS
from app.review.drg_preview import DrgPreview, preview
from app.review.records import DISCHARGE_STATUSES, LIVE, SEXES, Case, CaseCode, CaseProcedure, Encounter
from app.review.store import CaseStore
from app.ui.fold import fold
from app.ui.session import act, coder_name
from app.workbench import md_escape
from index.errors import CodaError
from index.store import CodeStore

POA_LABELS = {
    "Y": "Y · present at admission",
    "N": "N · not present at admission",
    "U": "U · documentation insufficient",
    "W": "W · clinically undetermined",
    "exempt": "exempt from POA reporting",
}
SEX_LABELS = {"F": "F · female", "M": "M · male", "U": "U · unknown"}


def drg_panel(
    store: CaseStore, book: CodeStore, case: Case, codes: list[CaseCode], procedures: list[CaseProcedure]
) -> DrgPreview | None:
    """The panel for an inpatient case (nothing for an outpatient one); returns the preview shown."""
    if case.setting != "inpatient" or not codes:
        return None
    st.markdown("#### Inpatient claim: stay, POA and MS-DRG")
    try:
        shown = remembered_preview(case, codes, procedures, book)
    except CodaError as exc:
        st.error(md_escape(str(exc)), icon=":material/block:")
        shown = None
    if shown is not None:
        drg_summary(shown)
    stay_form(store, case)
    poa_form(store, case, codes)
    procedure_dates(store, case, procedures)
    return shown


def remembered_preview(
    case: Case, codes: list[CaseCode], procedures: list[CaseProcedure], book: CodeStore
) -> DrgPreview:
    """The preview, computed again only when what it reads has changed (about 0.1 s with the full
    code book: a grouping per pending suggestion and per CDI option), not on every rerun of the page."""
    key = (
        case.id,
        case.encounter,
        tuple((c.code, c.status, c.principal, c.poa.indicator if c.poa else None) for c in codes),
        tuple((p.code, p.status, p.principal) for p in procedures),
    )
    memo = st.session_state.setdefault("drg_preview", {})
    if key not in memo:
        memo.clear()  # one case's preview at a time
        memo[key] = preview(case, codes, procedures, book)
    shown: DrgPreview = memo[key]
    return shown


def drg_summary(shown: DrgPreview) -> None:
    with st.container(border=True, key="drg_box"):
        if shown.result is None:
            st.info(f"No DRG yet: set {', '.join(shown.missing)}.", icon=":material/info:")
            return
        r = shown.result
        weight = f"{r.weight:.4f}" if r.weight is not None else "not in the CMS table"
        st.markdown(f"**MS-DRG {r.drg:03d}** · {md_escape(r.title)}")
        st.caption(
            f"MDC {r.mdc:02d} {md_escape(r.mdc_title)} · relative weight {weight} · "
            f"MS-DRG v{r.version // 10}.{r.version % 10} (FY2026 discharges)"
            if r.mdc is not None
            else f"relative weight {weight}"
        )
        if r.drivers:
            st.markdown(f"Set by {', '.join(md_escape(d) for d in r.drivers)}")
        else:
            st.markdown("No secondary diagnosis changes this DRG.")
        for hac in r.hacs:
            st.warning(f"Hospital-acquired condition, not counted: {md_escape(hac)}", icon=":material/warning:")
        for line in shown.assumed:
            st.caption(md_escape(line))
        for what_if in shown.what_ifs:
            icon = ":material/trending_up:" if what_if.moves else ":material/trending_flat:"
            st.markdown(f"{icon} {md_escape(what_if.line())}")
        for hint in shown.hints:
            st.markdown(f":material/help: CDI: {md_escape(hint.line())}")
            st.code(hint.query, language=None, wrap_lines=True)


def stay_form(store: CaseStore, case: Case) -> None:
    stay = case.encounter
    missing = stay.missing_for_drg()
    box = fold("Stay" + (f": {', '.join(missing)} not set" if missing else ""), key=f"stay_box_{case.id}")
    with box:
        if not box.open:
            return
        done = case.status == "done"
        with st.container(horizontal=True, wrap=True):
            st.number_input("Age", 0, 124, value=stay.age, key=f"stay_age_{case.id}", disabled=done)
            sexes = list(SEXES)
            st.selectbox(
                "Sex",
                sexes,
                index=sexes.index(stay.sex) if stay.sex else None,
                format_func=SEX_LABELS.get,
                key=f"stay_sex_{case.id}",
                disabled=done,
            )
            statuses = list(DISCHARGE_STATUSES)
            st.selectbox(
                "Discharge status",
                statuses,
                index=statuses.index(stay.discharge_status) if stay.discharge_status else None,
                format_func=lambda s: f"{s} · {DISCHARGE_STATUSES[s]}",
                key=f"stay_status_{case.id}",
                disabled=done,
            )
            st.text_input(
                "Admitting diagnosis",
                value=stay.admitting or "",
                key=f"stay_admitting_{case.id}",
                placeholder="R07.9",
                help="The condition that occasioned the admission as known then (the 837I's ABJ)",
                disabled=done,
            )
            for field, label in (("admitted", "Admitted"), ("discharged", "Discharged")):
                value = getattr(stay, field)
                st.date_input(
                    label,
                    value=date.fromisoformat(value) if value else None,
                    key=f"stay_{field}_{case.id}",
                    disabled=done,
                )
        st.button(
            "Save stay",
            key="save_stay",
            icon=":material/save:",
            disabled=done,
            on_click=save_stay,
            args=(store, case.id),
        )


def poa_form(store: CaseStore, case: Case, codes: list[CaseCode]) -> None:
    live = [c for c in codes if c.status in LIVE]
    unset = [c.code for c in live if c.poa is None]
    box = fold("Present on admission" + (f": {len(unset)} not set" if unset else ""), key=f"poa_box_{case.id}")
    with box:
        if not box.open:
            return
        done = case.status == "done"
        for c in live:
            with st.container(horizontal=True, vertical_alignment="bottom", key=f"poa_row_{dashed(c.code)}"):
                indicators = list(POA_INDICATORS)
                st.selectbox(
                    f"{c.code}",
                    indicators,
                    index=indicators.index(c.poa.indicator) if c.poa else None,
                    format_func=POA_LABELS.get,
                    key=f"poa_{case.id}_{dashed(c.code)}",
                    disabled=done,
                    help=c.poa.reason if c.poa else "No POA proposed: set one",
                )
                st.text_input(
                    "Why",
                    key=f"poa_reason_{case.id}_{dashed(c.code)}",
                    placeholder=c.poa.reason if c.poa else "what in the record documents it",
                    disabled=done,
                )
                st.button(
                    "Set",
                    key=f"set_poa_{dashed(c.code)}",
                    icon=":material/check:",
                    disabled=done,
                    on_click=set_poa,
                    args=(store, case.id, c.code),
                )


def procedure_dates(store: CaseStore, case: Case, procedures: list[CaseProcedure]) -> None:
    dated = [p for p in procedures if p.status != "rejected" and len(p.code) == 7]
    if not dated:
        return
    undated = sum(p.performed_on is None for p in dated)
    box = fold("Procedure dates" + (f": {undated} not set" if undated else ""), key=f"pdates_box_{case.id}")
    with box:
        if not box.open:
            return
        done = case.status == "done"
        for p in dated:
            with st.container(horizontal=True, vertical_alignment="bottom", key=f"pdate_row_{p.code}"):
                st.date_input(
                    f"{p.code} performed on",
                    value=date.fromisoformat(p.performed_on) if p.performed_on else None,
                    key=f"pdate_{case.id}_{p.code}",
                    disabled=done,
                )
                st.button(
                    "Set date",
                    key=f"set_pdate_{p.code}",
                    icon=":material/event:",
                    disabled=done,
                    on_click=set_procedure_date,
                    args=(store, case.id, p.code),
                )


def dashed(code: str) -> str:
    """A code as a widget key spells it: no dot, which would break the key's CSS class (S72.001A -> S72-001A)."""
    return code.replace(".", "-")


# -- callbacks --------------------------------------------------------------------------------------


def save_stay(store: CaseStore, case_id: str) -> None:
    state = st.session_state
    age = state.get(f"stay_age_{case_id}")
    days = {f: state.get(f"stay_{f}_{case_id}") for f in ("admitted", "discharged")}
    admitting = " ".join((state.get(f"stay_admitting_{case_id}") or "").split()) or None
    stay = Encounter(
        int(age) if age is not None else None,
        state.get(f"stay_sex_{case_id}"),
        state.get(f"stay_status_{case_id}"),
        *(d.isoformat() if d else None for d in days.values()),
        admitting,
    )
    act(lambda: store.set_encounter(case_id, stay, coder_name(), "set by the coder"), f"Saved the stay of {case_id}")


def set_poa(store: CaseStore, case_id: str, code: str) -> None:
    indicator = st.session_state.get(f"poa_{case_id}_{dashed(code)}") or ""
    reason = st.session_state.get(f"poa_reason_{case_id}_{dashed(code)}", "")
    act(lambda: store.set_poa(case_id, code, indicator, reason, coder_name()), f"POA of {code}: {indicator}")


def set_procedure_date(store: CaseStore, case_id: str, code: str) -> None:
    day = st.session_state.get(f"pdate_{case_id}_{code}")
    when = day.isoformat() if day else None
    act(lambda: store.set_procedure_date(case_id, code, when, coder_name()), f"{code} performed on {when or '(none)'}")
