"""``support-router calibrate``: the accept threshold from a labelled file, as text and as JSON."""

import json
from pathlib import Path

import pytest
from rich.console import Console

from bot.commands import calibration
from bot.commands.calibration import calibrate_file
from bot.settings import Settings
from router.calibrate import AcceptThreshold
from router.datasets import LabelMapping, load_label_mapping
from router.routes_file import load_routes


def _labelled_file(tmp_path: Path) -> Path:
    path = tmp_path / "examples.jsonl"
    rows = [{"text": e, "label": c.name} for c in load_routes().categories for e in c.examples]
    rows.append({"text": "what is the weather on mars", "label": "oos"})  # out of scope: left out
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def _console() -> Console:
    return Console(record=True, width=200, force_terminal=False)


async def test_calibrate_reports_threshold_precision_and_skip_share(tmp_path: Path) -> None:
    console = _console()
    settings = Settings(_env_file=None)
    result = await calibrate_file(settings, _labelled_file(tmp_path), None, 0.98, False, console)
    text = console.export_text()
    assert result.examples == sum(len(c.examples) for c in load_routes().categories)
    # The packaged examples support a threshold (the branch without one is the next test's).
    assert result.threshold is not None and result.precision >= 0.98
    assert f"accept threshold:  {result.threshold:.3f}" in text
    assert "skips Claude:" in text
    assert f"Set classifier.local.accept_threshold: {result.threshold:.3f} in the routes file" in text


async def test_without_a_threshold_keeping_the_precision_it_says_to_leave_it_null(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cross-validation is scripted: no example set small enough for a unit test reliably lacks one.
    none = AcceptThreshold(None, precision=0.0, skip_share=0.0, target_precision=0.98, examples=54)
    monkeypatch.setattr(calibration, "calibrate_accept_threshold", lambda *args, minimum: none)
    console = _console()
    await calibrate_file(Settings(_env_file=None), _labelled_file(tmp_path), None, 0.98, False, console)
    text = " ".join(console.export_text().split())
    assert "No threshold of 0.75 or more (the escalation threshold) keeps that precision" in text
    assert "leave classifier.local.accept_threshold null (every message goes to Claude)" in text
    assert "accept threshold:" not in text and "Set classifier.local.accept_threshold" not in text
    console = _console()
    await calibrate_file(Settings(_env_file=None), _labelled_file(tmp_path), None, 0.98, True, console)
    payload = json.loads(console.export_text())
    assert payload["threshold"] is None and payload["below_escalation_threshold"] is False


async def test_calibrate_json_and_label_map(tmp_path: Path) -> None:
    console = _console()
    path = tmp_path / "mapped.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"text": e, "label": f"x-{c.name}"})
            for c in load_routes().categories
            for e in c.examples
        ),
        encoding="utf-8",
    )
    label_map = {f"x-{c.name}": c.name for c in load_routes().categories}
    await calibrate_file(Settings(_env_file=None), path, LabelMapping(label_map), 0.9, True, console)
    payload = json.loads(console.export_text())
    assert payload["target_precision"] == 0.9
    assert payload["folds"] == 5
    assert payload["labels_not_in_routes"] == []
    assert 0.0 <= payload["skip_share"] <= 1.0


async def test_calibrate_reads_the_columns_a_mapping_file_names(tmp_path: Path) -> None:
    # The form of shared/data/intents/bitext/three_categories.json: the columns come with the mapping.
    routes = load_routes()
    path = tmp_path / "intents.csv"
    lines = ["utterance,intent"] + [f'"{e}",x-{c.name}' for c in routes.categories for e in c.examples]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping_file = tmp_path / "map.json"
    mapping = {f"x-{c.name}": c.name for c in routes.categories}
    mapping_file.write_text(
        json.dumps({"column": "intent", "text_column": "utterance", "mapping": mapping}), encoding="utf-8"
    )
    console = _console()
    result = await calibrate_file(
        Settings(_env_file=None), path, load_label_mapping(mapping_file), 0.9, True, console
    )
    assert result.examples == sum(len(c.examples) for c in routes.categories)
    assert json.loads(console.export_text())["labels_not_in_routes"] == []


@pytest.mark.parametrize(("unfloored", "noted"), [(0.30, True), (0.749, True), (None, False)])
async def test_the_threshold_starts_at_the_escalation_threshold_and_a_lower_one_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unfloored: float | None, noted: bool
) -> None:
    # The default routes escalate under 0.70, and Refund Request under 0.75.
    found = AcceptThreshold(
        0.8, precision=0.99, skip_share=0.8, target_precision=0.98, examples=54, unfloored=unfloored
    )
    floors = []

    def calibrate(*args: object, minimum: float) -> AcceptThreshold:
        floors.append(minimum)
        return found

    monkeypatch.setattr(calibration, "calibrate_accept_threshold", calibrate)
    console = _console()
    await calibrate_file(Settings(_env_file=None), _labelled_file(tmp_path), None, 0.98, False, console)
    text = console.export_text()
    assert floors == [0.75]
    assert ("escalated to a person without Claude being asked" in text) is noted
    assert (f"note: {unfloored or 0:.3f} keeps the precision too" in text) is noted
    assert "accept_threshold: 0.800 in the routes file" in text
    console = _console()
    await calibrate_file(Settings(_env_file=None), _labelled_file(tmp_path), None, 0.98, True, console)
    assert json.loads(console.export_text())["below_escalation_threshold"] is noted


@pytest.mark.parametrize("given", ["1.5", "98", "0", "-0.5", "nan", "abc"])
def test_a_target_precision_outside_0_to_1_is_a_usage_error(
    given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Like every other bad argument: the command's usage and exit code 2, before any file is read.
    from bot.arguments import build_parser

    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["calibrate", "examples.jsonl", f"--target-precision={given}"])
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "usage: support-router calibrate" in said
    assert f"argument --target-precision: expected a number in (0, 1], e.g. 0.98, not '{given}'" in said


def test_a_target_precision_of_1_is_taken() -> None:
    from bot.arguments import build_parser

    args = build_parser().parse_args(["calibrate", "examples.jsonl", "--target-precision", "1"])
    assert args.target_precision == 1.0
