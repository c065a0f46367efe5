"""Finding candidate codes: code-book terms matched in the note's clauses, the dense index's
neighbours, and what a learned profile remembers."""
