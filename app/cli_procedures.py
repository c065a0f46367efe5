"""`coda codes show` and `coda codes search` for ICD-10-PCS: a code shown character by character
with the meaning of each, and the codes whose titles hold the words asked for."""

from __future__ import annotations

import json
from dataclasses import asdict

from index.pcs.bundled import SOURCE, PcsBook


def show_pcs(code: str, as_json: bool) -> int:
    book = PcsBook()
    described = book.describe(code)
    if as_json:
        print(json.dumps({**asdict(described), "source": SOURCE}, indent=2))
        return 0
    print(f"{described.code}  {described.title}")
    for axis in described.axes:
        print(f"  {axis.position}  {axis.value}  {axis.name:<15} {axis.meaning}")
    operation = book.root_operation(described.axes[0].value, described.axes[2].value)
    print(f"  {operation.name}: {operation.definition}")
    if operation.examples:
        print(f"  for example: {operation.examples}")
    print(f"  ({SOURCE})")
    return 0


def search_pcs(query: str, limit: int, as_json: bool) -> int:
    hits = PcsBook().search(query, limit)
    if as_json:
        print(json.dumps([{"code": c, "title": t} for c, t in hits], indent=2))
        return 0
    if not hits:
        print(f"no ICD-10-PCS codes found for {query!r}")
    for rank, (code, title) in enumerate(hits, start=1):
        print(f"{rank:>2}. {code}  {title}")
    return 0
