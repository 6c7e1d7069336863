"""`grounding = unsupervised` and `grounding = prompts` train from pseudo-annotations and record
them in the run; without what they need they fail before the run folder is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dire_dsl.grounding.pseudo import GroundingModeError, describe, pick_images
from tests.train.helpers import PINS_RULES

pytestmark = pytest.mark.filterwarnings("ignore:.*random weights", "ignore:grounding = .* found no")

QUICK = {"epochs": 1, "pseudo_labels": 6}


def _record(run: Path) -> dict:
    return json.loads((run / "pseudo_labels.json").read_text(encoding="utf-8"))


def test_unsupervised_run_records_the_pseudo_labelled_images_and_cluster_names(tiny_loco: Path, tmp_path: Path) -> None:
    from dire_dsl.run.trained import load_run
    from dire_dsl.train.api import train

    out = tmp_path / "run"
    phases: list[str] = []
    result = train(PINS_RULES, tiny_loco, out, overrides={"grounding": "unsupervised", "shots": 1, **QUICK},
                   on_phase=phases.append)
    assert phases == ["loading data", "pseudo-grounding up to 6 training images (unsupervised)",
                      "synthesizing 80 training anomalies from the rules", "training",
                      "building the patch memory from 24 training normals", "calibrating on validation normals"]
    record = _record(out)
    assert record == result.pseudo_labels == load_run(out).pseudo_labels
    assert record["grounding"] == "unsupervised" and record["annotated"] == ["000.png"]
    labelled = record["pseudo_labelled"]
    assert len(labelled) == 6 and "000.png" not in labelled
    assert all(set(counts) == {"pushpin", "separator"} for counts in labelled.values())
    assert sum(counts["pushpin"] for counts in labelled.values()) > 0
    clusters = record["clusters"]
    assert clusters["named_by"] == "annotations" and clusters["k"] == len(clusters["names"]) > 2
    named = {row["object"] for row in clusters["names"]}
    assert named == {"pushpin", "separator", "background"}
    assert {row["how"] for row in clusters["names"] if row["object"] != "background"} >= {"matched"}
    assert json.loads((out / "config.json").read_text())["grounding"] == "unsupervised"
    summary = describe(record)  # what `dire train` prints
    assert summary[0] == "grounding = unsupervised: pseudo-annotated 6 training images besides 1 annotated"
    assert summary[1].startswith(f"{clusters['k']} clusters named by the annotations: ") and "pushpin ← " in summary[1]
    assert (out / "model.safetensors").exists() and (out / "calibration.json").exists()


def test_unsupervised_without_annotations_or_clip_fails_before_the_run_folder(tiny_loco: Path, tmp_path: Path) -> None:
    from dire_dsl.train.api import train

    with pytest.raises(GroundingModeError, match=r"cannot name its clusters: `shots` = 0 uses no annotated image.*"
                                                 r"Annotate one training image.*open_clip:ViT-B-16@"):
        train(PINS_RULES, tiny_loco, tmp_path / "run", overrides={"grounding": "unsupervised", "shots": 0, **QUICK})
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("backbone", "problem"), [("conv-small", "`conv-small` is not a CLIP model"),
                                                   ("open_clip:ViT-B-16", "has random weights")])
def test_prompts_without_a_pretrained_clip_fail_before_the_run_folder(tiny_loco: Path, tmp_path: Path, backbone: str,
                                                                      problem: str) -> None:
    from dire_dsl.train.api import train

    with pytest.raises(GroundingModeError, match=rf"grounding = prompts .*pretrained CLIP.*{problem}.*"
                                                 r"--backbone open_clip:ViT-B-16@/path/to/checkpoint.bin"):
        train(PINS_RULES, tiny_loco, tmp_path / "run", overrides={"grounding": "prompts", "backbone": backbone})
    assert not (tmp_path / "run").exists()


def test_prompts_run_on_a_local_clip_checkpoint(tiny_loco: Path, tmp_path: Path, tiny_clip_checkpoint: str) -> None:
    from dire_dsl.train.api import train

    out = tmp_path / "run"
    result = train(PINS_RULES, tiny_loco, out,
                   overrides={"grounding": "prompts", "backbone": tiny_clip_checkpoint, "shots": 0, **QUICK})
    record = _record(out)
    assert record["grounding"] == "prompts" and record["annotated"] == []
    assert record["prompts"] == {"pushpin": ["a colored push pin"], "separator": ["a plastic separator wall"]}
    assert record["background_prompts"] and len(record["pseudo_labelled"]) == 6
    assert result.config.input_hw() == (64, 64)  # the CLIP tower's own input size
    assert (out / "model.safetensors").exists() and (out / "log.jsonl").read_text().strip()


def test_pseudo_labelled_images_are_spread_over_the_training_set() -> None:
    assert pick_images(10, {0}, 3) == [1, 5, 9]
    assert pick_images(4, {1}, 40) == [0, 2, 3]
    assert pick_images(4, set(), 0) == []


def test_the_synthetic_pool_stays_the_size_of_a_few_shot_run() -> None:
    from dire_dsl.run.config import TrainConfig
    from dire_dsl.train.dataset import _pool_sources

    base = {"category": "c", "data_root": "d", "rules_sha256": "0"}
    assert _pool_sources(TrainConfig(**base, shots=12), 12) == 12  # few-shot: as before
    assert _pool_sources(TrainConfig(**base, grounding="unsupervised", shots=1), 41) == 5
    assert _pool_sources(TrainConfig(**base, grounding="prompts", shots=0), 40) == 5
    assert _pool_sources(TrainConfig(**base, grounding="unsupervised", shots=8), 48) == 8
    assert _pool_sources(TrainConfig(**base, grounding="prompts", shots=0), 3) == 3


def test_few_shot_runs_make_no_pseudo_labels(tiny_run: Path) -> None:
    from dire_dsl.run.trained import load_run

    assert not (tiny_run / "pseudo_labels.json").exists()
    assert load_run(tiny_run).pseudo_labels is None


def test_unsupervised_without_annotations_names_clusters_by_prompts_through_clip(tiny_loco: Path,
                                                                                 tiny_clip_checkpoint: str) -> None:
    from dire_dsl.data.loco import load_split
    from dire_dsl.grounding.pseudo import pseudo_annotate
    from dire_dsl.lang.program import load_rules
    from dire_dsl.run.config import settings_for

    program = load_rules(PINS_RULES)
    config = settings_for(program, str(tiny_loco), {"grounding": "unsupervised", "shots": 0, "pseudo_labels": 4,
                                                    "backbone": tiny_clip_checkpoint, "input_height": 64,
                                                    "input_width": 64})
    names, normals = load_split(tiny_loco, "pushpins", "train", (64, 64))
    made = pseudo_annotate(program, config, names, normals, {}, tiny_loco / "pushpins" / "annotations" / "train.json")
    record = made.record
    assert record["annotated"] == [] and len(record["pseudo_labelled"]) == 4 == len(made.components)
    clusters = record["clusters"]
    assert clusters["named_by"] == "prompts" and "stride 8" in clusters["features"]
    assert sum(row["cells"] for row in clusters["names"]) == 4 * 8 * 8  # every patch of every image in one cluster
    assert {row["object"] for row in clusters["names"]} <= {"pushpin", "separator", "background"}
    assert record["prompts"]["pushpin"] == ["a colored push pin"]
    assert record["min_area"] == {"pushpin": 16, "separator": 16}  # a quarter of one 8×8 patch
    for parts in made.components.values():
        assert all(p.mask.shape == (64, 64) and p.mask.sum() >= 16 for p in parts)
