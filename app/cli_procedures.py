"""`coda codes show` and `coda codes search` for ICD-10-PCS: a code shown character by character
with the meaning of each, and the codes whose titles hold the words asked for."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from index.pcs.bundled import SOURCE, PcsBook


def _source(path: Path | None) -> str:
    """Where the tables come from: the built book's manifest, or the bundled tables."""
    if path is None:
        return SOURCE
    manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
    return "; ".join(manifest.get("sources", [])) or str(path)


def show_pcs(path: Path | None, code: str, as_json: bool) -> int:
    book, source = PcsBook(path), _source(path)
    described = book.describe(code)
    if as_json:
        print(json.dumps({**asdict(described), "source": source}, indent=2))
        return 0
    print(f"{described.code}  {described.title}")
    for axis in described.axes:
        print(f"  {axis.position}  {axis.value}  {axis.name:<15} {axis.meaning}")
    operation = book.root_operation(described.axes[0].value, described.axes[2].value)
    print(f"  {operation.name}: {operation.definition}" if operation.definition else f"  {operation.name}")
    if operation.examples:
        print(f"  for example: {operation.examples}")
    print(f"  ({source})")
    return 0


def search_pcs(path: Path | None, query: str, limit: int, as_json: bool) -> int:
    hits = PcsBook(path).search(query, limit)
    if as_json:
        print(json.dumps([{"code": c, "title": t} for c, t in hits], indent=2))
        return 0
    if not hits:
        print(f"no ICD-10-PCS codes found for {query!r}")
    for rank, (code, title) in enumerate(hits, start=1):
        print(f"{rank:>2}. {code}  {title}")
    return 0
