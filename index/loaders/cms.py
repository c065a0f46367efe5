"""Loader for an official CMS ICD-10-CM release, from a folder or from the release zip.

Files are found by their CMS names (tabular, index, eindex, neoplasm, drug), so next
year's release loads without code changes. Only the Tabular List is required; the index
and the tables add Alphabetic Index entries when present.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from index.errors import SourceError
from index.loaders.base import Progress, quiet
from index.loaders.cms_index import parse_index, parse_table
from index.loaders.cms_tabular import parse_tabular, tabular_version
from index.model import CodeSystemData, IndexEntry, SystemInfo

# Role of each file in a release, told by its name, tried in this order.
_ROLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("tabular", re.compile(r"tabular.*\.xml$", re.I)),
    ("eindex", re.compile(r"eindex.*\.xml$", re.I)),
    ("neoplasm", re.compile(r"neoplasm.*\.xml$", re.I)),
    ("drug", re.compile(r"drug.*\.xml$", re.I)),
    ("index", re.compile(r"index.*\.xml$", re.I)),
)


def release_files(names: list[str]) -> dict[str, str]:
    """Map each role to the file that plays it, from a list of file names (paths allowed)."""
    found: dict[str, str] = {}
    for name in sorted(names):
        base = name.rsplit("/", 1)[-1]
        if base.startswith((".", "__MACOSX")) or "/__MACOSX/" in name:
            continue
        for role, pattern in _ROLES:
            if pattern.search(base):
                found.setdefault(role, name)
                break
    return found


class CmsReleaseLoader:
    def __init__(self, source: Path, release: str | None = None) -> None:
        self.source = source
        self.release = release

    def load(self, progress: Progress = quiet) -> CodeSystemData:
        read, names = self._reader()
        files = release_files(names)
        if "tabular" not in files:
            raise SourceError(
                f"{self.source}: no Tabular List XML (a file named like icd10cm-tabular-*.xml) in this release"
            )
        progress(f"reading {files['tabular']}")
        tabular = read(files["tabular"])
        codes = parse_tabular(tabular, files["tabular"])
        entries: list[IndexEntry] = []
        for role in ("index", "eindex", "neoplasm", "drug"):
            if role in files:
                progress(f"reading {files[role]}")
                parse = parse_table if role in ("neoplasm", "drug") else parse_index
                entries.extend(parse(read(files[role]), role))
        release = self.release or tabular_version(tabular, files["tabular"])
        info = SystemInfo("icd10cm", release, "ICD-10-CM", f"cms:{self.source.name}")
        return CodeSystemData(info, codes, entries)

    def _reader(self) -> tuple[Callable[[str], bytes], list[str]]:
        src = self.source
        if src.is_dir():
            names = [str(p.relative_to(src)) for p in src.rglob("*.xml")]
            return (lambda name: (src / name).read_bytes()), names
        if src.is_file() and zipfile.is_zipfile(src):
            archive = zipfile.ZipFile(src)
            return archive.read, [n for n in archive.namelist() if not n.endswith("/")]
        if src.is_file() and src.suffix.lower() == ".xml":
            return (lambda name: src.read_bytes()), [src.name]
        if not src.exists():
            raise SourceError(f"{src}: no such file or folder")
        raise SourceError(f"{src}: not a CMS release folder, zip or XML file")
