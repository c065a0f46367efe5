"""Tests of app.inputs: every path given to `coda code` is judged on its own, with its reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.inputs import NoteInput, note_inputs


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """A folder with two notes and every kind of entry that is not one."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "b.txt").write_text("HTN.", encoding="utf-8")
    (folder / "a.txt").write_text("Fever.", encoding="utf-8")
    (folder / "readme.md").write_text("not a note", encoding="utf-8")  # not *.txt: not an input
    (folder / ".hidden.txt").write_text("an editor's copy", encoding="utf-8")  # hidden: left out
    (folder / "dir.txt").mkdir()
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "ping.txt").symlink_to(folder / "pong.txt")
    (folder / "pong.txt").symlink_to(folder / "ping.txt")
    (folder / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (folder / "same.txt").symlink_to(folder / "a.txt")  # a.txt again: one input
    os.mkfifo(folder / "pipe.txt")
    return folder


def test_a_folder_gives_its_notes_and_a_reason_for_each_entry_that_is_not_one(notes, tmp_path):
    assert note_inputs([notes]) == [
        NoteInput(notes / "a.txt"),
        NoteInput(notes / "b.txt"),
        NoteInput(notes / "dir.txt", "is a folder, not a note file"),
        NoteInput(notes / "gone.txt", f"is a dangling symlink (its target {tmp_path / 'missing.txt'} does not exist)"),
        NoteInput(notes / "loop.txt", "is a symlink loop"),
        NoteInput(notes / "ping.txt", "is a symlink loop"),
        NoteInput(notes / "pipe.txt", "is not a regular file (a FIFO, socket or device)"),
        NoteInput(notes / "pong.txt", "is a symlink loop"),
    ]


def test_paths_given_are_judged_in_order_and_each_file_counted_once(notes, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    given = [
        notes / "b.txt",
        tmp_path / "nothing.txt",
        notes / "loop.txt",
        notes / "gone.txt",
        empty,
        notes / "a.txt" / "x.txt",
        notes,
    ]
    found = note_inputs(given)
    assert [(i.path.name, i.problem) for i in found[:6]] == [
        ("b.txt", None),
        ("nothing.txt", "does not exist"),
        ("loop.txt", "is a symlink loop"),
        ("gone.txt", f"is a dangling symlink (its target {tmp_path / 'missing.txt'} does not exist)"),
        ("empty", "is a folder with no .txt notes in it"),
        ("x.txt", "cannot be read (Not a directory)"),
    ]
    assert [i.path.name for i in found[6:] if i.problem is None] == ["a.txt"]  # b.txt came first, given
    assert found[1].message == f"{tmp_path / 'nothing.txt'} does not exist"


def test_a_folder_given_by_a_name_like_a_note_is_a_folder(notes):
    assert note_inputs([notes / "dir.txt"]) == [NoteInput(notes / "dir.txt", "is a folder with no .txt notes in it")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and lists whatever the mode bits say")
def test_a_folder_that_cannot_be_listed(notes):
    notes.chmod(0o000)
    try:
        assert note_inputs([notes]) == [NoteInput(notes, "is a folder that cannot be listed (Permission denied)")]
    finally:
        notes.chmod(0o755)
