"""The LLM agent's run kept with a case's result (schema 6): its model, cost, steps and the
transcript that replays it, replaced when the case is coded again; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from agent.records import CodingResult, ModelUsage
from app.review.records import AgentRun
from app.review.store import CaseStore
from index.store import CodeStore

NOTE = "Assessment: HTN.\n"
TRANSCRIPT = {"format": "coda-agent-transcript/1", "model": "gpt-4o-mini", "messages": [], "note_sha256": "x"}


def test_the_agents_run_is_kept_with_the_result_and_replaced_by_the_next(case_db: str | Path, book: CodeStore) -> None:
    with CaseStore(case_db, book) as store:
        case = store.create_case(NOTE, reasoner="llm")
        assert store.agent_run(case.id) is None
        result = CodingResult(
            case.id,
            reasoner="llm",
            usage=ModelUsage(3, 4, 2700, 180),
            agent_trace=("searched 'hypertension' -> I10", "answered I10"),
            transcript=TRANSCRIPT,
            model_seconds=4.25,
        )
        store.save_result(case.id, result, "ana")
        assert store.agent_run(case.id) == AgentRun(
            "gpt-4o-mini",
            {"calls": 3, "tool_calls": 4, "input_tokens": 2700, "output_tokens": 180},
            ("searched 'hypertension' -> I10", "answered I10"),
            TRANSCRIPT,
            4.25,
        )
        store.save_result(case.id, CodingResult(case.id), "ana")  # coded again, offline
        assert store.agent_run(case.id) is None
