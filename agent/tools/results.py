"""What a tool gives back: a short text for the model, one line for the coder's trace, and the
codes it names. Every text is bounded (MAX_TOOL_CHARS), cut at a line with a "... (N more)"."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_TOOL_CHARS", "ToolResult", "bounded", "clip", "error"]

MAX_TOOL_CHARS = 2500
MAX_SUMMARY_CHARS = 200


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer. `text` is what the model reads (at most MAX_TOOL_CHARS), `summary` one
    line for the coder's trace, `codes` the codes it names (to link trace lines to codes)."""

    text: str
    summary: str
    codes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.text.startswith("error:")


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis when longer."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def bounded(lines: list[str], limit: int = MAX_TOOL_CHARS) -> str:
    """The lines joined, cut at a whole line when longer than `limit`, with "... (N more)"
    saying how many lines were left out."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        marker = f"... ({len(lines) - i} more)"
        room = limit - used - len(marker) - 1
        if len(line) + 1 > room:
            if not kept:  # one line longer than the whole budget: cut it
                kept.append(clip(line, max(room, 1)))
                marker = f"... ({len(lines) - i - 1} more)"
            return "\n".join([*kept, marker])[:limit]
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)[:limit]


def error(message: str, summary: str | None = None) -> ToolResult:
    """A tool's answer to input it cannot use: a text that starts with "error:"."""
    text = bounded([f"error: {message}"])
    return ToolResult(text, clip(summary or f"error: {message}", MAX_SUMMARY_CHARS))
