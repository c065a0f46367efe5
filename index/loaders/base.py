"""The one interface every code-system loader follows.

A loader turns a source (a package, a CMS release folder or zip, a CSV file) into a
`CodeSystemData`; `index.loaders.choose.loader_for` picks one from what the user asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from index.model import CodeSystemData

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    return None


class Loader(Protocol):
    def load(self, progress: Progress = quiet) -> CodeSystemData: ...
