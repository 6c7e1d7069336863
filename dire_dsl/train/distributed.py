"""Several training processes (torchrun, DDP): joining the process group and waiting for rank 0.

`train()` runs inside `process_group`: under torchrun (WORLD_SIZE > 1 in the environment) it
initialises the default group (gloo on the CPU, nccl on CUDA, one GPU per local rank) and
destroys it afterwards; a group the caller set up is used as it is and left alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist


def _joined() -> bool:
    return dist.is_available() and dist.is_initialized()


def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) without a process group."""
    return (dist.get_rank(), dist.get_world_size()) if _joined() else (0, 1)


def barrier() -> None:
    """Wait for every process (nothing to wait for in a single process)."""
    if world()[1] > 1:
        dist.barrier()


@contextmanager
def process_group(device: str) -> Iterator[tuple[int, int]]:
    """(rank, world size) for the body, in the process group torchrun's environment describes."""
    if _joined() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        yield world()
        return
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        yield world()
    finally:
        dist.destroy_process_group()
