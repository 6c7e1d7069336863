"""Training-step throughput: conv-small and a ViT-B-16-sized open_clip tower, on CUDA.

    python benchmarks/cuda_step.py          # CUDA if available (fp16 autocast), else the tiny CPU run
    python benchmarks/cuda_step.py --cpu    # the tiny CPU run (float32), as CI does

Each backbone trains with the real loop (`dire_dsl.train.loop.train_detector`, pushpins rules)
for --warmup + --steps steps on random images with random component targets; open_clip towers
start from random weights and train LoRA adapters, as `dire train` would. The last --steps
steps are timed (synchronised), and the script prints training images/s (normal images per second; each
step also runs batch/4 annotated and batch/2 anomaly images through the model) and the peak
GPU memory. On the CPU the same code runs tiny configurations (64 px conv-small, a 2-layer
32 px ViT registered here) so that it keeps working without a GPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import dire_dsl
from dire_dsl.grounding.targets import HeadTargets
from dire_dsl.lang import ir
from dire_dsl.lang.program import load_rules
from dire_dsl.run.config import TrainConfig, settings_for
from dire_dsl.run.detector import build_detector
from dire_dsl.run.folder import create_run_dir
from dire_dsl.train.dataset import SyntheticAnomalies, TrainData
from dire_dsl.train.errors import TrainingDiverged
from dire_dsl.train.loop import CHECKPOINT_EVERY, train_detector
from dire_dsl.vision.heads import HeadLayout

RULES = Path(dire_dsl.__file__).parent / "rules" / "pushpins.rules"

TINY_VIT = "dire-bench-tiny-vit"
TINY_VIT_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 16, "mlp_ratio": 2},
    "text_cfg": {"context_length": 16, "vocab_size": 500, "width": 32, "heads": 2, "layers": 1},
}


@dataclass(frozen=True)
class Case:
    backbone: str
    image_size: int
    batch_size: int


CUDA_CASES = (Case("conv-small", 256, 32), Case("open_clip:ViT-B-16", 224, 32))
CPU_CASES = (Case("conv-small", 64, 4), Case(f"open_clip:{TINY_VIT}", 32, 4))


def register_tiny_vit(folder: Path) -> None:
    import open_clip

    path = folder / f"{TINY_VIT}.json"
    path.write_text(json.dumps(TINY_VIT_CONFIG), encoding="utf-8")
    open_clip.add_model_config(path)


def random_targets(layout: HeadLayout, n: int, size: tuple[int, int], generator: torch.Generator) -> HeadTargets:
    masks = (torch.rand(n, len(layout.objects), *size, generator=generator) > 0.9).float()
    attributes = {(obj, name): torch.randint(-1, len(values), (n, *size), generator=generator)
                  for obj, name, values in layout.attributes}
    return HeadTargets(masks, masks * torch.rand(masks.shape, generator=generator), attributes)


def random_data(program: ir.CheckedProgram, config: TrainConfig, head_size: tuple[int, int], steps: int
                ) -> TrainData:
    """Random normals for `steps` steps, annotated ones and anomalies with random targets."""
    generator = torch.Generator().manual_seed(0)
    layout = HeadLayout.from_program(program)
    size = config.image_size
    n_normals = config.batch_size * steps
    n_annotated = max(1, config.batch_size // 4)
    n_anomalies = max(1, config.batch_size // 2)

    def images(n: int) -> torch.Tensor:
        return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=generator)

    anomalies = SyntheticAnomalies(images(n_anomalies), [("fifteen_pins",)] * n_anomalies,
                                   random_targets(layout, n_anomalies, head_size, generator))
    return TrainData(normals=images(n_normals), annotated=list(range(n_annotated)),
                     targets=random_targets(layout, n_annotated, head_size, generator),
                     validation=images(0), anomalies=anomalies)


def head_size(program: ir.CheckedProgram, config: TrainConfig) -> tuple[int, int]:
    """The grounding head's output size for this backbone and input size."""
    model = build_detector(program, config).model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, config.image_size, config.image_size))
    return tuple(out.head.mask_logits.shape[-2:])  # type: ignore[return-value]


def images_per_second(case: Case, device: str, folder: Path, warmup: int, steps: int) -> tuple[float, float]:
    """(training images/s, peak GPU memory in GiB; 0 on the CPU) over the last `steps` of
    `warmup + steps` steps."""
    program = load_rules(RULES)
    config = settings_for(program, str(folder), {"backbone": case.backbone, "image_size": case.image_size,
                                                 "batch_size": case.batch_size, "epochs": 1, "device": device})
    data = random_data(program, config, head_size(program, config), warmup + steps)
    cuda = device == "cuda"
    stamps: list[float] = []

    def on_step(_: dict) -> None:
        if cuda:
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    run = create_run_dir(folder / case.backbone.replace(":", "-"))
    with torch.autocast(device_type=device, dtype=torch.float16, enabled=cuda):
        train_detector(program, config, data, run, on_step=on_step)
    seconds = stamps[-1] - stamps[warmup - 1]
    peak = torch.cuda.max_memory_allocated() / 1024**3 if cuda else 0.0
    return steps * case.batch_size / seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu", action="store_true", help="run the tiny CPU configurations even with CUDA")
    parser.add_argument("--warmup", type=int, default=3, help="untimed first steps (at least 1)")
    parser.add_argument("--steps", type=int, default=6, help="timed steps")
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1 or args.warmup + args.steps >= CHECKPOINT_EVERY:
        parser.error(f"need --warmup >= 1, --steps >= 1 and fewer than {CHECKPOINT_EVERY} steps in all "
                     "(no checkpoint may fall inside the timed steps)")
    cuda = torch.cuda.is_available() and not args.cpu
    device = "cuda" if cuda else "cpu"
    where = torch.cuda.get_device_name() if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{where}, torch {torch.__version__}, {'fp16 autocast' if cuda else 'float32'}, "
          f"{args.warmup} warm-up + {args.steps} timed steps")
    print(f"{'backbone':<32}{'px':>5}{'batch':>7}{'images/s':>11}{'peak GiB':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        register_tiny_vit(Path(tmp))
        for case in CUDA_CASES if cuda else CPU_CASES:
            try:
                rate, peak = images_per_second(case, device, Path(tmp), args.warmup, args.steps)
            except TrainingDiverged as error:
                print(f"{case.backbone:<32}{case.image_size:>5}{case.batch_size:>7}  diverged: {error}")
                continue
            print(f"{case.backbone:<32}{case.image_size:>5}{case.batch_size:>7}{rate:>11.1f}{peak:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
