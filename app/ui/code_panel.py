"""The selected code's panel: why the agent suggested it (its words in the note, the agent's steps,
its alternatives) and its Tabular entry with the guideline checks that name it, then the coder's
decisions on it (accept, move, make principal, reject with a reason, change to a related code).

Each decision runs as a widget callback through `act`, so the page that follows a click already
shows its result, and a refused decision becomes a message.
"""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from agent.records import Evidence
from app.review.records import AuditEntry, Case, CaseCode
from app.review.store import CaseStore
from app.review.validation import Validation, code_findings
from app.ui.fold import fold
from app.ui.session import act, coder_name, flash, select
from app.workbench import (
    CODE_STATUS_COLOURS,
    REJECT_REASONS,
    REJECTED_COLOUR,
    change_options,
    markdown_table,
    md_escape,
    move_target,
    next_undecided,
    rejected_by,
    steps_by_stage,
)
from index.entry import describe
from index.errors import CodaError
from index.search import CodeSearch


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
    """The selected code: why the agent suggested it, then the coder's decisions."""
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
        reasoning(search, case, codes, code, validation, colours)  # why first, then what to do
        decision_buttons(store, search, case, codes, code, done)


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
    # One reason box per code, empty until the coder picks: a rejection never carries a reason
    # chosen for another code.
    st.selectbox(
        "Reason to reject",
        REJECT_REASONS,
        key=f"reject_reason_{code.code}",
        index=None,
        placeholder="Choose why",
        disabled=done,
    )
    with st.container(horizontal=True, vertical_alignment="bottom", wrap=False):
        st.text_input("or in your words", key=f"reject_other_{code.code}", disabled=done)
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
            args=(store, case.id, code.code),
        )


def reasoning(
    search: CodeSearch,
    case: Case,
    codes: list[CaseCode],
    code: CaseCode,
    validation: Validation,
    colours: dict[str, str],
) -> None:
    """Why the code: its words in the note, the agent's steps, its alternatives, the Tabular entry."""
    # Each part is one element, whatever its length: a decision's rerun stays quick.
    st.markdown("**Evidence in the note**")
    colour = colours.get(code.code, REJECTED_COLOUR)
    if code.evidence:
        st.html("".join(evidence_html(e, colour) for e in code.evidence))
    else:
        st.caption("No words of the note are linked to this code.")
    if code.reasoning:
        lines = ["**Reasoning**"]
        for stage, details in steps_by_stage(code.reasoning):
            lines += [f"*{stage}*", "", *(f"- {md_escape(d)}" for d in details), ""]
        st.markdown("\n".join(lines))
    if code.alternatives:
        titles = search.store.codes(list(code.alternatives))
        st.markdown(
            "**Alternatives the agent offers**\n\n"
            + "\n".join(f"- `{a}` {md_escape(titles[a].title) if a in titles else ''}" for a in code.alternatives)
        )
    current = [*validation.errors, *validation.warnings]
    # The checks over every live code as they are now, not the agent's findings from coding time: a
    # finding goes once the coder adds the missing code. An Excludes1 pair the coder keeps is settled.
    settled = {frozenset(f.codes) for f in current if f.kind == "excludes1_kept"}
    live = code_findings(case, codes, search.store)
    findings = [*current, *(f for f in live if not (f.kind == "excludes1" and frozenset(f.codes) in settled))]
    checks = {f.message: f.severity for f in reversed(findings) if code.code in f.codes}  # the claim's wins
    # The guideline checks that name the code are always in view; its Tabular entry is folded (open
    # or closed for every code alike, as the coder leaves it) and built only while open.
    for message, severity in reversed(checks.items()):
        show = st.error if severity == "error" else st.warning
        show(md_escape(message), icon=":material/rule:")
    if any(f.kind == "excludes1" and code.code in f.codes for f in validation.errors):
        st.caption("When the two conditions are unrelated, keep both codes with your reason under Claim below.")
    box = fold("Tabular entry", key="entry_box")
    with box:
        if not box.open:
            return
        try:
            render_entry(describe(search.store, code.code))
        except CodaError as exc:
            st.warning(md_escape(str(exc)))


def evidence_html(e: Evidence, colour: str) -> str:
    """One span of evidence: its words in the code's colour, then where they are and how they read."""
    where = f"characters {e.start}-{e.end} · {e.section} · {e.assertion} · found by {e.source or 'the agent'}"
    return (
        f'<div style="margin:.2rem 0 .5rem"><mark style="background:{colour};color:#111827;padding:1px 4px;'
        f'border-radius:3px">{html.escape(e.text)}</mark><div style="color:#6b7280;font-size:.85rem">'
        f"{html.escape(where)}</div></div>"
    )


def render_entry(entry: dict[str, Any]) -> None:
    """The whole Tabular entry of a code, in one element: hierarchy, notes (own and inherited), 7th
    characters, more specific codes."""
    billable = "billable" if entry["billable"] else "not billable"
    lines = [
        f"**{entry['code']}** {md_escape(entry['title'])}",
        "",
        f":gray[{entry['kind']} · {billable} · {md_escape(entry['chapter'])} · block {md_escape(entry['block'])}]",
        "",
    ]
    if entry["ancestors"]:
        lines += [" › ".join(f"`{a['code']}` {md_escape(a['title'])}" for a in reversed(entry["ancestors"])), ""]
    for note in entry["notes"]:
        where = "" if note["source"] == entry["code"] else f" *(from {note['source']})*"
        lines += [f"**{md_escape(note['label'])}:** {md_escape(note['text'])}{where}", ""]
    if entry["seventh"]:
        lines += [f"**7th characters** (defined at {entry['seventh_source']})", ""]
        lines += [markdown_table(("7th", "meaning"), [(s["char"], s["meaning"]) for s in entry["seventh"]]), ""]
    if entry["children"]:
        lines.append("**More specific:** " + ", ".join(f"`{c}`" for c in entry["children"]))
    st.markdown("\n".join(lines))


# -- callbacks --------------------------------------------------------------------------------------


def accept(store: CaseStore, case_id: str, code: str) -> None:
    if act(lambda: store.accept(case_id, code, coder_name()), f"Accepted {code}"):
        select(case_id, next_undecided(store.codes(case_id), code) or code)


def reject(store: CaseStore, case_id: str, code: str) -> None:
    typed = (st.session_state.get(f"reject_other_{code}") or "").strip()
    reason = typed or st.session_state.get(f"reject_reason_{code}") or ""
    if not reason:
        flash("error", f"Choose why {code} is rejected, or say it in your words: nothing was changed.")
        return
    if act(lambda: store.reject(case_id, code, reason, coder_name()), f"Rejected {code}"):
        select(case_id, next_undecided(store.codes(case_id), code) or code)


def change(store: CaseStore, case_id: str, code: str) -> None:
    new = st.session_state.get(f"change_to_{code}")
    if not new:
        flash("error", "Choose the code to change to.")
        return
    if act(lambda: store.change(case_id, code, new, coder_name()), f"Changed {code} to {new}"):
        select(case_id, new)


def move(store: CaseStore, case_id: str, code: str, sequence: int) -> None:
    act(lambda: store.move(case_id, code, sequence, coder_name()))


def make_principal(store: CaseStore, case_id: str, code: str) -> None:
    act(lambda: store.set_principal(case_id, code, coder_name()), f"{code} is the principal diagnosis")
