"""A profile learned once on a tiny coded corpus over the session's mini code book, with the
reranker's out-of-fold training rows (real features) it was learned from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from agent.learning.corpus import CodedNote
from agent.learning.learn import Learner, TrainingSet
from agent.learning.profile import Profile

NOTES = [
    ("Type 2 diabetes with diabetic CKD stage 3. Blood pressure high: HTN.", {"E11.22", "N18.30", "I10"}),
    ("Essential hypertension, well controlled.", {"I10"}),
    ("Known type 2 diabetes mellitus, no complications.", {"E11.9"}),
    ("Fell at home: fracture of the right femoral neck.", {"S72.001A", "I10"}),
    ("Concussion with brief loss of consciousness after a fall.", {"S06.0X1A"}),
    ("No fever. Hypertension.", {"I10"}),
]


@dataclass(frozen=True)
class Learned:
    profile: Profile
    training: TrainingSet
    notes: list[CodedNote]


@pytest.fixture(scope="session")
def learned(mini_coder) -> Learned:
    notes = [CodedNote(f"n{i:02d}", text, frozenset(codes)) for i, (text, codes) in enumerate(NOTES * 2)]
    learner = Learner(mini_coder.deps.locator, mini_coder.deps.walker)
    profile = learner.learn("tiny", notes)
    training = learner.training_set("tiny", notes)
    assert training.x.shape[1] == len(profile.feature_names) and 0 < training.y.sum() < len(training.y)
    assert np.isfinite(training.x).all()
    return Learned(profile, training, notes)
