"""`coda batch INPUT OUTPUT`: code a backlog of notes, resumably, in this process or on Ray
(`app.batch`, `app.batch_ray`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.records import REASONERS, SETTINGS
from app.settings import Settings

EXIT_ERROR = 2
PROGRESS_EVERY = 25  # notes between two progress lines


def cmd_batch(args: argparse.Namespace, settings: Settings) -> int:
    from agent.learning.profile import profile_dir
    from app.batch import OutputWriter, code_batch, done_keys, local_engine, read_batch, run_identity
    from app.cli_coder import profile_name
    from index.build import find_release
    from index.errors import DataError

    writer = OutputWriter(args.output)  # a bad OUTPUT is refused before anything is read
    notes = read_batch(args.input)
    profile = profile_name(args, settings)
    reasoner = args.reasoner or settings.reasoner
    setting = args.setting or settings.setting
    release_dir = find_release(settings.data_dir, settings.system, settings.release)
    folder = profile_dir(release_dir, profile) if profile else None
    if folder is not None and not folder.is_dir():
        raise DataError(f"no profile {profile!r} in {release_dir / 'profiles'}: see coda learn")
    identity = run_identity(release_dir, folder, setting, reasoner)
    if args.engine == "ray":
        from app.batch_ray import ray_engine

        engine: Any = ray_engine(settings, setting, reasoner, profile, args.address, args.workers)
    else:
        engine = local_engine(_local_coder(settings, setting, reasoner, profile))

    def progress(report: Any, total: int) -> None:
        done = report.coded + report.failed
        if done % PROGRESS_EVERY == 0 or done == total:
            print(f"coded {done}/{total} notes", file=sys.stderr, flush=True)

    report = code_batch(notes, identity, done_keys(args.output), engine, writer, progress)
    print(
        f"{len(notes)} notes: {report.coded} coded, {report.skipped} skipped (coded before with the same "
        f"text, index, profile, setting and reasoner), {report.failed} failed -> {args.output}"
    )
    return EXIT_ERROR if report.failed else 0


def _local_coder(settings: Settings, setting: str, reasoner: str, profile: str | None) -> Any:
    """Code one note in this process; the coder is opened at the first note to code, and only then."""
    from agent.records import CodingOptions
    from app.cli_coder import open_cli_coder

    options = CodingOptions(setting, reasoner, profile)  # type: ignore[arg-type]
    opened: list[Any] = []

    def code_one(note_id: str, text: str) -> dict[str, Any]:
        if not opened:
            opened.append(open_cli_coder(settings, reasoner, profile))
        result: dict[str, Any] = opened[0].code(text, options, note_id=note_id).to_json()
        return result

    return code_one


def add_batch_command(sub: Any) -> None:
    batch = sub.add_parser("batch", help="code a backlog: a folder of .txt notes, a .jsonl or a .parquet file")
    batch.add_argument("input", type=Path, help="a folder of .txt notes, or a .jsonl / .parquet file (id, text)")
    batch.add_argument("output", type=Path, help="a .jsonl or .parquet file; a second run skips what it holds")
    batch.add_argument("--engine", choices=("local", "ray"), default="local")
    batch.add_argument("--address", help="a running Ray cluster (ray://host:10001, or auto); default: start one here")
    batch.add_argument("--workers", type=int, help="Ray actors; default: as many as the cores and memory allow")
    batch.add_argument("--setting", choices=SETTINGS)
    batch.add_argument("--reasoner", choices=REASONERS)
    batch.add_argument("--profile", help="the name of a learned profile of this release (see coda learn)")
    batch.set_defaults(func=cmd_batch)
