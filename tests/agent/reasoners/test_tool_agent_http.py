"""The LLM agent's scenarios over real HTTP: a server on 127.0.0.1, started by the test, answers as
an OpenAI-compatible endpoint does, with the scenario's tool calls one completion per request;
the agent runs on langchain-openai's ChatOpenAI, exactly as it does against a real endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.reasoners.chat_model import make_chat_model
from agent.reasoners.limits import LlmLimits
from agent.reasoners.replay import ReplayChatModel
from agent.reasoners.tool_agent import ToolAgentReasoner
from agent.tools import TOOL_NAMES
from index.build import STORE_FILE, find_release
from index.search import CodeSearch
from index.store import CodeStore
from tests.agent.reasoners.agent_scenarios import SCENARIOS, Scenario, answers, completion, context_for
from tests.agent.reasoners.fakes import FixedReasoner
from tests.agent.reasoners.llm_server import Endpoint, hang, raw, serve, status

LIMITS = LlmLimits(deadline=10.0, max_retries=1, backoff=0.05)


@pytest.fixture(scope="module")
def store(guideline_data_dir: Path) -> Iterator[CodeStore]:
    book = CodeStore(find_release(guideline_data_dir, "icd10cm") / STORE_FILE)
    yield book
    book.close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint([])
    server, served.url = serve(served)  # type: ignore[attr-defined]
    yield served
    served.stop.set()
    server.shutdown()
    server.server_close()


def replies_to_last_turn(body: dict) -> list[dict]:
    """The tool messages a request sends back after the model's last message."""
    messages = body["messages"]
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return [m for m in messages[last + 1 :] if m["role"] == "tool"]


def run(store, endpoint: Endpoint, scenario: Scenario, model=None):
    chat = model or make_chat_model(endpoint.url, "test-model", "secret", timeout=LIMITS.deadline)  # type: ignore[attr-defined]
    reasoner = ToolAgentReasoner(
        chat, store, FixedReasoner(), limits=LIMITS, search=CodeSearch(store, None), budget=scenario.budget
    )
    return reasoner.run(context_for(scenario, store))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_scenarios_over_http(store, endpoint: Endpoint, scenario: Scenario) -> None:
    endpoint.behaviours = answers(scenario)
    outcome = run(store, endpoint, scenario)
    assert outcome.fallback_reason is None
    assert [p.code for p in outcome.proposals if p.source == "llm"] == scenario.model_codes
    calls = scenario.calls if scenario.calls is not None else len(scenario.turns)
    assert endpoint.requests == calls and outcome.usage.calls == calls
    assert outcome.usage.input_tokens == 900 * calls  # as the endpoint's usage said
    first = endpoint.bodies[0]
    assert [t["function"]["name"] for t in first["tools"]] == [*TOOL_NAMES, "CodingAnswer"]
    for turn, words in scenario.tool_says:  # the tool replies went back to the endpoint
        replies = replies_to_last_turn(endpoint.bodies[turn + 1])
        assert replies and all(m["tool_call_id"].startswith(f"call_{turn}_") for m in replies)
        assert words in "\n".join(m["content"] for m in replies)
    trace = "\n".join(outcome.trace)
    assert all(words in trace for words in scenario.trace_says)


def test_a_transient_failure_mid_loop_is_retried_within_the_deadline(store, endpoint: Endpoint) -> None:
    scenario = SCENARIOS[0]
    first, second = answers(scenario)
    endpoint.behaviours = [first, status(503), second]
    outcome = run(store, endpoint, scenario)
    assert outcome.fallback_reason is None and endpoint.requests == 3
    assert [p.code for p in outcome.proposals if p.source == "llm"] == ["E85.9"]


def test_a_run_recorded_over_http_replays_without_the_endpoint(store, endpoint: Endpoint) -> None:
    scenario = SCENARIOS[3]
    endpoint.behaviours = answers(scenario)
    recorded = run(store, endpoint, scenario)
    transcript = json.loads(json.dumps(recorded.transcript))  # as saved to a file
    replayed = run(store, endpoint, scenario, model=ReplayChatModel.of(transcript))
    assert endpoint.requests == len(scenario.turns)  # the replay sent nothing
    assert [(p.code, p.evidence) for p in replayed.proposals] == [(p.code, p.evidence) for p in recorded.proposals]
    assert replayed.trace == recorded.trace


def test_a_hanging_endpoint_mid_loop_ends_at_the_deadline(store, endpoint: Endpoint) -> None:
    scenario = SCENARIOS[0]
    endpoint.behaviours = [answers(scenario)[0], hang(endpoint)]
    limits = LlmLimits(deadline=2.0, max_retries=0)
    chat = make_chat_model(endpoint.url, "test-model", "secret", timeout=limits.deadline)  # type: ignore[attr-defined]
    reasoner = ToolAgentReasoner(chat, store, FixedReasoner(), limits=limits, search=CodeSearch(store, None))
    started = time.monotonic()
    outcome = reasoner.run(context_for(scenario, store))
    assert time.monotonic() - started < limits.deadline + 1.0
    assert "deadline" in outcome.fallback_reason and outcome.trace[0].startswith("searched 'amyloidosis'")


@pytest.mark.parametrize(
    ("behaviour", "why"),
    [(status(500), "500"), (raw(b"<html>Bad gateway</html>"), "Error")],
    ids=["500 past its retries", "malformed body"],
)
def test_a_failing_endpoint_leaves_the_offline_codes(store, endpoint: Endpoint, behaviour, why) -> None:
    endpoint.behaviours = [behaviour]
    outcome = run(store, endpoint, SCENARIOS[0])
    assert outcome.fallback_reason is not None and why in outcome.fallback_reason
    assert [p.source for p in outcome.proposals] == []  # the fallback here proposes nothing
    assert endpoint.requests == (1 + LIMITS.max_retries if why == "500" else 1)  # only a 5xx is tried again


def test_arguments_that_are_never_json_end_at_the_step_budget(store, endpoint: Endpoint) -> None:
    from agent.reasoners.tool_agent import AgentBudget

    body = json.loads(completion([("search_codes", {"query": "x"})], 0))
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "{query: "
    endpoint.behaviours = [raw(json.dumps(body).encode())]
    scenario = Scenario("never json", [], [], budget=AgentBudget(steps=3))
    outcome = run(store, endpoint, scenario)
    assert endpoint.requests == 3 and outcome.fallback_reason is None
    assert outcome.trace[0] == "search_codes: arguments not valid JSON"
    assert "the step budget of 3 model calls ran out before it verified any code" in outcome.trace[-1]
