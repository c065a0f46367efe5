"""Learned profiles: what the offline reasoner learns from a corpus of coded notes.

A profile holds a phrase-to-code memory (phrases of notes whose codes they predict), code
priors, the most similar coded notes (for neighbour votes), the corpus's code-form habits
(for example R51 where FY2026 has R51.9) and a gradient-boosted reranker over candidate
features. Features the reranker is trained on are computed out of fold, so it learns how
much to trust the memory on notes the memory has not seen. Conventions such as coding
negated findings are learned from assertion features, never hard-coded.
"""

from __future__ import annotations

import json
import math
import pickle
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.candidates.matcher import TermMatcher
from agent.reasoners.base import CodingContext
from agent.records import Candidate, Evidence, Statement
from index.errors import DataError

PROFILE_FILE = "profile.json"
MODEL_FILE = "reranker.pkl"
VECTORS_FILE = "neighbours.npz"
MAX_NGRAM = 4
NEIGHBOURS = 10


def category(code: str) -> str:
    return code.replace(".", "")[:3]


@dataclass
class Memory:
    """Phrase -> [(code, precision, support)]: how often notes with the phrase had the code."""

    table: dict[str, list[tuple[str, float, int]]] = field(default_factory=dict)

    @classmethod
    def learn(
        cls, docs: Sequence[tuple[set[str], set[str]]], min_df: int = 3, min_co: int = 2, min_precision: float = 0.25
    ) -> Memory:
        df: Counter[str] = Counter()
        co: dict[str, Counter[str]] = defaultdict(Counter)
        for grams, codes in docs:
            for g in grams:
                df[g] += 1
                for c in codes:
                    co[g][c] += 1
        table: dict[str, list[tuple[str, float, int]]] = {}
        for g, n in df.items():
            if n < min_df:
                continue
            rows = [(c, k / n, k) for c, k in co[g].items() if k >= min_co and k / n >= min_precision]
            if rows:
                table[g] = sorted(rows, key=lambda r: (-r[1], r[0]))[:3]
        return cls(table)


def clause_ngrams(tokens: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """(phrase, start, end) for every run of 1..MAX_NGRAM consecutive words."""
    out = []
    for i in range(len(tokens)):
        for n in range(1, MAX_NGRAM + 1):
            if i + n > len(tokens):
                break
            run = tokens[i : i + n]
            out.append((" ".join(t[0] for t in run), run[0][1], run[-1][2]))
    return out


def statement_tokens(matcher: TermMatcher, s: Statement) -> list[tuple[str, int, int]]:
    return [(t.norm, t.start, t.end) for t in matcher.tokens(s.text, s.start, expand=False)]


@dataclass
class Neighbours:
    vectors: np.ndarray  # (notes, dims), normalised
    codes: list[frozenset[str]]

    def votes(self, vector: Sequence[float] | None, k: int = NEIGHBOURS) -> dict[str, float]:
        if vector is None or not len(self.vectors):
            return {}
        sims = self.vectors @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-sims)[:k]
        weight = float(sum(max(sims[i], 0.0) for i in top)) or 1.0
        votes: dict[str, float] = defaultdict(float)
        for i in top:
            for c in self.codes[i]:
                votes[c] += max(float(sims[i]), 0.0) / weight
        return dict(votes)


@dataclass
class Profile:
    name: str
    memory: Memory
    priors: dict[str, float]  # share of notes with the code
    neighbours: Neighbours
    form_map: dict[str, str] = field(default_factory=dict)
    reranker: Any = None
    feature_names: list[str] = field(default_factory=list)
    threshold: float = 0.5
    report: dict[str, Any] = field(default_factory=dict)

    # -- the locate step's part ---------------------------------------------------------

    def locate(self, statements: tuple[Statement, ...], matcher: TermMatcher, slot: Callable[[str], Any]) -> None:
        """Add the codes the memory associates with phrases of the note, as candidates."""
        for s in statements:
            for phrase, start, end in clause_ngrams(statement_tokens(matcher, s)):
                for code, precision, support in self.memory.table.get(phrase, ()):
                    item = slot(code)
                    text = s.text[start - s.start : end - s.start]
                    evidence = Evidence(start, end, text, s.assertion, s.section, "memory")
                    item.add(evidence, "memory")
                    f = item.features
                    if precision > f["mem_precision"]:
                        f["mem_precision"] = precision
                        f["mem_support"] = math.log1p(support)
                        f["mem_words"] = float(len(phrase.split()))
                        if not item.matched:
                            item.matched = phrase
                    f["mem_hits"] += 1.0

    # -- the reasoner's part ------------------------------------------------------------

    def final_code(self, code: str) -> str:
        return self.form_map.get(code, code)

    def features(self, cand: Candidate, final: str, votes: dict[str, float], zero_shot: float) -> dict[str, float]:
        """The reranker's features of a candidate: what locate measured, what this corpus
        says of its final code, and the zero-shot conventions' verdict on it."""
        f = dict(cand.features)
        f["zero_shot"] = zero_shot
        f["prior"] = self.priors.get(final, 0.0)
        f["prior_category"] = self.priors.get("cat:" + category(final), 0.0)
        f["vote"] = votes.get(final, 0.0)
        f["vote_category"] = votes.get("cat:" + category(final), 0.0)
        f["seen"] = float(final in self.priors)
        f["walked"] = float(final != cand.code)
        return f

    def vector(self, f: dict[str, float]) -> list[float]:
        return [f.get(name, 0.0) for name in self.feature_names]

    def note_votes(self, context: CodingContext) -> dict[str, float]:
        votes = self.neighbours.votes(context.note_vector)
        for code, v in list(votes.items()):
            key = "cat:" + category(code)
            votes[key] = votes.get(key, 0.0) + v
        return votes

    def score_rows(self, rows: list[dict[str, float]]) -> list[float]:
        if self.reranker is None or not rows:
            return [0.0] * len(rows)
        matrix = np.asarray([self.vector(r) for r in rows], dtype=np.float64)
        return [float(p) for p in self.reranker.predict_proba(matrix)[:, 1]]

    # -- storage -----------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": self.name,
            "threshold": self.threshold,
            "feature_names": self.feature_names,
            "priors": self.priors,
            "form_map": self.form_map,
            "memory": self.memory.table,
            "report": self.report,
        }
        (folder / PROFILE_FILE).write_text(json.dumps(meta), encoding="utf-8")
        np.savez_compressed(
            folder / VECTORS_FILE,
            vectors=self.neighbours.vectors,
            codes=np.asarray(["|".join(sorted(c)) for c in self.neighbours.codes]),
        )
        with (folder / MODEL_FILE).open("wb") as f:
            pickle.dump(self.reranker, f)

    @classmethod
    def load(cls, folder: Path) -> Profile:
        if not (folder / PROFILE_FILE).is_file():
            raise DataError(
                f"no profile at {folder}; learn one with: coda learn --data DIR --split train --profile NAME"
            )
        meta = json.loads((folder / PROFILE_FILE).read_text(encoding="utf-8"))
        arrays = np.load(folder / VECTORS_FILE)
        codes = [frozenset(c.split("|")) if c else frozenset() for c in arrays["codes"].tolist()]
        # The reranker is a scikit-learn model this project wrote itself (coda learn).
        with (folder / MODEL_FILE).open("rb") as f:
            reranker = pickle.load(f)
        memory = Memory({k: [tuple(r) for r in v] for k, v in meta["memory"].items()})  # type: ignore[misc]
        return cls(
            name=meta["name"],
            memory=memory,
            priors=meta["priors"],
            neighbours=Neighbours(arrays["vectors"].astype(np.float32), codes),
            form_map=meta["form_map"],
            reranker=reranker,
            feature_names=meta["feature_names"],
            threshold=float(meta["threshold"]),
            report=meta.get("report", {}),
        )


def profile_dir(release_dir: Path, name: str) -> Path:
    return release_dir / "profiles" / name
