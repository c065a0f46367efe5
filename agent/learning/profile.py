"""Learned profiles: what the offline reasoner learns from a corpus of coded notes.

A profile holds a phrase-to-code memory (phrases of notes whose codes they predict), code
priors, the most similar coded notes (for neighbour votes and as candidates), which codes the
corpus codes together, a retriever tuned to its coding (see `retriever`), the corpus's
code-form habits (for example R51 where FY2026 has R51.9) and a gradient-boosted reranker over
candidate features. Features the reranker is trained on
are computed out of fold, so it learns how much to trust the memory on notes the memory has
not seen. Conventions such as coding negated findings are learned from assertion features,
never hard-coded. A profile is kept as JSON, number arrays, safetensors and a Chroma collection
under `<release>/profiles/<name>` and found by name only; nothing in it is unpickled or run
when it is loaded.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.candidates.matcher import TermMatcher
from agent.learning.forest import Forest
from agent.learning.retriever import Retriever
from agent.reasoners.base import CodingContext
from agent.records import Candidate, Evidence, Statement
from index.chroma import ChromaServer
from index.errors import DataError, IndexUnavailable

FORMAT = "coda-profile/3"  # JSON and number arrays; format 1 pickled the reranker, 2 had no co-occurrence
PROFILE_FILE = "profile.json"
MODEL_FILE = "reranker.npz"
VECTORS_FILE = "neighbours.npz"
PICKLED_MODEL = "reranker.pkl"  # format 1's reranker: recognised, never opened
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
MAX_NGRAM = 4
NEIGHBOURS = 10
MIN_PAIR = 2  # notes a pair of codes must share to count as co-occurring
MIN_GIVEN = 3  # notes a code must be in for what co-occurs with it to count


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


def cooccurrence(code_sets: Sequence[frozenset[str]]) -> dict[str, dict[str, float]]:
    """code -> {other code: share of the notes with `code` that also have `other`}."""
    single: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for codes in code_sets:
        single.update(codes)
        pairs.update((a, b) for a in codes for b in codes if a != b)
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for (a, b), n in pairs.items():
        if n >= MIN_PAIR and single[a] >= MIN_GIVEN:
            table[a][b] = round(n / single[a], 4)
    return dict(table)


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
    cooccur: dict[str, dict[str, float]] = field(default_factory=dict)  # see `cooccurrence`
    reranker: Forest | None = None
    retriever: Retriever | None = None  # the statement and code maps tuned on this corpus
    feature_names: list[str] = field(default_factory=list)
    threshold: float = 0.5
    report: dict[str, Any] = field(default_factory=dict)
    _by_category: dict[str, list[str]] | None = field(default=None, init=False, repr=False, compare=False)

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

    def category_codes(self, cat: str, limit: int) -> list[str]:
        """The codes this corpus codes most often in a 3-character category, most frequent first."""
        if self._by_category is None:
            by_category: dict[str, list[tuple[float, str]]] = defaultdict(list)
            for code, share in self.priors.items():
                if not code.startswith("cat:"):
                    by_category[category(code)].append((-share, code))
            self._by_category = {k: [c for _, c in sorted(v)] for k, v in by_category.items()}
        return self._by_category.get(cat, [])[:limit]

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

    def rows(
        self, candidates: Sequence[Candidate], finals: Sequence[str], votes: dict[str, float], verdicts: Sequence[float]
    ) -> list[dict[str, float]]:
        """The features of each of a note's candidates, with what the others say of it: how
        many of them fall in its category, whether the note names its category, and how often
        this corpus codes it beside the codes the note names."""
        rows = [self.features(c, f, votes, v) for c, f, v in zip(candidates, finals, verdicts, strict=True)]
        named = {
            f
            for c, f in zip(candidates, finals, strict=True)
            if c.features.get("lex_matches") and c.features.get("assert_present", 0.0) > 0
        }
        in_category = Counter(category(f) for f in set(finals))
        named_categories = {category(f) for f in named}
        for row, final in zip(rows, finals, strict=True):
            row["cat_candidates"] = float(in_category[category(final)])
            row["cat_named"] = float(category(final) in named_categories)
            row["cooccur"] = max((self.cooccur.get(g, {}).get(final, 0.0) for g in named if g != final), default=0.0)
        return rows

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

    def save(self, folder: Path, chroma: ChromaServer | None = None, release: str = "") -> None:
        """Write the profile as JSON and number arrays only: nothing in it runs when loaded. With
        `chroma`, the retriever's code vectors go to a collection on that server named for
        `release` (system and release) and the profile."""
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "name": self.name,
            "threshold": self.threshold,
            "feature_names": self.feature_names,
            "priors": self.priors,
            "form_map": self.form_map,
            "cooccur": self.cooccur,
            "memory": self.memory.table,
            "report": self.report,
            "reranker": self.reranker is not None,
        }
        (folder / PROFILE_FILE).write_text(json.dumps(meta), encoding="utf-8")
        np.savez_compressed(
            folder / VECTORS_FILE,
            vectors=self.neighbours.vectors,
            codes=np.asarray(["|".join(sorted(c)) for c in self.neighbours.codes], dtype=np.str_),
        )
        if self.reranker is not None:
            np.savez_compressed(folder / MODEL_FILE, **self.reranker.arrays())
        if self.retriever is not None:
            meta = {"profile": self.name, "model": "all-MiniLM-L6-v2 with this profile's maps"}
            self.retriever.save(folder, meta, chroma, release)

    @classmethod
    def load(cls, folder: Path, chroma: ChromaServer | None = None) -> Profile:
        """The profile saved in `folder` (its code vectors on `chroma` when it put them there).
        Nothing in the folder is unpickled or run: a missing, damaged, foreign or old-format
        (pickled) profile is one DataError saying to re-learn it."""
        name = folder.name
        if not folder.is_dir():
            raise DataError(
                f"no profile at {folder}; learn one with: coda learn --data DIR --split train --profile {name}"
            )
        try:
            return _read(folder, chroma)
        except IndexUnavailable:
            raise  # the profile is sound: the server is not set or does not answer
        except Exception as exc:  # whatever a damaged or foreign file trips in parsing, the remedy is one
            raise DataError(
                f"profile {name} at {folder} cannot be loaded ({exc}); "
                f"re-learn it with: coda learn --data DIR --split train --profile {name}"
            ) from exc


def profile_dir(release_dir: Path, name: str) -> Path:
    """Where the profile called `name` lives: only ever `<release>/profiles/<name>`."""
    return release_dir / "profiles" / check_name(name)


def check_name(name: str) -> str:
    """`name` when it names a profile; DataError for a path, `..`, a hidden name or nothing."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise DataError(
            f"{name!r} is not a profile name: a profile is named, not given as a path "
            "(letters, digits and . _ + -, starting with a letter or digit; it lives in <release>/profiles)"
        )
    return name


def _read(folder: Path, chroma: ChromaServer | None) -> Profile:
    if not (folder / PROFILE_FILE).is_file():
        raise ValueError(f"it has no {PROFILE_FILE}")
    raw = (folder / PROFILE_FILE).read_bytes()
    meta = json.loads(raw.decode("utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        if (folder / PICKLED_MODEL).exists():
            raise ValueError("it is in the old format, with a pickled reranker that Coda no longer loads")
        raise ValueError(f"{PROFILE_FILE} is not a Coda profile of format {FORMAT}")
    _check_meta(meta)
    arrays = _npz(folder / VECTORS_FILE, ("vectors", "codes"))
    vectors, codes = arrays["vectors"], arrays["codes"]
    if vectors.ndim != 2 or vectors.dtype.kind != "f" or codes.ndim != 1 or len(codes) != len(vectors):
        raise ValueError(f"{VECTORS_FILE} does not hold one vector per coded note")
    if len(codes) and codes.dtype.kind != "U":
        raise ValueError(f"{VECTORS_FILE} holds codes that are not text")
    reranker = Forest.from_arrays(_npz(folder / MODEL_FILE)) if meta["reranker"] else None
    if reranker is not None and reranker.n_features != len(meta["feature_names"]):
        raise ValueError(
            f"the reranker has {reranker.n_features} features, the profile names {len(meta['feature_names'])}"
        )
    return Profile(
        name=meta["name"],
        memory=Memory({k: [(c, float(p), int(n)) for c, p, n in v] for k, v in meta["memory"].items()}),
        priors={k: float(v) for k, v in meta["priors"].items()},
        neighbours=Neighbours(
            vectors.astype(np.float32), [frozenset(c.split("|")) if c else frozenset() for c in codes.tolist()]
        ),
        form_map=meta["form_map"],
        cooccur={k: {c: float(p) for c, p in v.items()} for k, v in meta["cooccur"].items()},
        reranker=reranker,
        retriever=Retriever.load(folder, chroma),
        feature_names=meta["feature_names"],
        threshold=float(meta["threshold"]),
        report=meta["report"],
    )


def _npz(path: Path, names: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """The arrays of an `.npz`, read without pickle (an object array is refused, not unpickled)."""
    loaded = np.load(path, allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path.name} is not an .npz archive")
    with loaded:
        missing = [name for name in names if name not in loaded.files]
        if missing:
            raise ValueError(f"{path.name} lacks {', '.join(missing)}")
        return {key: loaded[key] for key in loaded.files}


def _check_meta(meta: dict[str, Any]) -> None:
    """The JSON of a profile has the fields and types `Profile` uses, or ValueError says which not."""
    number = (int, float)
    fields: dict[str, Callable[[Any], bool]] = {
        "name": lambda v: isinstance(v, str),
        "threshold": lambda v: isinstance(v, number) and not isinstance(v, bool) and 0.0 <= v <= 1.0,
        "feature_names": lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v),
        "priors": lambda v: isinstance(v, dict) and all(isinstance(p, number) for p in v.values()),
        "form_map": lambda v: isinstance(v, dict) and all(isinstance(c, str) for c in v.values()),
        "cooccur": lambda v: (
            isinstance(v, dict)
            and all(isinstance(row, dict) and all(isinstance(p, number) for p in row.values()) for row in v.values())
        ),
        "memory": lambda v: (
            isinstance(v, dict)
            and all(isinstance(rows, list) and all(_memory_row(r) for r in rows) for rows in v.values())
        ),
        "report": lambda v: isinstance(v, dict),
        "reranker": lambda v: isinstance(v, bool),
    }
    for key, valid in fields.items():
        if key not in meta or not valid(meta[key]):
            raise ValueError(f"{PROFILE_FILE} has no valid {key!r}")


def _memory_row(row: Any) -> bool:
    return (
        isinstance(row, list)
        and len(row) == 3
        and isinstance(row[0], str)
        and isinstance(row[1], (int, float))
        and isinstance(row[2], int)
    )
