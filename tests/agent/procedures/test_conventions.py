"""How a corpus reports procedure codes, learned from its gold and applied by a profile."""

from __future__ import annotations

import pytest

from agent.procedures.build import ProcedureCoder
from agent.procedures.conventions import PROCEDURES_FILE, Conventions, learn_conventions
from agent.reading.statements import analyze_note
from index.errors import DataError
from index.pcs.bundled import PcsBook

# This corpus stops at four characters when the note leaves a character undocumented (the
# approach of a cholecystectomy, a hysterectomy, a nephrectomy) and gives full codes otherwise.
TRAIN = [
    ("Laparoscopic appendectomy was performed.", frozenset({"0DTJ4ZZ"})),
    ("Open appendectomy.", frozenset({"0DTJ0ZZ"})),
    ("Laparoscopic cholecystectomy.", frozenset({"0FT44ZZ"})),
    ("Cholecystectomy for gallstones.", frozenset({"0FT4"})),
    ("Hysterectomy.", frozenset({"0UT9"})),
    ("Right nephrectomy.", frozenset({"0TT0"})),
    ("Splenectomy.", frozenset({"07TP"})),
    ("Gastrectomy.", frozenset({"0DT6"})),
    ("Sigmoid colectomy.", frozenset({"K57.32"})),  # no procedure gold sharing the first four: not counted
]


@pytest.fixture(scope="module")
def coder() -> ProcedureCoder:
    return ProcedureCoder(PcsBook())


@pytest.fixture(scope="module")
def learned(coder) -> Conventions:
    return learn_conventions(coder, TRAIN)


def built(coder, note):
    analysis, _ = analyze_note(note)
    return coder.code(note, analysis)[0]


def test_the_counts_are_kept_per_table_and_body_part_and_per_assumed_character(learned):
    assert learned.partial["*|1"] == (5, 5)  # cholecystectomy, hysterectomy, nephrectomy ...: approach assumed
    assert learned.partial["*|0"] == (0, 3)  # the three with every character documented
    assert learned.partial["0FT4|1"] == (1, 1) and learned.partial["0FT4|0"] == (0, 1)
    assert "0DTN|0" not in learned.partial and "0DTN|1" not in learned.partial


def test_a_code_with_an_assumed_character_is_reported_as_its_first_four(coder, learned):
    [cholecystectomy] = built(coder, "Cholecystectomy was done.")
    assert cholecystectomy.code == "0FT40ZZ"  # the builder's code: approach not documented, Open assumed
    reported = learned.report(cholecystectomy)
    assert (reported.code, reported.title) == ("0FT4", "Resection, Gallbladder")
    assert [a.value for a in reported.axes] == ["0", "F", "T", "4"]
    assert reported.reasoning[-1].detail.startswith("reported as its first 4 characters")
    [appendectomy] = built(coder, "Laparoscopic appendectomy.")
    assert learned.report(appendectomy) == appendectomy  # documented: the full code


def test_too_few_examples_leave_the_full_code(coder):
    [cholecystectomy] = built(coder, "Cholecystectomy was done.")
    few = Conventions({"0FT4|1": (4, 4), "0FT|1": (4, 4), "0|1": (4, 4), "*|1": (4, 4)})  # under MIN_SEEN
    assert few.report(cholecystectomy).code == "0FT40ZZ"


def test_saved_and_loaded_as_json(tmp_path, learned):
    learned.save(tmp_path / "p")
    assert Conventions.load(tmp_path / "p") == learned
    assert Conventions.load(tmp_path / "none") is None
    (tmp_path / "p" / PROCEDURES_FILE).write_text('{"format": "coda-procedures/1", "partial": {"*|1": [1]}}')
    with pytest.raises(DataError, match="coda learn --kind procedures"):
        Conventions.load(tmp_path / "p")


def test_a_procedure_the_corpus_rarely_codes_is_left_out_with_a_profile(coder):
    # Built on five notes, in the gold of none: this corpus does not code it.
    notes = [("Fundus examination was normal.", frozenset({"BW03ZZZ"}))] * 5
    learned = learn_conventions(coder, notes)
    [right, left] = built(coder, "Fundus examination was normal.")  # both eyes, none named
    assert (right.code[:4], left.code[:4], learned.coded["08J0"]) == ("08J0", "08J1", (0, 5))
    assert learned.codes(right) == (
        False,
        "the profile's corpus rarely codes it (0 of 5 training notes where it was built)",
    )
    assert learned.codes(built(coder, "Laparoscopic appendectomy.")[0]) == (True, "")  # never built there: kept
