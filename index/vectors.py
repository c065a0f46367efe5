"""The persistent Chroma collection of code embeddings: the dense half of hybrid search.

Embeddings are always computed by our own `Embedder` and handed to Chroma, and the
collection carries a local embedding function, so Chroma never reaches for its default
model (which would try to download one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from index.embeddings import Embedder
from index.errors import IndexNotBuilt
from index.model import Code, CodeSystemData, NoteKind
from index.store import searchable

COLLECTION = "codes"
BATCH = 4096  # texts per encode call: the model sorts each call by length, so less padding


class LocalEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma's embedding-function protocol over our packaged model."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return "coda-local-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model": Embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> LocalEmbeddingFunction:
        raise NotImplementedError("open the collection through index.vectors.VectorIndex")


def _client(path: Path) -> Any:
    return chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))


def dense_text(code: Code) -> str:
    """What a code's vector stands for: its title and its first inclusion terms."""
    return "; ".join([code.title, *code.notes_of(NoteKind.INCLUSION_TERM)[:4]])


def write_vectors(path: Path, data: CodeSystemData, embedder: Embedder, progress: Any = None) -> int:
    """Embed every searchable code of `data` into a new collection at `path`."""
    client = _client(path)
    collection = client.create_collection(
        COLLECTION,
        embedding_function=LocalEmbeddingFunction(embedder),
        configuration={"hnsw": {"space": "cosine"}},
        metadata={"system": data.info.system, "release": data.info.release, "model": embedder.name},
    )
    codes = [c for c in data.codes.values() if searchable(c)]
    for start in range(0, len(codes), BATCH):
        batch = codes[start : start + BATCH]
        texts = [dense_text(c) for c in batch]
        collection.add(
            ids=[c.code for c in batch],
            embeddings=embedder.encode(texts),
            documents=texts,
            metadatas=[{"billable": c.billable, "chapter": c.chapter, "block": c.block} for c in batch],
        )
        if progress is not None:
            progress(min(start + BATCH, len(codes)), len(codes))
    # Chroma keeps one system per path in the process; the folder is about to be renamed.
    chromadb.api.client.SharedSystemClient.clear_system_cache()
    return len(codes)


@dataclass(frozen=True)
class DenseHit:
    code: str
    similarity: float
    text: str


class VectorIndex:
    def __init__(self, path: Path, embedder: Embedder) -> None:
        if not path.is_dir():
            raise IndexNotBuilt(f"no vector index at {path}")
        self.embedder = embedder
        self._client = _client(path)
        try:
            self._collection = self._client.get_collection(
                COLLECTION, embedding_function=LocalEmbeddingFunction(embedder)
            )
        except Exception as exc:  # chroma raises its own NotFound types across versions
            raise IndexNotBuilt(f"the vector index at {path} has no '{COLLECTION}' collection") from exc

    def vectors_of(self, codes: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vector of each code that has one (a code outside the index has none)."""
        if not codes:
            return {}
        got = self._collection.get(ids=list(codes), include=["embeddings"])
        return {code: np.asarray(v, dtype=np.float32) for code, v in zip(got["ids"], got["embeddings"], strict=True)}

    def query(self, text: str, limit: int = 20, where: dict[str, Any] | None = None) -> list[DenseHit]:
        return self.query_vectors(self.embedder.encode([text]), limit, where)[0]

    def query_vectors(self, vectors: Any, limit: int = 20, where: dict[str, Any] | None = None) -> list[list[DenseHit]]:
        result = self._collection.query(
            query_embeddings=vectors, n_results=limit, where=where, include=["documents", "distances"]
        )
        return [
            [DenseHit(code, 1.0 - float(dist), doc) for code, dist, doc in zip(ids, dists, docs, strict=True)]
            for ids, dists, docs in zip(result["ids"], result["distances"], result["documents"], strict=True)
        ]
