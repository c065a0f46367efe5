"""Parser for the CMS ICD-10-CM Tabular List XML (`icd10cm-tabular-*.xml`).

Reads chapters, blocks (sections) and every code with all of its instructional notes and
7th-character definitions, and completes each code that needs a 7th character into its
billable extensions (S72.001 -> S72.001A ... S72.001S), as coders and claims use them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import IO

from index.errors import SourceError
from index.model import Code, CodeKind, Note, NoteKind, SeventhChar

_NOTE_TAGS = {kind.value: kind for kind in NoteKind}
_ROOT = "ICD10CM.tabular"
_RESTRICTIONS = Path(__file__).resolve().parents[1] / "data" / "seventh_restrictions.json"


@cache
def _seventh_restrictions() -> tuple[tuple[str, int, frozenset[str], frozenset[str]], ...]:
    rules = json.loads(_RESTRICTIONS.read_text(encoding="utf-8"))["rules"]
    return tuple((r["prefix"], int(r["position"]), frozenset(r["values"]), frozenset(r["not_allowed"])) for r in rules)


def allowed_seventh(code: str, seventh: tuple[SeventhChar, ...]) -> tuple[SeventhChar, ...]:
    """The 7th characters `code` may take: those defined above it, less any a Tabular note forbids."""
    bare = code.replace(".", "")
    forbidden: set[str] = set()
    for prefix, position, values, not_allowed in _seventh_restrictions():
        if bare.startswith(prefix) and len(bare) >= position and bare[position - 1] in values:
            forbidden |= not_allowed
    return tuple(s for s in seventh if s.char not in forbidden)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _notes(elem: ET.Element) -> tuple[Note, ...]:
    notes: list[Note] = []
    for child in elem:
        kind = _NOTE_TAGS.get(child.tag)
        if kind is None:
            continue
        for note in child.iter("note"):
            text = _clean(note.text)
            if text:
                notes.append(Note(kind, text))
    return tuple(notes)


def _seventh(elem: ET.Element) -> tuple[SeventhChar, ...]:
    definition = elem.find("sevenChrDef")
    if definition is None:
        return ()
    return tuple(
        SeventhChar(ext.get("char", ""), _clean(ext.text)) for ext in definition.iter("extension") if ext.get("char")
    )


def extension_code(code: str, char: str) -> str:
    """The 7-character code for `code` completed with `char`, with X placeholders."""
    bare = code.replace(".", "")
    bare = bare.ljust(6, "X") + char
    return f"{bare[:3]}.{bare[3:]}"


def parse_tabular(source: str | Path | bytes | IO[bytes], name: str = "tabular") -> dict[str, Code]:
    """Parse a Tabular List XML into codes keyed by their dotted code (chapters by number)."""
    root = _parse_root(source, name)
    codes: dict[str, Code] = {}
    for chapter in root.iter("chapter"):
        number = _clean(chapter.findtext("name"))
        chapter_id = f"Chapter {number}"
        blocks: list[str] = []
        for section in chapter.iter("section"):
            block_id = section.get("id") or ""
            if "-" not in block_id:
                # A block of one category ("B20") is written as a range so it never
                # shares its id with the category it holds.
                block_id = f"{block_id}-{block_id}"
            blocks.append(block_id)
            tops = section.findall("diag")
            for diag in tops:
                _walk(diag, block_id, chapter_id, block_id, (), codes)
            codes[block_id] = Code(
                code=block_id,
                title=_strip_range(_clean(section.findtext("desc"))),
                kind=CodeKind.BLOCK,
                parent=chapter_id,
                children=tuple(_clean(d.findtext("name")) for d in tops),
                chapter=chapter_id,
                block=block_id,
                notes=_notes(section),
            )
        codes[chapter_id] = Code(
            code=chapter_id,
            title=_clean(chapter.findtext("desc")),
            kind=CodeKind.CHAPTER,
            children=tuple(blocks),
            chapter=chapter_id,
            notes=_notes(chapter),
        )
    if not codes:
        raise SourceError(f"{name}: no chapters found; is this an ICD-10-CM Tabular List XML file?")
    return codes


def _strip_range(title: str) -> str:
    """ "Intestinal infectious diseases (A00-A09)" -> the range is already the block's code."""
    if title.endswith(")") and "(" in title:
        head, _, tail = title.rpartition("(")
        if tail[:-1].replace("-", "").isalnum() and tail[:1].isalpha():
            return head.strip()
    return title


def _walk(
    diag: ET.Element,
    parent: str,
    chapter: str,
    block: str,
    seventh_above: tuple[SeventhChar, ...],
    codes: dict[str, Code],
) -> None:
    code = _clean(diag.findtext("name"))
    if not code:
        raise SourceError(f"a <diag> under {parent} has no <name>")
    own_seventh = _seventh(diag)
    seventh = own_seventh or seventh_above
    children = diag.findall("diag")
    child_codes = [_clean(c.findtext("name")) for c in children]
    title = _clean(diag.findtext("desc"))
    extensions: list[str] = []
    if not children and seventh:
        allowed = allowed_seventh(code, seventh)
        extensions = [extension_code(code, s.char) for s in allowed]
        for s, ext in zip(allowed, extensions, strict=True):
            codes[ext] = Code(
                code=ext,
                title=f"{title}, {s.meaning}",
                kind=CodeKind.EXTENSION,
                parent=code,
                chapter=chapter,
                block=block,
                billable=True,
            )
    codes[code] = Code(
        code=code,
        title=title,
        kind=CodeKind.CATEGORY if "." not in code else CodeKind.SUBCATEGORY,
        parent=parent,
        children=tuple(child_codes) + tuple(extensions),
        chapter=chapter,
        block=block,
        billable=not children and not seventh,
        notes=_notes(diag),
        seventh=own_seventh,
    )
    for child in children:
        _walk(child, code, chapter, block, seventh, codes)


def _parse_root(source: str | Path | bytes | IO[bytes], name: str) -> ET.Element:
    try:
        root = ET.fromstring(source) if isinstance(source, bytes) else ET.parse(source).getroot()
    except ET.ParseError as exc:
        raise SourceError(f"{name}: not well-formed XML ({exc})") from exc
    except OSError as exc:
        raise SourceError(f"{name}: cannot be read ({exc.strerror or exc})") from exc
    if root.tag != _ROOT:
        raise SourceError(f"{name}: root element is <{root.tag}>, expected <{_ROOT}> (ICD-10-CM Tabular List)")
    return root


def tabular_version(source: bytes, name: str) -> str:
    """The release year a Tabular XML states in its <version> element."""
    head = source[:2000].decode("utf-8", errors="replace")
    start, end = head.find("<version>"), head.find("</version>")
    if start < 0 or end < start:
        raise SourceError(f"{name}: no <version> element; cannot tell which release this is (use --release)")
    return head[start + len("<version>") : end].strip()
