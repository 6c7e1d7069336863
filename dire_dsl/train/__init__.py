"""Training: losses, the loop (single process and DDP) and checkpoints."""
