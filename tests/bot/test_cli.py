"""The command line as a user runs it: demo, classify, eval, and clear errors for bad configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo import SEED_LABELLED, SEED_TEST_QUERIES

SEED = Path(__file__).resolve().parents[3] / "shared" / "data" / "seed"


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "SLACK_", "DATABASE_", "ROUTES_"))
    }
    environment |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200", **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(not SEED.is_dir(), reason="../shared/data/seed is not present")
def test_demo_queries_are_the_seed_systems() -> None:
    labelled = [json.loads(line) for line in (SEED / "labelled.jsonl").read_text().splitlines() if line]
    assert [(row["text"], row["label"]) for row in labelled] == SEED_LABELLED
    assert (SEED / "test_queries.txt").read_text().split("\n")[: len(SEED_TEST_QUERIES)] == SEED_TEST_QUERIES


def test_demo_runs_offline_prints_the_tables_and_records_decisions(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Offline mode" in out
    for heading in ("Labelled queries", "Classification report", "Confusion matrix", "Test queries"):
        assert heading in out
    assert "Average confidence" in out and "Escalations" in out and "Average total time" in out
    assert "Recorded 17 decisions" in out


def test_classify_prints_category_confidence_reasoning_source(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "classify", "--json", "I was charged twice for my order")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["category"] == "Refund Request" and payload["source"] == "local"
    assert 0 <= payload["confidence"] <= 1 and payload["reasoning"]


def test_eval_reads_jsonl_with_a_label_map(tmp_path: Path) -> None:
    rows = [
        {"text": "I was charged twice for my order", "label": "billing"},
        {"text": "The app crashes when I open it", "label": "bug"},
    ]
    data = tmp_path / "eval.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    mapping = json.dumps({"billing": "Refund Request", "bug": "Technical Support"})
    result = run_cli(tmp_path, "eval", str(data), "--label-map", mapping, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["count"] == 2 and report["accuracy"] == 1.0
    assert report["labels"][:3] == ["General Question", "Refund Request", "Technical Support"]


def test_a_broken_routes_file_stops_with_file_field_and_fix(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yml"
    routes.write_text("classifier: {model: m, confidence_threshold: 2}\nescalation: {customer_message: hi}\n")
    result = run_cli(tmp_path, "classify", "hello", ROUTES_FILE=str(routes))
    assert result.returncode == 2
    assert str(routes) in result.stderr and "classifier.confidence_threshold" in result.stderr
    assert "categories: required field is missing" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_setting_is_named(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "classify", "hello", PORT="not-a-port")
    assert result.returncode == 2 and "PORT" in result.stderr and "Traceback" not in result.stderr
    result = run_cli(tmp_path, "serve")
    assert result.returncode == 2 and "SLACK_BOT_TOKEN" in result.stderr
