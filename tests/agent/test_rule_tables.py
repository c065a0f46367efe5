"""The coder's rule tables as data: every code they name is an FY2026 ICD-10-CM code (billable
where the rule codes it), every range is well formed."""

from __future__ import annotations

import json

import pytest
import simple_icd_10_cm as icd

from agent import DATA_DIR
from agent.candidates.integral import IntegralSymptoms
from agent.deciding.sequence import SequencingRules
from agent.guidelines.poa import PoaRules


def billable(code: str) -> bool:
    return icd.is_valid_item(code) and icd.is_leaf(code)


def status_codes() -> list[str]:
    raw = json.loads((DATA_DIR / "status_codes.json").read_text(encoding="utf-8"))
    codes = [p["code"] for p in raw["patterns"]]
    codes += [r["code"] for table in ("family", "personal") for r in raw[table]]
    codes += [code for _, _, code in raw["bmi"]["adult"]]
    return codes


def combination_codes() -> list[str]:
    """Each row's code; a code written ".65" follows each of its family's base categories."""
    raw = json.loads((DATA_DIR / "combinations.json").read_text(encoding="utf-8"))
    codes = []
    for family in raw["families"]:
        for row in family["rows"]:
            if row["code"].startswith("."):
                codes += [base[:3] + row["code"] for base in family["base"]]
            else:
                codes.append(row["code"])
    return codes


@pytest.mark.parametrize("code", sorted(set(status_codes())))
def test_every_code_a_status_rule_assigns_is_billable(code):
    assert billable(code), code


@pytest.mark.parametrize("code", sorted(set(combination_codes())))
def test_every_combination_is_a_code_the_walk_can_finish(code):
    # A site's subcategory (M80.05) is completed by the walk from the sentence (side, 7th character).
    assert icd.is_valid_item(code) and (icd.is_leaf(code) or icd.get_children(code)), code


def test_ranges_are_ordered_and_name_real_codes():
    tables = [rule.symptoms + rule.integral_to for rule in IntegralSymptoms.default().rules]
    sequencing = SequencingRules.default()
    tables += [sequencing.after_conditions, sequencing.last]
    for ranges in tables:
        for lo, hi in ranges:
            assert lo <= hi, (lo, hi)
            for end in (lo, hi):
                assert icd.is_valid_item(end) or icd.is_valid_item(end[:3]), end


def poa_rows() -> list[tuple[str, dict]]:
    raw = json.loads((DATA_DIR / "poa.json").read_text(encoding="utf-8"))
    return [(table, row) for table in ("exempt", "chronic") for row in raw[table]]


@pytest.mark.parametrize(("table", "row"), poa_rows(), ids=lambda r: r if isinstance(r, str) else r["from"])
def test_every_poa_row_names_real_codes_in_order(table, row):
    first, last = row["from"], row.get("to", row["from"])
    assert first <= last, row
    for code in (first, last, *row.get("except", ())):
        assert icd.is_valid_item(code), (table, code)
    for code in row.get("except", ()):
        assert code.startswith(first[:3]), (table, code)  # an exception lies inside its row
    assert set(row.get("seventh", ())) <= set("ADGKPQRS"), row


def test_the_poa_tables_load_and_every_row_covers_its_own_first_code():
    rules = PoaRules.default()
    for table in (rules.exempt, rules.chronic):
        for row in table.rows:
            if not row.seventh:
                assert row.covers(row.first), row
