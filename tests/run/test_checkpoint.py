"""Training state round trips exactly, resumes bit-identically, and loads without pickle."""

from __future__ import annotations

import json
import pickle
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dire_dsl.run.checkpoint import (
    CheckpointError,
    TrainState,
    _decode,
    _encode,
    capture_rng_state,
    load_tensors,
    load_train_state,
    restore_rng_state,
    save_tensors,
    save_train_state,
)


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.BatchNorm1d(16), nn.Linear(16, 2))


def _objects(seed: int) -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    torch.manual_seed(seed)
    model = _model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.8, 0.95), weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    return model, optimizer, scheduler


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: object, steps: range) -> None:
    """Draws from all three global generators, as data loading and augmentation do."""
    model.train()
    for _ in steps:
        x = torch.randn(8, 6) * (1 + random.random()) + float(np.random.rand())
        loss = (model(x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()  # type: ignore[attr-defined]


def forbid_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("loading a checkpoint must never unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)


def test_resume_continues_bit_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(1)
    random.seed(1)
    np.random.seed(1)
    model, optimizer, scheduler = _objects(seed=0)
    _train(model, optimizer, scheduler, range(5))
    save_train_state(tmp_path / "ckpt", TrainState.capture(model, optimizer, scheduler, epoch=1, step=5))
    _train(model, optimizer, scheduler, range(5, 12))
    uninterrupted = {k: v.clone() for k, v in model.state_dict().items()}

    torch.manual_seed(999)  # the resumed process starts from other random states and weights
    random.seed(999)
    np.random.seed(999)
    resumed, resumed_optimizer, resumed_scheduler = _objects(seed=42)
    with monkeypatch.context() as patch:
        forbid_unpickling(patch)
        state = load_train_state(tmp_path / "ckpt")
        state.restore(resumed, resumed_optimizer, resumed_scheduler)
    assert (state.epoch, state.step) == (1, 5)
    _train(resumed, resumed_optimizer, resumed_scheduler, range(state.step, 12))
    for name, tensor in resumed.state_dict().items():
        assert torch.equal(tensor, uninterrupted[name]), name


def test_round_trip_keeps_every_part(tmp_path: Path) -> None:
    model, optimizer, scheduler = _objects(seed=0)
    _train(model, optimizer, scheduler, range(2))
    extra = {"best": 0.5, "history": (1, 2.5), "ema": torch.arange(3.0), "by_id": {3: "x"}, "nan": float("nan")}
    state = TrainState.capture(model, optimizer, scheduler, epoch=3, step=2, extra=extra)
    save_train_state(tmp_path, state)
    loaded = load_train_state(tmp_path)
    assert loaded.model.keys() == state.model.keys()
    assert all(torch.equal(loaded.model[k], state.model[k]) for k in state.model)
    assert loaded.optimizer["param_groups"] == state.optimizer["param_groups"]
    assert loaded.optimizer["param_groups"][0]["betas"] == (0.8, 0.95)
    for pid, slots in state.optimizer["state"].items():
        assert all(torch.equal(loaded.optimizer["state"][pid][k], v) for k, v in slots.items())
    assert loaded.scheduler == state.scheduler
    assert loaded.extra["history"] == (1, 2.5) and loaded.extra["by_id"] == {3: "x"}
    assert torch.equal(loaded.extra["ema"], extra["ema"]) and np.isnan(loaded.extra["nan"])


def test_rng_state_round_trip(tmp_path: Path) -> None:
    random.seed(3)
    np.random.seed(3)
    torch.manual_seed(3)
    np.random.randn()  # leaves a cached gaussian in NumPy's state
    save_train_state(tmp_path, TrainState(model={}, epoch=0, step=0))
    expected = (random.random(), np.random.randn(3).tolist(), torch.rand(3))
    restore_rng_state(load_train_state(tmp_path).rng)
    got = (random.random(), np.random.randn(3).tolist(), torch.rand(3))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])


def test_trainable_only_skips_frozen_weights() -> None:
    model, optimizer, _ = _objects(seed=0)
    model[0].requires_grad_(False)
    state = TrainState.capture(model, optimizer, epoch=0, step=0, trainable_only=True)
    assert not any(k.startswith("0.") for k in state.model) and "3.running_mean" in state.model
    fresh, fresh_optimizer, _ = _objects(seed=0)
    fresh[0].requires_grad_(False)
    state.restore(fresh, fresh_optimizer)
    other = nn.Sequential(nn.Linear(6, 16))
    with pytest.raises(CheckpointError, match="does not fit the model"):
        state.restore(other)


def test_encoding_is_exact_and_refuses_objects() -> None:
    value = {"a.b": torch.ones(2), "a": {"b": torch.zeros(2)}, "t": (1, [2, (3,)]), 7: np.arange(4, dtype=np.uint32)}
    tensors: dict[str, torch.Tensor] = {}
    decoded = _decode(_encode(value, "x", tensors), tensors)
    assert torch.equal(decoded["a.b"], torch.ones(2)) and torch.equal(decoded["a"]["b"], torch.zeros(2))
    assert decoded["t"] == (1, [2, (3,)]) and decoded[7].dtype == np.uint32
    with pytest.raises(TypeError, match="no pickle"):
        _encode({"f": lambda: 0}, "x", {})


def test_tied_and_strided_tensors_are_saved(tmp_path: Path) -> None:
    shared = torch.arange(6.0)
    save_tensors(tmp_path / "t.safetensors", {"a": shared, "b": shared, "c": shared.view(2, 3).t()})
    loaded = load_tensors(tmp_path / "t.safetensors")
    assert torch.equal(loaded["a"], loaded["b"]) and torch.equal(loaded["c"], shared.view(2, 3).t())


def test_damaged_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    save_train_state(tmp_path, TrainState(model={"w": torch.ones(2)}, epoch=0, step=0))
    (tmp_path / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_train_state(tmp_path)
    (tmp_path / "state.json").write_text('{"format": "something else"}')
    with pytest.raises(CheckpointError, match="is not a dire-dsl/checkpoint-1 checkpoint"):
        load_train_state(tmp_path)


def test_capture_rng_state_has_all_generators() -> None:
    assert {"python", "numpy", "torch"} <= set(capture_rng_state())


def _saved(tmp_path: Path) -> Path:
    model, optimizer, scheduler = _objects(seed=0)
    _train(model, optimizer, scheduler, range(2))
    save_train_state(tmp_path, TrainState.capture(model, optimizer, scheduler, epoch=0, step=2))
    return tmp_path


def _edit_state_json(directory: Path, edit: Callable[[dict], object]) -> None:
    path = directory / "state.json"
    tree = json.loads(path.read_text())
    edit(tree)
    path.write_text(json.dumps(tree))  # json writes inf as Infinity, which it reads back


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("epoch", float("inf"), "inf"), ("epoch", -1, "-1"), ("step", -5, "-5"), ("step", "3", "3"), ("step", 2.0, "2.0"),
])
def test_an_impossible_epoch_or_step_is_refused(tmp_path: Path, key: str, value: object, shown: str) -> None:
    _edit_state_json(_saved(tmp_path), lambda tree: tree.update({key: value}))
    with pytest.raises(CheckpointError, match=rf"state\.json: `{key}` is {shown}, not a whole number ≥ 0"):
        load_train_state(tmp_path)


def _deeper_than_the_stack(directory: Path) -> None:
    (directory / "state.json").write_text('{"format": "dire-dsl/checkpoint-1", "extra": ' + "[" * 100_000)


def _deeper_than_a_state_nests(directory: Path) -> None:
    """Parses fine (200 levels), but no state dire writes nests so deep."""
    deep: list = []
    for _ in range(199):
        deep = [deep]
    _edit_state_json(directory, lambda tree: tree.update(extra=deep))


@pytest.mark.parametrize("damage", [_deeper_than_the_stack, _deeper_than_a_state_nests])
def test_a_deeply_nested_state_json_is_refused(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    damage(_saved(tmp_path))
    with pytest.raises(CheckpointError, match=r"state\.json.*nested too deeply"):
        load_train_state(tmp_path)


def _damage_tensor(part: str) -> Callable[[Path], None]:
    """Cut a 2-D tensor of the model (or an Adam moment) to one row."""
    def damage(directory: Path) -> None:
        file = directory / ("model.safetensors" if part == "model" else "state.safetensors")
        tensors = load_tensors(file)
        key = next(k for k, v in tensors.items() if v.dim() == 2 and (part == "model" or k.endswith("exp_avg")))
        tensors[key] = tensors[key][:1].clone()
        save_tensors(file, tensors)
    return damage


@pytest.mark.parametrize(("damage", "words"), [
    (_damage_tensor("model"), r"model\.safetensors does not fit the model: 0\.weight has shape \[1, 6\], "
                              r"expected \[16, 6\]"),
    (_damage_tensor("optimizer"), r"state\.safetensors: optimizer exp_avg of parameter #0 has shape \[1, 6\], "
                                  r"expected \[16, 6\]"),
    (lambda d: _edit_state_json(d, lambda t: t["optimizer"]["param_groups"][0].update(lr="fast")),
     r"state\.json: the optimizer state is damaged \(optimizer\.0\.lr should be a number\)"),
    (lambda d: _edit_state_json(d, lambda t: t.update(optimizer=[1, 2])),
     r"state\.json: the optimizer state is damaged \(not a mapping\)"),
    (lambda d: _edit_state_json(d, lambda t: t["scheduler"].update(gamma=None)),
     r"state\.json: the scheduler state is damaged \(scheduler\.gamma should be a number\)"),
    (lambda d: _edit_state_json(d, lambda t: t.update(rng={"python": [1, 2], "numpy": 5, "torch": 3})),
     r"state\.json: the random-number state is damaged"),
])
def test_state_that_does_not_fit_is_refused_before_training(tmp_path: Path, damage: Callable[[Path], None],
                                                            words: str) -> None:
    damage(_saved(tmp_path))
    model, optimizer, scheduler = _objects(seed=1)
    with pytest.raises(CheckpointError, match=words):
        load_train_state(tmp_path).restore(model, optimizer, scheduler)
