"""Tests of agent.learning.profile's storage: profiles are found by name only, kept as JSON and
number arrays, and nothing in a profile folder is ever unpickled."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from agent.learning.profile import MODEL_FILE, PICKLED_MODEL, PROFILE_FILE, VECTORS_FILE, Profile, profile_dir
from agent.learning.retriever import CODES_DIR, MAPS_FILE
from index.errors import DataError

RELEARN = r"re-learn it with: coda learn --data DIR --split train --profile "


class RunsCode:
    """Unpickling this creates `marker`: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def saved(tmp_path, learned) -> Path:
    folder = tmp_path / "release" / "profiles" / "tiny"
    learned.profile.save(folder)
    return folder


def test_save_then_load_gives_the_same_profile_and_scores(saved, learned):
    files = sorted([VECTORS_FILE, PROFILE_FILE, MODEL_FILE, MAPS_FILE, CODES_DIR])
    assert sorted(p.name for p in saved.iterdir()) == files
    before, after = learned.profile, Profile.load(saved)
    assert after.memory == before.memory and after.priors == before.priors and after.form_map == before.form_map
    assert after.cooccur == before.cooccur and after.cooccur["I10"]["E11.22"] == 0.25  # 2 of the 8 notes with I10
    assert (after.name, after.threshold, after.feature_names) == (before.name, before.threshold, before.feature_names)
    assert after.report == json.loads(json.dumps(before.report))
    assert np.array_equal(after.neighbours.vectors, before.neighbours.vectors)
    assert after.neighbours.codes == before.neighbours.codes
    assert after.retriever is not None and before.retriever is not None
    assert np.array_equal(after.retriever.statement_map, before.retriever.statement_map)
    assert np.array_equal(after.retriever.code_map, before.retriever.code_map)
    rows = [dict(zip(before.feature_names, r, strict=True)) for r in learned.training.x.tolist()]
    scores = before.score_rows(rows)
    assert after.score_rows(rows) == scores  # exactly: the same trees, walked the same way
    assert len(set(scores)) > 1 and all(0.0 <= s <= 1.0 for s in scores)


@pytest.mark.parametrize("name", ["tiny", "codiesp-train", "v2.1", "A_b+c"])
def test_profile_dir_takes_a_name(tmp_path, name):
    assert profile_dir(tmp_path, name) == tmp_path / "profiles" / name


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../other", "a/b", "a\\b", "/etc", "/tmp/profile", ".hidden", "a..b", "x\x00", " tiny"]
)
def test_profile_dir_refuses_anything_but_a_name(tmp_path, name):
    with pytest.raises(DataError, match="is not a profile name"):
        profile_dir(tmp_path, name)


def test_a_missing_profile_says_how_to_learn_one(tmp_path):
    with pytest.raises(DataError, match=r"no profile at .*nope; learn one with: coda learn"):
        Profile.load(tmp_path / "nope")


def _write_old_format(folder: Path, marker: Path) -> None:
    """A profile as format 1 wrote it, with a reranker.pkl that runs code when unpickled."""
    folder.mkdir(parents=True)
    meta = {"name": folder.name, "threshold": 0.4, "feature_names": [], "priors": {}, "form_map": {}, "memory": {}}
    (folder / PROFILE_FILE).write_text(json.dumps(meta), encoding="utf-8")
    np.savez_compressed(folder / VECTORS_FILE, vectors=np.zeros((0, 4), np.float32), codes=np.asarray([], str))
    (folder / PICKLED_MODEL).write_bytes(pickle.dumps(RunsCode(marker)))


def test_an_old_pickled_profile_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "ran"
    _write_old_format(tmp_path / "old", marker)
    with pytest.raises(DataError, match=rf"profile old at .*old format.*; {RELEARN}old$"):
        Profile.load(tmp_path / "old")
    assert not marker.exists()


def _pickle_as_reranker(folder: Path, marker: Path) -> None:
    (folder / MODEL_FILE).write_bytes(pickle.dumps(RunsCode(marker)))


def _pickle_as_neighbours(folder: Path, marker: Path) -> None:
    (folder / VECTORS_FILE).write_bytes(pickle.dumps(RunsCode(marker)))


def _object_array_in_npz(folder: Path, marker: Path) -> None:
    codes = np.empty(1, dtype=object)
    codes[0] = RunsCode(marker)
    np.savez(folder / VECTORS_FILE, vectors=np.zeros((1, 4), np.float32), codes=codes)


@pytest.mark.parametrize("plant", [_pickle_as_reranker, _pickle_as_neighbours, _object_array_in_npz])
def test_a_pickle_planted_in_a_profile_is_never_unpickled(saved, tmp_path, plant):
    marker = tmp_path / "ran"
    plant(saved, marker)
    with pytest.raises(DataError, match=rf"profile tiny at .*cannot be loaded .*; {RELEARN}tiny$"):
        Profile.load(saved)
    assert not marker.exists()


def test_a_stray_pickle_beside_a_good_profile_is_ignored(saved, tmp_path):
    marker = tmp_path / "ran"
    (saved / PICKLED_MODEL).write_bytes(pickle.dumps(RunsCode(marker)))
    assert Profile.load(saved).reranker is not None
    assert not marker.exists()


def _npy_as_reranker(folder: Path) -> None:
    with (folder / MODEL_FILE).open("wb") as f:
        np.save(f, np.zeros(3))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit_meta(**changes):
    def edit(folder: Path) -> None:
        meta = json.loads((folder / PROFILE_FILE).read_text(encoding="utf-8"))
        meta.update(changes)
        (folder / PROFILE_FILE).write_text(json.dumps(meta), encoding="utf-8")

    return edit


def _maps(statement_map: np.ndarray, code_map: np.ndarray):
    def write(folder: Path) -> None:
        maps = {"statement_map": statement_map.astype(np.float32), "code_map": code_map.astype(np.float32)}
        save_file(maps, str(folder / MAPS_FILE))

    return write


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda f: _truncate(f / PROFILE_FILE), "Expecting|Unterminated"),
        (lambda f: _truncate(f / MODEL_FILE), "zip|File is not|truncated|EOF|Bad"),
        (lambda f: _truncate(f / VECTORS_FILE), "zip|File is not|truncated|EOF|Bad"),
        (lambda f: (f / MODEL_FILE).unlink(), "No such file"),
        (lambda f: (f / PROFILE_FILE).unlink(), "it has no profile.json"),
        (lambda f: (f / PROFILE_FILE).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"), "utf-8|codec"),
        (lambda f: (f / PROFILE_FILE).write_text("[1, 2]", encoding="utf-8"), "not a Coda profile"),
        (_edit_meta(format="coda-profile/9"), "not a Coda profile"),
        (_edit_meta(threshold="high"), "no valid 'threshold'"),
        (_edit_meta(memory={"fever": [["R50.9", 0.5]]}), "no valid 'memory'"),
        (_edit_meta(feature_names=["a", "b"]), "the reranker has .* features, the profile names 2"),
        (_npy_as_reranker, "not an .npz archive"),
        (lambda f: np.savez(f / VECTORS_FILE, vectors=np.zeros((2, 4))), "lacks codes"),
        (lambda f: _truncate(f / MAPS_FILE), "header|Error|invalid|incomplete"),
        (lambda f: save_file({"statement_map": np.zeros((3, 3), np.float32)}, str(f / MAPS_FILE)), "lacks code_map"),
        (_maps(np.zeros((3, 4)), np.zeros((3, 4))), "no square statement map"),
        (_maps(np.zeros((3, 3)), np.zeros((4, 4))), "maps of different shapes"),
        (lambda f: shutil.rmtree(f / CODES_DIR), "no vector index at"),
    ],
)
def test_a_damaged_or_foreign_profile_is_one_data_error(saved, damage, reason):
    damage(saved)
    with pytest.raises(DataError, match=rf"profile tiny at .*cannot be loaded \(.*({reason}).*\); {RELEARN}tiny$"):
        Profile.load(saved)


def test_a_profile_learned_with_a_server_keeps_its_code_vectors_there(tmp_path, learned, chroma_server):
    from agent.learning.retriever import CODES_REMOTE
    from index.chroma import Remote, collection_name
    from index.errors import IndexUnavailable
    from index.vectors import CodeVectors, write_code_vectors

    stem = collection_name("icd10cm-2026", "profile", "tiny")
    stale = CodeVectors(["A00"], np.ones((1, 384), dtype=np.float32), ["old"], [{}])
    write_code_vectors(Remote(chroma_server, f"{stem}-0000000000000000"), stale, {"profile": "tiny"})
    folder = tmp_path / "release" / "profiles" / "tiny"
    learned.profile.save(folder, chroma_server, "icd10cm-2026")
    assert not (folder / CODES_DIR).exists()
    named = json.loads((folder / CODES_REMOTE).read_text())["collection"]
    assert named == f"{stem}-{learned.profile.retriever.key}"
    assert [n for n in chroma_server.names() if n.startswith(stem)] == [named]  # the earlier one is gone
    loaded = Profile.load(folder, chroma_server)
    before = learned.profile.retriever.search.codes
    assert sorted(loaded.retriever.search.export().ids) == sorted(before.ids)
    asked = before.vectors[:2]
    expected = [[h.code for h in hits] for hits in learned.profile.retriever.search.query_vectors(asked, limit=3)]
    assert [[h.code for h in hits] for hits in loaded.retriever.search.query_vectors(asked, limit=3)] == expected
    with pytest.raises(IndexUnavailable, match="set CODA_CHROMA_URL"):
        Profile.load(folder)
