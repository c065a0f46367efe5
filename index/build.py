"""Build a versioned store (SQLite + Chroma) for one code-system release, and find it again.

Layout: `<data_dir>/<system>/<release>/` holds `codes.sqlite`, `chroma/` and
`manifest.json`. A build writes into a temporary folder beside it and renames it into
place only when complete, so an interrupted or failed build never leaves a half store.

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

from index.embeddings import Embedder
from index.errors import IndexNotBuilt
from index.loaders.base import Loader, quiet
from index.store import write_store
from index.vectors import write_vectors

MANIFEST = "manifest.json"
STORE_FILE = "codes.sqlite"
VECTOR_DIR = "chroma"
BUILDING = ".building-"  # in the name of a build's temporary folder: .<release>.building-<id>
LOCK = ".lock"  # the suffix of the file a running build holds locked, beside its folder

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
    clear_stale_builds(final.parent, say)
    if is_built(final) and not force:
        say(f"{data.info.system} {data.info.release} is already built at {final}; kept (use --force to rebuild)")
        return BuildResult(final, False, json.loads((final / MANIFEST).read_text()))
    with build_folder(final.parent, final.name) as tmp:
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
