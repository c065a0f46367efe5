"""The workbench's Streamlit panels: the sidebar (coder, worklist, new cases) and the open case (note,
code list, reasoning, claim, audit trail), with the callbacks that turn clicks into decisions.

Each panel reads its widgets, calls the case store or a function of `app.workbench`, and renders;
what is worth testing on its own lives in `app.workbench`. Decisions run as widget callbacks, so the
page that follows a click already shows its result; a refused decision becomes a message, never a
traceback. Text that comes from a note or a file goes through `md_escape` (or `html.escape`) before
Streamlit's markdown sees it.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from agent.corpus import read_note
from agent.records import Evidence
from app.cases import REASONERS, SETTINGS, AuditEntry, Case, CaseCode, CaseStore
from app.exports import claim_codes, claim_csv, fhir_claim, x12_hi_segment
from app.note_view import note_view
from app.settings import Settings
from app.validation import Validation, validate_claim
from app.workbench import (
    CODE_STATUS_COLOURS,
    MAX_QUOTE,
    REJECT_REASONS,
    REJECTED_COLOUR,
    STATUS_COLOURS,
    STATUS_LABELS,
    audit_rows,
    case_label,
    change_options,
    change_steps,
    click_codes,
    code_rows,
    export_name,
    list_samples,
    llm_unavailable,
    md_escape,
    move_target,
    neighbour,
    next_undecided,
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
from index.entry import describe
from index.errors import CodaError
from index.search import CodeSearch, Filters

NO_PROFILE = "(none)"
DEFAULT_CODER = "coder"
ERRORS = (CodaError, ValueError, LookupError)


# -- session state: the open case, its selected code, messages ------------------------------------


def flash(kind: str, message: str) -> None:
    """A message for the next page: "error" and "info" stay on the page, "success" is a toast."""
    st.session_state.setdefault("flash", []).append((kind, message))


def show_flashes() -> None:
    for kind, message in st.session_state.pop("flash", []):
        if kind == "error":
            st.error(md_escape(message), icon=":material/error:")
        elif kind == "info":
            st.info(md_escape(message), icon=":material/info:")
        else:
            st.toast(md_escape(message), icon=":material/check_circle:")


def act(action: Callable[[], Any], done: str | None = None) -> bool:
    """Run one decision; a refused one becomes a message for the coder."""
    try:
        action()
    except ERRORS as exc:
        flash("error", str(exc))
        return False
    if done:
        flash("success", done)
    return True


def coder_name() -> str:
    return st.session_state.get("coder_name", DEFAULT_CODER)


def selected_code(case_id: str) -> str | None:
    return st.session_state.setdefault("selected", {}).get(case_id)


def select(case_id: str, code: str | None, remount: bool = True) -> None:
    """Select a code of the case. The note view reports a click as a state value, so a second click
    on the same highlight is no news to it: unless the selection came from a click on a highlight
    of one code, the note view is mounted afresh (a new key) so that every highlight answers again."""
    st.session_state.setdefault("selected", {})[case_id] = code
    if remount:
        revisions = st.session_state.setdefault("note_rev", {})
        revisions[case_id] = revisions.get(case_id, 0) + 1


def note_key(case_id: str, spans: list[tuple[int, int, str]]) -> str:
    """The key of the case's note view this run, remembered so that late news from an earlier one
    (the browser can send the state of a view that was just replaced) is ignored."""
    digest = hashlib.sha256(repr(sorted(spans)).encode()).hexdigest()[:12]
    key = f"note_{case_id}_{digest}_{st.session_state.setdefault('note_rev', {}).get(case_id, 0)}"
    st.session_state.setdefault("note_key", {})[case_id] = key
    return key


def open_case(case_id: str) -> None:
    st.session_state["case_id"] = case_id


# -- callbacks: new cases -------------------------------------------------------------------------


def new_case_options() -> dict[str, Any]:
    profile = st.session_state.get("new_profile", NO_PROFILE)
    return {
        "setting": st.session_state.get("new_setting", "outpatient"),
        "reasoner": st.session_state.get("new_reasoner", "offline"),
        "profile": None if profile == NO_PROFILE else profile,
    }


def create_pasted(store: CaseStore) -> None:
    note = st.session_state.get("paste_note", "")
    title = st.session_state.get("paste_title", "")
    try:
        case = store.create_case(note, title, "pasted", **new_case_options())
    except ERRORS as exc:
        flash("error", str(exc))
        return
    open_case(case.id)
    flash("success", f"Created {case.id}: {case.title}")


def create_uploaded(store: CaseStore, files: list[Any]) -> None:
    made = []
    for upload in notes_from_uploads((f.name, f.getvalue()) for f in files):
        if upload.text is None:
            flash("error", f"{upload.name} was not added: {upload.error}")
            continue
        try:
            made.append(store.create_case(upload.text, upload_title(upload.name), "upload", **new_case_options()))
        except ERRORS as exc:
            flash("error", f"{upload.name} was not added: {exc}")
    if made:
        open_case(made[0].id)
        flash("success", f"Created {len(made)} case(s): {', '.join(c.id for c in made)}")
    st.session_state["uploader_rev"] = st.session_state.get("uploader_rev", 0) + 1  # a fresh, empty uploader


def create_samples(store: CaseStore, names: list[str]) -> None:
    options = new_case_options()
    made = []
    for sample in (s for s in list_samples() if s.name in names):
        try:
            note = read_note(sample.path)
            made.append(
                store.create_case(note, sample.title, f"sample:{sample.name}", **{**options, "setting": sample.setting})
            )
        except ERRORS as exc:
            flash("error", f"Sample {sample.name} was not added: {exc}")
    if made:
        open_case(made[0].id)
        flash("success", f"Added {len(made)} sample case(s): {', '.join(c.id for c in made)}")


def go_to_next_case(store: CaseStore) -> None:
    found = store.next_case(st.session_state.get("case_id"))
    if found is None:
        flash("info", "No other case to do: every other case is done.")
    else:
        open_case(found.id)


# -- callbacks: decisions on codes ----------------------------------------------------------------


def on_note_click(key: str, case_id: str, known: list[str]) -> None:
    if key != st.session_state.get("note_key", {}).get(case_id):
        return
    clicked = click_codes(st.session_state.get(key))
    # Overlapping highlights cycle through their codes on repeated clicks: those need a fresh mount.
    select(case_id, pick_from_click(clicked, selected_code(case_id), known), remount=len(clicked) > 1)


def accept(store: CaseStore, case_id: str, code: str) -> None:
    if act(lambda: store.accept(case_id, code, coder_name()), f"Accepted {code}"):
        select(case_id, next_undecided(store.codes(case_id), code) or code)


def reject(store: CaseStore, case_id: str, code: str) -> None:
    reason = st.session_state.get("reject_other", "").strip() or st.session_state.get("reject_reason", "")
    if act(lambda: store.reject(case_id, code, reason, coder_name()), f"Rejected {code}"):
        st.session_state["reject_other"] = ""
        select(case_id, next_undecided(store.codes(case_id), code) or code)


def change(store: CaseStore, case_id: str, code: str, titles: dict[str, str]) -> None:
    new = st.session_state.get(f"change_to_{code}")
    if not new:
        flash("error", "Choose the code to change to.")
        return
    coder = coder_name()

    def run() -> None:
        for step in change_steps(store.codes(case_id), code, new):
            if step[0] == "change":
                store.change(case_id, code, new, titles[new], coder)
            elif step[0] == "reject":
                store.reject(case_id, step[1], step[2], coder)
            elif step[0] == "accept":
                store.accept(case_id, step[1], coder)
            elif step[0] == "principal":
                store.set_principal(case_id, step[1], coder)
            else:
                store.move(case_id, step[1], int(step[2]), coder)

    if act(run, f"Changed {code} to {new}"):
        select(case_id, new)


def add_code(store: CaseStore, case_id: str, code: str, title: str, evidence: tuple[Evidence, ...] = ()) -> None:
    if act(lambda: store.add(case_id, code, title, coder_name(), evidence), f"Added {code}"):
        select(case_id, code)


def move(store: CaseStore, case_id: str, code: str, sequence: int) -> None:
    act(lambda: store.move(case_id, code, sequence, coder_name()))


def make_principal(store: CaseStore, case_id: str, code: str) -> None:
    act(lambda: store.set_principal(case_id, code, coder_name()), f"{code} is the principal diagnosis")


def set_status(store: CaseStore, case_id: str, status: str, done: str) -> None:
    act(lambda: store.set_status(case_id, status, coder_name()), done)


# -- the sidebar ----------------------------------------------------------------------------------


def sidebar(store: CaseStore, settings: Settings, release_dir: Any) -> Case | None:
    """The coder's name, the worklist and the ways to add cases; returns the open case."""
    with st.sidebar:
        st.markdown("## Coda workbench")
        st.text_input("Coder", value=DEFAULT_CODER, key="coder_name", help="Every decision is audited under this name.")
        cases = store.list_cases()
        st.markdown("#### Worklist")
        st.caption(" · ".join(f"{n} {STATUS_LABELS[s]}" for s, n in status_counts(cases).items()))
        current = None
        if cases:
            # Buttons, not a radio: a radio's identity follows its labels, which change with each status.
            ids = [c.id for c in cases]
            if st.session_state.get("case_id") not in ids:
                st.session_state["case_id"] = ids[0]
            with st.container(key="worklist", gap=None):
                for case in cases:
                    is_open = case.id == st.session_state["case_id"]
                    with st.container(horizontal=True, vertical_alignment="center", wrap=False, gap="small"):
                        st.button(
                            case_label(case),
                            key=f"open_{case.id}",
                            type="secondary" if is_open else "tertiary",
                            on_click=open_case,
                            args=(case.id,),
                            width="stretch",
                            wrap=True,
                        )
                        st.badge(STATUS_LABELS[case.status], color=STATUS_COLOURS[case.status])
                    if is_open:
                        current = case
            st.button(
                "Next case to do",
                key="next_case",
                shortcut="N",
                icon=":material/skip_next:",
                on_click=go_to_next_case,
                args=(store,),
                help="Open the next case that is not done",
            )
        else:
            st.info("No cases yet: add one below.")
        add_cases(store, settings, release_dir, expanded=not cases)
    return current


def add_cases(store: CaseStore, settings: Settings, release_dir: Any, expanded: bool) -> None:
    with st.expander("Add cases", expanded=expanded):
        profiles = profile_names(release_dir)
        option_widgets(
            settings,
            profiles,
            "new",
            (settings.setting, settings.reasoner, settings.profile if settings.profile in profiles else None),
            setting_help="For pasted and uploaded notes; each sample comes with its own setting.",
        )
        if not profiles:
            st.caption("No learned profiles for this release (`coda learn` makes one).")
        paste, upload, samples = st.tabs(["Paste", "Upload", "Samples"])
        with paste, st.form("paste_form", clear_on_submit=True, border=False):
            st.text_input("Title (optional)", key="paste_title", placeholder="the note's first line")
            st.text_area("Clinical note", key="paste_note", height=200, placeholder="Paste the note to code")
            st.form_submit_button("Create case", on_click=create_pasted, args=(store,), type="primary")
        with upload:
            rev = st.session_state.get("uploader_rev", 0)
            files = st.file_uploader(
                "Note files (.txt)", type=["txt"], accept_multiple_files=True, key=f"uploads_{rev}"
            )
            st.button(
                "Create cases from the files",
                key="create_uploaded",
                disabled=not files,
                on_click=create_uploaded,
                args=(store, files or []),
            )
        with samples:
            found = list_samples()
            st.caption("Synthetic notes written for Coda (assets/samples); click one to add it.")
            for sample in found:
                st.button(
                    f"{sample.title} · {sample.setting}",
                    key=f"sample_{sample.name}",
                    on_click=create_samples,
                    args=(store, [sample.name]),
                    width="stretch",
                )
            if found:
                st.button(
                    f"Add all {len(found)} samples",
                    key="sample_all",
                    on_click=create_samples,
                    args=(store, [s.name for s in found]),
                    type="tertiary",
                )


# -- the open case --------------------------------------------------------------------------------


def case_view(
    store: CaseStore, graph: Any, search: CodeSearch, case: Case, settings: Settings, release_dir: Any
) -> None:
    codes = store.codes(case.id)
    case_header(case)
    coding_options(store, settings, release_dir, case)
    coding_bar(store, graph, case)
    known = [c.code for c in codes]
    selected = selected_code(case.id)
    if selected not in known:
        selected = next((c.code for c in codes if c.on_claim or c.status == "suggested"), None)
        select(case.id, selected, remount=False)
    validation = validate_claim(case, codes, search.store)
    spans, colours = note_spans(codes, selected)
    left, right = st.columns([5, 4], gap="large")
    with left:
        st.markdown("#### Note")
        key = note_key(case.id, spans)
        with st.container(border=True, height=640, key="note_box"):
            note_view(
                case.note,
                spans,
                colours,
                selected=selected,
                key=key,
                on_click=lambda: on_note_click(key, case.id, known),
            )
        if spans:
            st.caption("Click a highlight to see its code's reasoning. Overlapping highlights show stripes.")
    entries = store.audit(case.id)
    with right:
        code_list(case, codes, selected, entries)
        code_panel(store, search, case, codes, selected, validation, colours, entries)
        add_code_panel(store, search, case)
    st.divider()
    claim_section(store, case, codes, validation)
    with st.expander(f"Audit trail ({len(entries)} entries)", expanded=False):
        if entries:
            st.dataframe(audit_rows(entries), hide_index=True, key="audit_table")
        else:
            st.caption("No decisions yet.")


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


def coding_options(store: CaseStore, settings: Settings, release_dir: Any, case: Case) -> None:
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


def option_widgets(
    settings: Settings,
    profiles: list[str],
    key: str,
    current: tuple[str, str, str | None],
    setting_help: str | None = None,
) -> tuple[str, str, str | None]:
    """The care setting, reasoner and learned profile to code with, starting from `current`;
    the LLM reasoner is offered only when an endpoint is configured. Widget keys start with
    `key` ("new_setting", ...)."""
    setting, reasoner, profile = current
    chosen_setting = st.radio(
        "Setting", SETTINGS, index=SETTINGS.index(setting), key=f"{key}_setting", horizontal=True, help=setting_help
    )
    why_not = llm_unavailable(settings.llm_base_url)
    chosen_reasoner = st.radio(
        "Reasoner",
        REASONERS,
        index=0 if why_not else REASONERS.index(reasoner),
        key=f"{key}_reasoner",
        horizontal=True,
        disabled=why_not is not None,
    )
    if why_not:
        st.caption(why_not)
    choices = [NO_PROFILE, *profiles]
    chosen_profile = st.selectbox(
        "Profile", choices, index=choices.index(profile if profile in profiles else NO_PROFILE), key=f"{key}_profile"
    )
    return chosen_setting, chosen_reasoner, None if chosen_profile == NO_PROFILE else chosen_profile


def apply_options(store: CaseStore, case_id: str, setting: str, reasoner: str, profile: str | None) -> None:
    act(
        lambda: store.set_options(case_id, setting, reasoner, profile, coder_name()),
        f"{case_id} will be coded {setting}, {reasoner} reasoner, {profile or 'no profile'}",
    )


def coding_bar(store: CaseStore, graph: Any, case: Case) -> None:
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
                state = run_coding(graph, case, report)
                store.save_result(case.id, state, coder_name())
            except ERRORS as exc:
                status.update(label=f"Coding {case.id} failed", state="error")
                st.error(md_escape(str(exc)))
                return
        summary = f"Coded by the {state.get('reasoner_used', case.reasoner)} reasoner"
        if state.get("fallback"):
            lines.append(f"fallback: {state['fallback']}")
        st.session_state.setdefault("progress", {})[case.id] = (summary, lines)
        select(case.id, None)
        st.rerun()
    progress = st.session_state.setdefault("progress", {}).get(case.id)
    if progress:
        summary, lines = progress
        with st.status(summary, state="complete", expanded=False):
            for line in lines:
                st.write(md_escape(line))


def swatch(colour: str | None, text: str) -> str:
    """A small square in the code's highlight colour holding its sequence number (HTML)."""
    background = colour or "transparent"
    border = "1px dashed #9ca3af" if colour is None else "1px solid rgba(0,0,0,.15)"
    return (
        f'<div style="background:{background};border:{border};border-radius:4px;width:1.9rem;height:1.9rem;'
        f'display:flex;align-items:center;justify-content:center;color:#111827;font-weight:600">'
        f"{html.escape(text)}</div>"
    )


def code_list(case: Case, codes: list[CaseCode], selected: str | None, entries: list[AuditEntry]) -> None:
    rows = code_rows(codes)
    live = [r for r in rows if r.live]
    rejected = [r for r in rows if not r.live]
    with st.container(horizontal=True, vertical_alignment="center", wrap=False):
        st.markdown(f"#### Codes ({len(live)})")
        st.space("stretch")
        st.button(
            "Previous",
            key="code_prev",
            shortcut="K",
            type="tertiary",
            icon=":material/keyboard_arrow_up:",
            on_click=lambda: select(case.id, neighbour(codes, selected, -1)),
        )
        st.button(
            "Next",
            key="code_next",
            shortcut="J",
            type="tertiary",
            icon=":material/keyboard_arrow_down:",
            on_click=lambda: select(case.id, neighbour(codes, selected, 1)),
        )
    if not live:
        st.caption("No codes yet: code the note." if case.status == "new" else "No live codes: every one is rejected.")
    for row in live:
        with st.container(horizontal=True, vertical_alignment="center", wrap=False, key=f"row_{row.code}"):
            st.markdown(swatch(row.colour, str(row.sequence)), unsafe_allow_html=True, width="content")
            st.button(
                f"**{row.code}** {md_escape(row.title)}",
                key=f"pick_{row.code}",
                type="secondary" if row.code == selected else "tertiary",
                on_click=select,
                args=(case.id, row.code),
                width="stretch",
                wrap=True,
            )
            if row.principal:
                st.badge("principal", color="primary")
            st.badge(row.status, color=CODE_STATUS_COLOURS[row.status])
    with st.expander(f"Rejected codes ({len(rejected)}), with why", expanded=False):
        if not rejected:
            st.caption("Nothing rejected.")
        for row in rejected:
            with st.container(horizontal=True, vertical_alignment="center", wrap=False, key=f"rej_{row.code}"):
                st.button(
                    f"**{row.code}** {md_escape(row.title)}",
                    key=f"pick_{row.code}",
                    type="secondary" if row.code == selected else "tertiary",
                    on_click=select,
                    args=(case.id, row.code),
                    width="stretch",
                    wrap=True,
                )
                st.badge(f"by {md_escape(rejected_by(row.code, entries) or 'the agent')}", color="gray")
            st.caption(md_escape(row.reason))


def code_panel(
    store: CaseStore,
    search: CodeSearch,
    case: Case,
    codes: list[CaseCode],
    selected: str | None,
    validation: Validation,
    colours: dict[str, str],
    entries: list[AuditEntry],
) -> None:
    """The selected code: its decisions, then why the agent suggested it."""
    code = next((c for c in codes if c.code == selected), None)
    if code is None:
        st.caption("Select a code in the list, or click a highlight in the note, to see why it was suggested.")
        return
    done = case.status == "done"
    with st.container(border=True, key="code_panel"):
        st.markdown(f"#### {code.code} · {md_escape(code.title)}")
        badges = [f":{CODE_STATUS_COLOURS[code.status]}-badge[{code.status}]"]
        if code.principal:
            badges.append(":primary-badge[principal]")
        if code.confidence is not None:
            badges.append(f":gray-badge[confidence {code.confidence:.2f}]")
        badges.append(":gray-badge[from the agent]" if code.origin == "agent" else ":gray-badge[chosen by the coder]")
        st.markdown(" ".join(badges))
        if code.status == "rejected":
            who = rejected_by(code.code, entries) or "the agent"
            st.info(f"Rejected by {md_escape(who)}: {md_escape(code.reason)}")
        decision_buttons(store, search, case, codes, code, done)
        reasoning(store, search, case, code, validation, colours)


def decision_buttons(
    store: CaseStore, search: CodeSearch, case: Case, codes: list[CaseCode], code: CaseCode, done: bool
) -> None:
    up, down = move_target(codes, code.code, -1), move_target(codes, code.code, 1)
    with st.container(horizontal=True):
        st.button(
            "Accept",
            key="accept",
            shortcut="A",
            icon=":material/check:",
            disabled=done or code.on_claim,
            on_click=accept,
            args=(store, case.id, code.code),
        )
        st.button(
            "Up",
            key="move_up",
            icon=":material/arrow_upward:",
            disabled=done or up is None,
            on_click=move,
            args=(store, case.id, code.code, up),
        )
        st.button(
            "Down",
            key="move_down",
            icon=":material/arrow_downward:",
            disabled=done or down is None,
            on_click=move,
            args=(store, case.id, code.code, down),
        )
        st.button(
            "Make principal",
            key="principal",
            icon=":material/star:",
            disabled=done or code.principal or code.status == "rejected",
            on_click=make_principal,
            args=(store, case.id, code.code),
        )
    if code.status == "rejected":
        return
    st.selectbox("Reason to reject", REJECT_REASONS, key="reject_reason", disabled=done)
    with st.container(horizontal=True, vertical_alignment="bottom", wrap=False):
        st.text_input("or in your words", key="reject_other", placeholder="optional", disabled=done)
        st.button(
            "Reject",
            key="reject",
            shortcut="X",
            icon=":material/close:",
            disabled=done,
            on_click=reject,
            args=(store, case.id, code.code),
        )
    options = change_options(search.store, code.code, code.alternatives)
    if not options:
        return
    titles = {o.code: o.title for o in options}
    labels = {o.code: o.label for o in options}
    with st.container(horizontal=True, vertical_alignment="bottom", wrap=False):
        st.selectbox(
            "Change to",
            list(labels),
            format_func=labels.__getitem__,
            key=f"change_to_{code.code}",
            index=None,
            placeholder="a sibling, a more specific code, another 7th character",
            disabled=done,
        )
        st.button(
            "Change",
            key="change",
            icon=":material/swap_horiz:",
            disabled=done,
            on_click=change,
            args=(store, case.id, code.code, titles),
        )


def reasoning(
    store: CaseStore, search: CodeSearch, case: Case, code: CaseCode, validation: Validation, colours: dict[str, str]
) -> None:
    """Why the code: its words in the note, the agent's steps, its alternatives, the Tabular entry."""
    st.markdown("**Evidence in the note**")
    colour = colours.get(code.code, REJECTED_COLOUR)
    for e in code.evidence:
        st.html(
            f'<mark style="background:{colour};color:#111827;padding:1px 4px;border-radius:3px">'
            f"{html.escape(e.text)}</mark>"
        )
        st.caption(f"characters {e.start}-{e.end} · {e.section} · {e.assertion} · found by {e.source or 'the agent'}")
    if not code.evidence:
        st.caption("No words of the note are linked to this code.")
    if code.reasoning:
        st.markdown("**Reasoning**")
        for stage, details in steps_by_stage(code.reasoning):
            st.markdown(f"*{stage}*")
            st.markdown("\n".join(f"- {md_escape(d)}" for d in details))
    if code.alternatives:
        titles = search.store.codes(list(code.alternatives))
        st.markdown("**Alternatives the agent offers**")
        st.markdown(
            "\n".join(f"- `{a}` {md_escape(titles[a].title) if a in titles else ''}" for a in code.alternatives)
        )
    findings = [*validation.errors, *validation.warnings, *store.findings(case.id)]
    checks = {f.message: f.severity for f in reversed(findings) if code.code in f.codes}  # the claim's wins
    with st.expander("Tabular entry and guideline checks", expanded=bool(checks)):
        for message, severity in reversed(checks.items()):
            show = st.error if severity == "error" else st.warning
            show(md_escape(message), icon=":material/rule:")
        try:
            render_entry(describe(search.store, code.code))
        except CodaError as exc:
            st.warning(md_escape(str(exc)))


def render_entry(entry: dict[str, Any]) -> None:
    """The whole Tabular entry of a code: hierarchy, notes (own and inherited), 7th characters."""
    st.markdown(f"**{entry['code']}** {md_escape(entry['title'])}")
    billable = "billable" if entry["billable"] else "not billable"
    st.caption(f"{entry['kind']} · {billable} · {entry['chapter']} · block {entry['block']}")
    if entry["ancestors"]:
        st.markdown(" › ".join(f"`{a['code']}` {md_escape(a['title'])}" for a in reversed(entry["ancestors"])))
    for note in entry["notes"]:
        where = "" if note["source"] == entry["code"] else f" *(from {note['source']})*"
        st.markdown(f"**{note['label']}:** {md_escape(note['text'])}{where}")
    if entry["seventh"]:
        st.markdown(f"**7th characters** (defined at {entry['seventh_source']})")
        st.table([{"7th": s["char"], "meaning": s["meaning"]} for s in entry["seventh"]])
    if entry["children"]:
        st.markdown("**More specific:** " + ", ".join(f"`{c}`" for c in entry["children"]))


def add_code_panel(store: CaseStore, search: CodeSearch, case: Case) -> None:
    """The encoder: search the code book by words or code, read the entry, add the code."""
    with st.expander("Add a code (search the code book)", expanded=False):
        query = st.text_input("A term or a code", key="add_query", placeholder="high blood pressure, E11.22, HTN")
        billable = st.checkbox("Billable codes only", key="add_billable", value=True)
        if not query.strip():
            return
        try:
            hits = search.search(query, limit=12, filters=Filters(billable=True if billable else None))
        except CodaError as exc:
            st.warning(md_escape(str(exc)))
            return
        if not hits:
            st.info("No codes found.")
            return
        labels = {h.code: f"{h.code} {md_escape(h.title)}" + ("" if h.billable else " · not billable") for h in hits}
        choice = st.radio("Results", list(labels), key=f"add_choice_{query}", format_func=labels.__getitem__)
        if choice:
            evidence = quoted_evidence(case)
            st.button(
                f"Add {choice} to {case.id}",
                key="add_code",
                type="primary",
                icon=":material/add:",
                disabled=case.status == "done" or evidence is None,
                on_click=add_code,
                args=(store, case.id, choice, next(h.title for h in hits if h.code == choice), evidence or ()),
            )
            render_entry(describe(search.store, choice))


def quoted_evidence(case: Case) -> tuple[Evidence, ...] | None:
    """The evidence the coder quotes for a code they add: the words' first place in the note
    (highlighted like the agent's evidence); () when they quote nothing; None when the words
    are not in the note, which keeps the code from being added with a wrong quote."""
    quote = st.text_input(
        "Evidence: words of the note that support it (optional)",
        key="add_quote",
        max_chars=MAX_QUOTE,
        placeholder="diabetic CKD stage 3",
    )
    if not quote.strip():
        return ()
    found = quote_evidence(case.note, quote)
    if not found:
        st.warning("Those words are not in the note: quote them as the note has them.", icon=":material/warning:")
        return None
    where = f"{len(found)} places; the first is linked" if len(found) > 1 else "1 place"
    st.caption(f"Found in {where}: characters {found[0].start}-{found[0].end}.")
    return (found[0],)


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
        except ValueError as exc:
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
