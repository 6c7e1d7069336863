"""Training state on disk without pickle: tensors in safetensors, everything else in JSON.

A checkpoint folder holds ``model.safetensors`` (the model's state dict), ``state.safetensors``
(optimizer, scheduler and RNG tensors) and ``state.json`` (the structure around those tensors,
epoch and step). Loading reads only these two formats, so a checkpoint from elsewhere cannot
run code. Every file is written atomically.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn

from dire_dsl.atomic import atomic_write_bytes, atomic_write_text

FORMAT = "dire-dsl/checkpoint-1"
MODEL_FILE = "model.safetensors"
STATE_TENSORS_FILE = "state.safetensors"
STATE_JSON_FILE = "state.json"


class CheckpointError(Exception):
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
        """Load weights, optimizer and scheduler states, then the random states."""
        result = model.load_state_dict(self.model, strict=not self.trainable_only)
        if self.trainable_only:
            frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
            unfilled = set(result.missing_keys) - frozen
            if result.unexpected_keys or unfilled:
                raise CheckpointError(
                    f"checkpoint does not fit the model: unexpected {sorted(result.unexpected_keys)[:5]}, "
                    f"missing {sorted(unfilled)[:5]}"
                )
        for part, target in (("optimizer", optimizer), ("scheduler", scheduler)):
            saved = getattr(self, part)
            if target is not None:
                if saved is None:
                    raise CheckpointError(f"the checkpoint holds no {part} state")
                target.load_state_dict(saved)
        restore_rng_state(self.rng)


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
    try:
        tree = json.loads((directory / STATE_JSON_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"cannot read {directory / STATE_JSON_FILE}: {error}") from error
    if not isinstance(tree, dict) or tree.get("format") != FORMAT:
        raise CheckpointError(f"{directory} is not a {FORMAT} checkpoint")
    tensors = load_tensors(directory / STATE_TENSORS_FILE)
    try:
        return TrainState(
            model=load_tensors(directory / MODEL_FILE),
            epoch=int(tree["epoch"]),
            step=int(tree["step"]),
            optimizer=_decode(tree["optimizer"], tensors),
            scheduler=_decode(tree["scheduler"], tensors),
            rng=_decode(tree["rng"], tensors),
            extra=_decode(tree["extra"], tensors),
            trainable_only=bool(tree["trainable_only"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"damaged checkpoint state in {directory}: {error!r}") from error


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
