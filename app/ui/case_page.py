"""The open case's page: its header, its coding options, the coding bar that runs the agent with its
step-by-step progress, and the layout of the panels (the note, with the sentences addressed to the
software shown as such, beside the code list and the selected code; for an inpatient case the stay,
POA and MS-DRG panel, for an outpatient one its risk adjustment, then the claim and the audit trail below).

Coding goes through the one entry of the agent, `Coder.code`, and its `CodingResult` is saved as it
is (`CaseStore.save_result`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from agent.records import CodingOptions, NonClinical
from app.note_view import note_view
from app.review.accounts import Accounts
from app.review.records import Case
from app.review.store import CaseStore
from app.review.validation import validate_claim
from app.settings import Settings
from app.ui.add_code import add_code_panel
from app.ui.agent_panel import agent_steps
from app.ui.claim_panel import audit_trail, claim_section
from app.ui.code_list import code_list
from app.ui.code_panel import code_panel
from app.ui.drg_panel import drg_panel
from app.ui.fold import fold
from app.ui.hcc_panel import hcc_panel
from app.ui.procedure_panel import procedure_panel
from app.ui.session import act, coder_name, select, selected_code, session_alive, show_flashes
from app.ui.sidebar import option_widgets
from app.workbench import (
    PROCEDURE_COLOUR,
    STATUS_COLOURS,
    STATUS_LABELS,
    aside_spans,
    asides_summary,
    click_codes,
    md_escape,
    note_spans,
    pick_from_click,
    procedure_spans,
    profile_names,
)
from index.errors import CodaError, DecisionRefused
from index.search import CodeSearch

if TYPE_CHECKING:
    from agent.coder import Coder


def hold(store: CaseStore, case: Case, minutes: int) -> None:
    """Take or renew this coder's lease on the case as they work it; while another account holds
    it, say who and until when (the case store refuses their changes meanwhile)."""
    try:
        store.open_case(case.id, coder_name(), minutes)
    except DecisionRefused:
        lease = store.lease(case.id)
        if lease is not None:
            st.warning(
                f"**{md_escape(lease.username)}** has this case open until {lease.until()}: you can read it, "
                "and your changes are refused until they close it or their lease runs out.",
                icon=":material/lock_person:",
            )


def case_view(store: CaseStore, coder: Coder, search: CodeSearch, case: Case, settings: Settings) -> None:
    case_header(case)
    coding_options(store, settings, coder.release_dir, case)
    coding_bar(store, coder, case)
    case_body(store, search, case.id, case.status, settings.lease_minutes, settings.claim_parties_dir)


@st.fragment
def case_body(
    store: CaseStore,
    search: CodeSearch,
    case_id: str,
    status_shown: str,
    lease_minutes: int,
    parties_dir: Path | None = None,
) -> None:
    """The note, the code list, the selected code and the claim: a Streamlit fragment, so a
    decision made here reruns only this part of the page. When the session has ended or its
    account is disabled, or a decision changed the case's status (the header, the coding bar and
    the worklist show it), the whole page runs again."""
    account = Accounts(store).get(coder_name()) if session_alive() else None
    if account is None or account.disabled:  # the page signs the session out
        st.rerun(scope="app")
    case = store.get_case(case_id)
    if case.status != status_shown:
        st.rerun(scope="app")
    show_flashes()  # what a decision made here says (a toast, or why it was refused)
    hold(store, case, lease_minutes)  # renewed as the coder works, in this part of the page too
    codes = store.codes(case.id)
    known = [c.code for c in codes]
    selected = selected_code(case.id)
    if selected not in known:
        selected = next((c.code for c in codes if c.on_claim or c.status == "suggested"), None)
        select(case.id, selected)
    kept = store.kept_pairs(case.id)
    procedures = store.procedures(case.id)
    validation = validate_claim(case, codes, search.store, kept=kept, procedures=procedures, pcs=store.pcs_book())
    spans, colours = note_spans(codes, selected)
    performed = procedure_spans(procedures)  # the procedures' words, in a colour of their own
    spans += performed
    colours.update({code: PROCEDURE_COLOUR for _, _, code in performed})
    asides = store.non_clinical(case.id)
    left, right = st.columns([5, 4], gap="large")
    with left:
        st.markdown("#### Note")
        key = f"note_{case.id}"  # one view per case, updated in place: a decision never remounts it
        with st.container(border=True, height=640, key="note_box"):
            note_view(
                case.note,
                spans,
                colours,
                selected=selected,
                key=key,
                asides=aside_spans(asides),
                on_click=lambda: on_note_click(key, case.id, known),
            )
        if spans:
            st.caption("Click a highlight to see its code's reasoning. Overlapping highlights show stripes.")
        ignored_sentences(asides)
        agent_steps(store.agent_run(case.id), case.id)
    entries = store.audit(case.id)
    # Each part in a block of its own: a part that grows or shrinks (a row leaving the code list)
    # does not shift, and so redraw, the parts after it.
    with right:
        with st.container():
            code_list(case, codes, selected, entries)
        with st.container():
            code_panel(store, search, case, codes, selected, validation, colours, entries)
        add_code_panel(store, search, case)
        with st.container():
            procedure_panel(store, case, procedures)
    st.divider()
    with st.container(key="claim_facts"):  # the inpatient claim's panel, or the outpatient risk adjustment
        shown = drg_panel(store, search.store, case, codes, procedures)
        hcc_panel(store, case, codes)
    with st.container():
        drg = shown.result if shown is not None else None
        claim_section(store, search.store, case, codes, validation, kept, procedures, drg, parties_dir)
    audit_trail(case, entries)


def ignored_sentences(asides: list[NonClinical]) -> None:
    """The sentences of the note addressed to the software or the coder, listed: no code rests on them."""
    if not asides:
        return
    box = fold(asides_summary(len(asides)), key="asides_box", icon=":material/block:")
    with box:
        if not box.open:
            return
        st.caption(
            "Not clinical text: words addressed to the software or the coder, shown hatched in grey in the note. "
            "The agent codes nothing from them; check the record itself if they ask for a code."
        )
        for aside in asides:
            st.markdown(f"- {md_escape(aside.text)} · *{md_escape(aside.why)}*")


def on_note_click(key: str, case_id: str, known: list[str]) -> None:
    # Each click is news (the view sends it with a fresh stamp); overlapping highlights cycle
    # through their codes on repeated clicks.
    clicked = click_codes(st.session_state.get(key))
    select(case_id, pick_from_click(clicked, selected_code(case_id), known))


def case_header(case: Case) -> None:
    st.markdown(f"### {case.id} · {md_escape(case.title)}")
    badges = [
        f":{STATUS_COLOURS[case.status]}-badge[{STATUS_LABELS[case.status]}]",
        f":gray-badge[{case.setting}]",
        f":gray-badge[{case.reasoner} reasoner]",
        f":gray-badge[profile {md_escape(case.profile)}]" if case.profile else ":gray-badge[no profile]",
    ]
    st.markdown(" ".join(badges))
    st.caption(f"{md_escape(case.source)} · created {case.created_at[:16].replace('T', ' ')} UTC")


def coding_options(store: CaseStore, settings: Settings, release_dir: Path, case: Case) -> None:
    """Change how the agent codes this case, until review starts (then coding again would
    discard the coder's decisions, so the options stay)."""
    if not case.undecided:
        return
    with st.expander("Coding options: setting, reasoner, profile", expanded=False):
        profiles = profile_names(release_dir)
        if case.profile and case.profile not in profiles:
            profiles.append(case.profile)  # a profile since removed still shows what the case was coded with
        chosen = option_widgets(settings, profiles, f"opt_{case.id}", (case.setting, case.reasoner, case.profile))
        st.button(
            "Apply" + (": then code again" if case.status == "coded" else ""),
            key="apply_options",
            icon=":material/tune:",
            disabled=chosen == (case.setting, case.reasoner, case.profile),
            on_click=apply_options,
            args=(store, case.id, *chosen),
        )


def apply_options(store: CaseStore, case_id: str, setting: str, reasoner: str, profile: str | None) -> None:
    act(
        lambda: store.set_options(case_id, setting, reasoner, profile, coder_name()),
        f"{case_id} will be coded {setting}, {reasoner} reasoner, {profile or 'no profile'}",
    )


def coding_bar(store: CaseStore, coder: Coder, case: Case) -> None:
    """The button that runs the agent, its step-by-step progress while it runs, and afterwards."""
    decided = not case.undecided
    clicked = st.button(
        "Code this note" if case.status == "new" else "Code again",
        key="code_case",
        type="primary" if case.status == "new" else "secondary",
        icon=":material/play_arrow:",
        disabled=decided,
        help=(
            "Coding again would discard the decisions made on this case."
            if decided
            else f"Run the agent: {case.setting}, {case.reasoner} reasoner, {case.profile or 'no profile'}"
        ),
    )
    if clicked:
        lines: list[str] = []

        def report(line: str) -> None:
            lines.append(line)
            st.write(md_escape(line))

        with st.status(f"Coding {case.id} ...", expanded=True) as status:
            try:
                options = CodingOptions(case.setting, case.reasoner, case.profile)
                result = coder.code(case.note, options, on_progress=report, note_id=case.id)
                store.save_result(case.id, result, coder_name())
            except CodaError as exc:
                status.update(label=f"Coding {case.id} failed", state="error")
                st.error(md_escape(str(exc)))
                return
        summary = f"Coded by the {result.reasoner} reasoner"
        if result.fallback:
            lines.append(f"fallback: {result.fallback}")
        st.session_state.setdefault("progress", {})[case.id] = (summary, lines)
        select(case.id, None)
        st.rerun()
    progress = st.session_state.setdefault("progress", {}).get(case.id)
    if progress:
        summary, lines = progress
        with st.status(summary, state="complete", expanded=False):
            for line in lines:
                st.write(md_escape(line))
