"""Parser for the CMS ICD-10-CM Alphabetic Index XML files (index, eindex, neoplasm, drug).

`parse_index` reads the Index to Diseases and the External Cause Index into one `IndexEntry`
per main term and subterm; `parse_table` reads the Table of Neoplasms and the Table of Drugs
and Chemicals into one entry per filled cell, its column named by the file's own headings.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from index.errors import SourceError
from index.model import IndexEntry

Source = str | Path | bytes | IO[bytes]

_ROOT = "ICD10CM.index"
_TABLE_MARKS = ("indexHeading", "head", "cell")
# A <manif> that is a code or a code range (I43, E80.0-E80.4) rather than words.
_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?-?"
_CODE_RE = re.compile(rf"{_CODE}(?:\s*-\s*{_CODE})?")
_SUFFIXES = frozenset({"(s)", "(es)", "(ies)", "(ly)"})  # word endings, not modifiers: "limb(s)"
_EMPTY_CELL = re.compile(r"[-\u2013\u2014\s]*")  # "--", "-", an en or em dash, or nothing


def detect_kind(source: Source) -> str:
    """'table' for an index table (column headings or cells), 'index' for an alphabetic index.

    Stops reading at the first telling element; a seekable stream is rewound afterwards.
    Raises SourceError for a file that is missing, not XML or not an ICD10CM.index file.
    """
    label = _label(source, "source")
    stream, rewind = _open(source, label)
    try:
        depth = 0
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            if event == "end":
                depth -= 1
                elem.clear()
                continue
            if depth == 0:
                _check_root(elem.tag, label)
            depth += 1
            if elem.tag in _TABLE_MARKS:
                return "table"
            if elem.tag == "code":
                return "index"
        return "index"
    except ET.ParseError as exc:
        raise SourceError(f"{label}: not well-formed XML ({exc})") from exc
    except OSError as exc:
        raise SourceError(f"{label}: cannot be read ({exc.strerror or exc})") from exc
    finally:
        if rewind is not None:
            stream.seek(rewind)
        elif stream is not source:
            stream.close()


def parse_index(source: Source, name: str) -> list[IndexEntry]:
    """Every main term and subterm of an Index to Diseases or External Cause Index, in file order.

    Terms with neither a code nor a cross-reference are kept: they are the structure a coder
    reads down through. <seecat>/<subcat> become `see` ("category T71", "subcategory T75.0").
    """
    label = _label(source, name)
    root = _parse_root(source, label)
    if root.find("indexHeading") is not None:
        raise SourceError(f"{label}: has column headings, so it is an index table; read it with parse_table")
    entries: list[IndexEntry] = []
    for path, nemod, term in _walk(root, label):
        if term.find("cell") is not None:
            raise SourceError(f"{label}: term {', '.join(path)!r} has table cells; read it with parse_table")
        code = _text(term.find("code")) or None
        manif = _text(term.find("manif"))
        if manif and _CODE_RE.fullmatch(manif):
            code = f"{code} [{manif}]" if code else f"[{manif}]"  # as printed: E85.4 [I43]
        elif manif:
            nemod = (*nemod, _paren(manif))
        entries.append(IndexEntry(path, code, _see(term), _text(term.find("seeAlso")) or None, nemod, name))
    if not entries:
        raise SourceError(f"{label}: no <mainTerm> found; is this an ICD-10-CM index XML file?")
    return entries


def parse_table(source: Source, name: str) -> list[IndexEntry]:
    """One entry per filled cell of the Table of Neoplasms or of Drugs and Chemicals.

    `column` is the heading the file gives that column ("Malignant Primary"). A row's
    see/seeAlso gives one more entry without a column, and a row with neither cells nor
    cross-references (a heading such as "Aluminium, aluminum") one bare entry.
    """
    label = _label(source, name)
    root = _parse_root(source, label)
    heading = root.find("indexHeading")
    if heading is None:
        raise SourceError(f"{label}: no <indexHeading> column headings; not an index table (use parse_index)")
    columns = {head.get("col", ""): _text(head) for head in heading.iter("head")}
    entries: list[IndexEntry] = []
    for path, nemod, term in _walk(root, label):
        manif = _text(term.find("manif"))
        if manif:  # the one in the Table of Neoplasms is a further non-essential modifier
            nemod = (*nemod, _paren(manif))
        before = len(entries)
        for cell in term.findall("cell"):
            value = _text(cell)
            if _EMPTY_CELL.fullmatch(value):
                continue
            col = cell.get("col", "")
            if col not in columns:
                raise SourceError(
                    f"{label}: term {', '.join(path)!r} has a cell in column {col!r}, which has no heading"
                )
            entries.append(IndexEntry(path, value, nemod=nemod, source=name, column=columns[col]))
        see, see_also = _see(term), _text(term.find("seeAlso")) or None
        if see or see_also or len(entries) == before:
            entries.append(IndexEntry(path, None, see, see_also, nemod, name))
    if not entries:
        raise SourceError(f"{label}: no <mainTerm> found; is this an ICD-10-CM index table XML file?")
    return entries


def _walk(root: ET.Element, label: str) -> Iterator[tuple[tuple[str, ...], tuple[str, ...], ET.Element]]:
    """(path, nemod of the last title, element) for every mainTerm and term, parents first."""
    stack: list[tuple[tuple[str, ...], ET.Element]] = [
        ((), main) for letter in reversed(root.findall("letter")) for main in reversed(letter.findall("mainTerm"))
    ]
    while stack:
        above, term = stack.pop()
        title, nemod = _title(term.find("title"))
        if not title:
            where = f"under {', '.join(above)!r}" if above else "at the top level"
            raise SourceError(f"{label}: a <{term.tag}> {where} has no <title>")
        path = (*above, title)
        yield path, nemod, term
        stack.extend((path, child) for child in reversed(term.findall("term")))


def _title(elem: ET.Element | None) -> tuple[str, tuple[str, ...]]:
    """A title without its non-essential modifiers, and those modifiers one group each."""
    if elem is None:
        return "", ()
    essential = [elem.text or ""]
    nemod: list[str] = []
    for child in elem:
        if child.tag == "nemod":
            glued = essential[-1][-1:].isalpha()
            words, groups = _split_nemod("".join(child.itertext()), glued)
            essential.append(words)
            nemod.extend(groups)
        else:
            essential.append("".join(child.itertext()))
        essential.append(child.tail or "")
    title = _clean("".join(essential))
    if not title and nemod:  # a title that is all modifier keeps it as its title
        return " ".join(nemod), ()
    return title, tuple(nemod)


def _split_nemod(text: str, glued: bool = False) -> tuple[str, list[str]]:
    """Split a <nemod> text into the words outside any parentheses and its "(...)" groups.

    CMS sometimes wraps essential words in the element, as in "(bile) duct (common)" or
    "(s) to patient(s)"; those words stay in the title. A parenthesis glued to a word
    ("patient(s)") belongs to that word, and so does a leading plural or adverb ending
    ("(s)", "(es)", "(ly)") when the title text before the element ends in a letter (`glued`).
    """
    words: list[str] = []
    groups: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "(":
            words.append(text[i])
            i += 1
            continue
        end, depth = i, 0
        for end in range(i, len(text)):  # to the matching ")", or to the end if unclosed
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        chunk = text[i : end + 1]
        if (i > 0 and text[i - 1].isalnum()) or (i == 0 and glued and chunk in _SUFFIXES):
            words.append(chunk)
        else:
            groups.append(_clean(chunk))
        i = end + 1
    rest = "".join(words)
    if "(" not in text:  # no parentheses at all: the whole element is the modifier
        return "", [_clean(text)] if _clean(text) else []
    return rest, groups


def _see(term: ET.Element) -> str | None:
    see = _text(term.find("see"))
    if see:
        return see
    for tag, word in (("seecat", "category"), ("subcat", "subcategory")):
        value = _text(term.find(tag))
        if value:
            return f"{word} {value}"
    return None


def _paren(text: str) -> str:
    return text if text.startswith("(") and text.endswith(")") else f"({text})"


def _text(elem: ET.Element | None) -> str:
    return "" if elem is None else _clean("".join(elem.itertext()))


def _clean(text: str) -> str:
    return " ".join(text.split())


def _label(source: Source, name: str) -> str:
    if isinstance(source, str | Path):
        return str(source)
    if isinstance(source, bytes | bytearray):
        return name
    stream_name = getattr(source, "name", None)
    return stream_name if isinstance(stream_name, str) else name


def _check_root(tag: str, label: str) -> None:
    if tag != _ROOT:
        raise SourceError(f"{label}: root element is <{tag}>, expected <{_ROOT}> (a CMS ICD-10-CM index file)")


def _open(source: Source, label: str) -> tuple[IO[bytes], int | None]:
    """A binary stream on `source` and, for a caller's seekable stream, where to rewind to."""
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source), None
    if isinstance(source, str | Path):
        try:
            return open(source, "rb"), None  # closed by the caller
        except OSError as exc:
            raise SourceError(f"{label}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return source, source.tell() if source.seekable() else None
    except (OSError, ValueError):
        return source, None


def _parse_root(source: Source, label: str) -> ET.Element:
    stream, _ = _open(source, label)
    try:
        root = ET.parse(stream).getroot()
    except ET.ParseError as exc:
        raise SourceError(f"{label}: not well-formed XML ({exc})") from exc
    except OSError as exc:
        raise SourceError(f"{label}: cannot be read ({exc.strerror or exc})") from exc
    finally:
        if stream is not source:
            stream.close()
    _check_root(root.tag, label)
    return root
