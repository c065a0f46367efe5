"""Deciding a code: the walk down the Tabular List to the most specific code the text supports,
and the coder's rules that keep one code per finding."""
