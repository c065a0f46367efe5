"""The Imaging section read from CMS code titles (a real excerpt of the FY2024 `icd10pcs_codes`
file): each character's meaning from the title's parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import DataError
from index.pcs.titles import imaging_release, read_titles, titles_path

TITLES = Path(__file__).resolve().parents[1] / "fixtures" / "pcs" / "icd10pcs_codes_2024.txt"


@pytest.fixture(scope="module")
def imaging():
    release = imaging_release(TITLES)
    return {c.code: c for c in release.codes}, release


def meanings(code):
    return [a.meaning for a in code.axes]


def test_only_the_imaging_codes_are_read_each_with_seven_named_axes(imaging):
    codes, release = imaging
    assert len(codes) == 23 and all(c[0] == "B" for c in codes)  # the surgical code of the file is left out
    assert [a.name for a in codes["BW03ZZZ"].axes] == [
        "section",
        "body system",
        "type",
        "body part",
        "contrast",
        "qualifier",
        "qualifier",
    ]
    assert meanings(codes["BW03ZZZ"]) == [
        "Imaging",
        "Anatomical Regions",
        "Plain Radiography",
        "Chest",
        "None",
        "None",
        "None",
    ]
    assert {(o.value, o.name) for o in release.operations} >= {("0", "Plain Radiography"), ("1", "Fluoroscopy")}


def test_contrast_and_qualifiers_come_from_the_title(imaging):
    codes, _ = imaging
    assert meanings(codes["BW2010Z"])[3:] == ["Abdomen", "Low Osmolar Contrast", "Unenhanced and Enhanced", "None"]
    assert meanings(codes["BR00ZZ1"])[3:] == ["Cervical Spine", "None", "None", "Densitometry"]
    # A body part whose name holds a comma keeps it.
    assert meanings(codes["BW25ZZZ"])[3] == "Chest, Abdomen and Pelvis"
    assert meanings(codes["BW2500Z"])[3:6] == [
        "Chest, Abdomen and Pelvis",
        "High Osmolar Contrast",
        "Unenhanced and Enhanced",
    ]
    # Two qualifiers never written apart: each shows the pair's words.
    assert meanings(codes["B210010"])[4:] == ["High Osmolar Contrast", "Laser Intraoperative", "Laser Intraoperative"]
    assert meanings(codes["BT43ZZZ"])[1:4] == ["Urinary System", "Ultrasonography", "Bilateral Kidneys"]


def test_the_package_file_is_the_whole_cms_list():
    titles = read_titles(titles_path())
    assert len(titles) > 78_000 and titles["BW03ZZZ"] == "Plain Radiography of Chest"


def test_a_file_that_is_not_a_code_list_is_one_error(tmp_path):
    bad = tmp_path / "codes.txt"
    bad.write_text("<html>not found</html>\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a list of ICD-10-PCS codes"):
        read_titles(bad)


def test_the_other_ancillary_sections_show_what_their_titles_say(tmp_path):
    from index.pcs.titles import ancillary_release

    titles = tmp_path / "codes.txt"
    titles.write_text(
        "4A02X4Z Measurement of Cardiac Electrical Activity, External Approach\n"
        "4A00X4Z Measurement of Central Nervous Electrical Activity, External Approach\n"
        "4A023N6 Measurement of Cardiac Sampling and Pressure, Right Heart, Percutaneous Approach\n"
        "BW03ZZZ Plain Radiography of Chest\n",
        encoding="utf-8",
    )
    codes = {c.code: c for c in ancillary_release(titles).codes}
    assert sorted(codes) == ["4A00X4Z", "4A023N6", "4A02X4Z"]  # imaging is read apart
    assert [a.meaning for a in codes["4A00X4Z"].axes][:4] == [
        "Measurement and Monitoring",
        "Physiological Systems",
        "Measurement",
        "Central Nervous",
    ]
    assert codes["4A02X4Z"].axes[3].meaning == "Cardiac"
    assert codes["4A023N6"].axes[6].meaning == ""  # no two titles show it: left empty, not guessed
