"""Benchmark of reading a note: segmentation, assertions and quote search on big and hostile text.

Not a test: it prints figures (the tests check the same inputs give exact offsets). Each
figure is the best of a few runs, in seconds. Run with `make bench-reading` or
`.venv/bin/python benchmarks/reading_benchmark.py`. What it depends on: the processor, and
how busy the machine is (run it alone for figures to compare).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agent.reading.assertion import assertion_of
from agent.reading.quotes import find_quote
from agent.reading.segment import analyze

NOTE = (
    "Patient: Jane Doe, 67 y.o. female, seen by Dr. Smith.\n\n"
    "HISTORY OF PRESENT ILLNESS:\n"
    "Presents with productive cough x 3 days. Temp 38.9 °C. No chest pain. Denies fever but has cough.\n\n"
    "Past Medical History:\n1. Hypertension\n2. Type 2 diabetes mellitus, on metformin 500 mg b.i.d.\n"
    "- CKD stage 3\n\nAssessment and Plan:\nCommunity-acquired pneumonia, possible sepsis.\n"
)

ADVERSARIAL = {
    "1 MB of one word": "a" * 1_000_000,
    "300k one-letter sentences": "a. " * 300_000,
    "1 MB of spaces": " " * 1_000_000 + "x",
    "a header and 1 MB of tabs": "Plan" + " \t" * 500_000,
    "1M line breaks": "\n" * 1_000_000,
    "25k 40-char sentences": ("x" * 39 + ".") * 25_000,
    "300k 'Dr.'": "Dr." * 300_000,
    "500k clause breaks": ",;" * 500_000,
    "a 1 MB list item": "1. " + "2" * 1_000_000 + ".",
}


def best(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rows: list[tuple[str, float]] = []
    note_50k = (NOTE * (50_000 // len(NOTE) + 1))[:50_000]
    analyze(note_50k)  # warm the rule caches
    rows.append(("analyze a 50 KB note", best(lambda: analyze(note_50k), 5)))
    note_5m = NOTE * (5_000_000 // len(NOTE) + 1)
    rows.append(("analyze a 5 MB note", best(lambda: analyze(note_5m), 1)))
    for name, text in ADVERSARIAL.items():
        rows.append((f"analyze {name}", best(lambda text=text: analyze(text), 1)))
    sentence = "No fever, " * 100_000 + "cough"
    rows.append(
        ("assertion in a 1 MB sentence", best(lambda: assertion_of(sentence, len(sentence) - 5, len(sentence))))
    )
    haystack = ("a" * 63 + "\n") * 80_000 + "Chronic\t\tKidney   DISEASE stage 3"
    rows.append(
        ("find a quote at the end of 5 MB", best(lambda: find_quote(haystack, "chronic kidney disease stage 3")))
    )
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:10.1f} ms")


if __name__ == "__main__":
    main()
