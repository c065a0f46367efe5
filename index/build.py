"""Build a versioned store (SQLite + Chroma) for one code-system release, and find it again.

Layout: `<data_dir>/<system>/<release>/` holds `codes.sqlite`, `chroma/` and
`manifest.json`. A build writes into a temporary folder beside it and renames it into
place only when complete, so an interrupted or failed build never leaves a half store.
With a Chroma server, the vectors go to its collection `coda-<system>-<release>` instead of
`chroma/`, and the manifest names that collection (`vectors_collection`).

A build in progress holds an exclusive lock on a file beside its temporary folder
(`.<release>.building-<id>` and `.lock`). The kernel drops the lock when the process ends,
however it ends, so the next build can tell a killed build's leftovers (lock free) from a build
running now in another process (lock held) and remove only the former, without guessing from
process ids (which are reused) or ages (a full build takes minutes, a slow one much longer).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.chroma import ChromaServer, Remote, Where, collection_name
from index.embeddings import Embedder
from index.errors import IndexNotBuilt, IndexUnavailable
from index.loaders.base import Loader, quiet
from index.store import write_store
from index.vectors import VectorIndex, write_code_vectors, write_vectors

MANIFEST = "manifest.json"
STORE_FILE = "codes.sqlite"
VECTOR_DIR = "chroma"
BUILDING = ".building-"  # in the name of a build's temporary folder: .<release>.building-<id>
LOCK = ".lock"  # the suffix of the file a running build holds locked, beside its folder
COLLECTION_KEY = "vectors_collection"  # in the manifest: the release's collection on a Chroma server

try:
    import fcntl
except ImportError:  # not POSIX: builds still run, leftovers are never judged stale
    fcntl = None  # type: ignore[assignment]

Say = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    path: Path
    built: bool  # False when the release was already there and was kept
    manifest: dict[str, object]


def release_dir(data_dir: Path, system: str, release: str) -> Path:
    return data_dir / system / release


def is_built(path: Path) -> bool:
    if not ((path / MANIFEST).is_file() and (path / STORE_FILE).is_file()):
        return False
    return (path / VECTOR_DIR).is_dir() or bool(read_manifest(path).get(COLLECTION_KEY))


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def vectors_at(path: Path, server: ChromaServer | None) -> Where:
    """Where the vectors of the release built at `path` are read: the server's collection when a
    server is set and the release was written or copied there, else the release's own folder."""
    named = read_manifest(path).get(COLLECTION_KEY)
    if server is not None and named:
        return Remote(server, str(named))
    if (path / VECTOR_DIR).is_dir():
        return path / VECTOR_DIR
    if named:
        raise IndexUnavailable(
            f"the vectors of {path} are in collection {named} on a Chroma server: set CODA_CHROMA_URL to it"
        )
    raise IndexNotBuilt(f"no vector index at {path / VECTOR_DIR}")


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
    server: ChromaServer | None = None,
) -> BuildResult:
    """Load a code system and write its store; keep an existing build unless `force`. With
    `server`, the vectors are written to its collection for the release (an existing build's
    are copied there, not embedded again)."""
    started = time.perf_counter()
    data = loader.load(say)
    final = release_dir(data_dir, data.info.system, data.info.release)
    clear_stale_builds(final.parent, say)
    if is_built(final) and not force:
        say(f"{data.info.system} {data.info.release} is already built at {final}; kept (use --force to rebuild)")
        manifest = push_vectors(final, server, say) if server is not None else read_manifest(final)
        return BuildResult(final, False, manifest)
    with build_folder(final.parent, final.name) as tmp:
        say(f"writing records and full-text index for {len(data.codes):,} codes")
        counts = write_store(tmp / STORE_FILE, data)
        say("loading the embedding model")
        embedder = embedder_factory()

        def embedded(done: int, total: int) -> None:
            say(f"embedded {done:,}/{total:,} codes")

        remote = Remote(server, collection_name(data.info.system, data.info.release)) if server else None
        vectors = write_vectors(remote or tmp / VECTOR_DIR, data, embedder, embedded)
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
        if remote is not None:
            manifest[COLLECTION_KEY] = remote.name
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        swap_in(tmp, final)
    say(f"built {data.info.system} {data.info.release} at {final}")
    return BuildResult(final, True, manifest)


def push_vectors(path: Path, server: ChromaServer, say: Say = quiet) -> dict[str, Any]:
    """Copy the vectors of the release built at `path` from its folder to `server` (unless the
    server holds them already), and name the collection in the manifest. Returns the manifest."""
    manifest = read_manifest(path)
    name = collection_name(str(manifest.get("system", "")), str(manifest.get("release", "")))
    if manifest.get(COLLECTION_KEY) == name and name in server.names():
        say(f"its vectors are already on {server.url} as {name}")
        return manifest
    if not (path / VECTOR_DIR).is_dir():
        raise IndexNotBuilt(f"{path} has no vectors to copy to {server.url}: build it again with --force")
    codes = VectorIndex(path / VECTOR_DIR, None).export()
    meta = {k: manifest[k] for k in ("system", "release", "model") if k in manifest}
    write_code_vectors(Remote(server, name), codes, meta)
    say(f"copied {len(codes.ids):,} vectors to {server.url} as {name}")
    manifest[COLLECTION_KEY] = name
    fresh = path / f".{MANIFEST}.{secrets.token_hex(4)}"
    fresh.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    fresh.replace(path / MANIFEST)
    return manifest


def swap_in(tmp: Path, final: Path) -> None:
    """Put a finished folder in place of `final`, replacing whatever was there."""
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        final.rename(old / final.name)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)


@contextmanager
def build_folder(parent: Path, name: str) -> Iterator[Path]:
    """A new, empty folder beside `parent / name` to build it in, marked as in progress by a lock
    held until the block ends; whatever is left of the folder then is removed (after a failure,
    the half-built contents; after `swap_in`, nothing)."""
    folder, fd = _locked_folder(parent, name)
    try:
        folder.mkdir()
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        folder.with_name(folder.name + LOCK).unlink(missing_ok=True)
        os.close(fd)


def _locked_folder(parent: Path, name: str) -> tuple[Path, int]:
    """A fresh build folder's name, and its lock file, created and held (the lock comes first, so
    no one ever sees the folder of a running build without its lock held)."""
    parent.mkdir(parents=True, exist_ok=True)
    while True:
        folder = parent / f".{name}{BUILDING}{secrets.token_hex(4)}"
        lock = folder.with_name(folder.name + LOCK)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except (BlockingIOError, FileNotFoundError):
            held = False  # a cleaner took it for an orphan before we locked it: start again
        if held:
            os.write(fd, f"{os.getpid()}\n".encode())
            return folder, fd
        os.close(fd)


def clear_stale_builds(parent: Path, say: Say = quiet) -> list[Path]:
    """Remove the leftovers of builds in `parent` that were interrupted (killed, or stopped by a
    crash): their folders whose lock no process holds. Builds running now are left alone."""
    removed = []
    for folder in sorted(parent.glob(f".*{BUILDING}*")) if parent.is_dir() else []:
        if folder.name.endswith(LOCK) or folder.is_symlink() or not folder.is_dir():
            continue
        lock = folder.with_name(folder.name + LOCK)
        with _claimed(lock) as owner:
            if owner is None:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
                say(f"removed {folder}, left by an interrupted build{owner}")
    for lock in sorted(parent.glob(f".*{BUILDING}*{LOCK}")) if parent.is_dir() else []:
        if not lock.with_name(lock.name.removesuffix(LOCK)).exists():
            with _claimed(lock):  # a lock whose build is gone: removed once no one holds it
                pass
    return removed


@contextmanager
def _claimed(lock: Path) -> Iterator[str | None]:
    """Holds `lock` for the block when no running build holds it, yielding a note on whose it
    was ("" when unknown), and removes it; yields None when a build holds it now."""
    if fcntl is None:
        yield None
        return
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        yield ""  # no lock: a build from before locks, or its lock already removed
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        pid = os.read(fd, 32).decode("ascii", "replace").strip()
        yield f" (process {pid}, no longer running)" if pid.isdigit() else ""
        lock.unlink(missing_ok=True)
    finally:
        os.close(fd)
