"""`coda batch` on a folder of notes (the CodiEsp dev folder by default) with the local engine and
with the Ray engine on a local Ray instance: notes per second, the peak memory of each coder
(the local process; each Ray actor), whether the two outputs are the same records, and that a
second run skips every note.

Not a test: it prints figures. Run with
`.venv/bin/python benchmarks/batch_throughput.py --data-dir .coda [--notes FOLDER] [--workers N]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODIESP_DEV = ROOT.parent / "shared" / "datasets" / "codiesp" / "dev" / "text_files_en"


def coda(data_dir: Path, *argv: str) -> float:
    """Run `coda` in a process of its own; its wall-clock seconds."""
    env = {**os.environ, "CODA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *argv], env=env, check=False)
    return time.perf_counter() - started


def actor_peak(stop: threading.Event, peaks: dict[int, int]) -> None:
    """The peak resident memory of each Ray actor that codes (process title "ray::CodingActor")."""
    while not stop.is_set():
        for status in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if b"CodingActor" not in status.read_bytes():
                    continue
                pid = int(status.parent.name)
                for line in (status.parent / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]) * 1024)
            except (OSError, ValueError):
                continue
        stop.wait(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".coda")
    parser.add_argument("--notes", type=Path, default=CODIESP_DEV)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    notes = sorted(args.notes.glob("*.txt"))
    if not notes:
        sys.exit(f"no .txt notes in {args.notes}")
    from app.batch import read_output

    with tempfile.TemporaryDirectory() as folder:
        local, ray_out = Path(folder) / "local.jsonl", Path(folder) / "ray.jsonl"
        seconds = coda(args.data_dir, "batch", str(args.notes), str(local))
        local_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        again = coda(args.data_dir, "batch", str(args.notes), str(local))
        stop, peaks = threading.Event(), {}
        watcher = threading.Thread(target=actor_peak, args=(stop, peaks), daemon=True)
        watcher.start()
        ray_seconds = coda(args.data_dir, "batch", str(args.notes), str(ray_out), "--engine", "ray",
                           "--workers", str(args.workers))  # fmt: skip
        stop.set()
        watcher.join()
        same = read_output(local) == read_output(ray_out)
        records = len(read_output(local))
    print(f"{len(notes)} notes ({args.notes}), {os.cpu_count()} cores")
    print(f"  local engine: {seconds:.1f} s, {len(notes) / seconds:.2f} notes/s, peak {local_peak / 1e9:.2f} GB")
    print(f"  second run (every note skipped): {again:.1f} s, {records} records kept")
    actors = ", ".join(f"{p / 1e9:.2f} GB" for p in sorted(peaks.values())) or "none seen"
    print(f"  ray engine, {args.workers} actors: {ray_seconds:.1f} s, {len(notes) / ray_seconds:.2f} notes/s,"
          f" peak per actor {actors}")  # fmt: skip
    print(f"  the two outputs are {'the same records' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
