"""The analyze and locate steps: codeable statements of a note, then candidate codes for them.

Candidates come from three places, as a coder's would: code-book terms found in the
statements (lexical), the code book's nearest neighbours of each statement (dense, from
the Chroma index), and what a learned profile remembers from coded notes (phrases it has
seen coded, codes of the most similar coded notes). Each candidate keeps its evidence
spans and the features the reasoner scores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from agent.candidates.combinations import CombinationRules
from agent.candidates.corpus import CorpusLeads, take
from agent.candidates.drug_effects import DrugEffects
from agent.candidates.drugs import LongTermDrugs
from agent.candidates.integral import IntegralSymptoms
from agent.candidates.matcher import Match, Term, TermMatcher
from agent.candidates.partner_sites import PartnerSites
from agent.candidates.status import StatusRules
from agent.guidelines.refs import CodeRef, parse_refs
from agent.reading.assertion import Assertion
from agent.reading.segment import Analysis
from agent.reading.statements import assertion_at
from agent.records import Candidate, Evidence, Statement
from index.model import NoteKind, code_key
from index.store import CodeStore

if TYPE_CHECKING:
    from agent.learning.profile import Profile
    from agent.learning.retriever import Retriever
    from index.embeddings import Embedder
    from index.vectors import DenseHit, VectorIndex

_PARTNER_NOTES = frozenset({NoteKind.USE_ADDITIONAL_CODE, NoteKind.CODE_ALSO, NoteKind.CODE_FIRST})
ASSERTIONS = tuple(a.value for a in Assertion)
NEGATED = Assertion.NEGATED.value
PRESENT = Assertion.PRESENT.value
UNCERTAIN = Assertion.UNCERTAIN.value
# A code whose own words state the context (Z80 "Family history of ...", Z85 "Personal
# history of ...") is what a family or historical statement is coded with.
_CODED_CONTEXT = {Assertion.FAMILY.value: "family", Assertion.HISTORICAL.value: "history"}
DENSE_NEIGHBOURS = 5
# A statement's nearest code is always a candidate; the next ones only when this similar. Chosen
# on CodiEsp train, out of fold: the candidates reach as many gold codes with a quarter fewer.
DENSE_MIN_SIMILARITY = 0.6
# With a profile's tuned retriever, a statement's two nearest codes and any this similar: on train
# folds the maps did not see, two per statement reach 48% of gold with ~55 a note (untuned: 19%).
TUNED_KEPT = 2
TUNED_MIN_SIMILARITY = 0.7
MIN_DENSE_WORDS = 2
MAX_DENSE_STATEMENTS = 400
STATEMENT_BATCH = 16  # clauses vary in length: small batches pad less
DENSE_CACHE = 200_000  # statements whose dense neighbours are kept
_NAMING = ("lexical", "memory", "rule")  # sources that name a condition in the note's own words


def _said_more_fully(term: Term, same_category: set[Term]) -> bool:
    """Whether the note names, in the same category, a term that extends this one's words:
    "chronic systolic heart failure" (I50.22) where the note also says "acute on chronic
    systolic heart failure" (I50.23) is that one condition, coded once, fully."""
    return any(other.code != term.code and term.essential < other.essential for other in same_category)


def _add_rule(item: _Found, evidence: Iterable[Evidence], cite: str, feature: str) -> None:
    """A code one of the coder's rules calls for, on the note's words that call for it."""
    for e in evidence:
        item.add(e if e.source == "rule" else replace(e, source="rule"), "rule")
    item.matched = item.matched or cite
    item.features["rule_matches"] += 1.0
    item.features[feature] = 1.0


def _lexical_words(found: dict[str, _Found]) -> dict[str, list[Evidence]]:
    """Each code the note's words named (lexical), with those words: what the coder's rules read."""
    return {
        code: [e for e in item.evidence.values() if e.source == "lexical"]
        for code, item in found.items()
        if "lexical" in item.sources
    }


def _named_categories(found: dict[str, _Found]) -> dict[str, Evidence]:
    """Each category the note names in its own words, with the first words naming it."""
    named: dict[str, Evidence] = {}
    for item in found.values():
        words = [e for e in item.evidence.values() if e.source in _NAMING]
        if words:
            named.setdefault(code_key(item.code)[:3], words[0])
    return named


@dataclass(frozen=True)
class Located:
    candidates: tuple[Candidate, ...]
    note_vector: tuple[float, ...] | None  # mean embedding of the statements, when dense is on


@dataclass
class _Found:
    """What the locate step gathers for one code before it becomes a Candidate."""

    code: str
    evidence: dict[tuple[int, int], Evidence] = field(default_factory=dict)
    matched: str = ""
    sources: set[str] = field(default_factory=set)
    features: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    integral: str = ""

    def add(self, evidence: Evidence, source: str) -> None:
        self.evidence.setdefault((evidence.start, evidence.end), evidence)
        self.sources.add(source)


class Locator:
    def __init__(
        self,
        store: CodeStore,
        matcher: TermMatcher,
        vectors: VectorIndex | None = None,
        embedder: Embedder | None = None,
        dense_neighbours: int = DENSE_NEIGHBOURS,
    ) -> None:
        self.store = store
        self.matcher = matcher
        self.vectors = vectors
        self.embedder = embedder
        self.dense_neighbours = dense_neighbours
        self.drugs = LongTermDrugs.default()
        self.combinations = CombinationRules.default()
        self.integral = IntegralSymptoms.default()
        self.status = StatusRules.default()
        self.drug_effects = DrugEffects.default()
        self.partner_sites = PartnerSites(store, matcher)
        self._dense_cache: dict[tuple[str, str], list[DenseHit]] = {}
        self.corpus = CorpusLeads()
        self._partners: dict[str, tuple[CodeRef, ...]] = {}

    def locate(
        self,
        note: str,
        analysis: Analysis,
        statements: tuple[Statement, ...],
        profile: Profile | None = None,
        embeddings: np.ndarray | None = None,
    ) -> Located:
        """Candidates for the note; `embeddings` of the statements may be passed in when
        already computed (learning runs the same notes several times)."""
        found: dict[str, _Found] = {}

        def slot(code: str) -> _Found:
            return found.setdefault(code, _Found(code))

        self._lexical(analysis, statements, slot)
        self._long_term_drugs(analysis, slot)
        named = _lexical_words(found)
        self._combinations(note, named, found, slot)
        self._statuses(analysis, named, found, slot)
        self._partner_sites(analysis, named, slot)
        self._drug_effects(analysis, slot)
        self._integral(analysis, found)
        retriever = profile.retriever if profile is not None else None
        embeddings = self._embed(statements, embeddings)
        mapped = retriever.statements(embeddings) if retriever is not None and embeddings is not None else embeddings
        self._dense(statements, slot, mapped, retriever)
        note_vector = None
        if embeddings is not None and len(embeddings):
            mean = embeddings.mean(axis=0)
            note_vector = tuple(float(x) for x in mean / (np.linalg.norm(mean) or 1.0))
        if profile is not None:
            profile.locate(statements, self.matcher, slot)
            search = retriever.search if retriever is not None else self.vectors
            take(self.corpus.neighbours(statements, mapped, note_vector, profile, search), slot)
            take(self.corpus.siblings(_named_categories(found), set(found), profile), slot)
            if retriever is not None:  # how near each candidate comes to the note, as this site words it
                for code, sim in self.corpus.closeness(list(found), statements, mapped, retriever.search).items():
                    found[code].features["tuned_sim"] = sim
        total = max(len(note), 1)
        candidates = []
        for item in found.values():
            record = self.store.find(item.code)
            if record is None:
                continue
            evidence = tuple(sorted(item.evidence.values(), key=lambda e: (e.start, e.end)))
            features = dict(item.features)
            features["mentions"] = float(len(evidence))
            features["first_position"] = evidence[0].start / total if evidence else 1.0
            for name in ASSERTIONS:
                features[f"assert_{name}"] = sum(e.assertion == name for e in evidence) / max(len(evidence), 1)
            features["billable"] = float(record.billable)
            features["code_length"] = float(len(record.key))
            features["n_sources"] = float(len(item.sources))
            candidates.append(
                Candidate(
                    code=record.code,
                    title=record.title,
                    score=features.get("lex_size", 0.0) + features.get("dense_sim", 0.0),
                    sources=tuple(sorted(item.sources)),
                    evidence=evidence,
                    matched=item.matched,
                    features=features,
                    integral=item.integral,
                )
            )
        return Located(tuple(sorted(candidates, key=lambda c: (-c.score, c.code))), note_vector)

    # -- lexical -----------------------------------------------------------------------

    def _lexical(self, analysis: Analysis, statements: tuple[Statement, ...], slot) -> None:  # type: ignore[no-untyped-def]
        matches = self.matcher.match((s.start, s.end, s.text) for s in statements)
        by_clause: dict[int, list[tuple[Match, str]]] = defaultdict(list)
        by_category: dict[str, set[Term]] = defaultdict(set)  # the distinct terms the note affirms
        for m in matches:
            assertion = self._assertion(m, analysis, statements[m.clause_index].sentence_index)
            by_clause[m.clause_index].append((m, assertion))
            if assertion != NEGATED:
                by_category[m.term.code[:3]].add(m.term)
        fuller: dict[Term, bool] = {}
        for clause_index, clause_matches in by_clause.items():
            statement = statements[clause_index]
            sentence = analysis.sentences[statement.sentence_index]
            clause_words = len(self.matcher.tokens(statement.text))
            for m, assertion in clause_matches:
                # A longer term whose extra words the note denies ("without complications")
                # names nothing the patient has, so it does not make the shorter term redundant.
                subsumed = any(
                    self._subsumes(other, m) and (other_assertion != NEGATED or assertion == NEGATED)
                    for other, other_assertion in clause_matches
                    if other is not m
                )
                if m.term not in fuller:
                    fuller[m.term] = _said_more_fully(m.term, by_category[m.term.code[:3]])
                if fuller[m.term] and not subsumed:
                    subsumed = True
                    slot(m.term.code).features["lex_fuller_elsewhere"] = 1.0
                item = slot(m.term.code)
                text = sentence.text[m.start - sentence.start : m.end - sentence.start]
                item.add(Evidence(m.start, m.end, text, assertion, sentence.section, "lexical"), "lexical")
                f = item.features
                if not item.matched or m.size > f["lex_size"]:
                    item.matched = m.term.text
                f["lex_size"] = max(f["lex_size"], float(m.size))
                f["lex_optional"] = max(f["lex_optional"], float(m.optional_hits))
                f["lex_cover"] = max(f["lex_cover"], m.size / max(clause_words, 1))
                f["lex_matches"] += 1.0
                f["lex_unsubsumed"] += 0.0 if subsumed else 1.0
                f[f"field_{m.term.field}"] = 1.0
                f["lex_span"] = max(f["lex_span"], float(m.end - m.start))

    def _long_term_drugs(self, analysis: Analysis, slot) -> None:  # type: ignore[no-untyped-def]
        """Z79 status codes for the drugs the note shows in ongoing use (I.C.21.c.3)."""
        for mention in self.drugs.mentions(analysis):
            sentence = analysis.sentences[mention.sentence_index]
            start, end = mention.start - sentence.start, mention.end - sentence.start
            # A drug the patient is "on" under Past Medical History is taken now: no section default.
            assertion = assertion_at(replace(sentence, section="body"), start, end).value
            evidence = Evidence(mention.start, mention.end, mention.text, assertion, sentence.section, "rule")
            cite = f"I.C.21.c.3: long-term (current) use of {mention.drug_class.name}"
            _add_rule(slot(mention.drug_class.code), [evidence], cite, "rule_drug")

    def _combinations(self, note: str, named: dict[str, list[Evidence]], found: dict[str, _Found], slot) -> None:  # type: ignore[no-untyped-def]
        """Combination codes ("with", I.A.15) for conditions the note names apart."""
        for combination in self.combinations.combine(named, note):
            _add_rule(slot(combination.code), combination.evidence, combination.cite, "rule_combination")
            for code in combination.replaces:
                found[code].features["sequela_coded"] = 1.0  # the past condition's deficits carry it

    def _statuses(self, analysis: Analysis, named: dict[str, list[Evidence]], found: dict[str, _Found], slot) -> None:  # type: ignore[no-untyped-def]
        """Status and history codes (I.C.21.c.3-4, I.C.2.d): stated in the note's words, or the
        family or personal history of a condition it names; a past cancer's own code is history."""
        present = [code for code, spans in named.items() if any(e.assertion == PRESENT for e in spans)]
        status = self.status
        findings = [*status.stated(analysis), *status.histories(named, analysis), *status.bmi_codes(analysis, present)]
        for finding in findings:
            _add_rule(slot(finding.code), finding.evidence, finding.cite, f"rule_{finding.kind}")
            if finding.kind == "personal" and len(finding.evidence) == len(named.get(finding.of, ())):
                found[finding.of].features["past_cancer"] = 1.0  # every mention is of the past

    def _partner_sites(self, analysis: Analysis, named: dict[str, list[Evidence]], slot) -> None:  # type: ignore[no-untyped-def]
        """The code a "Use additional code" note asks for, named in the same sentence (I.A.13)."""
        for site in self.partner_sites.found(named, analysis):
            _add_rule(slot(site.code), site.evidence, site.cite, "rule_partner")

    def _drug_effects(self, analysis: Analysis, slot) -> None:  # type: ignore[no-untyped-def]
        """Underdosing and adverse-effect codes, and underdosing's reasons (I.C.19.e.5)."""
        for effect in self.drug_effects.effects(analysis):
            _add_rule(slot(effect.code), effect.evidence, effect.cite, "rule_drug_effect")

    def _integral(self, analysis: Analysis, found: dict[str, _Found]) -> None:
        """Mark each named symptom with a named diagnosis it is part of (I.B.5): one the note
        affirms, else one it calls uncertain (coded as established for an inpatient, II.H); not
        one named as a sequela, whose symptom is the residual effect (I.B.10)."""
        named: dict[str, list[str]] = {PRESENT: [], UNCERTAIN: []}
        for code, item in found.items():
            if "lexical" in item.sources or item.features.get("rule_combination"):
                said = {
                    e.assertion
                    for e in item.evidence.values()
                    if e.source in ("lexical", "rule") and not self._sequela(analysis, e)
                }
                for assertion, codes in named.items():
                    if assertion in said:
                        codes.append(code)
        for code, item in found.items():
            if "lexical" not in item.sources or not self.integral.is_symptom(code):
                continue
            for assertion, diagnoses in named.items():
                hit = self.integral.integral_to(code, diagnoses)
                if hit is not None:
                    item.features[f"integral_{assertion}"] = 1.0
                    item.integral = item.integral or f"I.B.5: {hit[1]} ({hit[0]})"

    def _sequela(self, analysis: Analysis, e: Evidence) -> bool:
        index = analysis.sentence_at(e.start)
        return index is not None and bool(self.integral.sequela_cues.search(analysis.sentences[index].text))

    @staticmethod
    def _assertion(m: Match, analysis: Analysis, sentence_index: int) -> str:
        """The assertion of a matched term. Its last word is its head, as for a statement: a
        trigger between its words ("abdomen: did not have palpable masses or hernias") still
        covers it; a term that itself says "family history" or "history" is the patient's; in
        a sentence addressed to the software or the coder, it is non-clinical."""
        if sentence_index in analysis.non_clinical:
            return Assertion.NON_CLINICAL.value
        sentence = analysis.sentences[sentence_index]
        assertion = assertion_at(sentence, m.start - sentence.start, m.end - sentence.start, m.term.text).value
        if _CODED_CONTEXT.get(assertion, "") in m.term.essential:
            return Assertion.PRESENT.value
        return assertion

    def _subsumes(self, other: Match, m: Match) -> bool:
        """Whether `other` makes `m` redundant, as a coder reads the longest term.

        In one category, a term whose words another contains and extends is subsumed
        (E11.9 by E11.22); of two with the same words an inclusion term stays, since the
        Tabular placed those words at its code, else the shorter code, since the walk down
        from it reads the sentence. Across categories, a term inside a longer term at
        the same words is subsumed ("kidney disease" in "chronic kidney disease", "injury" in
        "acute kidney injury"), unless the longer code's notes ask for it as a partner
        (E11.22's "Use additional code ... (N18.1-N18.6)" keeps N18)."""
        if m.term.code == other.term.code:
            return False
        if m.term.code[:3] == other.term.code[:3]:
            if m.term.essential != other.term.essential:
                return m.term.essential < other.term.essential
            placed = (other.term.field == "inclusion", m.term.field == "inclusion")
            if placed[0] != placed[1] and not self._unspecified_under(other.term.code, m.term.code):
                return placed[0]  # the Tabular placed these words at a code: "Osteoporosis NOS" at M81.0
            return len(other.term.code) < len(m.term.code)
        if not (m.term.essential < other.term.essential and m.start < other.end and other.start < m.end):
            return False
        return not any(ref.reaches(m.term.code) for ref in self._partner_refs(other.term.code))

    def _unspecified_under(self, a: str, b: str) -> bool:
        """Whether one of two codes is the other's "unspecified" child: "Chronic renal disease" at
        N18.9 says no more than N18 "Chronic kidney disease", whose walk reads the stage the
        sentence gives (N18.2) and comes to N18.9 only when it gives none."""
        short, long = sorted((a, b), key=len)
        record = self.store.find(long) if long.startswith(short) else None
        return record is not None and record.title.lower().endswith(", unspecified")

    def _partner_refs(self, code: str) -> tuple[CodeRef, ...]:
        if code not in self._partners:
            notes = self.store.inherited_notes(code) if self.store.find(code) else []
            self._partners[code] = tuple(ref for n in notes if n.kind in _PARTNER_NOTES for ref in parse_refs(n.text))
        return self._partners[code]

    # -- dense -------------------------------------------------------------------------

    def _embed(self, statements: tuple[Statement, ...], embeddings: np.ndarray | None) -> np.ndarray | None:
        """The encoder's embedding of each of the first MAX_DENSE_STATEMENTS statements: a note of
        several MB has all its words matched, but only its first clauses are embedded (minutes)."""
        if self.vectors is None or self.embedder is None or not statements:
            return None
        if embeddings is None:
            texts = [s.text for s in statements[:MAX_DENSE_STATEMENTS]]
            return self.embedder.encode(texts, batch_size=STATEMENT_BATCH)
        return embeddings[:MAX_DENSE_STATEMENTS]

    def _dense(  # type: ignore[no-untyped-def]
        self, statements: tuple[Statement, ...], slot, vectors: np.ndarray | None, retriever: Retriever | None
    ) -> None:
        """Each statement's nearest codes: in the code book's own index, or, with a profile that
        has a tuned retriever, in that profile's (`vectors` then are the mapped statements)."""
        if vectors is None or self.vectors is None:
            return
        search, key = (retriever.search, retriever.key) if retriever is not None else (self.vectors, "")
        kept, threshold = (TUNED_KEPT, TUNED_MIN_SIMILARITY) if retriever else (1, DENSE_MIN_SIMILARITY)
        usable = [i for i, s in enumerate(statements[: len(vectors)]) if len(s.text.split()) >= MIN_DENSE_WORDS]
        # The same statement asks the same question of the index: learning runs every note
        # through several folds, and notes repeat stock phrases.
        asked = [i for i in usable if (key, statements[i].text) not in self._dense_cache]
        if asked:
            answers = search.query_vectors(vectors[asked], limit=self.dense_neighbours)
            if len(self._dense_cache) > DENSE_CACHE:
                self._dense_cache.clear()
            for i, hits in zip(asked, answers, strict=True):
                self._dense_cache[key, statements[i].text] = hits
        results = [self._dense_cache[key, statements[i].text] for i in usable]
        for i, hits in zip(usable, results, strict=True):
            s = statements[i]
            for rank, hit in enumerate(hits):
                if rank >= kept and hit.similarity < threshold:
                    continue
                item = slot(hit.code)
                item.add(Evidence(s.start, s.end, s.text, s.assertion, s.section, "dense"), "dense")
                f = item.features
                f["dense_sim"] = max(f["dense_sim"], hit.similarity)
                f["dense_best_rank"] = min(f.get("dense_best_rank", 99.0), float(rank))
                f["dense_hits"] += 1.0
                if not item.matched:
                    item.matched = hit.text
