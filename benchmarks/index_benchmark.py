"""Benchmark of the full ICD-10-CM default index: build time, store size, search latency.

Not a test: it prints figures. Run with `make bench` or
`.venv/bin/python benchmarks/index_benchmark.py [--data-dir DIR] [--rebuild]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from index.build import build_index
from index.embeddings import Embedder
from index.loaders.packages import SimpleIcd10CmLoader
from index.search import CodeSearch

QUERIES = [
    "high blood pressure",
    "type 2 diabetes with diabetic chronic kidney disease",
    "HTN",
    "acute on chronic systolic heart failure",
    "COPD with acute exacerbation",
    "community acquired pneumonia",
    "closed fracture of right femoral neck",
    "E11.22",
    "urinary tract infection",
    "major depressive disorder recurrent severe",
    "atrial fibrillation",
    "sepsis due to e coli",
    "chest pain",
    "I50",
    "alcohol dependence with withdrawal",
    "morbid obesity bmi 42",
    "chronic kidney disease stage 3a",
    "hyperlipidemia",
    "s72.001a",
    "migraine without aura",
]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="build here (default: a temporary folder)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if the release exists")
    parser.add_argument("--rounds", type=int, default=10, help="times each query is run")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="coda-bench-"))

    started = time.perf_counter()
    result = build_index(SimpleIcd10CmLoader(), data_dir, Embedder, force=args.rebuild, say=lambda m: None)
    build_seconds = time.perf_counter() - started
    counts = result.manifest["counts"]
    print(f"release            : {result.manifest['system']} {result.manifest['release']} at {result.path}")
    built = "built now" if result.built else f"kept; built in {result.manifest['build_seconds']} s"
    print(f"build time         : {build_seconds:.1f} s ({built}) on {os.cpu_count()} cores")
    print(f"records            : {counts}")
    print(f"store size         : {folder_size(result.path) / 1e6:.1f} MB")

    started = time.perf_counter()
    search = CodeSearch.open(data_dir, "icd10cm", Embedder())
    print(f"open + model load  : {time.perf_counter() - started:.2f} s")
    for q in QUERIES:  # warm caches once
        search.search(q)
    timings: list[float] = []
    for _ in range(args.rounds):
        for q in QUERIES:
            t = time.perf_counter()
            search.search(q, limit=10)
            timings.append((time.perf_counter() - t) * 1000)
    print(
        f"search latency     : p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms "
        f"over {len(timings)} searches of {len(QUERIES)} queries"
    )
    print(f"peak memory (RSS)  : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
