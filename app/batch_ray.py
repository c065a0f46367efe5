"""The Ray engine of `coda batch`: the notes as a Ray Dataset, coded by `map_batches` over a pool of
actors, each of which opens the coder (index, models, profile) once and codes every note it is
given. Ray Data keeps the notes' order, so the records come back in the order of the input, the
same records the local engine gives.

`address` names a running cluster ("ray://host:10001" or "auto"); without one a Ray instance is
started on this machine for the run and stopped after it. The pool is sized to the memory the
cluster has (`app.batch.workers_for_memory`) unless the caller gives a size.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from app.batch import BatchNote, available_memory, coded_record, workers_for_memory
from app.settings import Settings
from index.errors import CodaError

NOTES_PER_CALL = 4  # notes an actor codes per call: small, so progress and memory stay even


class CodingActor:
    """One coder in a Ray actor: opened once, then called with batches of notes."""

    def __init__(self, settings: Settings, setting: str, reasoner: str, profile: str | None) -> None:
        from agent.records import CodingOptions
        from app.cli_coder import open_cli_coder

        self.coder = open_cli_coder(settings, reasoner, profile)
        self.options = CodingOptions(setting, reasoner, profile)  # type: ignore[arg-type]

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        notes = [BatchNote(str(i), str(t)) for i, t in zip(batch["id"], batch["text"], strict=True)]
        return {"index": list(batch["index"]), "record": [json.dumps(coded_record(self._code, n)) for n in notes]}

    def _code(self, note_id: str, text: str) -> dict[str, Any]:
        result: dict[str, Any] = self.coder.code(text, self.options, note_id=note_id).to_json()
        return result


def ray_engine(
    settings: Settings,
    setting: str,
    reasoner: str,
    profile: str | None,
    address: str | None = None,
    workers: int | None = None,
) -> Any:
    """The engine: a function from the notes to their records, in order, coded on Ray."""

    def run(notes: list[BatchNote]) -> Iterator[dict[str, Any]]:
        if not notes:
            return
        try:
            import ray
        except ImportError:
            raise CodaError("--engine ray needs Ray: pip install 'ray[data]' (or use --engine local)") from None
        started = not ray.is_initialized()
        if started:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            ray.init(address=address, **kwargs) if address else ray.init(**kwargs)
        try:
            size = workers or workers_for_memory(
                int(ray.available_resources().get("CPU", 1)),
                int(ray.available_resources().get("memory", 0)) or available_memory(),
            )
            context = ray.data.DataContext.get_current()
            context.execution_options.preserve_order = True
            context.enable_progress_bars = False  # coda batch says its own progress
            logging.getLogger("ray.data").setLevel(logging.WARNING)
            rows = [{"index": i, "id": n.id, "text": n.text or ""} for i, n in enumerate(notes)]
            coded = ray.data.from_items(rows).map_batches(
                CodingActor,
                fn_constructor_kwargs={
                    "settings": settings,
                    "setting": setting,
                    "reasoner": reasoner,
                    "profile": profile,
                },
                batch_size=NOTES_PER_CALL,
                concurrency=min(size, len(notes)),
                num_cpus=1,
            )
            for expected, row in enumerate(coded.iter_rows()):
                if row["index"] != expected:  # Ray Data keeps the order asked for; say so if it ever does not
                    raise CodaError(f"the Ray engine returned note {row['index']} where note {expected} was due")
                yield json.loads(row["record"])
        finally:
            if started:
                ray.shutdown()

    return run
