"""The persistent Chroma collection of code embeddings: the dense half of hybrid search.

Embeddings are always computed by our own `Embedder` and handed to Chroma, and the
collection carries a local embedding function, so Chroma never reaches for its default
model (which would try to download one). A collection lives in a folder or on a Chroma
server (`index.chroma`); everything here reads and writes both alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from index.chroma import Where, open_collection, writing
from index.embeddings import Embedder
from index.errors import IndexNotBuilt
from index.model import Code, CodeSystemData, NoteKind
from index.store import searchable

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


def dense_text(code: Code) -> str:
    """What a code's vector stands for: its title and its first inclusion terms."""
    return "; ".join([code.title, *code.notes_of(NoteKind.INCLUSION_TERM)[:4]])


def write_vectors(where: Where, data: CodeSystemData, embedder: Embedder, progress: Any = None) -> int:
    """Embed every searchable code of `data` into a new collection at `where`."""
    codes = [c for c in data.codes.values() if searchable(c)]
    meta = {"system": data.info.system, "release": data.info.release, "model": embedder.name}
    with writing(where, LocalEmbeddingFunction(embedder), meta) as collection:
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
    return len(codes)


@dataclass(frozen=True)
class DenseHit:
    code: str
    similarity: float
    text: str


@dataclass(frozen=True)
class CodeVectors:
    """Every code of a collection with its vector (normalised), text and metadata, in memory."""

    ids: list[str]
    vectors: np.ndarray  # (codes, dimensions)
    texts: list[str]
    metadatas: list[dict[str, Any]]


def write_code_vectors(where: Where, codes: CodeVectors, metadata: dict[str, Any]) -> int:
    """A new collection at `where` holding `codes` as they are: vectors computed elsewhere (a
    learned profile's, or a folder's copied to a server), searched with vectors only."""
    with writing(where, None, metadata) as collection:
        for start in range(0, len(codes.ids), BATCH):
            end = start + BATCH
            collection.add(
                ids=codes.ids[start:end],
                embeddings=codes.vectors[start:end],
                documents=codes.texts[start:end],
                metadatas=[m or None for m in codes.metadatas[start:end]],  # chroma refuses an empty one
            )
    return len(codes.ids)


class MatrixIndex:
    """Exact nearest codes over vectors held in memory: the search of a retriever while it is
    being learned (fold by fold), with the answers of `VectorIndex`."""

    def __init__(self, codes: CodeVectors) -> None:
        self.codes = codes
        self._row = {code: i for i, code in enumerate(codes.ids)}

    def vectors_of(self, codes: Sequence[str]) -> dict[str, np.ndarray]:
        return {c: self.codes.vectors[self._row[c]] for c in codes if c in self._row}

    def query_vectors(self, vectors: Any, limit: int = 20) -> list[list[DenseHit]]:
        asked = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(asked, axis=1, keepdims=True)
        sims = (asked / np.where(norms == 0, 1.0, norms)) @ self.codes.vectors.T  # cosine, as the collection
        limit = min(limit, sims.shape[1])
        if not limit:
            return [[] for _ in range(len(sims))]
        top = np.argpartition(-sims, limit - 1, axis=1)[:, :limit]
        out = []
        for row, picks in zip(sims, top, strict=True):
            ordered = picks[np.argsort(-row[picks], kind="stable")]
            out.append([DenseHit(self.codes.ids[j], float(row[j]), self.codes.texts[j]) for j in ordered])
        return out


class VectorIndex:
    """A persisted collection, in a folder or on a server. Without an embedder it is searched with
    vectors only (a learned profile's collection, whose vectors come from its own mapping of the
    encoder's)."""

    def __init__(self, where: Where, embedder: Embedder | None) -> None:
        self.where = where
        self.embedder = embedder
        function = LocalEmbeddingFunction(embedder) if embedder is not None else None
        self._collection = open_collection(where, function)

    def metadata(self) -> dict[str, Any]:
        return dict(self._collection.metadata or {})

    def export(self) -> CodeVectors:
        """Every code of the collection, with its vector, text and metadata."""
        ids: list[str] = []
        vectors: list[Any] = []
        texts: list[str] = []
        metadatas: list[dict[str, Any]] = []
        total = self._collection.count()
        for offset in range(0, total, BATCH):  # in pages: one read of all trips SQLite's variable limit
            got = self._collection.get(include=["embeddings", "documents", "metadatas"], limit=BATCH, offset=offset)
            ids.extend(got["ids"])
            vectors.extend(got["embeddings"])
            texts.extend(got["documents"])
            metadatas.extend(dict(m or {}) for m in got["metadatas"])
        return CodeVectors(ids, np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1), texts, metadatas)

    def vectors_of(self, codes: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vector of each code that has one (a code outside the index has none)."""
        if not codes:
            return {}
        got = self._collection.get(ids=list(codes), include=["embeddings"])
        return {code: np.asarray(v, dtype=np.float32) for code, v in zip(got["ids"], got["embeddings"], strict=True)}

    def encode(self, text: str) -> Any:
        """`text` as a query vector (a batch of one) of this collection's embedding model."""
        if self.embedder is None:
            raise IndexNotBuilt("this collection is searched with vectors only: it has no embedding model")
        return self.embedder.encode([text])

    def query(self, text: str, limit: int = 20, where: dict[str, Any] | None = None) -> list[DenseHit]:
        return self.query_vectors(self.encode(text), limit, where)[0]

    def query_vectors(self, vectors: Any, limit: int = 20, where: dict[str, Any] | None = None) -> list[list[DenseHit]]:
        result = self._collection.query(
            query_embeddings=vectors, n_results=limit, where=where, include=["documents", "distances"]
        )
        return [
            [DenseHit(code, 1.0 - float(dist), doc) for code, dist, doc in zip(ids, dists, docs, strict=True)]
            for ids, dists, docs in zip(result["ids"], result["distances"], result["documents"], strict=True)
        ]
