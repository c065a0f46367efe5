"""Tests of agent.rules: the packaged rule tables and their loaders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agent
from agent import DATA_DIR
from agent.reading.rules import (
    ABBREVIATIONS_FILE,
    CONTEXT_RULES_FILE,
    SECTIONS_FILE,
    Category,
    ContextRule,
    ContextRules,
    Direction,
    TextRules,
    normalise_phrase,
)
from agent.reading.segment import analyze
from index.errors import DataError


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- the packaged tables ---------------------------------------------------------------------


def test_data_files_are_package_relative() -> None:
    assert Path(agent.__file__).parent / "data" == DATA_DIR
    for path in (SECTIONS_FILE, ABBREVIATIONS_FILE, CONTEXT_RULES_FILE):
        assert path.parent == DATA_DIR and path.is_file()


def test_defaults_are_loaded_once() -> None:
    assert TextRules.default() is TextRules.default()
    assert ContextRules.default() is ContextRules.default()


def test_defaults_equal_a_fresh_load() -> None:
    assert TextRules.from_json(SECTIONS_FILE, ABBREVIATIONS_FILE) == TextRules.default()
    assert ContextRules.from_json(CONTEXT_RULES_FILE) == ContextRules.default()
    hash(TextRules.default())
    hash(ContextRules.default())


def test_section_names() -> None:
    names = set(TextRules.default().section_headers.values())
    assert {
        "history",
        "family_history",
        "assessment",
        "medications",
        "allergies",
        "social_history",
        "review_of_systems",
        "exam",
        "hpi",
        "diagnoses",
        "plan",
    } <= names
    assert "body" not in names


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("HISTORY OF PRESENT ILLNESS:", "hpi"),
        ("Past Medical History:", "history"),
        ("PMH", "history"),
        ("Family  History", "family_history"),
        ("Assessment and Plan:", "assessment"),
        ("Discharge Diagnosis", "diagnoses"),
        ("Impression:", "assessment"),
        ("Review of Systems", "review_of_systems"),
        ("Not a header", None),
    ],
)
def test_section_name_lookup(header: str, name: str | None) -> None:
    assert TextRules.default().section_name(header) == name


def test_abbreviations() -> None:
    rules = TextRules.default()
    assert {"dr", "mr", "mrs", "vs", "e.g", "i.e"} <= rules.never_end
    assert {"mg", "b.i.d", "t.i.d", "p.o", "etc"} <= rules.end_before_capital
    assert not rules.never_end & rules.end_before_capital
    assert all(a == a.casefold() and not a.endswith(".") for a in rules.never_end | rules.end_before_capital)


@pytest.mark.parametrize(
    ("phrase", "category", "direction"),
    [
        ("no", Category.NEGATED, Direction.FORWARD),
        ("not", Category.NEGATED, Direction.FORWARD),
        ("denies", Category.NEGATED, Direction.FORWARD),
        ("without", Category.NEGATED, Direction.FORWARD),
        ("negative for", Category.NEGATED, Direction.FORWARD),
        ("no evidence of", Category.NEGATED, Direction.FORWARD),
        ("absence of", Category.NEGATED, Direction.FORWARD),
        ("free of", Category.NEGATED, Direction.FORWARD),
        ("ruled out", Category.NEGATED, Direction.BACKWARD),
        ("possible", Category.UNCERTAIN, Direction.FORWARD),
        ("probable", Category.UNCERTAIN, Direction.FORWARD),
        ("suspected", Category.UNCERTAIN, Direction.FORWARD),
        ("likely", Category.UNCERTAIN, Direction.FORWARD),
        ("rule out", Category.UNCERTAIN, Direction.FORWARD),
        ("r/o", Category.UNCERTAIN, Direction.FORWARD),
        ("questionable", Category.UNCERTAIN, Direction.FORWARD),
        ("consistent with", Category.UNCERTAIN, Direction.FORWARD),
        ("compatible with", Category.UNCERTAIN, Direction.FORWARD),
        ("cannot be excluded", Category.UNCERTAIN, Direction.BACKWARD),
        ("still to be ruled out", Category.UNCERTAIN, Direction.BACKWARD),
        ("versus", Category.UNCERTAIN, Direction.BIDIRECTIONAL),
        ("history of", Category.HISTORICAL, Direction.FORWARD),
        ("h/o", Category.HISTORICAL, Direction.FORWARD),
        ("status post", Category.HISTORICAL, Direction.FORWARD),
        ("s/p", Category.HISTORICAL, Direction.FORWARD),
        ("previous", Category.HISTORICAL, Direction.FORWARD),
        ("prior", Category.HISTORICAL, Direction.FORWARD),
        ("family history of", Category.FAMILY, Direction.FORWARD),
        ("mother", Category.FAMILY, Direction.BIDIRECTIONAL),
        ("father", Category.FAMILY, Direction.BIDIRECTIONAL),
        ("brother", Category.FAMILY, Direction.BIDIRECTIONAL),
        ("sister", Category.FAMILY, Direction.BIDIRECTIONAL),
        ("if", Category.HYPOTHETICAL, Direction.FORWARD),
        ("return if", Category.HYPOTHETICAL, Direction.FORWARD),
        ("should he develop", Category.HYPOTHETICAL, Direction.FORWARD),
        ("in case of", Category.HYPOTHETICAL, Direction.FORWARD),
        ("but", Category.TERMINATE, Direction.BIDIRECTIONAL),
        ("however", Category.TERMINATE, Direction.BIDIRECTIONAL),
        ("although", Category.TERMINATE, Direction.BIDIRECTIONAL),
        ("which", Category.TERMINATE, Direction.BIDIRECTIONAL),
        ("presents", Category.TERMINATE, Direction.BIDIRECTIONAL),
        (";", Category.TERMINATE, Direction.BIDIRECTIONAL),
        ("gram negative", Category.PSEUDO, Direction.FORWARD),
    ],
)
def test_packaged_context_rules(phrase: str, category: Category, direction: Direction) -> None:
    _, table = ContextRules.default().matcher
    assert table[phrase] == ContextRule(phrase, category, direction)


def test_packaged_rules_are_well_formed() -> None:
    rules = ContextRules.default()
    phrases = [r.phrase for r in rules.rules]
    assert len(phrases) == len(set(phrases))
    assert all(p == normalise_phrase(p) for p in phrases)
    assert dict(rules.section_defaults) == {"family_history": Category.FAMILY, "history": Category.HISTORICAL}
    assert set(rules.section_defaults) <= set(TextRules.default().section_headers.values())


def test_matcher_takes_the_longest_phrase() -> None:
    pattern, _ = ContextRules.default().matcher
    found = [normalise_phrase(m.group()) for m in pattern.finditer("NO  evidence of MI; not ruled out; rule out PE")]
    assert found == ["no evidence of", ";", "not ruled out", ";", "rule out"]
    # Whole words only: "Nolan", "iffy" and "nothing" hold no trigger.
    assert [m.group() for m in pattern.finditer("Nolan iffy nothing")] == []


# --- loading from JSON -----------------------------------------------------------------------


def test_text_rules_from_json(tmp_path: Path) -> None:
    sections = write(tmp_path / "s.json", {"sections": {"subjective": ["Subjective", "S"], "plan": ["Plan"]}})
    abbreviations = write(tmp_path / "a.json", {"never_end": ["Dr."], "end_before_capital": ["mg."]})
    rules = TextRules.from_json(str(sections), abbreviations)
    assert dict(rules.section_headers) == {"subjective": "subjective", "s": "subjective", "plan": "plan"}
    assert rules.never_end == {"dr"} and rules.end_before_capital == {"mg"}

    note = "S: cough. Seen by Dr. Smith.\nPMH: asthma\nPlan: rest"
    analysis = analyze(note, rules)
    assert [s.name for s in analysis.sections] == ["subjective", "plan"]
    assert [s.text for s in analysis.sentences] == ["cough.", "Seen by Dr. Smith.", "PMH: asthma", "rest"]


def test_context_rules_from_json(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.json",
        {"rules": [{"phrase": "  Negative   FOR ", "category": "negated"}], "section_defaults": {"fh": "family"}},
    )
    rules = ContextRules.from_json(path)
    assert rules.rules == (ContextRule("negative for", Category.NEGATED, Direction.FORWARD),)
    assert dict(rules.section_defaults) == {"fh": Category.FAMILY}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "no 'rules'"),
        ({"rules": {}}, "must be a list"),
        ({"rules": [{"category": "negated"}]}, "phrase"),
        ({"rules": [{"phrase": " ", "category": "negated"}]}, "empty phrase"),
        ({"rules": [{"phrase": "no", "category": "sad"}]}, "'sad'"),
        ({"rules": [{"phrase": "no", "category": "negated", "direction": "up"}]}, "'up'"),
        ({"rules": [{"phrase": "no", "category": "negated"}, {"phrase": "NO", "category": "uncertain"}]}, "repeats"),
        ({"rules": [], "section_defaults": {"x": "sad"}}, "section default"),
        ({"rules": [], "section_defaults": {"x": "terminate"}}, "cannot be"),
        ({"rules": [], "section_defaults": []}, "must be an object"),
    ],
)
def test_bad_context_rules(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        ContextRules.from_json(write(tmp_path / "c.json", data))


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({}, "no 'sections'"),
        ({"sections": {}}, "non-empty object"),
        ({"sections": {"Bad Name": ["x"]}}, "bad section name"),
        ({"sections": {"plan": "plan"}}, "list of non-empty strings"),
        ({"sections": {"plan": ["plan", ""]}}, "list of non-empty strings"),
        ({"sections": {"plan": ["plan"], "assessment": ["PLAN"]}}, "in both"),
    ],
)
def test_bad_text_rules(tmp_path: Path, sections: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        TextRules.from_json(write(tmp_path / "s.json", sections), ABBREVIATIONS_FILE)


def test_bad_abbreviations(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="end_before_capital"):
        TextRules.from_json(SECTIONS_FILE, write(tmp_path / "a.json", {"never_end": []}))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        ContextRules.from_json(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="cannot be read as JSON"):
        ContextRules.from_json(broken)
    with pytest.raises(DataError, match="cannot be read as JSON"):
        TextRules.from_json(broken, ABBREVIATIONS_FILE)
