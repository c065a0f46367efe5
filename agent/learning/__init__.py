"""Learning from coded notes and measuring against them: the coded corpus, the learned profile
(stored as JSON and arrays, never pickles), its reranker's trees walked by our own predictor
(`forest.py`), the learner and the evaluation metrics."""
