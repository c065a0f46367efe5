"""The typed input of each tool, as pydantic models: what a model's tool call is validated
against, and the argument schemas the chat model is shown."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agent.reasoners.prompts import CodeChoice

__all__ = ["CodeInput", "GuidelineInput", "QuoteInput", "SearchInput", "VerifyInput"]

MAX_VERIFY_CODES = 40


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchInput(_Input):
    """Search the ICD-10-CM code book by clinical words or by a code prefix."""

    query: str = Field(
        min_length=1,
        max_length=200,
        description="Clinical words ('displaced fracture of left femoral neck') or a code.",
    )
    billable_only: bool = Field(False, description="Only codes that can be billed as they are.")
    chapter: str | None = Field(
        None,
        description="Only codes of this ICD-10-CM chapter, by number: '4' endocrine, '9' circulatory, '19' injury.",
    )
    limit: int = Field(8, ge=1, le=20, description="How many codes to return (1-20).")


class CodeInput(_Input):
    """One ICD-10-CM code."""

    code: str = Field(min_length=1, max_length=20, description="An ICD-10-CM code, e.g. 'E11.22' or 'S72.001A'.")


class GuidelineInput(_Input):
    """A guideline topic or section."""

    topic: str = Field(
        min_length=1,
        max_length=200,
        description="A topic ('excludes1', 'uncertain diagnosis') or a section ('I.A.12.a', 'Section IV.H').",
    )


class QuoteInput(_Input):
    """Words to find in the clinical note."""

    text: str = Field(min_length=1, max_length=500, description="Words copied from the note, character for character.")


class VerifyInput(_Input):
    """The codes to check, each with its quotes from the note."""

    codes: list[CodeChoice] = Field(
        min_length=1,
        max_length=MAX_VERIFY_CODES,
        description="The codes you mean to assign, principal or first-listed first, each with exact quotes.",
    )
    principal: str | None = Field(
        None, description="The principal (first-listed) diagnosis code; the first code when not given."
    )
