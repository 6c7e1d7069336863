"""Training state on disk without pickle: tensors in safetensors, everything else in JSON.

A checkpoint folder holds ``model.safetensors`` (the model's state dict), ``state.safetensors``
(optimizer, scheduler and RNG tensors) and ``state.json`` (the structure around those tensors,
epoch and step). Loading reads only these two formats, so a checkpoint from elsewhere cannot
run code. Every file is written atomically.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn

from dire_dsl.atomic import atomic_write_bytes, atomic_write_text
from dire_dsl.errors import DireError
from dire_dsl.json_read import parse_json

FORMAT = "dire-dsl/checkpoint-1"
MODEL_FILE = "model.safetensors"
STATE_TENSORS_FILE = "state.safetensors"
STATE_JSON_FILE = "state.json"
MAX_STATE_DEPTH = 64
"""Deepest nesting a state.json may have; what dire writes (optimizer state per parameter, RNG
tuples) stays under 10, and a bound keeps `_decode`'s recursion far from the stack's limit."""


class CheckpointError(DireError):
    """A checkpoint is missing, damaged or does not fit the model it is loaded into."""


def save_tensors(path: str | Path, tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` as one safetensors file, atomically. Tensors sharing memory (tied weights)
    are copied, since safetensors refuses shared storage."""
    seen: set[int] = set()
    ready = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        pointer = tensor.untyped_storage().data_ptr()
        if pointer in seen and tensor.numel():
            tensor = tensor.clone()
        seen.add(tensor.untyped_storage().data_ptr())
        ready[name] = tensor
    atomic_write_bytes(path, safetensors_bytes(ready, metadata=metadata))


def load_tensors(path: str | Path) -> dict[str, Tensor]:
    """All tensors of a safetensors file, on the CPU."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {name: handle.get_tensor(name) for name in handle.keys()}
    except (OSError, SafetensorError) as error:
        raise CheckpointError(f"cannot read {path}: {error}") from error


def read_tensor_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata stored in a safetensors header."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (OSError, SafetensorError) as error:
        raise CheckpointError(f"cannot read {path}: {error}") from error


def capture_rng_state() -> dict[str, Any]:
    """The global Python, NumPy and torch (CPU and CUDA) random states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back the random states taken by :func:`capture_rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@dataclass
class TrainState:
    """Everything a run needs to continue exactly where it stopped.

    ``extra`` takes anything JSON-like plus tensors and tuples (best metric, AMP scaler state...).
    With ``trainable_only`` the model part holds trainable parameters and buffers only: frozen
    pretrained weights are rebuilt from the backbone spec instead of copied into every checkpoint.
    """

    model: dict[str, Tensor]
    epoch: int
    step: int
    optimizer: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    rng: dict[str, Any] = field(default_factory=capture_rng_state)
    extra: dict[str, Any] = field(default_factory=dict)
    trainable_only: bool = False

    @classmethod
    def capture(
        cls,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: Any = None,
        *,
        epoch: int,
        step: int,
        extra: dict[str, Any] | None = None,
        trainable_only: bool = False,
    ) -> TrainState:
        """Take the state now (tensors are referenced, not copied: save before the next step).
        Pass the bare model, not its DDP wrapper, so keys carry no ``module.`` prefix."""
        weights = model.state_dict()
        if trainable_only:
            frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
            weights = {name: t for name, t in weights.items() if name not in frozen}
        return cls(
            model=weights,
            epoch=epoch,
            step=step,
            optimizer=optimizer.state_dict() if optimizer is not None else None,
            scheduler=scheduler.state_dict() if scheduler is not None else None,
            extra=dict(extra or {}),
            trainable_only=trainable_only,
        )

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, scheduler: Any = None) -> None:
        """Load weights, optimizer and scheduler states, then the random states.

        Each part is checked against what it is loaded into first: a damaged part (a reshaped
        tensor, a string where a learning rate was) would otherwise load silently and fail at
        the next training step. Raises CheckpointError naming the file and the part.
        """
        frozen = {name for name, p in model.named_parameters() if not p.requires_grad} if self.trainable_only else ()
        problems = tensor_problems(model.state_dict(), self.model, optional=frozen)
        if problems:
            raise CheckpointError(f"{MODEL_FILE} does not fit the model: {summarize(problems)}")
        model.load_state_dict(self.model, strict=not self.trainable_only)
        for part, target in (("optimizer", optimizer), ("scheduler", scheduler)):
            if target is not None:
                _load_part(part, target, getattr(self, part))
        try:
            restore_rng_state(self.rng)
        except (KeyError, IndexError, TypeError, ValueError, OverflowError, RuntimeError) as error:
            raise CheckpointError(f"{STATE_JSON_FILE}: the random-number state is damaged ({error!r})") from None


def tensor_problems(expected: Mapping[str, Tensor], found: Mapping[str, Tensor], *, optional: Collection[str] = (),
                    any_rows: Collection[str] = ()) -> list[str]:
    """How `found` differs from `expected` in names, dtypes and shapes (empty when it fits).

    `optional` names may be absent (frozen weights); `any_rows` names may have any number of
    rows (a memory bank). Checked before loading, since `load_state_dict` casts dtypes silently
    and its size errors name neither the file nor what to do.
    """
    missing = [name for name in expected if name not in found and name not in optional]
    extra = [name for name in found if name not in expected]
    problems = [f"{label} {', '.join(names[:3])}{', ...' if len(names) > 3 else ''}"
                for label, names in (("missing tensor(s)", missing), ("unexpected tensor(s)", extra)) if names]
    for name, want in expected.items():
        have = found.get(name)
        if have is None:
            continue
        if have.dtype != want.dtype:
            problems.append(f"{name} is {_dtype(have)}, expected {_dtype(want)}")
        rows = name in any_rows
        if have.dim() != want.dim() or have.shape[int(rows):] != want.shape[int(rows):]:
            shape = ["N", *want.shape[1:]] if rows else list(want.shape)
            problems.append(f"{name} has shape {list(have.shape)}, expected {shape}")
    return problems


def summarize(problems: list[str], limit: int = 3) -> str:
    """The first few problems, and how many more: a re-saved file has one per tensor."""
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + more


def _dtype(tensor: Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _check_optimizer_state(saved: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
    """Each saved per-parameter tensor must have its parameter's shape (Adam's moments), and
    the groups' settings must be of the kinds the optimizer has: neither is checked by
    `Optimizer.load_state_dict`."""
    fresh = optimizer.state_dict()
    if not isinstance(saved.get("state"), dict):
        raise CheckpointError(f"{STATE_JSON_FILE}: the optimizer state is damaged (it has no per-parameter state)")
    groups = [{k: v for k, v in group.items() if k != "params"} for group in saved.get("param_groups") or []]
    _check_like("optimizer", groups, [{k: v for k, v in g.items() if k != "params"} for g in fresh["param_groups"]])
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, entry in saved["state"].items():
        if not isinstance(index, int) or not 0 <= index < len(params) or not isinstance(entry, dict):
            raise CheckpointError(f"{STATE_JSON_FILE}: the optimizer state names no parameter #{index!r}")
        for key, value in entry.items():
            if isinstance(value, Tensor) and value.dim() and value.shape != params[index].shape:
                raise CheckpointError(f"{STATE_TENSORS_FILE}: optimizer {key} of parameter #{index} has shape "
                                      f"{list(value.shape)}, expected {list(params[index].shape)}")


def _check_like(part: str, saved: Any, fresh: Any) -> None:
    """Raise CheckpointError unless `saved` has the structure of `fresh`, the state the same
    object has when built for this run: its keys (more may be saved), lengths and kinds of value."""
    problem = _unlike(saved, fresh, part)
    if problem:
        raise CheckpointError(f"{STATE_JSON_FILE}: the {part} state is damaged ({problem})")


def _unlike(saved: Any, fresh: Any, where: str) -> str | None:
    """Where `saved` first differs in kind from `fresh` (numbers may differ), or None."""
    if isinstance(fresh, dict):
        if not isinstance(saved, dict):
            return f"{where} should be a mapping"
        missing = sorted(str(key) for key in fresh if key not in saved)
        if missing:
            return f"{where} lacks {', '.join(missing[:5])}"
        return next((p for k in fresh if (p := _unlike(saved[k], fresh[k], f"{where}.{k}"))), None)
    if isinstance(fresh, (list, tuple)):
        if type(saved) is not type(fresh) or len(saved) != len(fresh):
            return f"{where} should be a {type(fresh).__name__} of {len(fresh)}"
        return next((p for i, (a, b) in enumerate(zip(saved, fresh)) if (p := _unlike(a, b, f"{where}.{i}"))), None)
    number = (int, float)
    if isinstance(fresh, number) and not isinstance(fresh, bool):
        return None if isinstance(saved, number) and not isinstance(saved, bool) else f"{where} should be a number"
    if isinstance(fresh, Tensor):
        return None if isinstance(saved, Tensor) and saved.shape == fresh.shape else f"{where} should be a tensor " \
            f"of shape {list(fresh.shape)}"
    return None if type(saved) is type(fresh) else f"{where} should be {type(fresh).__name__}, not {saved!r}"[:200]


def _load_part(part: str, target: Any, saved: dict[str, Any] | None) -> None:
    """Load an optimizer's or scheduler's saved state into `target`, once it is checked to fit."""
    if saved is None:
        raise CheckpointError(f"the checkpoint holds no {part} state")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{STATE_JSON_FILE}: the {part} state is damaged (not a mapping)")
    if isinstance(target, torch.optim.Optimizer):
        _check_optimizer_state(saved, target)
    else:
        _check_like(part, saved, target.state_dict())
    try:
        target.load_state_dict(saved)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{STATE_JSON_FILE}: the {part} state does not fit ({error})") from None


def save_train_state(directory: str | Path, state: TrainState) -> None:
    """Write ``state`` into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, Tensor] = {}
    tree = {
        "format": FORMAT,
        "epoch": state.epoch,
        "step": state.step,
        "trainable_only": state.trainable_only,
        "optimizer": _encode(state.optimizer, "optimizer", tensors),
        "scheduler": _encode(state.scheduler, "scheduler", tensors),
        "rng": _encode(state.rng, "rng", tensors),
        "extra": _encode(state.extra, "extra", tensors),
    }
    save_tensors(directory / MODEL_FILE, state.model, {"format": FORMAT, "step": str(state.step)})
    save_tensors(directory / STATE_TENSORS_FILE, tensors, {"format": FORMAT})
    atomic_write_text(directory / STATE_JSON_FILE, json.dumps(tree, indent=1) + "\n")


def load_train_state(directory: str | Path) -> TrainState:
    """Read a state written by :func:`save_train_state`."""
    directory = Path(directory)
    path = directory / STATE_JSON_FILE
    try:
        tree = parse_json(path.read_bytes(), lambda reason: CheckpointError(f"cannot read {path}: {reason}"),
                          max_depth=MAX_STATE_DEPTH)
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error}") from error
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise CheckpointError(f"{directory} is not a {FORMAT} checkpoint")
    tensors = load_tensors(directory / STATE_TENSORS_FILE)
    try:
        return TrainState(
            model=load_tensors(directory / MODEL_FILE),
            epoch=_count(tree, "epoch", path),
            step=_count(tree, "step", path),
            optimizer=_decode(tree["optimizer"], tensors),
            scheduler=_decode(tree["scheduler"], tensors),
            rng=_decode(tree["rng"], tensors),
            extra=_decode(tree["extra"], tensors),
            trainable_only=bool(tree["trainable_only"]),
        )
    except RecursionError:
        raise CheckpointError(f"{path} is damaged: nested too deeply") from None
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"damaged checkpoint state in {directory}: {error!r}") from None


def _count(tree: dict[str, Any], key: str, path: Path) -> int:
    """An epoch or step number: a whole number ≥ 0 (JSON may hold 1e999, -3 or "x" instead)."""
    value = tree[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckpointError(f"{path}: `{key}` is {str(value)[:40]}, not a whole number ≥ 0")
    return value


def _encode(value: Any, path: str, tensors: dict[str, Tensor]) -> Any:
    """JSON tree of ``value``; tensors and arrays go to ``tensors`` under their path. Tuples and
    dicts with non-string keys are tagged so they come back as they were (optimizer states are
    keyed by int, Adam's betas are a tuple, NumPy's RNG state is a tuple holding an array)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (Tensor, np.ndarray)):
        name = path if path not in tensors else f"{path}#{len(tensors)}"  # keys may contain dots
        if isinstance(value, Tensor):
            tensors[name] = value
            return {"__tensor__": name}
        tensors[name] = torch.from_numpy(np.ascontiguousarray(value))
        return {"__ndarray__": name}
    if isinstance(value, np.generic):
        return _encode(value.item(), path, tensors)
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, f"{path}.{k}", tensors) for k, v in value.items()}
        return {"__items__": [[_encode(k, f"{path}.k{i}", tensors), _encode(v, f"{path}.{i}", tensors)]
                              for i, (k, v) in enumerate(value.items())]}
    raise TypeError(f"cannot store {type(value).__name__} at {path} in a checkpoint (no pickle)")


def _decode(value: Any, tensors: dict[str, Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__ndarray__" in value:
        return tensors[value["__ndarray__"]].numpy()
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    if "__items__" in value:
        return {_decode(k, tensors): _decode(v, tensors) for k, v in value["__items__"]}
    return {k: _decode(v, tensors) for k, v in value.items()}
