"""Records of the ICD-10-PCS code book: a code as its seven axes, each with its value and meaning;
the root operations with their definitions; the index's "use" entries and the guidelines.

A PCS code is not looked up like a diagnosis: it is built character by character, and only the
combinations a table row allows exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The axes of the Medical and Surgical section (0) and of Obstetrics (1): what each of the seven
# characters says there.
AXES = ("section", "body system", "root operation", "body part", "approach", "device", "qualifier")
PCS_CHARACTER = "0-9A-HJ-NP-Z"  # the 34 values of an axis: digits and letters but I and O
_PCS_CODE = re.compile(rf"[{PCS_CHARACTER}]{{1,7}}")


def pcs_key(text: str) -> str:
    """A PCS code (or its first characters) as written in the tables: upper case, no spaces or dots."""
    return re.sub(r"[\s.]", "", text).upper()


def looks_like_pcs(text: str) -> bool:
    """Whether `text` is shaped like a PCS code or its first characters: a digit first (the
    surgical and obstetric sections; ICD-10-CM codes begin with a letter), or seven characters
    without a dot in an ancillary section whose letters no seven-character ICD-10-CM code begins
    with (B imaging, C nuclear medicine, D radiation therapy, F rehabilitation, G mental health)."""
    key = pcs_key(text)
    if not _PCS_CODE.fullmatch(key):
        return False
    return key[0].isdigit() or (len(key) == 7 and key[0] in "BCDFG" and "." not in text)


@dataclass(frozen=True)
class Axis:
    position: int  # 1..7
    name: str  # "body part"
    value: str  # "R"
    meaning: str  # "Hip Joint, Femoral Surface, Right"


@dataclass(frozen=True)
class PcsCode:
    code: str  # seven characters, e.g. "0SRR0JZ"
    title: str
    axes: tuple[Axis, ...]


@dataclass(frozen=True)
class PcsRow:
    """One code a table row allows, with the meaning of each of its seven characters."""

    code: str
    meanings: tuple[str, ...]


@dataclass(frozen=True)
class RootOperation:
    section: str
    value: str
    name: str
    definition: str
    explanation: str
    examples: str


@dataclass(frozen=True)
class UseEntry:
    """An index entry that says which table value a term stands for ("Acetabulum: use Hip Joint,
    Acetabular Surface"): the Body Part and Device Keys' everyday names."""

    term: str
    use: str


@dataclass(frozen=True)
class Guideline:
    id: str  # "B3.2"
    section: str
    text: str
