"""`dire explain`: text and JSON, overlays, exit codes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import typer
from PIL import Image
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner


def test_text_names_rules_and_writes_overlays(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                              tiny_loco: Path, tmp_path: Path) -> None:
    image = tiny_loco / "pushpins" / "test" / "logical_anomalies" / "000.png"
    result = runner.invoke(cli_app, ["explain", str(tiny_run), str(image), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for rule in ("one_per_compartment", "fifteen_pins", "all_separators"):
        assert rule in result.output
    assert "threshold" in result.output and "line " in result.output
    assert (tmp_path / "logical_anomalies_000.png").is_file()


def test_json_format(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path, tiny_loco: Path) -> None:
    images = [str(tiny_loco / "pushpins" / "test" / "good" / name) for name in ("000.png", "001.png")]
    result = runner.invoke(cli_app, ["explain", str(tiny_run), *images, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [item["image"] for item in data] == images
    assert {"rule", "truth", "violated", "line", "source", "evidence"} <= set(data[0]["rules"][0])


def test_unreadable_image_exits_one(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    result = runner.invoke(cli_app, ["explain", str(tiny_run), str(bad)])
    assert result.exit_code == 1
    assert "bad.png" in result.output and "Traceback" not in result.output
    missing = runner.invoke(cli_app, ["explain", str(tiny_run), str(tmp_path / "gone.png")])
    assert missing.exit_code == 1 and "gone.png" in missing.output


def test_missing_run_exits_one(cli_app: typer.Typer, runner: CliRunner, tiny_loco: Path, tmp_path: Path) -> None:
    image = tiny_loco / "pushpins" / "test" / "good" / "000.png"
    result = runner.invoke(cli_app, ["explain", str(tmp_path / "nope"), str(image)])
    assert result.exit_code == 1 and "no such run folder" in result.output


def test_overlays_never_replace_an_input_image(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                               tiny_loco: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("photo.png", "photos_photo.png"):  # the second one is the overlay name of the first
        shutil.copy(tiny_loco / "pushpins" / "test" / "good" / "000.png", photos / name)
    kept = {path: path.read_bytes() for path in photos.iterdir()}
    monkeypatch.chdir(photos)
    result = runner.invoke(cli_app, ["explain", str(tiny_run), "photo.png", "photos_photo.png", "--out", "."])
    assert result.exit_code == 0, result.output
    assert all(path.read_bytes() == data for path, data in kept.items())
    overlays = sorted(set(photos.iterdir()) - set(kept))
    assert [path.name for path in overlays] == ["photos_photo-2.png", "photos_photos_photo.png"]


def test_overlays_replace_only_their_own_files_unless_forced(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                            tiny_loco: Path, tmp_path: Path) -> None:
    image = tiny_loco / "pushpins" / "test" / "good" / "000.png"
    args = ["explain", str(tiny_run), str(image), "--out", str(tmp_path)]
    overlay = tmp_path / "good_000.png"
    overlay.write_bytes(b"my own picture")
    refused = runner.invoke(cli_app, args)
    assert refused.exit_code == 1 and refused.output.count("error:") == 1, refused.output
    assert str(overlay) in refused.output and "--force" in refused.output and "Traceback" not in refused.output
    assert overlay.read_bytes() == b"my own picture"
    assert runner.invoke(cli_app, [*args, "--force"]).exit_code == 0
    assert runner.invoke(cli_app, args).exit_code == 0  # its own overlay: replaced without --force
    with Image.open(overlay) as picture:
        assert picture.info["Software"] == "dire-dsl"


def _resave_weights(change: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        save_file(change(load_file(run / "model.safetensors")), run / "model.safetensors")
    return damage


def _first_conv(tensors: dict[str, torch.Tensor]) -> str:
    return next(name for name, tensor in tensors.items() if tensor.dim() == 4)


def _replace(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda run: (run / name).write_bytes(content)


def _config(**changes: object) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / "config.json").write_text(json.dumps({**json.loads((run / "config.json").read_text()), **changes}))
    return damage


DEEP = b"[" * 100_000


@pytest.mark.parametrize(("damage", "words"), [
    (_resave_weights(lambda t: {k: v.double() if v.is_floating_point() else v for k, v in t.items()}),
     "model.safetensors does not fit the network of the run's rules.rules and config.json: center is float64, "
     "expected float32"),
    (_resave_weights(lambda t: {k: v.to(torch.int8) for k, v in t.items()}), "center is int8, expected float32"),
    (_resave_weights(lambda t: {k: v.bool() for k, v in t.items()}), "center is bool, expected float32"),
    (_resave_weights(lambda t: {k: v for k, v in t.items() if k != _first_conv(t)}),
     "model.safetensors does not fit the network of the run's rules.rules and config.json: missing tensor(s) "
     "model.backbone."),
    (_resave_weights(lambda t: {**t, "extra.weight": torch.zeros(2)}), "unexpected tensor(s) extra.weight"),
    (_resave_weights(lambda t: {k: v.flatten() if k == _first_conv(t) else v for k, v in t.items()}),
     ".weight has shape ["),
    (_resave_weights(lambda t: {k: v * float("nan") if v.is_floating_point() else v for k, v in t.items()}),
     "model.safetensors holds NaN/inf values"),
    (_replace("config.json", b'{"category": "caf\xe9"}'), "config.json is damaged (not UTF-8 text"),
    (_replace("rules.rules", b"category caf\xe9\n"), "rules.rules is damaged (not UTF-8 text"),
    (_replace("rules.sha256", b""), "rules.sha256 is damaged"),
    (_replace("calibration.json", DEEP), "calibration.json is damaged"),
    (_replace("config.json", DEEP), "config.json is damaged"),
    (_replace("dire-run.json", DEEP), "dire-run.json is damaged"),
    (_replace("pseudo_labels.json", DEEP), "pseudo_labels.json is damaged (nested too deeply"),
    (_config(input_height=200_000),
     "config.json is damaged (input_height: input should be less than or equal to 4096)"),
])
def test_a_damaged_run_folder_is_one_error_naming_the_file(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                           tiny_loco: Path, tmp_path: Path,
                                                           damage: Callable[[Path], None], words: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    damage(run)
    result = runner.invoke(cli_app, ["explain", str(run), str(tiny_loco / "pushpins" / "test" / "good" / "000.png")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1, result.output
    message = " ".join(result.output.split())  # the console wraps long lines
    assert words in message and str(run) in message, message
    assert "the rules were changed" not in message  # they were not: the message names the real problem


def test_a_non_finite_score_is_an_error_not_a_normal_verdict(cli_app: typer.Typer, runner: CliRunner,
                                                             tiny_run: Path, tiny_loco: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from dire_dsl.run.scoring import Calibration

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    calibration = json.loads((run / "calibration.json").read_text())
    (run / "calibration.json").write_text(json.dumps({**calibration, "distance_std": 1e-300, "patch_std": 1e-300}))
    monkeypatch.setattr(Calibration, "problems", lambda self, rules: [])  # as if the load-time check missed it
    result = runner.invoke(cli_app, ["explain", str(run), str(tiny_loco / "pushpins" / "test" / "good" / "000.png")])
    assert result.exit_code == 1, result.output
    assert "NORMAL" not in result.output and "Traceback" not in result.output
    assert "scoring gave NaN/inf values" in " ".join(result.output.split())
