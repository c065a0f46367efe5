"""What the LLM agent costs on Coda's side, per note, on CodiEsp dev notes and the full index:
the size of the first request (system and user prompt, with the offline candidates), the time and
reply size of each tool as a model would call it, and a scripted run of the loop (search, explore,
instructions, find_in_note, verify, answer) replayed through the whole graph.

No LLM is reachable here, so the model's own tokens and seconds are not measured: a site measures
them on its endpoint with `coda eval --reasoner llm --record DIR` (and `--replay DIR` afterwards).
Characters per token are about 4 for English text with OpenAI's tokenizers; the figure printed as
"about N tokens" uses that ratio.

Not a test: it prints figures. Run with
`.venv/bin/python benchmarks/agent_tools.py --data-dir .coda [--notes N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CODIESP_DEV = ROOT.parent / "shared" / "datasets" / "codiesp" / "dev" / "text_files_en"
CHARS_PER_TOKEN = 4


def p50_p95(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):,.1f}, p95 {p95:,.1f}"


def script_for(context) -> list[list[tuple[str, dict]]]:
    """The turns a careful model might take on this note: search its first statement, explore and
    read the notes of the top candidate, check a quote, verify the top three, answer them."""
    top = [c for c in context.candidates[:3]]
    first = context.statements[0].text if context.statements else context.note[:60]
    chosen = [{"code": c.code, "quotes": [c.evidence[0].text]} for c in top if c.evidence]
    turns = [[("search_codes", {"query": first[:200]})]]
    if top:
        turns.append([("explore", {"code": top[0].code}), ("instructions", {"code": top[0].code})])
        turns.append([("find_in_note", {"text": top[0].evidence[0].text[:400]})])
    if chosen:
        turns.append([("verify", {"codes": chosen})])
    turns.append([("CodingAnswer", {"codes": chosen, "rejected": []})])
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".coda")
    parser.add_argument("--notes", type=int, default=50)
    args = parser.parse_args()
    from langchain_core.messages import AIMessage

    from agent.coder import open_coder
    from agent.reasoners.base import CodingContext
    from agent.reasoners.prompts import SYSTEM_PROMPT, build_user_prompt
    from agent.reasoners.tool_agent import AGENT_PROMPT
    from agent.records import CodingOptions
    from agent.tools import CodeTools
    from index.search import CodeSearch
    from tests.agent.reasoners.fakes import ScriptedChatModel

    paths = sorted(CODIESP_DEV.glob("*.txt"))[: args.notes]
    if not paths:
        sys.exit(f"no CodiEsp dev notes at {CODIESP_DEV}")
    offline = open_coder(args.data_dir)
    store = offline.deps.store
    search = CodeSearch(store, offline.deps.locator.vectors)
    prompt_chars: list[float] = []
    offline_ms: list[float] = []
    tool_ms: dict[str, list[float]] = {}
    reply_chars: dict[str, list[float]] = {}
    scripts = []
    for path in paths:
        note = path.read_text(encoding="utf-8")
        started = time.perf_counter()
        state = offline.run(note, CodingOptions("inpatient", "offline"))
        offline_ms.append((time.perf_counter() - started) * 1000)
        context = CodingContext(
            path.stem, note, state["analysis"], state["statements"], state["candidates"], "inpatient"
        )
        system = SYSTEM_PROMPT + AGENT_PROMPT.format(steps=12)
        prompt_chars.append(len(system) + len(build_user_prompt(context, store)))
        tools = CodeTools(store, search, context)
        turns = script_for(context)
        for turn in turns:
            for name, arguments in turn:
                if name == "CodingAnswer":
                    continue
                started = time.perf_counter()
                result = tools.call(name, arguments)
                tool_ms.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                reply_chars.setdefault(name, []).append(len(result.text))
        scripts.append((note, turns))

    print(f"{len(paths)} CodiEsp dev notes, inpatient, the full index ({args.data_dir})")
    print(
        f"  first request (system + user prompt with up to 40 candidates): {p50_p95(prompt_chars)} characters, "
        f"about {statistics.median(prompt_chars) / CHARS_PER_TOKEN:,.0f} tokens at p50"
    )
    for name in tool_ms:
        print(f"  {name:<13} {p50_p95(tool_ms[name])} ms; reply {p50_p95(reply_chars[name])} characters")
    print(f"  offline coding of the same notes (for scale): {p50_p95(offline_ms)} ms per note")

    models = []
    for _, turns in scripts:
        script = [
            AIMessage(
                content="",
                tool_calls=[
                    {"name": n, "args": a, "id": f"c{i}_{j}", "type": "tool_call"} for j, (n, a) in enumerate(turn)
                ],
            )
            for i, turn in enumerate(turns)
        ]
        models.append(ScriptedChatModel(script=script))
    given = iter(models)  # one model per note: the coder asks for one at each note
    coder = open_coder(args.data_dir, embedder=offline.deps.locator.embedder, chat_model=lambda: next(given))
    seconds, calls = [], []
    for note, _ in scripts:  # outpatient: the model is asked about diagnoses only
        started = time.perf_counter()
        result = coder.code(note, CodingOptions("outpatient", "llm"))
        seconds.append((time.perf_counter() - started) * 1000)
        calls.append(result.usage.tool_calls if result.usage else 0)
    print(
        f"  a scripted run of {statistics.mean(len(t) for _, t in scripts):.1f} model turns and "
        f"{statistics.mean(calls):.1f} tool calls per note, through the whole graph: {p50_p95(seconds)} ms per note "
        "(the model's own time excluded)"
    )


if __name__ == "__main__":
    main()
