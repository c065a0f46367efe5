"""New notes: the shipped sample notes and uploaded files, read as a note on disk is read."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from app.review.intake import (
    SAMPLES_DIR,
    Sample,
    UploadedNote,
    list_samples,
    note_from_upload,
    notes_from_uploads,
    upload_title,
)
from index.errors import NoteError


def test_the_shipped_samples_are_listed_with_their_titles_and_settings():
    samples = list_samples()
    assert [(s.name[:2], s.setting) for s in samples] == [
        ("01", "outpatient"),
        ("02", "inpatient"),
        ("03", "inpatient"),
        ("04", "inpatient"),
        ("05", "inpatient"),
        ("06", "outpatient"),
        ("07", "outpatient"),
        ("08", "outpatient"),
    ]
    assert samples[0] == Sample(
        "01-outpatient-diabetes-ckd-followup",
        "Outpatient visit: diabetes and kidney follow-up",
        "outpatient",
        SAMPLES_DIR / "01-outpatient-diabetes-ckd-followup.txt",
    )
    assert samples[0].read().startswith("Outpatient visit: diabetes and kidney follow-up\n")
    assert (SAMPLES_DIR / "README.md").read_text(encoding="utf-8").count("synthetic") >= 1


def test_samples_that_are_not_notes_are_left_out(tmp_path):
    (tmp_path / "b-inpatient-x.txt").write_text("\n  Discharge summary  \nbody\n", encoding="utf-8")
    (tmp_path / "a-empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "c.md").write_text("not a note", encoding="utf-8")
    assert list_samples(tmp_path) == [
        Sample("b-inpatient-x", "Discharge summary", "inpatient", tmp_path / "b-inpatient-x.txt")
    ]
    assert list_samples(tmp_path / "missing") == []


def test_an_upload_is_decoded_like_a_note_on_disk_and_kept_exactly():
    assert note_from_upload("a.txt", b"HTN.\r\nCKD 3.\r\n") == "HTN.\r\nCKD 3.\r\n"
    assert note_from_upload("bom.txt", codecs.BOM_UTF8 + "Fièvre.".encode()) == "Fièvre."
    assert note_from_upload("utf16.txt", "Fièvre.".encode("utf-16")) == "Fièvre."
    assert note_from_upload("cp1252.txt", "Patient’s BP 150/90.".encode("cp1252")) == "Patient’s BP 150/90."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"  \n\t\n", "note empty.txt is empty"),
        (b"\x00\x01\x02 binary", "note empty.txt looks binary (contains NUL bytes), not like text"),
        (b"x" * 11, "note empty.txt is too large: 11 bytes, over the limit of 10 bytes"),
    ],
)
def test_a_bad_upload_is_refused_with_its_own_name(data, message):
    with pytest.raises(NoteError) as err:
        note_from_upload("folder/empty.txt", data, max_bytes=10)
    assert str(err.value) == message


def test_a_bad_upload_does_not_stop_the_others():
    got = notes_from_uploads([("a.txt", b"HTN."), ("b.txt", b""), ("c.txt", b"CKD 3.")])
    assert got == [
        UploadedNote("a.txt", "HTN."),
        UploadedNote("b.txt", None, "note b.txt is empty"),
        UploadedNote("c.txt", "CKD 3."),
    ]


def test_upload_title():
    assert upload_title("discharge_summary-03.txt") == "discharge summary 03"
    assert upload_title("dir/visit.TXT") == "visit"


def test_samples_dir_is_in_assets():
    assert Path(__file__).resolve().parents[3] / "assets" / "samples" == SAMPLES_DIR
