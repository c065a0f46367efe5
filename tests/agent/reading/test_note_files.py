"""Tests of agent.reading.note_files: notes read from disk exactly as decoded."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from agent.reading.note_files import read_note
from index.errors import NoteError


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- read_note: encodings --------------------------------------------------------------------


def test_utf8_is_returned_exactly(tmp_path: Path) -> None:
    text = "Fiebre y café.\r\nDx: N44.8 — testículo\n"
    note = write_bytes(tmp_path / "n.txt", text.encode("utf-8"))
    assert read_note(note) == text  # "\r\n" kept, nothing normalised


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    note = write_bytes(tmp_path / "n.txt", codecs.BOM_UTF8 + "café\n".encode())
    assert read_note(note) == "café\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, encoding: str) -> None:
    text = "Patient with café-au-lait spots.\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-le":
        data = codecs.BOM_UTF16_LE + data
    elif encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert read_note(write_bytes(tmp_path / "n.txt", data)) == text


def test_cp1252_fallback(tmp_path: Path) -> None:
    note = write_bytes(tmp_path / "n.txt", "café \u201cquoted\u201d\n".encode("cp1252"))
    assert note.read_bytes() == b"caf\xe9 \x93quoted\x94\n"
    assert read_note(note) == "café \u201cquoted\u201d\n"


def test_latin1_fallback_for_bytes_cp1252_leaves_undefined(tmp_path: Path) -> None:
    data = b"na\xefve patient, " * 10 + b"\x81"  # 0x81 is undefined in cp1252
    assert read_note(write_bytes(tmp_path / "n.txt", data)) == "naïve patient, " * 10 + "\x81"


def test_binary_with_nul_is_rejected(tmp_path: Path) -> None:
    note = write_bytes(tmp_path / "n.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(NoteError, match="looks binary"):
        read_note(note)


def test_valid_utf8_with_nul_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(NoteError, match=r"looks binary .*NUL"):
        read_note(write_bytes(tmp_path / "n.txt", b"plain text\x00more text"))


def test_many_control_characters_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(NoteError, match=r"looks binary .*control characters"):
        read_note(write_bytes(tmp_path / "n.txt", b"abc\x01\x02\x03\x04\x05def" * 20))


def test_a_few_control_characters_are_tolerated(tmp_path: Path) -> None:
    text = "Page 1\fPage 2\ttabbed\x07" + "x" * 100
    assert read_note(write_bytes(tmp_path / "n.txt", text.encode())) == text


@pytest.mark.parametrize("data", [b"", b" \r\n\t\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")])
def test_empty_or_whitespace_is_rejected(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(NoteError, match="is empty"):
        read_note(write_bytes(tmp_path / "n.txt", data))


def test_too_large_names_size_and_limit(tmp_path: Path) -> None:
    note = write_bytes(tmp_path / "n.txt", b"x" * 1_500)
    assert read_note(note, max_bytes=1_500) == "x" * 1_500
    with pytest.raises(NoteError, match=r"too large: 1,500 bytes, over the limit of 1,000 bytes"):
        read_note(note, max_bytes=1_000)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(NoteError, match="not found"):
        read_note(tmp_path / "absent.txt")
    with pytest.raises(NoteError, match="not a file"):
        read_note(tmp_path)


def test_bad_max_bytes() -> None:
    with pytest.raises(ValueError):
        read_note(Path("whatever.txt"), max_bytes=0)
