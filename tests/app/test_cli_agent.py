"""`coda code` and `coda eval` with the LLM agent against a real HTTP endpoint on 127.0.0.1:
the cost and the trace in the output, each note's transcript recorded, and the recorded runs
replayed with no endpoint at all, giving the same codes and the same figures."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from app.cli import EXIT_ERROR, run
from app.settings import Settings
from tests.agent.reasoners.agent_scenarios import NOTE, SCENARIOS, answers
from tests.agent.reasoners.llm_server import Endpoint, serve


@pytest.fixture
def endpoint() -> Iterator[tuple[Endpoint, str]]:
    scenario = SCENARIOS[0]  # searches "amyloidosis", answers E85.9
    served = Endpoint(answers(scenario))
    server, url = serve(served)
    yield served, url
    served.stop.set()
    server.shutdown()
    server.server_close()


def coda(capsys, settings: Settings, *argv: str) -> tuple[int, str]:
    code = run(list(argv), settings_factory=lambda: settings)
    return code, capsys.readouterr().out


def test_code_records_the_agent_and_replays_it_without_the_endpoint(capsys, guideline_data_dir, endpoint, tmp_path):
    served, url = endpoint
    note = tmp_path / "n1.txt"
    note.write_text(NOTE, encoding="utf-8")
    live = Settings(data_dir=guideline_data_dir, llm_base_url=url, _env_file=None)
    code, out = coda(capsys, live, "code", str(note), "--reasoner", "llm", "--json", "--record", str(tmp_path / "runs"))
    recorded = json.loads(out)
    assert code == 0 and served.requests == 2 and "E85.9" in [c["code"] for c in recorded["codes"]]
    assert recorded["usage"]["calls"] == 2 and recorded["agent_trace"][0].startswith("searched 'amyloidosis'")
    assert (tmp_path / "runs" / "n1.json").is_file()

    offline = Settings(data_dir=guideline_data_dir, _env_file=None)  # no endpoint configured
    code, out = coda(capsys, offline, "code", str(note), "--replay", str(tmp_path / "runs" / "n1.json"), "--json")
    replayed = json.loads(out)
    assert code == 0 and served.requests == 2
    assert replayed["codes"] == recorded["codes"] and replayed["usage"] == recorded["usage"]
    code, out = coda(capsys, offline, "code", str(note), "--replay", str(tmp_path / "runs"))
    assert "agent: searched 'amyloidosis'" in out and "model: 2 calls, 2 tool calls, 1,800 + 120 tokens" in out


def test_eval_reports_the_models_cost_and_replays_the_run(capsys, guideline_data_dir, endpoint, tmp_path):
    served, url = endpoint
    corpus = tmp_path / "corpus"
    (corpus / "dev" / "text_files_en").mkdir(parents=True)
    (corpus / "dev" / "text_files_en" / "n1.txt").write_text(NOTE, encoding="utf-8")
    (corpus / "dev" / "devD.tsv").write_text("n1\te85.9\nn1\te11.22\n", encoding="utf-8")
    live = Settings(data_dir=guideline_data_dir, llm_base_url=url, _env_file=None)
    argv = ["eval", "--data", str(corpus), "--split", "dev", "--json"]
    code, out = coda(capsys, live, *argv, "--reasoner", "llm", "--record", str(tmp_path / "runs"))
    measured = json.loads(out)
    assert code == 0 and measured["reasoner"] == "llm"
    assert measured["model"] == {
        "calls": 2.0,
        "tool_calls": 2.0,
        "input_tokens": 1800,
        "output_tokens": 120,
        "seconds": measured["model"]["seconds"],
        "fell_back": 0,
    }
    offline = Settings(data_dir=guideline_data_dir, _env_file=None)
    code, out = coda(capsys, offline, *argv, "--replay", str(tmp_path / "runs"))
    replayed = json.loads(out)
    assert code == 0 and served.requests == 2
    assert replayed["full"] == measured["full"] and replayed["model"]["calls"] == 2.0


def test_a_replay_of_a_file_that_is_no_transcript_is_one_message(capsys, guideline_data_dir, tmp_path):
    note, bad = tmp_path / "n1.txt", tmp_path / "bad.json"
    note.write_text(NOTE, encoding="utf-8")
    bad.write_text('{"format": "coda-agent-transcript/1", "messages": [{"type": "nonsense"}]}', encoding="utf-8")
    settings = Settings(data_dir=guideline_data_dir, _env_file=None)
    code = run(["code", str(note), "--replay", str(bad)], settings_factory=lambda: settings)
    assert code == EXIT_ERROR
    assert "the transcript's messages cannot be read" in capsys.readouterr().err
