"""`coda learn`: learn a profile for the offline reasoner from a corpus of coded notes.

The notes are analysed and located once. Then, fold by fold, a memory, priors, neighbours,
a tuned retriever and code-form habits are learned from the other folds and used to compute the features of
the held-out fold, so that the reranker is trained on features it will see on new notes.
The decision threshold is the one that maximises micro-F1 in a second, grouped cross-
validation of the reranker.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from agent.candidates.locate import STATEMENT_BATCH, Locator
from agent.deciding.walk import HierarchyWalker, PatientCues
from agent.learning.corpus import CodedNote
from agent.learning.forest import Forest
from agent.learning.profile import (
    Memory,
    Neighbours,
    Profile,
    category,
    clause_ngrams,
    cooccurrence,
    statement_tokens,
)
from agent.learning.retriever import RetrieverSettings, learn_retriever, training_pairs
from agent.reading.segment import Analysis
from agent.reading.statements import analyze_note
from agent.reasoners.base import CodingContext
from agent.reasoners.offline import zero_shot
from agent.records import Statement
from index.embeddings import DIMENSIONS
from index.errors import DataError
from index.loaders.base import quiet
from index.vectors import CodeVectors, VectorIndex

FOLDS = 5
DEFAULT_RETRIEVER = RetrieverSettings()
Say = Callable[[str], None]


@dataclass
class _Prepared:
    note: CodedNote
    analysis: Analysis
    statements: tuple[Statement, ...]
    embeddings: np.ndarray | None
    note_vector: tuple[float, ...] | None
    grams: set[str]
    lexical_finals: list[str]  # the code each lexical candidate walks to, before any profile
    patient: frozenset[str] = frozenset()  # what the note says of the patient (PatientCues)
    pairs: tuple[np.ndarray, np.ndarray] | None = None  # the retriever's (statement, code) pairs


@dataclass
class TrainingSet:
    profile: Profile  # learned from all the notes, without its reranker yet
    x: np.ndarray  # (rows, features) in profile.feature_names order
    y: np.ndarray  # 1 where the row's final code is one of its note's codes
    groups: np.ndarray  # the note of each row (an index into gold)
    finals: list[str]  # the code each row proposes
    gold: list[frozenset[str]]  # each note's codes


class Learner:
    def __init__(
        self,
        locator: Locator,
        walker: HierarchyWalker,
        say: Say = quiet,
        retriever: RetrieverSettings | None = DEFAULT_RETRIEVER,  # None: the encoder as it is
    ) -> None:
        self.locator = locator
        self.walker = walker
        self.say = say
        self.retriever = retriever
        self._walks: dict[tuple[str, str, frozenset[str]], str] = {}
        self._codes: CodeVectors | None = None
        self._tuned_pairs = 0

    def learn(self, name: str, notes: Sequence[CodedNote], folds: int = FOLDS) -> Profile:
        data = self.training_set(name, notes, folds)
        threshold, cv_scores = self._threshold(data)
        profile = data.profile
        profile.reranker = Forest.from_sklearn(new_reranker().fit(data.x, data.y))
        profile.threshold = threshold
        profile.report = {
            "notes": len(notes),
            "rows": len(data.y),
            "positives": int(data.y.sum()),
            "gold_codes": sum(len(g) for g in data.gold),
            "candidate_recall": _candidate_recall(data),
            "candidates_per_note": round(len(data.y) / len(notes), 1),
            "cv": cv_scores,
        }
        if profile.retriever is not None:
            profile.report["retriever_pairs"] = self._tuned_pairs
        self.say(f"threshold {threshold:.2f}; cross-validated on train: {cv_scores}")
        return profile

    def training_set(self, name: str, notes: Sequence[CodedNote], folds: int = FOLDS) -> TrainingSet:
        """The reranker's training rows, each computed out of fold, and the profile (memory,
        priors, neighbours, code forms, feature names) learned from all the notes."""
        if len(notes) < folds * 2:
            raise DataError(f"{len(notes)} coded notes are too few to learn a profile (at least {folds * 2})")
        if self.retriever is not None and isinstance(self.locator.vectors, VectorIndex):
            self._codes = self.locator.vectors.export()
        prepared = [self._prepare(n, i, len(notes)) for i, n in enumerate(notes)]
        rows: list[dict[str, float]] = []
        labels: list[int] = []
        groups: list[int] = []
        finals: list[str] = []
        for fold in range(folds):
            train = [p for i, p in enumerate(prepared) if i % folds != fold]
            held = [(i, p) for i, p in enumerate(prepared) if i % folds == fold]
            partial = self._partial(name, train)
            for i, p in held:
                for row, final in self._rows(partial, p):
                    rows.append(row)
                    labels.append(int(final in p.note.codes))
                    groups.append(i)
                    finals.append(final)
            self.say(f"fold {fold + 1}/{folds}: {len(rows):,} candidate rows")
        profile = self._partial(name, prepared)
        profile.feature_names = sorted({k for r in rows for k in r})
        x = np.asarray([profile.vector(r) for r in rows], dtype=np.float64)
        gold = [p.note.codes for p in prepared]
        return TrainingSet(profile, x, np.asarray(labels), np.asarray(groups), finals, gold)

    # -- steps -------------------------------------------------------------------------

    def _prepare(self, note: CodedNote, index: int, total: int) -> _Prepared:
        analysis, statements = analyze_note(note.text)
        embeddings = None
        if self.locator.embedder is not None and statements:
            embeddings = self.locator.embedder.encode([s.text for s in statements], batch_size=STATEMENT_BATCH)
        note_vector = None
        if embeddings is not None and len(embeddings):
            mean = embeddings.mean(axis=0)
            note_vector = tuple(float(v) for v in mean / (np.linalg.norm(mean) or 1.0))
        grams = {g for s in statements for g, _, _ in clause_ngrams(statement_tokens(self.locator.matcher, s))}
        prepared = _Prepared(
            note, analysis, statements, embeddings, note_vector, grams, [], PatientCues.default().of(note.text)
        )
        located = self.locator.locate(note.text, analysis, statements, None, embeddings)
        prepared.lexical_finals = [
            self._walk(c.code, prepared, c.evidence[0].start)
            for c in located.candidates
            if c.features.get("lex_matches")
        ]
        if self._codes is not None and embeddings is not None:
            words = [[len(s.text.split()) for s in statements]]
            prepared.pairs = training_pairs([embeddings], words, [note.codes], self._codes)
        if (index + 1) % 100 == 0 or index + 1 == total:
            self.say(f"analysed {index + 1}/{total} notes")
        return prepared

    def _partial(self, name: str, train: Sequence[_Prepared]) -> Profile:
        memory = Memory.learn([(p.grams, set(p.note.codes)) for p in train])
        counts: Counter[str] = Counter()
        for p in train:
            counts.update(p.note.codes)
            counts.update({"cat:" + category(c) for c in p.note.codes})
        priors = {c: k / len(train) for c, k in counts.items()}
        with_vectors = [p for p in train if p.note_vector is not None]
        vectors = np.asarray([p.note_vector for p in with_vectors], dtype=np.float32)
        vectors = vectors.reshape(len(with_vectors), DIMENSIONS)
        profile = Profile(name, memory, priors, Neighbours(vectors, [p.note.codes for p in with_vectors]))
        profile.form_map = self._form_map(profile, train)
        profile.cooccur = cooccurrence([p.note.codes for p in train])
        pairs = [p.pairs for p in train if p.pairs is not None]
        if self._codes is not None and self.retriever is not None and pairs:
            queries = np.concatenate([q for q, _ in pairs])
            targets = np.concatenate([t for _, t in pairs])
            started = time.perf_counter()
            profile.retriever = learn_retriever(queries, targets, self._codes, self.retriever)
            self.say(f"retriever tuned on {len(targets):,} pairs in {time.perf_counter() - started:.0f} s")
            self._tuned_pairs = len(targets)
        return profile

    def _form_map(self, profile: Profile, train: Sequence[_Prepared]) -> dict[str, str]:
        """Where the corpus writes a code less specifically than our walk does (R51 for R51.9)."""
        exact: Counter[str] = Counter()
        coarser: dict[str, Counter[str]] = defaultdict(Counter)
        for p in train:
            for final in p.lexical_finals:
                if final in p.note.codes:
                    exact[final] += 1
                    continue
                for form in _coarser_forms(final):
                    if form in p.note.codes:
                        coarser[final][form] += 1
                        break
        mapping = {}
        for final, forms in coarser.items():
            form, n = forms.most_common(1)[0]
            if n >= 2 and n > exact[final]:
                mapping[final] = form
        return mapping

    def _rows(self, profile: Profile, p: _Prepared) -> list[tuple[dict[str, float], str]]:
        located = self.locator.locate(p.note.text, p.analysis, p.statements, profile, p.embeddings)
        context = CodingContext(
            p.note.id, p.note.text, p.analysis, p.statements, located.candidates, "inpatient", p.note_vector
        )
        finals = [profile.final_code(self._walk(c.code, p, c.evidence[0].start)) for c in located.candidates]
        verdicts = [zero_shot(c, context.setting)[0] for c in located.candidates]
        rows = profile.rows(located.candidates, finals, profile.note_votes(context), verdicts)
        return list(zip(rows, finals, strict=True))

    def _walk(self, code: str, p: _Prepared, offset: int) -> str:
        index = p.analysis.sentence_at(offset)
        sentence = p.analysis.sentences[index].text if index is not None else ""
        key = (code, sentence, p.patient)
        if key not in self._walks:
            self._walks[key] = self.walker.walk(code, sentence, p.patient).code
        return self._walks[key]

    def _threshold(self, data: TrainingSet) -> tuple[float, dict[str, float]]:
        x, y = data.x, data.y
        probability = np.zeros(len(y))
        for fit, test in GroupKFold(n_splits=FOLDS).split(x, y, data.groups):
            probability[test] = new_reranker().fit(x[fit], y[fit]).predict_proba(x[test])[:, 1]
        best_by_note: dict[int, dict[str, float]] = defaultdict(dict)
        for g, final, prob in zip(data.groups.tolist(), data.finals, probability.tolist(), strict=True):
            best_by_note[g][final] = max(best_by_note[g].get(final, 0.0), prob)
        best = (0.0, 0.5, {})
        for t in np.arange(0.10, 0.80, 0.02):
            tp = fp = 0
            for g, scores in best_by_note.items():
                chosen = {c for c, pr in scores.items() if pr >= t}
                tp += len(chosen & data.gold[g])
                fp += len(chosen - data.gold[g])
            gold = sum(len(g) for g in data.gold)
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / gold if gold else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            if f1 > best[0]:
                best = (
                    f1,
                    float(t),
                    {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)},
                )
        return round(best[1], 2), best[2]


def _coarser_forms(code: str) -> list[str]:
    """The same code written less specifically: S72.001A -> S72.001, S72.00, S72.0, S72."""
    bare = code.replace(".", "")
    forms = []
    for n in range(len(bare) - 1, 2, -1):
        short = bare[:n]
        forms.append(short if n == 3 else f"{short[:3]}.{short[3:]}")
    return forms


def _candidate_recall(data: TrainingSet) -> float:
    found: dict[int, set[str]] = defaultdict(set)
    for g, f, y in zip(data.groups.tolist(), data.finals, data.y.tolist(), strict=True):
        if y:
            found[g].add(f)
    gold = sum(len(g) for g in data.gold)
    return round(sum(len(v) for v in found.values()) / gold, 4) if gold else 0.0


def new_reranker() -> HistGradientBoostingClassifier:
    """The reranker, unfitted; a profile keeps its fitted trees as a `Forest`."""
    return HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.05, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=1.0, random_state=0
    )
