"""Benchmark of the workbench in a real browser: how long a coder waits after a click.

Not a test: it prints figures. It serves the workbench (`streamlit run app/main.py`, as `coda app`
does) on a data folder of its own that borrows the built code book of `--data-dir`, signs in with
Debian's Chromium through Playwright, codes a sample note, then times, over `--actions` actions each:

- reject: a click on Reject (with a reason typed) to the code list showing the code rejected;
- accept: a click on Accept (on that rejected code) to the code list showing it accepted again;
- search: Enter in the encoder's search box to its results for those words.

and the first page load (sign-in form to the worklist, models loaded). Before each timed click the
coder reads the code or types the search for `--reading` seconds (1 by default; 0 clicks at once,
while the page may still be finishing the previous rerun). Run with
`make bench-workbench` or `.venv/bin/python benchmarks/workbench_latency.py --data-dir .coda`.
What the figures depend on: the processor, how busy the machine is (run it alone), the size of
the note and of its code list, and the code book (the full index, not the tests' mini one).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cli_team import SERVE_OPTIONS  # noqa: E402
from app.review.accounts import Accounts  # noqa: E402
from app.review.store import CaseStore  # noqa: E402
from index.build import STORE_FILE, find_release  # noqa: E402
from index.store import CodeStore  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
READING = [1.0]  # seconds a coder reads a code, or types a search, before the timed click (--reading)
USER, PASSWORD = "bench", "a long passphrase"
SAMPLE = ROOT / "assets" / "samples" / "02-inpatient-chf-exacerbation.txt"
QUERIES = [  # fifty different searches, in coders' words and in code-book words
    "tripped over a rug",
    "fall from standing",
    "high blood pressure",
    "HTN",
    "type 2 diabetes with CKD",
    "E11.22",
    "CHF exacerbation",
    "COPD flare",
    "UTI",
    "hip fracture left",
    "chest pain",
    "shortness of breath",
    "atrial fibrillation",
    "afib on warfarin",
    "long term insulin use",
    "history of stroke",
    "CKD stage 3b",
    "acute kidney injury",
    "sepsis due to pneumonia",
    "community acquired pneumonia",
    "dog bite left hand",
    "motor vehicle collision driver",
    "fell off ladder",
    "slipped on ice",
    "obesity BMI 35",
    "smoker",
    "alcohol dependence",
    "depression",
    "anxiety",
    "hypothyroidism",
    "hyperlipidemia",
    "GERD",
    "osteoarthritis knee",
    "low back pain",
    "migraine",
    "asthma exacerbation",
    "anemia",
    "acute blood loss anemia",
    "DVT right leg",
    "pulmonary embolism",
    "cellulitis of the leg",
    "pressure ulcer sacrum stage 2",
    "dementia",
    "Parkinson",
    "seizure",
    "syncope",
    "hematuria",
    "BPH",
    "N18.30",
    "I50.23",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CODA_")}, "CODA_DATA_DIR": str(data_dir)}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    command += ["--client.toolbarMode", "viewer", *SERVE_OPTIONS]  # as `coda app` serves it
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    raise SystemExit(f"the workbench did not start:\n{log.read_text(errors='replace')}")


def row(page, code: str):
    return page.locator(f".st-key-row_{code.replace('.', '-')}")


def settle(page) -> None:
    """Wait for a rerun to finish: the script no longer running, no element of the page left stale."""
    page.wait_for_function(
        """() => document.querySelector('[data-test-script-state="notRunning"]')
            && !document.querySelector('[data-stale="true"]')"""
    )


def select(page, code: str) -> None:
    key = code.replace(".", "-")
    settle(page)
    page.locator(f".st-key-row_{key} button, .st-key-rej_{key} button").first.click()
    page.locator(".st-key-code_panel h4", has_text=f"{code} · ").wait_for()
    settle(page)


def decide(page, code: str, action: str) -> float:
    """Select `code`, then time a click on Accept or Reject until the code list shows the decision."""
    key = code.replace(".", "-")
    select(page, code)
    if action == "reject":
        page.locator(f".st-key-reject_other_{key} input").fill("benchmark round")
        page.locator(f".st-key-reject_other_{key} input").press("Tab")
        settle(page)
        done = page.locator(f".st-key-rej_{key}")
    else:
        done = row(page, code).get_by_text("accepted", exact=True)
    time.sleep(READING[0])
    return timed(lambda: page.locator(f".st-key-{action} button").click(), done.wait_for)


def search(page, query: str) -> float:
    """Time Enter in the encoder's search box until its results for `query` show."""
    field = page.get_by_label("A term or a code")
    field.fill(query)
    settle(page)
    time.sleep(READING[0])
    shown = page.get_by_text(re.compile(f'(results|No codes found) for "{re.escape(query)}"')).first
    return timed(lambda: field.press("Enter"), shown.wait_for)


def timed(action, done) -> float:
    start = time.perf_counter()
    action()
    done()
    return time.perf_counter() - start


def figures(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"{name:<8} p50 {statistics.median(ordered):.3f} s   p95 {p95:.3f} s   (n={len(ordered)})"


def run(data_dir: Path, actions: int) -> None:
    from playwright.sync_api import sync_playwright

    release = find_release(data_dir, "icd10cm")
    work = Path(tempfile.mkdtemp(prefix="coda-bench-"))
    (work / "icd10cm").mkdir()
    (work / "icd10cm" / release.name).symlink_to(release, target_is_directory=True)
    with CaseStore(work / "cases.sqlite", CodeStore(release / STORE_FILE)) as store:
        Accounts(store).add(USER, PASSWORD, "coder")
        store.create_case(SAMPLE.read_text(encoding="utf-8"), source=f"sample:{SAMPLE.stem}", setting="inpatient")
    port = free_port()
    server = serve(work, port, work / "streamlit.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{port}/?case=C0001")
            page.get_by_label("User name").fill(USER)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            load = timed(
                lambda: page.get_by_role("button", name="Sign in").click(),
                lambda: page.get_by_role("button", name="Code this note").wait_for(),
            )
            page.get_by_role("button", name="Code this note").click()
            page.get_by_text("Coded by the offline reasoner").wait_for()
            codes = [
                k.removeprefix("st-key-row_").replace("-", ".")
                for k in page.locator("[class*='st-key-row_']").evaluate_all(
                    "els => els.map(e => [...e.classList].find(c => c.startsWith('st-key-row_')))"
                )
            ]
            print(f"first load (sign-in to the case, models loaded): {load:.2f} s; {len(codes)} codes suggested")
            accepts: list[float] = []
            rejects: list[float] = []
            for i in range(actions):
                code = codes[i % len(codes)]
                rejects.append(decide(page, code, "reject"))
                accepts.append(decide(page, code, "accept"))  # each round leaves the code accepted
            print(figures("reject", rejects), figures("accept", accepts), sep="\n", flush=True)
            settle(page)
            page.locator("summary", has_text="Add a code").click()
            searches = [search(page, QUERIES[i % len(QUERIES)]) for i in range(actions)]
            browser.close()
        print(figures("search", searches))
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CODA_DATA_DIR", ".coda")))
    parser.add_argument("--actions", type=int, default=50)
    parser.add_argument("--reading", type=float, default=READING[0], help="seconds before each timed click")
    args = parser.parse_args()
    READING[0] = args.reading
    run(args.data_dir.resolve(), args.actions)


if __name__ == "__main__":
    main()
