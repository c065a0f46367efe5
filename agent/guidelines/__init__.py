"""Checking codes against the Official Guidelines: the code references in the Tabular's notes,
the rule tables, and the checks (Excludes1, Code first, Use additional code, billing, claim size)."""
