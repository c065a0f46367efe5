"""Procedures: ICD-10-PCS codes built from the note character by character (`build`), from
the words and tables of `lexicon`."""
