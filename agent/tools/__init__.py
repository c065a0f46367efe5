"""Coda's tools for an LLM agent: search, explore and read the code book, read the guidelines,
find quotes in the note and verify codes, each with a typed input and a short bounded output."""

from agent.tools.code_tools import INPUTS, TOOL_NAMES, CodeTools
from agent.tools.inputs import CodeInput, GuidelineInput, QuoteInput, SearchInput, VerifyInput
from agent.tools.results import MAX_TOOL_CHARS, ToolResult
from agent.tools.verify import Verified

__all__ = [
    "INPUTS",
    "MAX_TOOL_CHARS",
    "TOOL_NAMES",
    "CodeInput",
    "CodeTools",
    "GuidelineInput",
    "QuoteInput",
    "SearchInput",
    "ToolResult",
    "Verified",
    "VerifyInput",
]
