"""Coda's coding agent: reads a note, finds candidate codes, decides, checks them against the
Official Guidelines and links every code to the words that support it (see `agent.graph`)."""

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"  # the rule tables, read through index.data_files
