"""The clinical note with every evidence span highlighted, one colour per code, as a Streamlit component.

`segments`, `palette` and `render_html` are pure: the note is cut at every span boundary, each piece is
escaped with `html.escape` and wrapped in a `<mark>` carrying its codes and exact offsets. Sentences
addressed to the software or the coder rather than about the patient ("asides") are wrapped in a
`<span class="coda-aside">` that shows them greyed and hatched, with a title saying so. `note_view`
mounts that HTML through a small custom component (Streamlit components v2) and returns the last click.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import html
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).parent / "static" / "note_view"
COMPONENT_NAME = "coda_note_view"

_FIRST_HUE = 50.0  # highlighter yellow first
_RING = 12  # hues per ring, 30 degrees apart
_HUE_STEP = 5  # ring positions between consecutive codes: 150 degrees, so neighbours differ most
_LIGHTNESS = (0.88, 0.80, 0.84)  # one per ring; light enough that dark text keeps a contrast of 7:1 or more
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_STRIPE_PX = 3
_OUTLINE = "var(--st-text-color,#111827)"
ASIDE_TITLE = "Addressed to the software or the coder: not clinical text, no code rests on it"


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of the note, `note[start:end] == text`, covered by `codes` (empty: plain text), and
    inside a sentence addressed to the software when `aside` is not None (it says why)."""

    start: int
    end: int
    text: str
    codes: tuple[str, ...]
    aside: str | None = None


def _valid_spans(note: str, spans: Iterable[Sequence[Any]]) -> list[tuple[int, int, str]]:
    out = []
    for span in spans:
        start, end, code = span
        if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int):
            continue
        if 0 <= start < end <= len(note):
            out.append((start, end, str(code)))
    return out


def segments(note: str, spans: list[tuple[int, int, str]], asides: Iterable[Sequence[Any]] = ()) -> list[Segment]:
    """Cut `note` at every span and aside boundary; each segment lists the codes whose spans cover
    it, and why it is an aside when one of `asides` ((start, end, why)) covers it.

    The segments cover the whole note in order (uncovered text has `codes == ()`), so their texts
    join back to the note. A span or aside that is empty or not wholly inside the note is ignored.
    Within a segment the codes keep the order in which they first appear in `spans`, without repeats.
    """
    valid = _valid_spans(note, spans)
    aside_spans = _valid_spans(note, asides)
    first_seen: dict[str, int] = {}
    for _, _, code in valid:
        first_seen.setdefault(code, len(first_seen))
    bounds = [*valid, *aside_spans]
    cuts = sorted({0, len(note)} | {s for s, _, _ in bounds} | {e for _, e, _ in bounds})
    out = []
    for a, b in itertools.pairwise(cuts):
        covering = {code for s, e, code in valid if s <= a and b <= e}
        aside = next((why for s, e, why in aside_spans if s <= a and b <= e), None)
        out.append(Segment(a, b, note[a:b], tuple(sorted(covering, key=first_seen.__getitem__)), aside))
    return out


def _hsl_hex(hue: float, saturation: float, lightness: float) -> str:
    r, g, b = colorsys.hls_to_rgb(hue / 360.0, lightness, saturation)
    return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (r, g, b)))


def palette(codes: list[str]) -> dict[str, str]:
    """One light background colour per distinct code, `#rrggbb`, in order of first appearance.

    HSL steps: rings of 12 hues 30 degrees apart, consecutive codes 150 degrees apart; each ring of 12
    is shifted 10 degrees and has its own lightness, so 36 colours are distinct before any repeats (and
    a repeat is nudged). Deterministic: a code's colour depends only on its position in the list.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for code in codes:
        if code in out:
            continue
        i = len(out)
        ring = (i // _RING) % len(_LIGHTNESS)
        hue = (_FIRST_HUE + (i * _HUE_STEP % _RING) * 360 / _RING + ring * 360 / _RING / len(_LIGHTNESS)) % 360
        colour = _hsl_hex(hue, 1.0, _LIGHTNESS[ring])
        while colour in used:  # only past 36 codes: nudge the hue until the colour is new
            hue = (hue + 1.0) % 360
            colour = _hsl_hex(hue, 1.0, _LIGHTNESS[ring])
        used.add(colour)
        out[code] = colour
    return out


def _hex_rgb(colour: str) -> tuple[float, float, float]:
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[k : k + 2], 16) / 255 for k in (0, 2, 4))
    return r, g, b


def _stripe(colour: str) -> str:
    """The same hue, dark enough to show as a stripe under a light background."""
    h, _, s = colorsys.rgb_to_hls(*_hex_rgb(colour))
    return _hsl_hex(h * 360, max(s, 0.6), 0.38)


def _mark(seg: Segment, colours: Mapping[str, str], selected: str | None) -> str:
    first, extra = seg.codes[0], seg.codes[1:]
    style = [f"background-color:{colours[first]}"]
    if extra:  # one stripe per extra code along the bottom, stacked: overlaps stay visible and readable
        shadows = ",".join(f"inset 0 -{_STRIPE_PX * (k + 1)}px 0 {_stripe(colours[c])}" for k, c in enumerate(extra))
        style += [f"box-shadow:{shadows}", f"padding-bottom:{_STRIPE_PX * len(extra)}px"]
    if selected is not None and selected in seg.codes:
        style += [f"outline:2px solid {_OUTLINE}", "outline-offset:1px"]
    label = ", ".join(seg.codes)
    attrs = {
        "class": "coda-selected" if selected is not None and selected in seg.codes else None,
        "data-codes": " ".join(seg.codes),
        "data-start": str(seg.start),
        "data-end": str(seg.end),
        "style": ";".join(style),
        "title": label,
        "tabindex": "0",
        "role": "button",
        "aria-label": f"{label}: {seg.text}",
    }
    rendered = "".join(f' {name}="{html.escape(value, quote=True)}"' for name, value in attrs.items() if value)
    return f"<mark{rendered}>{html.escape(seg.text, quote=True)}</mark>"


def _aside(why: str, text: str, inner: str) -> str:
    """A sentence addressed to the software: greyed and hatched (note_view.css), with a title and a
    label for screen readers that say it is not clinical text."""
    title = f"{ASIDE_TITLE} ({why})" if why else ASIDE_TITLE
    attrs = {"class": "coda-aside", "role": "note", "title": title, "aria-label": f"{title}: {text}"}
    rendered = "".join(f' {name}="{html.escape(value, quote=True)}"' for name, value in attrs.items())
    return f"<span{rendered}>{inner}</span>"


def render_html(
    note: str,
    spans: list[tuple[int, int, str]],
    colours: Mapping[str, str],
    selected: str | None = None,
    asides: Iterable[Sequence[Any]] = (),
) -> str:
    """The note as HTML: escaped text, one `<mark>` per highlighted segment, newlines kept, and
    the `asides` ((start, end, why): sentences addressed to the software) in `<span class="coda-aside">`.

    Every piece of note text and every attribute value goes through `html.escape(..., quote=True)`;
    the only tags are the wrapping `<div class="coda-note">`, the `<mark>`s and the aside `<span>`s,
    with no event handlers. A mark's background is its first code's colour (a `#rgb`/`#rrggbb` from
    `colours`, else from `palette`); each further code adds a darker stripe at the bottom; marks of
    `selected` get an outline.
    """
    segs = segments(note, spans, asides)
    codes = [code for seg in segs for code in seg.codes]
    fallback = palette(codes)
    safe = {c: colours[c] if _HEX.fullmatch(str(colours.get(c, ""))) else fallback[c] for c in fallback}
    pieces = []
    for why, run in itertools.groupby(segs, key=lambda seg: seg.aside):
        group = list(run)  # the segments of one aside (or of the text between asides) in a row
        inner = "".join(_mark(g, safe, selected) if g.codes else html.escape(g.text, quote=True) for g in group)
        pieces.append(inner if why is None else _aside(why, "".join(g.text for g in group), inner))
    return f'<div class="coda-note" style="white-space:pre-wrap">{"".join(pieces)}</div>'


@functools.cache
def _component() -> Callable[..., Any]:
    import streamlit as st

    return st.components.v2.component(
        COMPONENT_NAME,
        html='<div class="coda-note-host"></div>',
        css=(STATIC_DIR / "note_view.css").read_text(encoding="utf-8"),
        js=(STATIC_DIR / "note_view.js").read_text(encoding="utf-8"),
    )


def _ignore() -> None:
    """The state callback the component needs so that `click` is a declared state value."""


def _as_click(value: Any) -> dict | None:
    if not isinstance(value, Mapping):
        return None
    codes, start, end = value.get("codes"), value.get("start"), value.get("end")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        return None
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return None
    return {"codes": list(codes), "start": int(start), "end": int(end)}


def note_view(
    note: str,
    spans: list[tuple[int, int, str]],
    colours: Mapping[str, str],
    selected: str | None = None,
    key: str | None = None,
    *,
    asides: Iterable[Sequence[Any]] = (),
    on_click: Callable[[], None] | None = None,
) -> dict | None:
    """Show the highlighted note; return the last click as {"codes", "start", "end"} or None.

    The click is the component's `click` state value: it persists across reruns until another
    highlight is clicked. Without `key`, the key is derived from the note and the spans, so a new
    `selected` or new colours keep the last click, while a new note or new spans start afresh.
    `on_click` runs (as a widget callback, before the rerun) when a click changes the value.
    """
    if key is None:
        digest = hashlib.sha256(repr((note, sorted(_valid_spans(note, spans)))).encode()).hexdigest()[:16]
        key = f"{COMPONENT_NAME}_{digest}"
    result = _component()(
        key=key,
        data={"html": render_html(note, spans, colours, selected, asides)},
        on_click_change=on_click or _ignore,
    )
    return _as_click(result.get("click"))
