"""ICD-10-PCS, the procedure code system: seven characters, each an axis of the tables."""
