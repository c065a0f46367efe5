"""Light plural stemming shared by the encoder's search and the agent's matcher.

Not Porter: only plural endings go ("fractures" -> "fracture"), so code-book words and
note words meet without the over-stemming that joins unrelated terms.
"""

from __future__ import annotations

# Singular words that end like plurals: "diabetes", "herpes", "pubes", "abscess", "virus", "pelvis".
_SINGULAR_ENDINGS = ("ss", "us", "is", "tes", "pes", "bes")


def light_stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(_SINGULAR_ENDINGS):
        return word[:-1]
    return word
