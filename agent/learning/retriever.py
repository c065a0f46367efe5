"""A retriever tuned to a site's coding: the packaged encoder, with two learned linear maps on
top, one for the note's statements and one for the codes, trained so that the statement a gold
code rests on lands nearest that code among all the codes of the release.

The encoder's own weights stay frozen: tuning all of them took about 45 minutes per pass over
CodiEsp train on this project's 2-core machine, where the maps learn in well under a minute from
the embeddings `coda learn` computes anyway. The maps are kept in the profile as safetensors and
the codes' mapped vectors as a Chroma collection of the profile (in its folder, or on the Chroma
server named by the settings, with the folder naming the collection); neither runs code when loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.chroma import BUILDING, ChromaServer, Remote, collection_name
from index.errors import IndexUnavailable
from index.vectors import CodeVectors, DenseHit, MatrixIndex, VectorIndex, write_code_vectors

MAPS_FILE = "retriever.safetensors"
CODES_DIR = "codes"  # the profile's Chroma collection of mapped code vectors
CODES_REMOTE = "codes.collection.json"  # instead: the name of that collection on a Chroma server
MIN_WORDS = 2  # a statement shorter than this is no evidence for a code


class CodeSearch(Protocol):
    def vectors_of(self, codes: Sequence[str]) -> dict[str, np.ndarray]: ...
    def query_vectors(self, vectors: Any, limit: int = 20) -> list[list[DenseHit]]: ...


@dataclass(frozen=True)
class RetrieverSettings:
    """Chosen by grouped 5-fold cross-validation on CodiEsp train (dense recall of held-out notes)."""

    epochs: int = 10
    learning_rate: float = 2e-3
    temperature: float = 0.05
    regularisation: float = 1e-3  # pull of each map towards the identity (the encoder as it is)
    negatives: int = 8000  # codes sampled per step beside the corpus's own, as the softmax's others
    batch: int = 256
    seed: int = 0


@dataclass
class Retriever:
    statement_map: np.ndarray  # (dimensions, dimensions)
    code_map: np.ndarray  # (dimensions, dimensions)
    search: CodeSearch  # the codes' mapped vectors

    @cached_property
    def key(self) -> str:
        """Which maps these are: answers cached for one retriever are not another's."""
        digest = hashlib.sha1(self.statement_map.tobytes() + self.code_map.tobytes(), usedforsecurity=False)
        return digest.hexdigest()[:16]

    def statements(self, embeddings: np.ndarray) -> np.ndarray:
        """The encoder's statement embeddings, mapped and normalised."""
        return _normalised(np.asarray(embeddings, dtype=np.float32) @ self.statement_map)

    # -- storage -----------------------------------------------------------------------

    def save(self, folder: Path, metadata: dict[str, Any], chroma: ChromaServer | None = None, of: str = "") -> None:
        """Write the maps to `folder` and the mapped code vectors beside them, or, with `chroma`, to
        a collection there named for `of` (the release), the profile and these maps; that server's
        earlier collections of the profile are removed (a process still using one must load the
        profile again, as it must to use the new maps)."""
        from safetensors.numpy import save_file

        save_file({"statement_map": self.statement_map, "code_map": self.code_map}, str(folder / MAPS_FILE))
        if not isinstance(self.search, MatrixIndex):
            raise ValueError("only a retriever just learned holds its code vectors to write")
        if chroma is None:
            write_code_vectors(folder / CODES_DIR, self.search.codes, metadata)
            return
        stem = collection_name(of, "profile", str(metadata.get("profile", folder.name)))
        name = f"{stem}-{self.key}"
        write_code_vectors(Remote(chroma, name), self.search.codes, metadata)
        (folder / CODES_REMOTE).write_text(json.dumps({"collection": name}), encoding="utf-8")
        client = chroma.client()
        for old in chroma.names(client):
            if old.startswith(f"{stem}-") and old != name and BUILDING not in old:
                client.delete_collection(old)

    @classmethod
    def load(cls, folder: Path, chroma: ChromaServer | None = None) -> Retriever | None:
        """The retriever saved in a profile's folder, or None when it has none; its code vectors
        on `chroma` when the folder names a collection there."""
        if not (folder / MAPS_FILE).exists():
            return None
        from safetensors.numpy import load_file

        maps = load_file(str(folder / MAPS_FILE))
        missing = [name for name in ("statement_map", "code_map") if name not in maps]
        if missing:
            raise ValueError(f"{MAPS_FILE} lacks {', '.join(missing)}")
        statement_map, code_map = maps["statement_map"], maps["code_map"]
        if statement_map.ndim != 2 or statement_map.shape[0] != statement_map.shape[1]:
            raise ValueError(f"{MAPS_FILE} holds no square statement map")
        if code_map.shape != statement_map.shape:
            raise ValueError(f"{MAPS_FILE} holds maps of different shapes")
        return cls(
            statement_map.astype(np.float32), code_map.astype(np.float32), VectorIndex(_codes_at(folder, chroma), None)
        )


def _codes_at(folder: Path, chroma: ChromaServer | None) -> Path | Remote:
    """Where a saved profile's code vectors are: its folder, or the server collection it names."""
    if (folder / CODES_DIR).is_dir() or not (folder / CODES_REMOTE).is_file():
        return folder / CODES_DIR
    name = json.loads((folder / CODES_REMOTE).read_text(encoding="utf-8"))["collection"]
    if not isinstance(name, str):
        raise ValueError(f"{CODES_REMOTE} names no collection")
    if chroma is None:
        raise IndexUnavailable(
            f"profile {folder.name} keeps its vectors in {name} on a Chroma server: set CODA_CHROMA_URL"
        )
    return Remote(chroma, name)


def training_pairs(
    embeddings: Sequence[np.ndarray | None],
    statements_words: Sequence[Sequence[int]],
    gold: Sequence[frozenset[str]],
    codes: CodeVectors,
) -> tuple[np.ndarray, np.ndarray]:
    """(statement embedding, code row) for each gold code of each note: the statement most like
    the code (by the encoder as it is) is the one the code rests on."""
    row = {c: i for i, c in enumerate(codes.ids)}
    queries: list[np.ndarray] = []
    targets: list[int] = []
    for vectors, words, note_codes in zip(embeddings, statements_words, gold, strict=True):
        usable = [i for i, n in enumerate(words) if n >= MIN_WORDS and vectors is not None and i < len(vectors)]
        if not usable or vectors is None:
            continue
        matrix = vectors[usable]
        for code in sorted(note_codes):
            if code in row:
                best = int(np.argmax(matrix @ codes.vectors[row[code]]))
                queries.append(matrix[best])
                targets.append(row[code])
    dims = codes.vectors.shape[1]
    return np.asarray(queries, dtype=np.float32).reshape(-1, dims), np.asarray(targets, dtype=np.int64)


def learn_retriever(
    queries: np.ndarray, targets: np.ndarray, codes: CodeVectors, settings: RetrieverSettings | None = None
) -> Retriever:
    """Two maps, from the identity, that raise each pair's code above the others (a softmax over
    the corpus's codes and a fresh sample of the rest at every step)."""
    import torch

    s = settings or RetrieverSettings()
    dims = codes.vectors.shape[1]
    if not len(targets):
        eye = np.eye(dims, dtype=np.float32)
        return Retriever(eye, eye, MatrixIndex(codes))
    generator = torch.Generator().manual_seed(s.seed)
    all_codes = torch.from_numpy(np.ascontiguousarray(codes.vectors))
    q = torch.from_numpy(np.ascontiguousarray(queries))
    y = np.asarray(targets)
    seen = np.unique(y)
    identity = torch.eye(dims)
    statement_map = torch.nn.Parameter(identity.clone())
    code_map = torch.nn.Parameter(identity.clone())
    optimiser = torch.optim.Adam([statement_map, code_map], lr=s.learning_rate)
    position = np.full(len(codes.ids), -1)
    for _ in range(s.epochs):
        order = torch.randperm(len(q), generator=generator)
        for start in range(0, len(q), s.batch):
            picked = order[start : start + s.batch]
            sampled = torch.randint(0, len(codes.ids), (min(s.negatives, len(codes.ids)),), generator=generator)
            rows = np.unique(np.concatenate([seen, sampled.numpy()]))
            position[rows] = np.arange(len(rows))
            labels = torch.from_numpy(position[y[picked.numpy()]])
            keys = torch.nn.functional.normalize(all_codes[rows] @ code_map, dim=1)
            asked = torch.nn.functional.normalize(q[picked] @ statement_map, dim=1)
            loss = torch.nn.functional.cross_entropy(asked @ keys.T / s.temperature, labels)
            loss = loss + s.regularisation * (
                ((statement_map - identity) ** 2).sum() + ((code_map - identity) ** 2).sum()
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            position[rows] = -1
    smap = statement_map.detach().numpy().astype(np.float32)
    cmap = code_map.detach().numpy().astype(np.float32)
    mapped = CodeVectors(codes.ids, _normalised(codes.vectors @ cmap), codes.texts, codes.metadatas)
    return Retriever(smap, cmap, MatrixIndex(mapped))


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)
