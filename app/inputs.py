"""The inputs of `coda code`: every path a user names, each judged on its own.

A file is one note. A folder stands for the `*.txt` entries directly inside it, by name, hidden
ones (`.x.txt`, an editor's lock or a copy's resource fork) left out. Whatever cannot be a note
(a missing path, a symlink loop, a dangling symlink, a folder named like a note, a FIFO, a folder
that cannot be listed or holds no notes) becomes an input refused with its reason, so that one
bad path is reported and the rest of the batch is still coded.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NOTE_SUFFIX = ".txt"


@dataclass(frozen=True)
class NoteInput:
    path: Path
    problem: str | None = None  # why it is refused, e.g. "is a symlink loop"; None: a file to read

    @property
    def message(self) -> str:
        return f"{self.path} {self.problem}"


def note_inputs(paths: Sequence[Path]) -> list[NoteInput]:
    """One input per file given, per note in a folder given, and per path refused, in the order
    given. A file reached twice (given, and again inside a folder given) is one input."""
    inputs: list[NoteInput] = []
    seen: set[tuple[int, int]] = set()

    def add(path: Path, st: os.stat_result | None, problem: str | None, in_folder: bool) -> None:
        if problem is None and st is not None:
            if stat.S_ISDIR(st.st_mode) and in_folder:
                problem = "is a folder, not a note file"
            elif not stat.S_ISREG(st.st_mode):
                problem = "is not a regular file (a FIFO, socket or device)"
            elif (st.st_dev, st.st_ino) in seen:
                return
            else:
                seen.add((st.st_dev, st.st_ino))
        inputs.append(NoteInput(path, problem))

    for given in map(Path, paths):
        st, problem = _stat(given)
        if st is None or not stat.S_ISDIR(st.st_mode):
            add(given, st, problem, in_folder=False)
            continue
        try:
            names = sorted(n for n in os.listdir(given) if n.endswith(NOTE_SUFFIX) and not n.startswith("."))
        except OSError as exc:
            inputs.append(NoteInput(given, f"is a folder that cannot be listed ({exc.strerror or exc})"))
            continue
        if not names:
            inputs.append(NoteInput(given, f"is a folder with no {NOTE_SUFFIX} notes in it"))
        for name in names:
            add(given / name, *_stat(given / name), in_folder=True)
    return inputs


def _stat(path: Path) -> tuple[os.stat_result | None, str | None]:
    """What the path leads to, following symlinks, or why it leads nowhere."""
    try:
        return os.stat(path), None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "is a symlink loop"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            try:
                target = os.readlink(path)
            except OSError:
                return None, "is a dangling symlink"
            return None, f"is a dangling symlink (its target {target} does not exist)"
        if exc.errno == errno.ENOENT:
            return None, "does not exist"
        return None, f"cannot be read ({exc.strerror or exc})"
    except ValueError as exc:  # a NUL byte in the path
        return None, f"is not a valid path ({exc})"
