"""Fixtures shared by several test folders: a tiny SynLOCO tree and a tiny trained run.

Built once per test session (per xdist worker): 24 train, 8 validation and 16 test pushpins
images at 96 px, and a run trained for one epoch at 64 px. The run is not meant to be good,
only real: every eval/explain/report/sweep code path runs on it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI (CI=true) draws the same property-test examples every run, so a landing is never decided by
# a lucky or unlucky draw; runs elsewhere keep drawing new ones and find what CI has not tried.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

PACKAGE_RULES = Path(__file__).resolve().parents[1] / "dire_dsl" / "rules"
TINY_DATA = {"n_train": 24, "n_val": 8, "n_test": 16, "size": 96}
TINY_TRAIN = {"epochs": 1, "image_size": 64, "shots": 2, "patch_spread": "cell"}
"""The tiny run takes the default structural spread (pushpins.rules itself sets one for the whole map)."""


@pytest.fixture(scope="session")
def tiny_loco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root folder holding `pushpins/` in the MVTec LOCO layout."""
    from dire_dsl.synth.generate import synthesize

    root = tmp_path_factory.mktemp("tiny_loco")
    synthesize("pushpins", root, seed=1, workers=1, check=False, **TINY_DATA)
    return root


@pytest.fixture(scope="session")
def pushpins_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small pushpins data set (64 px): 4 train, 3 validation, 16 test images."""
    from dire_dsl.synth.generate import synthesize

    out = tmp_path_factory.mktemp("synloco")
    return synthesize("pushpins", out, seed=3, size=64, n_train=4, n_val=3, n_test=16, workers=1)


@pytest.fixture(scope="session")
def tiny_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the pushpins rules (tests that rewrite rules make their own copy)."""
    path = tmp_path_factory.mktemp("tiny_rules") / "pushpins.rules"
    path.write_text((PACKAGE_RULES / "pushpins.rules").read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_loco: Path, tiny_rules: Path) -> Path:
    """A run folder trained for one epoch at 64 px on `tiny_loco`."""
    from dire_dsl.train.api import train

    out = tmp_path_factory.mktemp("tiny_run") / "run"
    train(tiny_rules, tiny_loco, out, overrides=dict(TINY_TRAIN))
    return out


TINY_PROMPT_CLIP = "dire-test-tiny-prompt-clip"
TINY_PROMPT_CLIP_CONFIG = {
    # open_clip's tokenizer emits ids up to 49407, so the text tower keeps CLIP's vocabulary;
    # everything else is tiny
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16, "mlp_ratio": 2},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_clip_name(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Name of a tiny CLIP config (both towers) registered with open_clip: `open_clip:<name>`
    builds it with random weights."""
    import json

    import open_clip

    config = tmp_path_factory.mktemp("prompt_clip") / f"{TINY_PROMPT_CLIP}.json"
    config.write_text(json.dumps(TINY_PROMPT_CLIP_CONFIG))
    open_clip.add_model_config(config)
    return TINY_PROMPT_CLIP


@pytest.fixture(scope="session")
def tiny_clip_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_clip_name: str) -> str:
    """Backbone spec `open_clip:<tiny config>@<local checkpoint file>`: a random-weight CLIP
    (both towers) saved as a file, so it loads through the path a user's pretrained one takes."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    with torch.random.fork_rng():
        torch.manual_seed(7)
        model = open_clip.create_model(tiny_clip_name, pretrained=None)
    path = tmp_path_factory.mktemp("prompt_clip_weights") / "tiny_clip.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return f"open_clip:{tiny_clip_name}@{path}"


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory: pytest.TempPathFactory, tiny_run: Path) -> Path:
    """`tiny_run` exported by `dire export` (the command a user runs) to an ONNX file."""
    from typer.testing import CliRunner

    from dire_dsl.cli.app import app

    out = tmp_path_factory.mktemp("tiny_export") / "model.onnx"
    result = CliRunner().invoke(app, ["export", str(tiny_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
