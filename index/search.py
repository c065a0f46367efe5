"""Hybrid code search: the coder's encoder and the agent's candidate source.

A query that looks like a code is looked up directly; text goes to full-text search (as
written and with abbreviations expanded) and to the dense index, and the ranked lists are
merged by reciprocal rank fusion. Filters narrow the result to billable codes or a chapter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.build import STORE_FILE, find_release, vectors_at
from index.chroma import ChromaServer
from index.embeddings import Embedder
from index.errors import EmptyQuery
from index.model import Code, looks_like_code
from index.store import CodeStore, LexicalHit
from index.synonyms import Synonyms
from index.vectors import DenseHit, VectorIndex
from index.words import light_stem

RRF_K = 60
LEXICAL_POOL = 300
MIN_QUALITY = 0.2
BILLABLE_UNDER_HEADING = 6  # the billable codes a matching heading stands for
DENSE_WIDENING = 4  # the open dense pool, in times the filtered one it must fill
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "is",
        "of",
        "on",
        "or",
        "the",
        "to",
        "was",
        "were",
        "with",
    ]
)
# Words a title uses to say how specific it is, not what the condition is.
_FILLER = frozenset(["unspecified", "nos", "part", "site", "organism"])
_WORD = re.compile(r"[A-Za-z0-9]+")
_PARENS = re.compile(r"\([^)]*\)")


@dataclass(frozen=True)
class Filters:
    billable: bool | None = None
    chapter: str | None = None  # "Chapter 9", or "9"

    def chapter_id(self) -> str | None:
        if self.chapter is None:
            return None
        return f"Chapter {self.chapter}" if self.chapter.isdigit() else self.chapter

    def accepts(self, code: Code) -> bool:
        if self.billable is not None and code.billable != self.billable:
            return False
        return self.chapter is None or code.chapter == self.chapter_id()

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.billable is not None:
            clauses.append({"billable": self.billable})
        if self.chapter is not None:
            clauses.append({"chapter": self.chapter_id()})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass(frozen=True)
class Hit:
    code: str
    title: str
    score: float
    billable: bool
    matched: str  # the text that matched, or the code for a code lookup
    sources: tuple[str, ...] = field(default=())  # "code", "lexical", "dense"


def require_query(query: str) -> str:
    """The query with its white space folded; an empty one is refused."""
    text = " ".join(query.split())
    if not text:
        raise EmptyQuery("the search is empty: type a clinical term (for example 'type 2 diabetes') or a code")
    return text


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP]


def match_quality(query_terms: set[str], text: str) -> float:
    """How fully a code's text and the query say the same thing, from 0 to 1: the share of
    the text's essential words (outside parentheses, which hold nonessential modifiers) that
    the query has, times the share of the query's words that the whole text has."""
    essential = {light_stem(w) for w in words(_PARENS.sub(" ", text))} - _FILLER
    every = {light_stem(w) for w in words(text)}
    if not essential or not query_terms:
        return 0.0
    return len(essential & query_terms) / len(essential) * len(query_terms & every) / len(query_terms)


class CodeSearch:
    def __init__(self, store: CodeStore, vectors: VectorIndex | None, synonyms: Synonyms | None = None) -> None:
        self.store = store
        self.vectors = vectors
        self.synonyms = synonyms or Synonyms.for_encoder()

    @classmethod
    def open(
        cls,
        data_dir: Path,
        system: str,
        embedder: Embedder | Callable[[], Embedder] | None,
        release: str | None = None,
        chroma: ChromaServer | None = None,
    ) -> CodeSearch:
        """Open a built release (its vectors on `chroma` when they were put there); `embedder` may
        be a factory, called only once the release is found."""
        path = find_release(data_dir, system, release)
        if callable(embedder) and not isinstance(embedder, Embedder):
            embedder = embedder()
        vectors = VectorIndex(vectors_at(path, chroma), embedder) if embedder is not None else None
        return cls(CodeStore(path / STORE_FILE), vectors)

    def search(self, query: str, limit: int = 10, filters: Filters | None = None) -> list[Hit]:
        filters = filters or Filters()
        text = require_query(query)
        # Ranked lists of (code, matched text, source, weight) for reciprocal rank fusion.
        ranked: list[list[tuple[str, str, str, float]]] = []
        if looks_like_code(text):
            exact = self.store.find(text)
            prefix = self.store.with_prefix(text, limit=limit * 3, billable=filters.billable)
            codes = ([exact] if exact is not None else []) + prefix
            # A direct code lookup outranks any text match.
            code_hits = [(c.code, c.code, "code", 10.0) for c in codes if filters.accepts(c)]
            if code_hits:
                ranked.append(code_hits)
        pool = limit * 5
        variants = [text, *self.synonyms.expand(text)]
        for variant in variants:
            terms = {light_stem(t) for t in words(variant)}
            # Weighted by match quality: a text that says just what the query says counts
            # twice a dense neighbour; one that merely shares a word is no evidence.
            scored = [(h, match_quality(terms, h.text)) for h in self.lexical(variant, pool)]
            ranked.append([(h.code, h.text, "lexical", 2.0 * q) for h, q in scored if q >= MIN_QUALITY])
        if self.vectors is not None:
            # An abbreviation embeds poorly; its expansion says what the coder meant.
            dense = self._dense(variants[-1], pool, filters, enough=limit)
            ranked.append([(h.code, h.text, "dense", 1.0) for h in dense])
        return self._fuse(ranked, limit, filters)

    def _dense(self, text: str, pool: int, filters: Filters, enough: int) -> list[DenseHit]:
        """Up to `pool` dense neighbours of `text` that pass the filters. A filtered query costs
        Chroma tens of times an open one (about 90 ms against 4 on the full code book), so a wider
        open pool is filtered here; Chroma filters only when fewer than `enough` of it pass."""
        assert self.vectors is not None
        if filters.where() is None:
            return self.vectors.query(text, limit=pool)
        vector = self.vectors.encode(text)
        wide = self.vectors.query_vectors(vector, limit=pool * DENSE_WIDENING)[0]
        records = self.store.codes([h.code for h in wide])
        kept = [h for h in wide if h.code in records and filters.accepts(records[h.code])]
        if len(kept) >= enough:
            return kept[:pool]
        return self.vectors.query_vectors(vector, limit=pool, where=filters.where())[0]

    def lexical(self, text: str, limit: int) -> list[LexicalHit]:
        """Full-text hits for `text`, the ones that say the same thing as the query first."""
        tokens = words(text)
        # bm25 alone favours short texts; draw a wide pool, then rank by match quality.
        hits = self.store.lexical(tokens, limit=LEXICAL_POOL)
        if len(hits) < limit:
            hits += self.store.lexical(tokens, limit=LEXICAL_POOL, match_all=False)
        terms = {light_stem(t) for t in tokens}
        quality = {id(h): match_quality(terms, h.text) for h in hits}
        hits.sort(key=lambda h: (-round(quality[id(h)], 3), -h.score, h.code))
        best: dict[str, LexicalHit] = {}
        for hit in hits:
            best.setdefault(hit.code, hit)
        return list(best.values())[:limit]

    def _fuse(self, ranked: list[list[tuple[str, str, str, float]]], limit: int, filters: Filters) -> list[Hit]:
        scores: dict[str, float] = {}
        matched: dict[str, str] = {}
        sources: dict[str, list[str]] = {}
        for results in ranked:
            seen: set[str] = set()
            for rank, (code, text, source, weight) in enumerate(results):
                if code in seen:
                    continue
                seen.add(code)
                scores[code] = scores.get(code, 0.0) + weight / (RRF_K + rank + 1)
                matched.setdefault(code, text)
                if source not in sources.setdefault(code, []):
                    sources[code].append(source)
        order = sorted(scores, key=lambda c: (-scores[c], c))
        records = self.store.codes(order)
        hits: list[Hit] = []
        shown: set[str] = set()
        for code in order:
            record = records.get(code)
            if record is None:
                continue
            # Asked for billable codes, a heading that matched stands for its billable children: the
            # words of an external cause ("tripping") sit on W01.0, the claim takes W01.0XXA.
            for found in [record] if filters.accepts(record) else self._billable_children(record, filters):
                if found.code in shown:
                    continue
                shown.add(found.code)
                score, why = round(scores[code], 5), tuple(sources[code])
                hits.append(Hit(found.code, found.title, score, found.billable, matched[code], why))
                if len(hits) == limit:
                    return hits
        return hits

    def _billable_children(self, record: Code, filters: Filters) -> list[Code]:
        """The billable codes under a heading that pass the filters, nearest level first (at most
        BILLABLE_UNDER_HEADING), when billable codes are asked for; none otherwise."""
        if filters.billable is not True or record.billable:
            return []
        found: list[Code] = []
        level = list(record.children)
        while level and len(found) < BILLABLE_UNDER_HEADING:
            codes = self.store.codes(level)
            below = [codes[c] for c in level if c in codes]
            found += [c for c in below if c.billable and filters.accepts(c)]
            level = [child for c in below if not c.billable for child in c.children]
        return found[:BILLABLE_UNDER_HEADING]
