"""`coda eval` and `coda learn`: a coder measured on coded notes (diagnoses or procedures), and a
profile learned from them."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.records import SETTINGS, CodingOptions
from app.cli_coder import open_cli_coder as _open_coder
from app.cli_coder import profile_name as _profile_name
from app.settings import Settings

# The parts of ICD-10-PCS a procedures evaluation reports apart (a code's section is its first character).
SECTION_GROUPS = {
    "medical and surgical, obstetrics (0, 1)": lambda code: code[:1] in ("0", "1"),
    "imaging (B)": lambda code: code[:1] == "B",
    "other ancillary sections": lambda code: code[:1] not in ("0", "1", "B"),
}


@dataclass
class ModelCost:
    """What the LLM cost over an evaluation: calls, tool calls, tokens, seconds, fallbacks."""

    calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    fell_back: int = 0

    def add(self, state: Any) -> None:
        usage = state.get("model_usage")
        if usage is not None:
            self.calls += usage.calls
            self.tool_calls += usage.tool_calls
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens
        self.seconds += state.get("model_seconds") or 0.0
        self.fell_back += state.get("fallback") is not None

    def per_note(self, notes: int) -> dict[str, Any]:
        n = max(notes, 1)
        return {
            "calls": round(self.calls / n, 2),
            "tool_calls": round(self.tool_calls / n, 2),
            "input_tokens": round(self.input_tokens / n),
            "output_tokens": round(self.output_tokens / n),
            "seconds": round(self.seconds / n, 3),
            "fell_back": self.fell_back,
        }


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from agent.learning.corpus import load_split
    from agent.learning.errors import Trace, misses, report
    from agent.learning.metrics import evaluate, restrict

    profile = _profile_name(args, settings)
    procedures = args.kind == "procedures"
    if procedures and args.setting != "inpatient":
        _say("ICD-10-PCS procedures are coded on inpatient cases only: use --setting inpatient")
        return 2
    if procedures and args.report is not None:
        _say("--report covers diagnoses; it is not written for --kind procedures")
        return 2
    notes = load_split(args.data, args.split, limit=args.limit, kind="P" if procedures else "D")
    reasoner = "llm" if args.replay is not None else args.reasoner
    coder = _open_coder(settings, reasoner, profile, args.replay)  # the profile loaded before timing
    cost = ModelCost()
    gold: dict[str, set[str]] = {}
    predicted: dict[str, set[str]] = {}
    latencies: list[float] = []
    gold_total = reached = candidates = 0
    lost = []
    for i, note in enumerate(notes, start=1):
        started = time.perf_counter()
        state = coder.run(note.text, CodingOptions(args.setting, reasoner, profile), note_id=note.id)
        latencies.append((time.perf_counter() - started) * 1000)
        if reasoner == "llm":
            cost.add(state)
            if args.record is not None and state.get("transcript") is not None:
                from agent.reasoners.replay import save_transcript

                args.record.mkdir(parents=True, exist_ok=True)
                save_transcript(state["transcript"], args.record / f"{note.id}.json")
        gold[note.id] = set(note.codes)
        gold_total += len(note.codes)
        if procedures:
            predicted[note.id] = {p.code for p in state.get("procedures", [])}
            read = predicted[note.id] | {r.code for r in state.get("procedure_candidates", []) if r.code}
            candidates += len(read)
            reached += len(note.codes & read)
        else:
            trace = Trace.of(state)
            predicted[note.id] = {s.code for s in trace.codes}
            candidates += len(trace.candidates)
            reached += len(note.codes & trace.finals())
            if args.report is not None:
                lost.extend(misses(trace, note.codes, coder.deps.store))
        if not args.json and i % 50 == 0:
            _say(f"coded {i}/{len(notes)} notes")
    result = evaluate(gold, predicted, latencies, category_length=4 if procedures else 3)
    result.update({"split": args.split, "profile": profile or None, "setting": args.setting, "kind": args.kind})
    result["reasoner"] = reasoner
    if reasoner == "llm":
        result["model"] = cost.per_note(len(notes))
    if procedures:  # apart for the sections whose tables Coda holds in full, imaging, and the rest
        tables = coder.deps.procedure_coder().book.sections()
        result["sections"] = sorted(tables)
        result["by_section"] = {}
        for name, keep in SECTION_GROUPS.items():
            part = evaluate(restrict(gold, keep), restrict(predicted, keep), latencies, category_length=4)
            count = sum(len(c) for c in restrict(gold, keep).values())
            result["by_section"][name] = {"gold": count, "full": part["full"], "category": part["category"]}
    result["candidate_recall"] = round(reached / gold_total, 4) if gold_total else 0.0
    result["candidates_per_note"] = round(candidates / len(notes), 1) if notes else 0.0
    if args.report is not None:
        written = report(lost, gold_total)
        args.report.write_text(json.dumps(written, indent=1), encoding="utf-8")
        result["lost_by_stage"] = written["summary"]["by_stage"]
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{args.split}: {result['notes']} notes, {args.kind}, profile {profile or '(none: zero-shot)'}, {args.setting}"
    )
    for level in ("full", "category"):
        r = result[level]
        name = "first 4" if procedures and level == "category" else level
        print(f"  {name:<9} P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}")
    if procedures:
        for name, part in result["by_section"].items():
            r = part["full"]
            print(f"    {name} ({part['gold']} gold): P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}")
    print(f"  macro-F1  {result['macro_f1']:.3f} (full), {result['macro_f1_category']:.3f} (category)")
    print(
        f"  candidates reach {result['candidate_recall']:.1%} of the gold codes, "
        f"{result['candidates_per_note']} candidates per note"
    )
    lat = result["latency_ms"]
    print(f"  latency   p50 {lat['p50']} ms, p95 {lat['p95']} ms per note")
    if reasoner == "llm":
        m = result["model"]
        print(
            f"  model     {m['calls']} calls, {m['tool_calls']} tool calls, {m['input_tokens']:,} + "
            f"{m['output_tokens']:,} tokens, {m['seconds']} s per note; {m['fell_back']} notes fell back to offline"
        )
    if args.report is not None:
        shares = ", ".join(f"{k} {v}" for k, v in result["lost_by_stage"].items())
        print(f"  missed gold codes by the step that lost them: {shares} (written to {args.report})")
    return 0


def cmd_learn(args: argparse.Namespace, settings: Settings) -> int:
    from agent.learning.corpus import load_split
    from agent.learning.learn import Learner
    from agent.learning.profile import check_name
    from agent.procedures.conventions import PROCEDURES_FILE
    from index.build import build_folder, clear_stale_builds, read_manifest, swap_in

    check_name(args.profile)  # before the long part, not after
    if args.kind == "procedures":
        return _learn_procedures(args, settings)
    notes = load_split(args.data, args.split, limit=args.limit)
    coder = _open_coder(settings)
    learner = Learner(coder.deps.locator, coder.deps.walker, _say)
    profile = learner.learn(args.profile, notes)
    final = coder.profile_path(args.profile)
    clear_stale_builds(final.parent, _say)
    with build_folder(final.parent, final.name) as tmp:
        manifest = read_manifest(coder.release_dir)
        profile.save(tmp, settings.chroma_server(), f"{manifest.get('system', '')}-{manifest.get('release', '')}")
        if (final / PROCEDURES_FILE).is_file():  # what it learned of procedures stays
            shutil.copyfile(final / PROCEDURES_FILE, tmp / PROCEDURES_FILE)
        swap_in(tmp, final)
    print(json.dumps({"profile": args.profile, "path": str(final), "threshold": profile.threshold, **profile.report}))
    return 0


def _learn_procedures(args: argparse.Namespace, settings: Settings) -> int:
    """How the corpus reports procedure codes (`agent.procedures.conventions`), stored beside the
    profile's diagnosis model (a profile may hold either or both)."""
    from agent.learning.corpus import load_split
    from agent.procedures.conventions import learn_conventions

    notes = load_split(args.data, args.split, limit=args.limit, kind="P")
    coder = _open_coder(settings)
    procedures = coder.deps.procedure_coder()
    learned = learn_conventions(procedures, ((n.text, n.codes) for n in notes))
    folder = coder.profile_path(args.profile)
    learned.save(folder)
    stopped = {k: v for k, v in learned.partial.items() if k.startswith("*|")}
    print(json.dumps({"profile": args.profile, "path": str(folder), "kind": "procedures", "partial": stopped}))
    return 0


def add_learning_commands(sub: Any) -> None:
    evaluate = sub.add_parser("eval", help="evaluate on coded notes (DIR/SPLIT/text_files_en, DIR/SPLIT/SPLITD.tsv)")
    evaluate.add_argument("--data", type=Path, required=True)
    evaluate.add_argument("--split", required=True)
    evaluate.add_argument("--profile", help="the name of a learned profile of this release")
    evaluate.add_argument("--limit", type=int)
    evaluate.add_argument("--setting", choices=SETTINGS, default="inpatient")
    evaluate.add_argument(
        "--kind", choices=("diagnoses", "procedures"), default="diagnoses", help="procedures: ICD-10-PCS, SPLITP.tsv"
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument(
        "--reasoner", choices=("offline", "llm"), default="offline", help="llm: the endpoint of CODA_LLM_BASE_URL"
    )
    evaluate.add_argument("--record", type=Path, help="write the LLM agent's transcript of each note to DIR/<id>.json")
    evaluate.add_argument("--replay", type=Path, help="evaluate the LLM agent's recorded transcripts (a folder)")
    evaluate.add_argument(
        "--report", type=Path, help="write each missed gold code, the step that lost it and the note's words (JSON)"
    )
    evaluate.set_defaults(func=cmd_eval)

    learn = sub.add_parser("learn", help="learn a profile for the offline reasoner from coded notes")
    learn.add_argument("--data", type=Path, required=True)
    learn.add_argument("--split", required=True)
    learn.add_argument("--profile", required=True, help="the name to store it under")
    learn.add_argument("--limit", type=int)
    learn.add_argument(
        "--kind",
        choices=("diagnoses", "procedures"),
        default="diagnoses",
        help="procedures: how the corpus reports ICD-10-PCS codes (SPLITP.tsv)",
    )
    learn.set_defaults(func=cmd_learn)
