"""Training a detector: the data it trains on, the losses, the loop (one process or DDP).

What a run leaves behind, and loading it, is `dire_dsl.run`; where the grounding targets come
from is `dire_dsl.grounding`. Modules:
    api          `train()`, behind `dire train`, and the calibration that ends a run
    dataset      everything a run trains on, loaded once into memory at the training resolution
    loop         the training loop: resumable, deterministic on CPU
    losses       the training losses, as pure functions of tensors
    distributed  several processes (torchrun, DDP): the process group and waiting for rank 0
    errors       `TrainingDiverged`, without torch so that the CLI names it cheaply
"""
