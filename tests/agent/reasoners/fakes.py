"""Fakes for the LLM path's tests: a chat model that answers from a script, and a fixed fallback
reasoner. No network, no real LLM.

`ScriptedChatModel` answers each call with the next scripted AIMessage (or raises the next
scripted exception). It implements `bind_tools` by recording the tools and returning itself, so
langchain-core's own `with_structured_output` (the tool-calling path) parses the scripted tool
calls exactly as it would parse a real endpoint's answer, and the agent's loop reads its tool
calls as it reads a real model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agent.reasoners.base import CodingContext, Outcome
from agent.records import Proposal


class ScriptedChatModel(BaseChatModel):
    """Answers call i with script[i] (the last entry repeats); an exception in the script is raised."""

    script: list[Any]
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: Any = None

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any) -> Any:
        self.tools.extend(convert_to_openai_tool(t) for t in tools)
        self.tool_choice = tool_choice
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any):
        self.calls.append(list(messages))
        item = self.script[min(len(self.calls), len(self.script)) - 1]
        if isinstance(item, BaseException):
            raise item
        return ChatResult(generations=[ChatGeneration(message=item)])

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def user_prompt(self) -> str:
        return str(self.calls[-1][1].content)

    @property
    def system_prompt(self) -> str:
        return str(self.calls[-1][0].content)


class FixedReasoner:
    """The fallback: returns a fixed proposal (or raises), and counts its calls."""

    name = "offline"

    def __init__(self, proposals: Sequence[Proposal] = (), error: Exception | None = None) -> None:
        self.proposals = list(proposals)
        self.error = error
        self.calls = 0

    def run(self, context: CodingContext) -> Outcome:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return Outcome(list(self.proposals))
