"""Where a Chroma collection lives: a folder beside the process (embedded Chroma), or a named
collection on a Chroma server (`chroma run`) that several app, batch and API processes share.

A collection is written under a temporary name and renamed into place only when complete, on a
server as in a folder, so a reader never finds a half-written one. The SQLite code book is not
here: it stays a read-only file that each process opens itself.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb

from index.errors import IndexNotBuilt, IndexUnavailable

COLLECTION = "codes"  # the one collection of an embedded (folder) Chroma
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
BUILDING = ".building-"  # in the name of a server collection being written


@dataclass(frozen=True)
class ChromaServer:
    """A Chroma server at `url` (http or https, with its port), with an optional bearer token."""

    url: str
    token: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise IndexUnavailable(f"{self.url!r} is not a Chroma server address: write http(s)://host:port")
        if parts.path.strip("/") or parts.query:
            raise IndexUnavailable(f"{self.url!r}: give the server's address only, without a path")

    def client(self) -> Any:
        parts = urlsplit(self.url)
        ssl = parts.scheme == "https"
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        try:
            return chromadb.HttpClient(
                host=parts.hostname or "",
                port=parts.port or (443 if ssl else 80),
                ssl=ssl,
                headers=headers,
                settings=chromadb.Settings(anonymized_telemetry=False),
            )
        except Exception as exc:  # chroma raises ValueError or its own types when nothing answers
            raise IndexUnavailable(f"the Chroma server at {self.url} does not answer ({exc})") from None

    def names(self, client: Any = None) -> list[str]:
        """The names of the collections the server holds (asked through `client` when given)."""
        listed = (client or self.client()).list_collections()
        return [c if isinstance(c, str) else c.name for c in listed]


@dataclass(frozen=True)
class Remote:
    """One named collection on a Chroma server."""

    server: ChromaServer
    name: str

    def __str__(self) -> str:
        return f"collection {self.name} on {self.server.url}"


Where = Path | Remote


def collection_name(*parts: str) -> str:
    """A collection's name from its parts (system, release, profile ...), in Chroma's alphabet."""
    name = "coda-" + "-".join(_UNSAFE.sub("_", p).strip("._-") for p in parts if p)
    return name[:200]


def open_collection(where: Where, function: Any) -> Any:
    """The collection at `where`, read with `function` (None: vectors only)."""
    if isinstance(where, Path):
        if not where.is_dir():
            raise IndexNotBuilt(f"no vector index at {where}")
        client, name = embedded_client(where), COLLECTION
    else:
        client, name = where.server.client(), where.name
    try:
        return client.get_collection(name, embedding_function=function)
    except Exception as exc:  # chroma raises its own NotFound types across versions
        if isinstance(where, Path):
            raise IndexNotBuilt(f"the vector index at {where} has no '{COLLECTION}' collection") from exc
        raise IndexNotBuilt(
            f"the Chroma server at {where.server.url} has no {where.name}: build it there with "
            "CODA_CHROMA_URL set (coda index build; coda learn for a profile)"
        ) from exc


def _new_collection(where: Where, function: Any, metadata: dict[str, Any]) -> Any:
    """An empty collection to fill for `where`: in the folder itself, or on the server under a
    temporary name that `_publish` gives it once it is complete."""
    if isinstance(where, Path):
        client, name = embedded_client(where), COLLECTION
    else:
        client, name = where.server.client(), f"{where.name}{BUILDING}{secrets.token_hex(4)}"
    return client.create_collection(
        name, embedding_function=function, configuration={"hnsw": {"space": "cosine"}}, metadata=metadata
    )


def _publish(where: Where, collection: Any) -> None:
    """Put a filled collection in place: on a server, rename it over the old one of that name."""
    if isinstance(where, Path):
        # Chroma keeps one system per path in the process; the folder is about to be renamed.
        chromadb.api.client.SharedSystemClient.clear_system_cache()
        return
    client = where.server.client()
    if where.name in where.server.names(client):
        client.delete_collection(where.name)
    collection.modify(name=where.name)


@contextmanager
def writing(where: Where, function: Any, metadata: dict[str, Any]) -> Iterator[Any]:
    """A new collection for `where` to fill in the block, published when the block ends; on a
    server, one whose filling failed is removed (a folder's goes with its build folder)."""
    collection = _new_collection(where, function, metadata)
    try:
        yield collection
    except BaseException:
        if isinstance(where, Remote):
            with suppress(Exception):  # the write's own error is the one to report
                where.server.client().delete_collection(collection.name)
        raise
    _publish(where, collection)


def embedded_client(path: Path) -> Any:
    return chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
