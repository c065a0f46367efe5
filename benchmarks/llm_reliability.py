"""Benchmark of the LLM path's bounds against a failing endpoint on 127.0.0.1: the worst wall time
per note against a hanging and a trickling server, and the HTTP requests a batch of 10 notes
makes against a server that answers 500 and one that refuses connections.

Not a test: it prints figures (tests/agent/reasoners/test_llm_http.py checks the behaviour).
It codes the sample notes (assets/samples) on a built index. Run with
`.venv/bin/python benchmarks/llm_reliability.py [--data-dir .coda] [--deadline 10]`; the hanging
and trickling rows take about `deadline` seconds per note.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the fake endpoint under tests/

from agent.coder import open_coder
from agent.reasoners.chat_model import make_chat_model
from agent.reasoners.limits import LlmLimits
from agent.records import CodingOptions
from app.review.intake import list_samples
from index.embeddings import Embedder
from tests.agent.reasoners.llm_server import Endpoint, hang, serve, status, trickle

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".coda")
    parser.add_argument("--deadline", type=float, default=10.0, help="CODA_LLM_TIMEOUT for the run, in seconds")
    parser.add_argument("--notes", type=int, default=3, help="notes timed against the hanging and trickling servers")
    args = parser.parse_args()
    notes = [s.read() for s in list_samples()]
    limits = LlmLimits(deadline=args.deadline)
    options = CodingOptions("inpatient", "llm")
    print(f"deadline {args.deadline:g} s, {limits.max_retries} retries, cool-down {limits.cooldown:g} s")

    embedder = Embedder()  # loaded once, shared by every coder below

    def coder_at(url: str):  # type: ignore[no-untyped-def]
        return open_coder(
            args.data_dir,
            embedder=embedder,
            chat_model=lambda: make_chat_model(url, "bench-model", "k", timeout=limits.deadline),
            llm_limits=limits,
        )

    for name, behaviour in (("hanging", hang), ("trickling", trickle)):
        endpoint = Endpoint([])
        endpoint.behaviours = [behaviour(endpoint)]
        server, url = serve(endpoint)
        # A fresh coder per note: the breaker would otherwise spare the notes after the first.
        walls = []
        for note in notes[: args.notes]:
            coder = coder_at(url)
            started = time.monotonic()
            coder.code(note, options)
            walls.append(time.monotonic() - started)
        endpoint.stop.set()
        server.shutdown()
        server.server_close()
        print(f"{name:<10} worst wall time per note {max(walls):6.2f} s over {len(walls)} notes")

    endpoint = Endpoint([status(500)])
    server, url = serve(endpoint)
    coder = coder_at(url)
    started = time.monotonic()
    for i in range(10):
        coder.code(notes[i % len(notes)], options, note_id=f"n{i}")
    print(f"500        batch of 10 notes: {endpoint.requests} HTTP requests, {time.monotonic() - started:.1f} s")
    server.shutdown()
    server.server_close()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    coder = coder_at(f"http://127.0.0.1:{port}/v1")
    started = time.monotonic()
    for i in range(10):
        coder.code(notes[i % len(notes)], options, note_id=f"n{i}")
    print(f"refused    batch of 10 notes: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
