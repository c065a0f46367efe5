"""Reading the note: sections, sentences and clauses with exact offsets, the assertion of each
statement (ConText), quotes found back in the note, and text that addresses the software."""
