"""The coding API under load, on this machine: `coda serve` on the built index (its own process on
127.0.0.1 only), a token issued to a benchmark account, then notes posted to /v1/code at
concurrency 1, 4 and 16, a bounded number of calls each: throughput, and p50/p95 latency.

Not a test: it prints figures. Run with
`.venv/bin/python benchmarks/api_load.py --data-dir .coda [--notes FOLDER] [--calls 48]`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODIESP_DEV = ROOT.parent / "shared" / "datasets" / "codiesp" / "dev" / "text_files_en"
LEVELS = (1, 4, 16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, token: str, text: str) -> float:
    request = urllib.request.Request(
        f"{url}/v1/code",
        data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as answer:
        answer.read()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".coda")
    parser.add_argument("--notes", type=Path, default=CODIESP_DEV)
    parser.add_argument("--calls", type=int, default=48, help="calls at each concurrency")
    args = parser.parse_args()
    notes = [p.read_text(encoding="utf-8") for p in sorted(args.notes.glob("*.txt"))][: args.calls]
    if not notes:
        sys.exit(f"no .txt notes in {args.notes}")
    from app.review.accounts import Accounts
    from app.review.store import CaseStore
    from app.review.tokens import ApiTokens
    from index.build import STORE_FILE, find_release
    from index.store import CodeStore

    with tempfile.TemporaryDirectory() as folder:
        # A data folder of its own that shares the built code books: the site's case store is never touched.
        data_dir = Path(folder)
        for system in ("icd10cm", "icd10pcs"):
            if (args.data_dir / system).is_dir():
                (data_dir / system).symlink_to((args.data_dir / system).resolve(), target_is_directory=True)
        book = CodeStore(find_release(data_dir, "icd10cm") / STORE_FILE)
        with CaseStore(data_dir / "cases.sqlite", book) as store:
            Accounts(store).add("bench", "a long benchmark passphrase", "coder")
            token = ApiTokens(store).issue("bench")
        port = free_port()
        env = {
            **os.environ,
            "CODA_DATA_DIR": str(data_dir),
            "CODA_API_CALLS_PER_MINUTE": "100000",
            "HF_HUB_OFFLINE": "1",
        }
        server = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    urllib.request.urlopen(f"{url}/openapi.json", timeout=2).read()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        sys.exit("coda serve did not start")
                    time.sleep(0.5)
            post(url, token, notes[0])  # warm: the first note loads what the coder loads lazily
            print(
                f"{len(notes)} CodiEsp dev notes per level, {os.cpu_count()} cores, server and client on this machine"
            )
            for level in LEVELS:
                started = time.perf_counter()
                with ThreadPoolExecutor(level) as pool:
                    latencies = sorted(pool.map(lambda text: post(url, token, text), notes))
                wall = time.perf_counter() - started
                p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
                print(
                    f"  concurrency {level:>2}: {len(notes) / wall:.2f} notes/s, "
                    f"p50 {statistics.median(latencies):.3f} s, p95 {p95:.3f} s"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
