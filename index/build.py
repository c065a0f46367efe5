"""Build a versioned store (SQLite + Chroma) for one code-system release, and find it again.

Layout: `<data_dir>/<system>/<release>/` holds `codes.sqlite`, `chroma/` and
`manifest.json`. A build writes into a temporary folder beside it and renames it into
place only when complete, so an interrupted or failed build never leaves a half store.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.embeddings import Embedder
from index.errors import IndexNotBuilt
from index.loaders.base import Loader, quiet
from index.store import write_store
from index.vectors import write_vectors

MANIFEST = "manifest.json"
STORE_FILE = "codes.sqlite"
VECTOR_DIR = "chroma"

Say = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    path: Path
    built: bool  # False when the release was already there and was kept
    manifest: dict[str, object]


def release_dir(data_dir: Path, system: str, release: str) -> Path:
    return data_dir / system / release


def is_built(path: Path) -> bool:
    return (path / MANIFEST).is_file() and (path / STORE_FILE).is_file() and (path / VECTOR_DIR).is_dir()


def find_release(data_dir: Path, system: str, release: str | None = None) -> Path:
    """The folder of a built release: the one named, or the newest built one."""
    if release is not None:
        path = release_dir(data_dir, system, release)
        if not is_built(path):
            raise IndexNotBuilt(
                f"no index for {system} {release} in {data_dir}; run: coda index build --system {system}"
            )
        return path
    root = data_dir / system
    built = sorted(p for p in root.iterdir() if not p.name.startswith(".") and is_built(p)) if root.is_dir() else []
    if not built:
        raise IndexNotBuilt(f"no index for {system} in {data_dir}; run: coda index build --system {system}")
    return built[-1]


def build_index(
    loader: Loader,
    data_dir: Path,
    embedder_factory: Callable[[], Embedder],
    force: bool = False,
    say: Say = quiet,
) -> BuildResult:
    """Load a code system and write its store; keep an existing build unless `force`."""
    started = time.perf_counter()
    data = loader.load(say)
    final = release_dir(data_dir, data.info.system, data.info.release)
    if is_built(final) and not force:
        say(f"{data.info.system} {data.info.release} is already built at {final}; kept (use --force to rebuild)")
        return BuildResult(final, False, json.loads((final / MANIFEST).read_text()))
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=final.parent))
    try:
        say(f"writing records and full-text index for {len(data.codes):,} codes")
        counts = write_store(tmp / STORE_FILE, data)
        say("loading the embedding model")
        embedder = embedder_factory()

        def embedded(done: int, total: int) -> None:
            say(f"embedded {done:,}/{total:,} codes")

        vectors = write_vectors(tmp / VECTOR_DIR, data, embedder, embedded)
        manifest: dict[str, object] = {
            "system": data.info.system,
            "release": data.info.release,
            "title": data.info.title,
            "source": data.info.source,
            "model": embedder.name,
            "counts": {**counts, "vectors": vectors},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - started, 1),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"built {data.info.system} {data.info.release} at {final}")
    return BuildResult(final, True, manifest)


def swap_in(tmp: Path, final: Path) -> None:
    """Put a finished folder in place of `final`, replacing whatever was there."""
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        final.rename(old / final.name)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)
