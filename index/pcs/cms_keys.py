"""The definitions and index files of a CMS ICD-10-PCS release, read into what a coder looks up:

- `icd10pcs_definitions_YYYY.xml` (`ICD10PCS.definitions` > `section` > `axis pos="N"` > `terms`,
  each with its `title`, `definition`, `explanation` and `includes`): the root operations'
  definitions with their explanations and examples, and the Body Part and Device Keys, whose
  "includes" name the anatomy or device each table value stands for ("Femoral head" is included
  in "Upper Femur, Right");
- `icd10pcs_index_YYYY.xml` (`ICD10PCS.index` > `letter` > `mainTerm`, each with its `title` and a
  `use`, a `see`, or the first characters of a code): the main terms as the index entries that
  `index.pcs.bundled.PcsBook.index_entries` gives ("see Resection, Appendix **0DTJ**",
  "use Upper Femur, Right").

Either file may be missing from a release; one that is present but not in its schema is a
DataError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree

from index.errors import DataError
from index.pcs.model import RootOperation

_CODE_ELEMENTS = ("codes", "code", "tab")  # where an index entry gives a code's first characters
_CODE = re.compile(r"[0-9A-HJ-NP-Z]{3,7}")


@dataclass(frozen=True)
class Keys:
    operations: dict[tuple[str, str], RootOperation]  # (section, name) -> its definition
    entries: list[tuple[str, str]]  # (term, "use ..." or "see ... **CODE**")


def read_definitions(text: bytes, name: str) -> Keys:
    root = _root(text, name, "ICD10PCS.definitions")
    operations: dict[tuple[str, str], RootOperation] = {}
    entries: list[tuple[str, str]] = []
    for section in root.iter("section"):
        code = section.get("code", "")
        for axis in section.findall("axis"):
            position = axis.get("pos", "")
            for term in axis.findall("terms"):
                title = _text(term.find("title"))
                includes = [_text(i) for i in term.findall("includes") if _text(i)]
                if position == "3" and title:
                    operations[(code, title)] = RootOperation(
                        code,
                        "",
                        title,
                        _text(term.find("definition")),
                        _text(term.find("explanation")),
                        "; ".join(includes),
                    )
                elif position in ("4", "6") and title:  # the Body Part Key and the Device Key
                    for included in includes:
                        for part in re.split(r"\s*[;\n]\s*", included):
                            if part:
                                entries.append((part, f"use {title}"))
    return Keys(operations, entries)


def read_index(text: bytes, name: str) -> list[tuple[str, str]]:
    root = _root(text, name, "ICD10PCS.index")
    entries = []
    for term in root.iter("mainTerm"):
        title = _text(term.find("title"))
        if not title:
            continue
        lines = [f"use {_text(u)}" for u in term.findall("use") if _text(u)]
        for see in term.findall("see"):
            codes = [_text(c) for c in see.iter() if c.tag in _CODE_ELEMENTS and _CODE.fullmatch(_text(c))]
            words = " ".join((see.text or "").split())
            lines.append(f"see {words}" + "".join(f" **{c}**" for c in codes))
        lines += [f"**{_text(c)}**" for c in term if c.tag in _CODE_ELEMENTS and _CODE.fullmatch(_text(c))]
        if lines:
            entries.append((title, "\n".join(lines)))
    return entries


def _root(text: bytes, name: str, tag: str) -> ElementTree.Element:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise DataError(f"{name} is not well-formed XML: {exc}") from exc
    if root.tag != tag:
        raise DataError(f"{name} is not an ICD-10-PCS {tag.split('.')[1]} file (root <{root.tag}>)")
    return root


def _text(element: ElementTree.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""
