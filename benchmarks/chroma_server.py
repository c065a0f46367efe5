"""The code index on a Chroma server against the same index in the release's folder: how long
copying a built release's vectors to a server takes, the server's memory holding them, and the
time per note of coding CodiEsp dev notes with each, and whether the codes are the same.

It starts its own `chroma run` on 127.0.0.1 with a temporary folder, and leaves the data folder
as it was (the server's release is a temporary data folder with a link to the code book).

Not a test: it prints figures. Run with
`.venv/bin/python benchmarks/chroma_server.py --data-dir .coda [--notes N]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CODIESP_DEV = ROOT.parent / "shared" / "datasets" / "codiesp" / "dev" / "text_files_en"


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def per_note(coder, texts: list[str]) -> tuple[list[float], list[list[dict]]]:
    seconds, codes = [], []
    for text in texts:
        started = time.perf_counter()
        result = coder.code(text)
        seconds.append(time.perf_counter() - started)
        codes.append([c.to_json() for c in result.codes])
    return seconds, codes


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".coda")
    parser.add_argument("--notes", type=int, default=60, help="CodiEsp dev notes to code with each index")
    args = parser.parse_args()
    from agent.coder import open_coder
    from index.build import COLLECTION_KEY, MANIFEST, STORE_FILE, VECTOR_DIR, find_release, read_manifest
    from index.chroma import ChromaServer, Remote, collection_name
    from index.embeddings import Embedder
    from index.pcs.book import book_path
    from index.vectors import VectorIndex, write_code_vectors
    from tests.chroma import ChromaProcess

    release = find_release(args.data_dir, "icd10cm")
    texts = [p.read_text(encoding="utf-8") for p in sorted(CODIESP_DEV.glob("*.txt"))[: args.notes]]
    if not texts:
        sys.exit(f"no CodiEsp dev notes at {CODIESP_DEV}")
    process = ChromaProcess()
    try:
        server = ChromaServer(process.url)
        manifest = read_manifest(release)
        name = collection_name(manifest["system"], manifest["release"])
        started = time.perf_counter()
        codes = VectorIndex(release / VECTOR_DIR, None).export()
        write_code_vectors(Remote(server, name), codes, {"system": manifest["system"]})
        copied = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as folder:
            remote_release = Path(folder) / release.parent.name / release.name
            remote_release.mkdir(parents=True)
            (remote_release / STORE_FILE).symlink_to(release / STORE_FILE)
            (remote_release / MANIFEST).write_text(json.dumps({**manifest, COLLECTION_KEY: name}), encoding="utf-8")
            embedder = Embedder()
            pcs = book_path(args.data_dir)
            on_folder = open_coder(args.data_dir, embedder=embedder, pcs_book=pcs)
            on_server = open_coder(Path(folder), embedder=embedder, pcs_book=pcs, chroma=server)
            per_note(on_folder, texts[:3])  # warm both before timing
            per_note(on_server, texts[:3])
            folder_seconds, folder_codes = per_note(on_folder, texts)
            server_seconds, server_codes = per_note(on_server, texts)
        pairs = list(zip(folder_codes, server_codes, strict=True))
        same = sum(a == b for a, b in pairs)
        same_codes = sum(
            [(c["code"], c["evidence"]) for c in a] == [(c["code"], c["evidence"]) for c in b] for a, b in pairs
        )
        print(f"{len(codes.ids):,} vectors of {manifest['system']} {manifest['release']}")
        print(f"  copied to the server in {copied:.1f} s; server memory {rss(process.process.pid) / 1e9:.2f} GB")
        print(f"  {len(texts)} CodiEsp dev notes, folder: {summary(folder_seconds)}")
        print(f"  {len(texts)} CodiEsp dev notes, server: {summary(server_seconds)}")
        print(
            f"  the same codes and evidence on {same_codes} of {len(texts)} notes; the same confidences too on {same}"
        )
        print("  (each index is its own approximate nearest-neighbour graph: a dense similarity may differ a little)")
    finally:
        process.stop()


if __name__ == "__main__":
    main()
