"""`train()` records what it learned from the data in the run, and `load_run()` restores it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from dire_dsl.data.loco import load_split
from dire_dsl.run import appearance
from dire_dsl.run.folder import RunDir, RunDirError
from dire_dsl.run.trained import load_run
from dire_dsl.vision.instances import PEAK_SEPARATION, RIDGE_REACH


def test_run_records_each_objects_peak_separation_and_loading_restores_it(reference_run: Path) -> None:
    trained = load_run(reference_run)
    separation = trained.config.peak_separation
    assert set(separation) == {"pushpin", "separator"}
    # pins are small and round, separator walls span the box: their sizes differ by far
    assert 0 < separation["pushpin"] < 0.1 * PEAK_SEPARATION < separation["separator"] <= PEAK_SEPARATION
    assert trained.detector.model.peak_separation == separation


def test_run_records_each_objects_ridge_reach_from_its_typical_size(reference_run: Path) -> None:
    trained = load_run(reference_run)
    reach = trained.config.ridge_reach
    assert set(reach) == {"pushpin", "separator"}
    # a ridge reaches RIDGE_REACH typical sizes; the separation is PEAK_SEPARATION largest
    # sizes, and the largest size is at least the typical one
    for name, separation in trained.config.peak_separation.items():
        assert reach[name] / RIDGE_REACH <= separation / PEAK_SEPARATION + 1e-3
    assert trained.detector.model.ridge_reach == reach


def _copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


@pytest.mark.parametrize(("changes", "words"), [
    ({"threshold": float("nan")}, "threshold is nan, not a finite number"),
    ({"distance_std": 0}, "distance_std is 0.*a spread must be positive"),
    ({"rule_mean": [0.0]}, "rule_mean has 1 entries, but the run's rules.rules has 4 rules"),
    ({"rule_std": [0.1, 0.1, 0.1, 0.1, 0.1]}, "rule_std has 5 entries"),
    ({"rule_weight": []}, "rule_weight has 0 entries"),
])
def test_an_edited_calibration_is_one_clear_error(tiny_run: Path, tmp_path: Path, changes: dict[str, object],
                                                  words: str) -> None:
    run = _copy_run(tiny_run, tmp_path)
    path = run / "calibration.json"
    values = json.loads(path.read_text())
    values.update(changes)
    path.write_text(json.dumps(values))  # json writes NaN as NaN, which the reader accepts
    with pytest.raises(RunDirError, match=rf"calibration\.json is damaged: .*{words}.*Restore the file"):
        load_run(run)


def test_rules_edited_after_training_is_one_clear_error(tiny_run: Path, tmp_path: Path) -> None:
    run = _copy_run(tiny_run, tmp_path)
    source = (run / "rules.rules").read_text()
    RunDir(run).write_rules(source + "\nrule at_most_twenty:\n    count(pushpin) <= 20\n")  # hash updated too
    with pytest.raises(RunDirError, match=r"rules\.rules no longer matches the run's weights .*Retrain"):
        load_run(run)


def test_an_untouched_run_still_loads(tiny_run: Path) -> None:
    trained = load_run(tiny_run)
    assert not trained.calibration.problems(len(trained.program.rules))


def test_resume_refuses_settings_other_than_the_runs_own(tiny_run: Path, tiny_loco: Path, tiny_rules: Path,
                                                          tmp_path: Path) -> None:
    from dire_dsl.train.api import RunMismatchError, train

    run = _copy_run(tiny_run, tmp_path)
    weights = (run / "model.safetensors").read_bytes()
    epochs = json.loads((run / "config.json").read_text())["epochs"]
    with pytest.raises(RunMismatchError, match=rf"--resume continues the run with its own settings, but epochs = "
                                               rf"{epochs + 5} \(the run's: {epochs}\)"):
        train(tiny_rules, tiny_loco, run, overrides={"epochs": epochs + 5, "lambda": None}, resume=True)
    assert (run / "model.safetensors").read_bytes() == weights


def test_resume_without_a_checkpoint_says_it_starts_over(tiny_run: Path, tiny_loco: Path, tiny_rules: Path,
                                                         tmp_path: Path) -> None:
    from dire_dsl.train.api import train

    run = _copy_run(tiny_run, tmp_path)
    shutil.rmtree(run / "checkpoints")
    with pytest.warns(UserWarning, match="holds no checkpoint; training starts from the first step"):
        train(tiny_rules, tiny_loco, run, resume=True)
    assert (run / "model.safetensors").is_file()


def test_calibration_reads_validation_normals_only(reference_run: Path, tiny_loco: Path, tmp_path: Path) -> None:
    """Every score statistic and the threshold come from the validation normals: a data tree whose
    test images are all replaced (and one left out) trains to the same calibration.json."""
    import numpy as np
    from PIL import Image

    from dire_dsl.train.api import train
    from tests.train.helpers import PINS_RULES, run_calibration

    root = tmp_path / "data"
    shutil.copytree(tiny_loco, root)
    tests = sorted((root / "pushpins" / "test").rglob("*.png"))
    rng = np.random.default_rng(0)
    for path in tests[1:]:
        with Image.open(path) as image:
            size = image.size
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    tests[0].unlink()
    out = tmp_path / "run"
    train(PINS_RULES, root, out)
    assert run_calibration(out) == run_calibration(reference_run)
    calibration = run_calibration(out)
    assert calibration["n_validation"] == len(list((root / "pushpins" / "validation" / "good").glob("*.png")))


def test_structural_settings_patch_memory_spread_position_and_colour(tiny_run: Path, tiny_loco: Path,
                                                                     tiny_rules: Path, tmp_path: Path) -> None:
    """`patch_memory` is how many normal patches the run keeps (its speed/coverage trade);
    `patch_spread = "cell"` (the default) keeps each map cell's normal mean and spread, "image"
    none; `patch_position` joins each patch's place to its memory row and `patch_colour =
    "balanced"` takes the windows from colour-balanced images, and the saved run scores as
    trained; a run saved before cell statistics existed still loads, and scores as one spread;
    one saved before `patch_position` or `patch_colour` compares raw windows anywhere;
    `part_appearance = "on"` keeps a per-part memory and its statistics, "off" (the default) neither."""
    from safetensors.torch import load_file, save_file

    from dire_dsl.train.api import train

    default = load_run(tiny_run)
    images = torch.from_numpy(np.stack(load_split(tiny_loco, "pushpins", "validation",
                                                  default.config.input_hw())[1][:2])).permute(0, 3, 1, 2) / 255
    assert default.config.patch_memory == 8192 and default.detector.memory.shape[0] > 48
    assert default.config.patch_spread == "cell"
    assert default.detector.patch_cells.shape == (2, *default.score_batch(images).patch.shape[-2:])
    assert default.config.patch_position == 0
    assert default.config.patch_colour == "balanced"  # pushpins.rules asks for it; the setting's default is raw
    assert default.config.part_appearance == "off"
    assert default.detector.part_memory.shape[0] == 0 and default.calibration.part_mean == []

    small = train(tiny_rules, tiny_loco, tmp_path / "run",
                  overrides={"patch_memory": 48, "patch_spread": "image", "patch_position": 2.0,
                             "patch_colour": "raw", "part_appearance": "on"})
    assert small.config.patch_memory == 48 and small.detector.patch_cells.numel() == 0
    reloaded = load_run(tmp_path / "run")
    assert (reloaded.detector.patch_colour, default.detector.patch_colour) == ("raw", "balanced")
    objects = len(reloaded.detector.model.layout.objects)
    assert reloaded.detector.part_memory.shape[0] > 0 and len(reloaded.calibration.part_mean) == objects
    raw_rows = appearance.pixel_descriptors(images).flatten(0, 2)
    balanced_rows = appearance.pixel_descriptors(appearance.balance_colour(images)).flatten(0, 2)
    for run, nearer, farther in ((default, balanced_rows, raw_rows), (reloaded, raw_rows, balanced_rows)):
        weight = run.config.patch_position
        placed = [appearance.with_position(rows[None, None], weight)[0, 0] for rows in (nearer, farther)]
        distances = [appearance.nearest_distance(rows, run.detector.memory).mean() for rows in placed]
        assert distances[0] < distances[1]  # each memory holds the windows its run's setting asks for
    assert reloaded.detector.memory.shape == (48, default.detector.memory.shape[1] + 2)
    before = reloaded.score_batch(images).patch
    torch.testing.assert_close(before, small.score_batch(images).patch)

    weights = tmp_path / "run" / "model.safetensors"
    tensors = load_file(weights)
    del tensors["patch_cells"]  # as a run trained before the setting existed holds it
    save_file(tensors, weights)
    older = load_run(tmp_path / "run")
    assert older.detector.patch_cells.numel() == 0
    torch.testing.assert_close(older.score_batch(images).patch, before)

    unplaced = _copy_run(tiny_run, tmp_path / "unplaced")
    config = json.loads((unplaced / "config.json").read_text())
    del config["patch_position"], config["patch_colour"]  # a run trained before: raw windows, anywhere
    (unplaced / "config.json").write_text(json.dumps(config))
    explicit = _copy_run(tiny_run, tmp_path / "explicit")
    (explicit / "config.json").write_text(json.dumps({**config, "patch_position": 0.0, "patch_colour": "raw"}))
    assert load_run(unplaced).detector.patch_colour == "raw"
    torch.testing.assert_close(load_run(unplaced).score_batch(images).patch,
                               load_run(explicit).score_batch(images).patch)
