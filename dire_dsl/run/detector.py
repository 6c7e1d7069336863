"""The trained artefact: grounding model + compiled rules + normal centre + patch memory."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from dire_dsl.lang import ir
from dire_dsl.logic.compiler import CompiledRules, compile_program
from dire_dsl.run.appearance import WINDOW
from dire_dsl.run.config import TrainConfig
from dire_dsl.run.parts import CROP, memory_banks
from dire_dsl.vision.backbones import create_backbone
from dire_dsl.vision.model import GroundingModel

MEMORIES = ("memory", "part_memory")
"""Buffers whose number of rows comes from the data (checked by name and columns only)."""
LATER_BUFFERS = ("patch_cells",)
"""Buffers that runs trained before them do not hold: such a run loads with them empty."""


def expected_tensors(detector: Detector, found: dict[str, Tensor]) -> dict[str, Tensor]:
    """The detector's state as a saved run should hold it: the cell statistics may have any map
    size (`patch_cells` [2, h, w], set from the validation maps at training time)."""
    expected = detector.state_dict()
    cells = found.get("patch_cells")
    if cells is not None and cells.dim() == 3 and cells.shape[0] == 2:
        expected["patch_cells"] = torch.zeros_like(cells, dtype=expected["patch_cells"].dtype)
    return expected


class Detector(nn.Module):
    """Everything that scores an image, saved together in RUN/model.safetensors."""

    def __init__(self, model: GroundingModel, rules: CompiledRules, embed_dim: int, feature_dim: int,
                 descriptor: str = "head", patch_position: float = 0.0, patch_colour: str = "raw") -> None:
        """`descriptor`: what the patch memory holds (`dire_dsl.run.appearance`), `feature_dim` its width
        (2 more when `patch_position`, the weight of each patch's place, is above 0); `patch_colour`:
        whether pixel windows are colour-balanced first."""
        super().__init__()
        self.model = model
        self.rules = rules
        self.descriptor = descriptor
        self.patch_position = patch_position
        self.patch_colour = patch_colour
        self.register_buffer("center", torch.zeros(embed_dim))
        self.register_buffer("center_ready", torch.zeros((), dtype=torch.bool))
        self.register_buffer("memory", torch.zeros(0, feature_dim))
        # each structural map cell's normal mean and spread (dire_dsl.run.patch_cells); empty: one spread
        self.register_buffer("patch_cells", torch.zeros(2, 0, 0))
        if descriptor in ("pixels", "features"):  # the per-part memory (dire_dsl.run.parts); not in older runs
            self.register_buffer("part_memory", torch.zeros(0, 1 + 3 * CROP * CROP))
        else:
            self.part_memory = None
        self._banks: dict[str, Tensor] | None = None

    @property
    def device(self) -> torch.device:
        """Where the detector's tensors live (images to score are moved here)."""
        return self.center.device

    @property
    def compares_parts(self) -> bool:
        """Whether scoring compares each instance with the normal ones (`dire_dsl.run.parts`): a
        per-part memory with rows (empty when the run's `part_appearance` is off)."""
        return self.part_memory is not None and self.part_memory.shape[0] > 0

    def set_memory(self, memory: Tensor) -> None:
        self.memory = memory.detach().clone()

    def set_patch_position(self, weight: float) -> None:
        """The weight of each patch's place (`appearance.with_position`); set before the memory is built."""
        self.patch_position = weight

    def set_patch_colour(self, colour: str) -> None:
        """`raw` or `balanced` pixel windows (`appearance.balance_colour`); set before the memory is built."""
        self.patch_colour = colour

    def set_patch_cells(self, cells: Tensor) -> None:
        """[2, h, w] each map cell's normal mean and spread; [2, 0, 0] puts the map in one spread."""
        self.patch_cells = cells.detach().clone()

    def set_part_memory(self, memory: Tensor) -> None:
        self.part_memory = memory.detach().clone()
        self._banks = None

    def part_banks(self) -> dict[str, Tensor]:
        """The per-part memory split by object (`parts.memory_banks`), kept until the memory is set,
        loaded or moved (an exported graph holds the split banks as constants)."""
        if self._banks is None:
            self._banks = memory_banks(self.part_memory, self.model.layout.objects)
        return self._banks

    def _apply(self, fn: Any, recurse: bool = True) -> Detector:
        """`.to()`, `.cuda()`, `.float()`: the banks are split again from the moved memory."""
        self._banks = None
        return super()._apply(fn, recurse)

    def load_weights(self, tensors: dict[str, Tensor]) -> None:
        """Load saved tensors (the memory banks' sizes are only known from the file)."""
        tensors = dict(tensors)
        for name in LATER_BUFFERS:
            tensors.setdefault(name, torch.zeros(2, 0, 0))
        for name in (*MEMORIES, *LATER_BUFFERS):
            if name in tensors and getattr(self, name, None) is not None:
                setattr(self, name, torch.zeros_like(tensors[name]))
        self.load_state_dict(tensors)
        self._banks = None


def build_detector(program: ir.CheckedProgram, config: TrainConfig) -> Detector:
    """The untrained detector for a program and configuration (also used to load a run)."""
    adapt: Any = True
    if not config.backbone.startswith("conv-small"):
        from dire_dsl.vision.backbones.lora import LoraSettings

        adapt = LoraSettings(rank=config.rank)
    backbone = create_backbone(config.backbone, adapt=adapt)
    model = GroundingModel(program, backbone, slots=config.slots, peak_separation=config.peak_separation,
                           ridge_reach=config.ridge_reach)
    width = _descriptor_width(config.descriptor, model) + (2 if config.patch_position > 0 else 0)
    return Detector(model, compile_program(program), model.head.embed[-1].out_features, width, config.descriptor,
                    config.patch_position, config.patch_colour)


def _descriptor_width(descriptor: str, model: GroundingModel) -> int:
    """Columns of `descriptor`'s patch descriptors (see `dire_dsl.run.appearance`)."""
    if descriptor == "pixels":
        return 3 * WINDOW * WINDOW
    if descriptor == "features":
        return sum(model.backbone.channels[:2])
    return model.head.refine[-1][0].out_channels  # head (and off, whose memory stays empty)
