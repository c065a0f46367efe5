"""Coda's tools for a model: each a thin wrapper over the core with a typed input and a short,
bounded output (`ToolResult`).

- search_codes: the hybrid index (`index.search.CodeSearch`), lexical only without vectors;
- explore: a code's parent, children, siblings and 7th characters, with titles;
- instructions: the instructional notes at a code and those inherited from above;
- guideline: the guideline texts Coda holds as data;
- find_in_note: the exact offsets of a quote, with what the note says of it;
- verify: the checks the graph runs on proposals (`agent.tools.verify`).

`CodeTools.call` runs a model's tool call by name, its arguments validated by the input models;
bad input gives a text that starts with "error:", never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ValidationError

from agent.reading.instructions import instruction_in
from agent.reading.quotes import find_quote, find_quotes
from agent.reading.segment import Span
from agent.reading.statements import assertion_at
from agent.reasoners.base import CodingContext
from agent.reasoners.prompts import CodeChoice
from agent.tools.book import describe_code, find_code, note_lines, status
from agent.tools.guideline_lookup import all_guidelines, find_guidelines, section_of
from agent.tools.inputs import CodeInput, GuidelineInput, QuoteInput, SearchInput, VerifyInput
from agent.tools.results import MAX_SUMMARY_CHARS, ToolResult, bounded, clip, error
from agent.tools.verify import Verified, verify_codes
from index.errors import CodaError
from index.search import CodeSearch, Filters
from index.store import CodeStore

__all__ = ["INPUTS", "TOOL_NAMES", "CodeTools"]

TOOL_NAMES: tuple[str, ...] = ("search_codes", "explore", "instructions", "guideline", "find_in_note", "verify")
INPUTS: dict[str, type[BaseModel]] = {
    "search_codes": SearchInput,
    "explore": CodeInput,
    "instructions": CodeInput,
    "guideline": GuidelineInput,
    "find_in_note": QuoteInput,
    "verify": VerifyInput,
}
DESCRIPTIONS = {
    "search_codes": (
        "Search the ICD-10-CM code book by clinical words or a code prefix. Gives codes with titles, each marked "
        "[billable], [needs a 7th character] or [category: go deeper]. Use billable_only for reportable codes."
    ),
    "explore": (
        "Show a code's place in the code book: title, billable or not, parent, children, siblings and the "
        "7th characters that apply. Use it to go from a category to the most specific code."
    ),
    "instructions": (
        "Show the instructional notes that apply at a code, its own and those inherited from above, each with "
        "the code it comes from: inclusion terms, Includes, Excludes1, Excludes2, Code first, Use additional code, "
        "Code also."
    ),
    "guideline": (
        "Read the ICD-10-CM Official Guidelines texts Coda holds, by topic ('excludes1', 'uncertain diagnosis') "
        "or by section ('I.A.12.a', 'IV.H')."
    ),
    "find_in_note": (
        "Find words in the clinical note: gives their exact offsets and what the note says of them (present, "
        "negated, uncertain, history, family ...), or says they are not in the note. Check quotes before verify."
    ),
    "verify": (
        "Check the codes you mean to assign, each with exact quotes from the note: quotes found, assertion allows "
        "the code, billable, Excludes1 conflicts, partner codes (code first, use additional), claim size and "
        "whether the principal may be principal. Fix or drop every refused code before answering."
    ),
}
SEARCH_LINES_MATCH = 60
OTHER_PLACES = 3


class CodeTools:
    """The tools over one code store, one search and one note (`context`)."""

    def __init__(self, store: CodeStore, search: CodeSearch | None, context: CodingContext) -> None:
        self.store = store
        self.search = search if search is not None else CodeSearch(store, None)
        self.context = context

    # -- the tools -----------------------------------------------------------------------------

    def search_codes(
        self, query: str, billable_only: bool = False, chapter: str | None = None, limit: int = 8
    ) -> ToolResult:
        """The best codes for `query`, each with its title and whether it can be billed."""
        text = " ".join(query.split())
        filters = Filters(billable=True if billable_only else None, chapter=_chapter(chapter))
        try:
            hits = self.search.search(text, limit=max(1, min(limit, 20)), filters=filters)
        except CodaError as exc:
            return error(str(exc), f"searched '{clip(text, 60)}' -> error")
        if not hits:
            where = f" in chapter {chapter}" if chapter else ""
            return ToolResult(
                f"no codes found for '{text}'{where}; try other words or fewer filters",
                f"searched '{clip(text, 80)}' -> nothing",
            )
        records = self.store.codes([h.code for h in hits])
        lines = []
        for h in hits:
            record = records.get(h.code)
            mark = status(record, self.store) if record is not None else ("[billable]" if h.billable else "")
            line = f"{h.code}  {clip(h.title, 100)} {mark}"
            if h.matched and h.matched not in (h.title, h.code):
                line += f" (matched: {clip(h.matched, SEARCH_LINES_MATCH)})"
            lines.append(line)
        codes = tuple(h.code for h in hits)
        return ToolResult(bounded(lines), _summary(f"searched '{clip(text, 80)}' -> ", codes), codes)

    def explore(self, code: str) -> ToolResult:
        """The code's title, parent, children, siblings and 7th characters."""
        record, hint = find_code(self.store, code)
        if record is None:
            return self._unknown(code, hint, "explored")
        lines = describe_code(self.store, record)
        seventh, _ = self.store.seventh_characters(record.code)
        said = f"explored {record.code}"
        if seventh:
            said += " -> 7th " + ", ".join(s.char for s in seventh)
        elif record.children:
            said += " -> " + ", ".join(record.children[:5]) + (" ..." if len(record.children) > 5 else "")
        return ToolResult(bounded(lines), clip(said, MAX_SUMMARY_CHARS), (record.code,))

    def instructions(self, code: str) -> ToolResult:
        """The instructional notes that apply at a code, by kind, each with the code it is from."""
        record, hint = find_code(self.store, code)
        if record is None:
            return self._unknown(code, hint, "instructions of")
        lines, count = note_lines(self.store, record)
        kinds = sorted({n.kind.value for n in self.store.inherited_notes(record.code)})
        said = f"instructions of {record.code} -> {count} notes" + (f" ({', '.join(kinds)})" if kinds else "")
        return ToolResult(bounded(lines), clip(said, MAX_SUMMARY_CHARS), (record.code,))

    def guideline(self, topic: str) -> ToolResult:
        """The guideline texts (at most 3) a topic or a section names, with their citations."""
        found, how = find_guidelines(topic)
        if not found:
            keys = ", ".join(g.key for g in all_guidelines())
            section = section_of(topic)
            what = f"for section {section}" if section else f"on '{clip(topic, 80)}'"
            return ToolResult(
                bounded([f"Coda holds no guideline text {what}. Topics: {keys}"]),
                f"guideline '{clip(topic, 60)}' -> nothing",
            )
        lines = [f"[{g.key}] {g.title} ({g.cite}): {g.text}" for g in found]
        if how.startswith("section") and how.removeprefix("section ").upper() not in topic.upper():
            lines.insert(0, f"no text for that exact section; the nearest, {how}:")
        said = f"guideline '{clip(topic, 60)}' -> " + ", ".join(g.key for g in found)
        return ToolResult(bounded(lines), clip(said, MAX_SUMMARY_CHARS))

    def find_in_note(self, text: str) -> ToolResult:
        """Where the quote lies in the note (exact offsets) and what the note says of it there."""
        note = self.context.note
        span = find_quote(note, text)
        if span is None:
            return ToolResult(
                f"not found in the note: '{clip(text, 120)}'. Copy the words exactly as the note writes them.",
                f"looked for '{clip(text, 60)}' -> not found",
            )
        line = f"found at {span.start}-{span.end}: '{clip(span.text, 300)}' ({self._reading(span)})"
        lines = [line]
        why = self._instruction_at(span)
        if why is not None:
            lines.append(f"not evidence: {why}; no code rests on it.")
        others = [s for s in find_quotes(note, text) if (s.start, s.end) != (span.start, span.end)]
        if others:
            shown = ", ".join(f"{s.start}-{s.end}" for s in others[:OTHER_PLACES])
            more = f" and {len(others) - OTHER_PLACES} more" if len(others) > OTHER_PLACES else ""
            lines.append(f"also at {shown}{more}")
        said = f"found '{clip(span.text, 60)}' at {span.start}-{span.end}" + (" (not evidence)" if why else "")
        return ToolResult(bounded(lines), said)

    def verify(self, codes: list[CodeChoice], principal: str | None = None) -> Verified:
        """The graph's checks on `codes`; see `agent.tools.verify`."""
        return verify_codes(self.store, self.context, codes, principal)

    # -- calls by name -------------------------------------------------------------------------

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        """Run the tool `name` with a model's `args`; bad input gives an "error:" text."""
        model = INPUTS.get(name) if isinstance(name, str) else None
        if model is None:
            return error(f"no tool named {str(name)[:40]!r}; the tools are {', '.join(TOOL_NAMES)}")
        if not isinstance(args, dict):
            return error(f"the arguments of {name} must be an object, not {type(args).__name__}")
        try:
            given = model.model_validate(args)
        except ValidationError as exc:
            return error(f"bad arguments for {name}: {_problems(exc)}", f"{name}: bad arguments")
        try:
            return self._run(name, given)
        except CodaError as exc:
            return error(f"{name} failed: {exc}")

    def _run(self, name: str, given: BaseModel) -> ToolResult:
        if isinstance(given, SearchInput):
            return self.search_codes(given.query, given.billable_only, given.chapter, given.limit)
        if isinstance(given, CodeInput):
            return self.explore(given.code) if name == "explore" else self.instructions(given.code)
        if isinstance(given, GuidelineInput):
            return self.guideline(given.topic)
        if isinstance(given, QuoteInput):
            return self.find_in_note(given.text)
        assert isinstance(given, VerifyInput)
        return self.verify(given.codes, given.principal)

    def langchain_tools(self) -> list[BaseTool]:
        """The tools as LangChain StructuredTools (for `bind_tools`); each runs through `call`."""
        return [
            StructuredTool.from_function(
                func=self._caller(name),
                name=name,
                description=DESCRIPTIONS[name],
                args_schema=INPUTS[name],
            )
            for name in TOOL_NAMES
        ]

    def _caller(self, name: str) -> Callable[..., str]:
        def run(**kwargs: Any) -> str:
            args = {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in kwargs.items()}
            if isinstance(args.get("codes"), list):
                args["codes"] = [c.model_dump() if isinstance(c, BaseModel) else c for c in args["codes"]]
            return self.call(name, args).text

        return run

    # -- helpers -------------------------------------------------------------------------------

    def _unknown(self, code: str, hint: str, verb: str) -> ToolResult:
        shown = clip(code, 20) or "(empty)"
        book = f"{self.store.info.title} {self.store.info.release}"
        return error(f"{shown} is not a code in {book}; {hint}", f"{verb} {shown} -> not a code")

    def _instruction_at(self, span: Span) -> str | None:
        """Why the text holding `span` addresses the software, if it does (as the answer checks
        read it): each sentence the span touches, or the span itself outside any sentence."""
        analysis = self.context.analysis
        touched = [i for i, s in enumerate(analysis.sentences) if s.start < span.end and span.start < s.end]
        if not touched:
            return instruction_in(span.text)
        for i in touched:
            why = analysis.non_clinical.get(i) or instruction_in(analysis.sentences[i].text)
            if why is not None:
                return why
        return None

    def _reading(self, span: Span) -> str:
        """What the note says of the quoted words: assertion (as the gate reads it) and section."""
        analysis = self.context.analysis
        i = analysis.sentence_at(span.start)
        if i is None:
            return "outside any sentence of the note"
        sentence = analysis.sentences[i]
        end = min(span.end, sentence.end)
        if i in analysis.non_clinical:
            assertion = "non_clinical"
        else:
            assertion = assertion_at(sentence, span.start - sentence.start, end - sentence.start).value
        across = "; runs past its sentence" if span.end > sentence.end else ""
        return f"assertion: {assertion}, section: {sentence.section}{across}"


def _chapter(chapter: str | None) -> str | None:
    """A chapter as the filter takes it: "9", "Chapter 9"; None for none."""
    if chapter is None or not chapter.strip():
        return None
    text = " ".join(chapter.split())
    return text.split()[-1] if text.lower().startswith("chapter ") and text.split()[-1].isdigit() else text


def _summary(prefix: str, codes: tuple[str, ...], shown: int = 5) -> str:
    more = f" (+{len(codes) - shown} more)" if len(codes) > shown else ""
    return clip(prefix + ", ".join(codes[:shown]) + more, MAX_SUMMARY_CHARS)


def _problems(exc: ValidationError) -> str:
    """What was wrong with a tool call's arguments, in a few words per field."""
    parts = []
    for problem in exc.errors()[:5]:
        where = ".".join(str(p) for p in problem["loc"]) or "arguments"
        parts.append(f"{where}: {problem['msg'].lower()}")
    more = f" (and {len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return "; ".join(parts) + more
