"""The LLM agent's scenarios as data, run both by a scripted fake chat model
(test_tool_agent.py) and by a real OpenAI-compatible HTTP server on 127.0.0.1
(test_tool_agent_http.py): each is a note, the model's turns (the tool calls it makes, in order),
a budget, and what must come of it. The code book is tests/fixtures/tabular_guidelines.xml."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage

from agent.reading.statements import analyze_note
from agent.reasoners.base import CodingContext
from agent.reasoners.tool_agent import AgentBudget
from agent.records import Candidate, Evidence

NOTE = """Assessment:
1. Type 2 diabetes mellitus with diabetic chronic kidney disease, CKD stage 3.
2. Closed fracture of the right femoral neck after a fall at home.
3. Cardiac amyloidosis, followed by cardiology.
"""
DIABETES = """Assessment: chart lists type 1 diabetes mellitus without complications.
Endocrinology documents type 2 diabetes mellitus without complications.
"""

E11_22 = "Type 2 diabetes mellitus with diabetic chronic kidney disease"
Turn = list[tuple[str, dict[str, Any]]]  # the tool calls of one model message; [] is a plain-text reply


def call(name: str, **args: Any) -> tuple[str, dict[str, Any]]:
    return name, args


def answer(*codes: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    """The final answer: each (code, quote)."""
    chosen = [{"code": c, "quotes": [q], "rationale": "documented", "confidence": 0.9} for c, q in codes]
    return "CodingAnswer", {"codes": chosen, "rejected": []}


@dataclass(frozen=True)
class Scenario:
    name: str
    turns: list[Turn]
    model_codes: list[str]  # the model's codes that must reach the proposals
    note: str = NOTE
    budget: AgentBudget = field(default_factory=AgentBudget)
    calls: int | None = None  # model calls expected (default: one per turn)
    trace_says: tuple[str, ...] = ()  # words the trace must hold
    tool_says: tuple[tuple[int, str], ...] = ()  # (turn, words) a tool's reply to that turn must hold
    candidates: tuple[str, ...] = ()  # codes given as offline candidates


SCENARIOS = [
    Scenario(
        "a code found only by the model's own search",
        [[call("search_codes", query="amyloidosis")], [answer(("E85.9", "Cardiac amyloidosis"))]],
        ["E85.9"],
        trace_says=("searched 'amyloidosis'", "E85.9"),
        tool_says=((0, "E85.9"),),
    ),
    Scenario(
        "a walk to a more specific child",
        [
            [call("explore", code="E11.2")],
            [answer(("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease"))],
        ],
        ["E11.22"],
        tool_says=((0, "E11.22"),),
        candidates=("E11.2",),
    ),
    Scenario(
        "a 7th character chosen with explore",
        [
            [call("explore", code="S72.001")],
            [answer(("S72.001A", "Closed fracture of the right femoral neck"))],
        ],
        ["S72.001A"],
        tool_says=((0, "7th"),),
        candidates=("S72.001",),
    ),
    Scenario(
        "an answer corrected after verify reported an Excludes1 conflict",
        [
            [
                call(
                    "verify",
                    codes=[
                        {"code": "E10.9", "quotes": ["type 1 diabetes mellitus without complications"]},
                        {"code": "E11.9", "quotes": ["type 2 diabetes mellitus without complications"]},
                    ],
                )
            ],
            [answer(("E11.9", "type 2 diabetes mellitus without complications"))],
        ],
        ["E11.9"],
        note=DIABETES,
        tool_says=((0, "Excludes1"),),
        trace_says=("verified",),
    ),
    Scenario(
        "a tool call with bad arguments",
        [
            [call("search_codes", query="")],
            [call("explore", code="E11.2", depth=3)],
            [answer(("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease"))],
        ],
        ["E11.22"],
        tool_says=((0, "error:"), (1, "error:")),
    ),
    Scenario(
        "a loop that hits its step budget",
        [
            [
                call(
                    "verify",
                    codes=[{"code": "E11.22", "quotes": [E11_22]}],
                )
            ],
            [call("search_codes", query="kidney")],
            [call("search_codes", query="kidney disease stage 3")],
            [call("search_codes", query="never reached")],
        ],
        ["E11.22"],
        budget=AgentBudget(steps=3),
        calls=3,
        trace_says=("the step budget of 3 model calls ran out: answered with the 1 code it last verified",),
    ),
    Scenario(
        "a model that never calls a tool",
        [[answer(("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease"))]],
        ["E11.22"],
        candidates=("E11.22",),
    ),
]


def context_for(scenario: Scenario, store: Any) -> CodingContext:
    """The note read as the graph reads it, with the scenario's offline candidates."""
    analysis, statements = analyze_note(scenario.note)
    candidates = []
    for code in scenario.candidates:
        record = store.get(code)
        start = scenario.note.lower().find(record.title.lower()[:20])
        span = (start, start + 20) if start >= 0 else (0, 10)
        evidence = Evidence(span[0], span[1], scenario.note[span[0] : span[1]])
        candidates.append(Candidate(record.code, record.title, 0.8, ("lexical",), (evidence,), matched=record.title))
    return CodingContext("note", scenario.note, analysis, statements, tuple(candidates), "inpatient")


def ai_message(turn: Turn, n: int, tokens: tuple[int, int] = (900, 60)) -> AIMessage:
    """A turn as the chat model gives it (langchain's AIMessage), with the tokens it reports."""
    calls = [
        {"name": name, "args": args, "id": f"call_{n}_{i}", "type": "tool_call"} for i, (name, args) in enumerate(turn)
    ]
    usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
    return AIMessage(content="" if turn else "I think the codes are E11.22.", tool_calls=calls, usage_metadata=usage)


def completion(turn: Turn, n: int, tokens: tuple[int, int] = (900, 60)) -> bytes:
    """A turn as an OpenAI-compatible endpoint sends it (a chat completion with tool calls)."""
    calls = [
        {"id": f"call_{n}_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(turn)
    ]
    message: dict[str, Any] = {"role": "assistant", "content": None if turn else "I think the codes are E11.22."}
    if calls:
        message["tool_calls"] = calls
    return json.dumps(
        {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls" if calls else "stop", "message": message}],
            "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
        }
    ).encode()


def answers(scenario: Scenario) -> list[Callable[[Any], None]]:
    """The scenario's turns as behaviours of the test endpoint (tests/agent/reasoners/llm_server.py)."""
    return [_sending(completion(turn, n)) for n, turn in enumerate(scenario.turns)]


def _sending(body: bytes) -> Callable[[Any], None]:
    from tests.agent.reasoners.llm_server import send

    return lambda handler: send(handler, 200, body)
