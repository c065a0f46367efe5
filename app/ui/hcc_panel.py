"""The outpatient case's risk-adjustment panel: which accepted diagnosis codes map to which CMS-HCC
(V28) category, the note's MEAT evidence for each (monitored, evaluated, assessed, treated), and
the risk score with the demographic inputs it used, shown and editable (age and sex are the case's,
audited when changed; the segment is chosen here)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app.review.claim import claim_codes
from app.review.hcc import SEGMENTS, meat, risk
from app.review.records import Case, CaseCode
from app.review.store import CaseStore
from app.ui.fold import fold
from app.ui.session import act, coder_name
from app.workbench import markdown_table, md_escape
from index.errors import CodaError

MEAT_LETTERS = {"monitored": "M", "evaluated": "E", "assessed": "A", "treated": "T"}


def hcc_panel(store: CaseStore, case: Case, codes: list[CaseCode]) -> None:
    if case.setting != "outpatient":
        return
    final = claim_codes(codes)
    if not final:
        return
    box = fold("Risk adjustment (CMS-HCC V28)", key=f"hcc_box_{case.id}", icon=":material/monitoring:")
    with box:
        if not box.open:
            return
        stay = case.encounter
        with st.container(horizontal=True, vertical_alignment="bottom", key="hcc_inputs"):
            st.number_input("Age", 0, 124, value=stay.age, key=f"hcc_age_{case.id}")
            st.selectbox(
                "Sex", ["F", "M"], index=["F", "M"].index(stay.sex) if stay.sex in ("F", "M") else None,
                key=f"hcc_sex_{case.id}",
            )  # fmt: skip
            st.selectbox(
                "Segment", list(SEGMENTS), format_func=lambda s: f"{s} · {SEGMENTS[s][0]}", key=f"hcc_segment_{case.id}"
            )
            st.button(
                "Save age and sex",
                key="save_hcc_demographics",
                icon=":material/save:",
                disabled=case.status == "done",
                on_click=save_demographics,
                args=(store, case.id),
            )
        age, sex = stay.age, stay.sex
        if age is None or sex not in ("F", "M"):
            st.info("Set the patient's age and sex (F or M) to see the risk score.", icon=":material/info:")
            return
        segment = st.session_state.get(f"hcc_segment_{case.id}") or "CNA"
        try:
            result = risk([c.code for c in final], age, sex, segment)
        except CodaError as exc:
            st.error(md_escape(str(exc)), icon=":material/block:")
            return
        who = f"{SEGMENTS[segment][0]}, age {age}, sex {sex}"
        st.markdown(
            f"**Risk score {result.score:.3f}** · {md_escape(result.model)} · demographics "
            f"{md_escape(result.category)} ({who}): {result.demographic_score:.3f}"
        )
        if not result.hccs:
            st.caption("No accepted code maps to an HCC.")
            return
        by_code = {c.code: c for c in final}
        rows = []
        for line in result.hccs:
            for code in line.codes:
                found = meat(case.note, by_code[code].evidence) if code in by_code else {}
                shown = "; ".join(
                    f"{MEAT_LETTERS[element]}: {', '.join(repr(e.text) for e in spans[:3])}"
                    for element, spans in found.items()
                )
                rows.append(
                    (f"HCC {line.hcc}", line.label, f"{line.coefficient:.3f}", code, shown or "none found: query")
                )
        st.markdown(markdown_table(("HCC", "category", "coefficient", "code", "MEAT in the note"), rows))
        st.caption(
            "MEAT: the note's words showing the condition Monitored, Evaluated, Assessed or Treated at this visit, "
            "from the sentences that state it. An HCC without them will not stand in a risk-adjustment audit."
        )


def save_demographics(store: CaseStore, case_id: str) -> None:
    state = st.session_state
    age = state.get(f"hcc_age_{case_id}")

    def save() -> Case:
        stay = store.get_case(case_id).encounter  # the rest of the stay stays as it is
        given = replace(stay, age=int(age) if age is not None else None, sex=state.get(f"hcc_sex_{case_id}"))
        return store.set_encounter(case_id, given, coder_name(), "set by the coder")

    act(save, f"Saved the age and sex of {case_id}")
