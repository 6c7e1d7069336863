"""The training loop: one process or several (torchrun, DDP), resumable, deterministic on CPU.

Each step sees a batch of normal images, a few annotated images and a few synthetic
anomalies in one forward pass. Normals must satisfy the rules and sit near the centre;
anomalies are pushed beyond a margin, harder the more rules they break; the annotated
images teach the grounding head what each object looks like.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from dire_dsl.atomic import atomic_write_text
from dire_dsl.grounding.targets import HeadTargets, concat_targets, select_targets
from dire_dsl.json_read import JSON_ERRORS
from dire_dsl.lang import ir
from dire_dsl.run.checkpoint import CheckpointError, TrainState
from dire_dsl.run.config import TrainConfig
from dire_dsl.run.detector import Detector, build_detector
from dire_dsl.run.folder import RunDir, RunDirError
from dire_dsl.train import distributed, losses
from dire_dsl.train.dataset import TrainData
from dire_dsl.train.errors import TrainingDiverged

CHECKPOINT_EVERY = 10  # steps
GATE_CAP = 2.0  # a gate grows to at most twice the rule's largest weight


def _augment(images: Tensor, generator: torch.Generator, rows: Tensor, total: int) -> Tensor:
    """uint8 → float in [0, 1] with mild photometric jitter (geometry is what the rules check).

    The jitter is drawn for every row of the global batch (`total`, all processes) and `rows`
    picks this process's, so an image is jittered the same however many processes share the step.
    """
    x = images.float() / 255
    gain = 1 + 0.1 * (torch.rand(total, 1, 1, 1, generator=generator) * 2 - 1)
    bias = 0.05 * (torch.rand(total, 1, 1, 1, generator=generator) * 2 - 1)
    return (x * gain[rows] + bias[rows]).clamp(0, 1)


def _trim_log(path: Path, step: int) -> None:
    """Keep the log's records up to `step`: a resumed run logs the steps after its checkpoint
    again. A line cut short by a kill is dropped."""
    if not path.exists():
        return
    kept = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if (logged := _logged_step(line)) is not None and logged <= step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def _logged_step(line: str) -> int | None:
    try:
        return int(json.loads(line)["step"])
    except (*JSON_ERRORS, KeyError, TypeError, OverflowError):  # a damaged line is dropped like a cut one
        return None


def _resume(run: RunDir, detector: Detector, optimizer: torch.optim.Optimizer, scheduler: Any, epochs: int,
            total_steps: int) -> int:
    """Restore the latest checkpoint and return its step. A checkpoint that does not fit this
    run is a RunDirError naming it: an epoch or step beyond the run's would otherwise end
    training at once and call the run trained."""
    directory = run.latest_checkpoint()
    state = run.load_checkpoint(directory)
    try:
        if state.epoch >= epochs or state.step > total_steps:
            raise CheckpointError(f"it records epoch {state.epoch} and step {state.step}, beyond this run's "
                                  f"{epochs} epoch(s) (numbered from 0) of {total_steps} steps in all")
        state.restore(detector, optimizer, scheduler)
    except CheckpointError as error:
        raise RunDirError(f"checkpoint {directory} is damaged: {error}; restore the run folder from a copy, or "
                          "train the run again with --force") from None
    return state.step


def _epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


def _sample(n: int, k: int, generator: torch.Generator) -> Tensor:
    return torch.randint(0, n, (k,), generator=generator) if n else torch.zeros(0, dtype=torch.long)


def train_detector(program: ir.CheckedProgram, config: TrainConfig, data: TrainData, run: RunDir,
                   resume: bool = False, on_step: Callable[[dict[str, Any]], None] | None = None) -> Detector:
    """Train and return the detector; checkpoints and the JSONL log go to `run`."""
    rank, world = distributed.world()
    torch.manual_seed(config.seed)
    detector = build_detector(program, config).to(config.device)
    if world > 1:
        ddp = nn.parallel.DistributedDataParallel(detector.model)
        forward = ddp
    else:
        forward = detector.model
    params = [p for p in detector.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": params, "weight_decay": config.weight_decay},
         {"params": list(detector.rules.parameters()), "weight_decay": 0.0}], lr=config.lr)
    n_normals = data.normals.shape[0]
    per_rank = max(1, config.batch_size // world)
    steps_per_epoch = max(1, math.ceil(n_normals / (per_rank * world)))
    total_steps = steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps + 1,
                                                    pct_start=0.15)
    start_step = 0
    if rank == 0:
        run.check_checkpoints()  # before the first step, not at the first checkpoint
    if resume and run.latest_checkpoint() is not None:
        start_step = _resume(run, detector, optimizer, scheduler, config.epochs, total_steps)
    elif resume and rank == 0:
        warnings.warn(f"--resume: {run.path} holds no checkpoint; training starts from the first step",
                      stacklevel=2)
    soft = torch.tensor([not r.hard for r in program.rules], dtype=torch.bool, device=config.device)
    weights = torch.tensor([r.weight for r in program.rules], dtype=torch.float32, device=config.device)
    if rank == 0:
        _trim_log(run.log_path, start_step)
    log = run.log_path.open("a", encoding="utf-8") if rank == 0 else None
    step = start_step
    try:
        for epoch in range(start_step // steps_per_epoch, config.epochs):
            order = _epoch_order(n_normals, config.seed, epoch)
            for index in range(step - epoch * steps_per_epoch, steps_per_epoch):
                generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
                chunk = order[(index * per_rank * world) % n_normals:][: per_rank * world]
                if chunk.numel() < per_rank * world:
                    chunk = torch.cat([chunk, order[: per_rank * world - chunk.numel()]])
                mine = chunk[rank * per_rank:(rank + 1) * per_rank]
                record = _step(detector, forward, optimizer, data, config, mine, generator, soft, weights, rank, world)
                scheduler.step()
                step += 1
                record.update(epoch=epoch, epochs=config.epochs, step=step, total_steps=total_steps,
                              lr=scheduler.get_last_lr()[0])
                if log is not None:
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                if on_step is not None and rank == 0:
                    on_step(record)
                if rank == 0 and (step % CHECKPOINT_EVERY == 0 or step == total_steps):
                    run.save_checkpoint(TrainState.capture(detector, optimizer, scheduler, epoch=epoch, step=step))
                if world > 1:
                    dist.barrier()
    finally:
        if log is not None:
            log.close()
    return detector


def _component_targets(data: TrainData, ann_pick: Tensor, anom_pick: Tensor, first_row: int
                       ) -> tuple[Tensor, HeadTargets] | None:
    """Batch rows with known components (annotated normals, then synthetic anomalies) and their targets."""
    parts: list[HeadTargets] = []
    if ann_pick.numel() and data.targets is not None:
        parts.append(select_targets(data.targets, ann_pick))
    if anom_pick.numel() and data.anomalies.targets is not None:
        parts.append(select_targets(data.anomalies.targets, anom_pick))
    if not parts:
        return None
    targets = concat_targets(parts)
    rows = torch.arange(first_row, first_row + targets.masks.shape[0])
    return rows, targets


def _step(detector: Detector, forward: nn.Module, optimizer: torch.optim.Optimizer, data: TrainData,
          config: TrainConfig, batch: Tensor, generator: torch.Generator, soft: Tensor, weights: Tensor,
          rank: int, world: int) -> dict[str, Any]:
    started = time.perf_counter()
    gate_scale = float(weights.max()) if weights.numel() else 1.0
    detector.train()
    n_ann = min(len(data.annotated), max(1, config.batch_size // 4)) if data.targets is not None else 0
    n_anom = min(data.anomalies.images.shape[0], max(1, config.batch_size // 2))
    ann_pick = _sample(len(data.annotated), n_ann, generator)
    anom_pick = _sample(data.anomalies.images.shape[0], n_anom, generator)
    parts = [data.normals[batch]]
    if n_ann:
        parts.append(data.normals[torch.tensor(data.annotated)[ann_pick]])
    if n_anom:
        parts.append(data.anomalies.images[anom_pick])
    n_norm = batch.numel()
    rows = torch.cat([torch.arange(rank * n_norm, (rank + 1) * n_norm),
                      torch.arange(world * n_norm, world * n_norm + n_ann + n_anom)])
    images = _augment(torch.cat(parts), generator, rows, world * n_norm + n_ann + n_anom).to(config.device)
    out = forward(images)
    logic = detector.rules(out.grounding)
    normal = slice(0, n_norm)
    anomalous = slice(n_norm + n_ann, n_norm + n_ann + n_anom)
    embedding = out.grounding.embedding
    with torch.no_grad():
        mean = embedding[normal].mean(dim=0)
        if world > 1:
            dist.all_reduce(mean)
            mean /= world
        if not bool(detector.center_ready):
            detector.center.copy_(mean)
            detector.center_ready.fill_(True)
        else:
            detector.center.mul_(0.95).add_(0.05 * mean)
    terms: dict[str, Tensor] = {}
    supervised = _component_targets(data, ann_pick, anom_pick, n_norm)
    if supervised is not None:
        rows, targets = supervised
        targets = targets.to(images.device)
        head = out.head
        terms["component"] = config.component_weight * losses.component_loss(
            head.mask_logits[rows], head.center_logits[rows], targets.masks, targets.centers,
            {k: v[rows] for k, v in head.attribute_logits.items()}, targets.attributes)
    truth = logic.truth
    if config.use_rules:
        terms["rules"] = config.rule_weight * losses.rule_satisfaction_loss(truth[normal], weights)
    terms["compact"] = config.compactness * losses.compactness_loss(embedding[normal], detector.center)
    if n_anom:
        s_logic = logic.s_logic[anomalous] if config.use_rules else torch.ones(n_anom, device=images.device)
        terms["push"] = losses.push_loss(embedding[anomalous], detector.center, s_logic, config.margin,
                                         config.max_gain if config.use_rules else 1.0)
        if config.use_rules:
            gates = detector.rules.gate_values()
            terms["gates"] = losses.gate_utility_loss(gates, truth[normal], truth[anomalous], soft) \
                + detector.rules.penalty(config.lambda_)
    loss = sum(terms.values())
    values = torch.stack([v.detach() for v in terms.values()])
    if world > 1:  # every process logs, and stops on, the loss of the whole batch
        dist.all_reduce(values)
        values /= world
    named = dict(zip(terms, values.tolist()))
    if not math.isfinite(sum(named.values())):
        raise TrainingDiverged(f"the loss became {sum(named.values())} "
                               f"({', '.join(f'{k}={v:.4g}' for k, v in named.items())})")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if world > 1:  # the gates are outside DDP: average their gradients by hand
        for param in detector.rules.parameters():
            if param.grad is not None:
                dist.all_reduce(param.grad)
                param.grad /= world
    optimizer.step()
    with torch.no_grad():  # gates live in [0, GATE_CAP × weight]
        detector.rules.gates.soft.clamp_(-GATE_CAP * gate_scale, GATE_CAP * gate_scale)
    record: dict[str, Any] = {k: round(v, 6) for k, v in named.items()}
    record["loss"] = round(sum(named.values()), 6)
    record["seconds"] = round(time.perf_counter() - started, 4)
    return record
