"""The sidebar: who is signed in, the worklist with its statuses, "Next case to do", and the ways to
add cases (paste, upload, the sample notes) with the options new cases are coded with.

`option_widgets` (setting, reasoner, profile) also serves the open case's coding options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from agent.records import REASONERS, SETTINGS
from app.review.intake import list_samples, notes_from_uploads, upload_title
from app.review.records import Case
from app.review.store import CaseStore
from app.settings import Settings
from app.ui.accounts_page import ADMIN
from app.ui.session import flash, open_case
from app.ui.sign_in import sign_out
from app.ui.team_page import TEAM_ROLES
from app.workbench import (
    STATUS_COLOURS,
    STATUS_LABELS,
    case_label,
    llm_unavailable,
    md_escape,
    profile_names,
    status_counts,
)
from index.errors import CodaError

NO_PROFILE = "(none)"


def sidebar(store: CaseStore, settings: Settings, release_dir: Path) -> Case | None:
    """Who is signed in, the worklist and the ways to add cases; returns the open case."""
    with st.sidebar:
        st.markdown("## Coda workbench")
        account = st.session_state["account"]
        with st.container(horizontal=True, vertical_alignment="center", key="signed_in"):
            st.caption(f"Signed in as **{md_escape(account.display_name)}** ({account.username}, {account.role})")
            st.button("Sign out", key="sign_out", type="tertiary", on_click=_sign_out, args=(store, account.username))
        if account.role in TEAM_ROLES:
            st.toggle("Team view", key="team_view")
        if account.role == ADMIN:
            st.toggle("Accounts", key="accounts_view")
        cases = store.list_cases()
        st.markdown("#### Worklist")
        st.caption(" · ".join(f"{n} {STATUS_LABELS[s]}" for s, n in status_counts(cases).items()))
        current = worklist(store, cases) if cases else None
        if not cases:
            st.info("No cases yet: add one below.")
        add_cases(store, settings, release_dir, expanded=not cases)
    return current


def _sign_out(store: CaseStore, username: str) -> None:
    store.close_cases(username)  # give back the open case at once, not when its lease runs out
    sign_out()


def worklist(store: CaseStore, cases: list[Case]) -> Case:
    """A button per case, with its status; returns the open case (the first, until one is opened)."""
    # Buttons, not a radio: a radio's identity follows its labels, which change with each status.
    ids = [c.id for c in cases]
    linked = st.query_params.get("case")  # a shared link, or the page reloaded: its case opens
    if "case_id" not in st.session_state and linked in ids:
        st.session_state["case_id"] = linked
    if st.session_state.get("case_id") not in ids:
        st.session_state["case_id"] = ids[0]
    st.query_params["case"] = st.session_state["case_id"]  # the open case's own URL
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
    st.button(
        "Next case to do",
        key="next_case",
        shortcut="N",
        icon=":material/skip_next:",
        on_click=go_to_next_case,
        args=(store,),
        help="Open the next case that is not done",
    )
    return next(c for c in cases if c.id == st.session_state["case_id"])


def add_cases(store: CaseStore, settings: Settings, release_dir: Path, expanded: bool) -> None:
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
        # Cleared only once the case is made (`create_pasted`): a refused note stays to be fixed.
        with paste, st.form("paste_form", border=False):
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


# -- callbacks --------------------------------------------------------------------------------------


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
    except CodaError as exc:
        flash("error", str(exc))
        return
    st.session_state["paste_note"] = ""
    st.session_state["paste_title"] = ""
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
        except CodaError as exc:
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
            source = f"sample:{sample.name}"
            made.append(
                store.create_case(sample.read(), sample.title, source, **{**options, "setting": sample.setting})
            )
        except CodaError as exc:
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
