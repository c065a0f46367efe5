"""Learning from coded notes and measuring against them: the coded corpus, the learned profile,
the learner and the evaluation metrics."""
