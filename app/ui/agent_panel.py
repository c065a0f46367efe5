"""The LLM agent's run behind a case's result, on the case page: what it cost, each step it took
(the tools it called and what they gave) and its transcript, for an audit of why a code was
suggested (`coda code --replay` plays it again without the endpoint)."""

from __future__ import annotations

import json

import streamlit as st

from app.review.records import AgentRun
from app.ui.fold import fold
from app.workbench import md_escape


def agent_summary(run: AgentRun) -> str:
    """One line: "The model (gpt-4o-mini): 3 calls, 4 tool calls, 2,700 + 180 tokens, 4.2 s"."""
    u = run.usage
    said = (
        f"The model ({run.model}): {u.get('calls', 0)} calls, {u.get('tool_calls', 0)} tool calls, "
        f"{u.get('input_tokens', 0):,} + {u.get('output_tokens', 0):,} tokens"
    )
    return said + (f", {run.seconds:.1f} s" if run.seconds is not None else "")


def agent_steps(run: AgentRun | None, case_id: str) -> None:
    """The fold with the agent's steps, when an LLM agent coded the case."""
    if run is None:
        return
    box = fold(agent_summary(run), key="agent_box", icon=":material/smart_toy:")
    with box:
        if not box.open:
            return
        st.caption(
            "Each step the model took, in order. Every code it answered was then checked as any "
            "suggestion is: quotes found in the note, assertion, Excludes1, billable."
        )
        for n, line in enumerate(run.trace, 1):
            st.markdown(f"{n}. {md_escape(line)}")
        if run.transcript is not None:
            st.download_button(
                "Download the transcript",
                json.dumps(run.transcript, indent=1),
                file_name=f"{case_id}-agent.json",
                mime="application/json",
                key="agent_transcript",
                icon=":material/download:",
                help="The model's messages: coda code NOTE --replay FILE codes the note again from them.",
            )
