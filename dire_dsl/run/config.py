"""The validated configuration of a training run: rules-file settings, then command-line overrides."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dire_dsl.lang import ir
from dire_dsl.lang.diagnostics import DireError
from dire_dsl.lang.settings import TRAIN_SETTINGS

MAX_SLOTS = 1024
"""Instance slots per object at most (room for about 680 instances of one object in an image)."""
MAX_INPUT_SIDE = int(TRAIN_SETTINGS["image_size"].high)
"""The network input's sides at most: the largest `image_size` (the long side)."""
MAX_SEED = 2**32 - 1
"""Seeds at most: the loop seeds a generator per step with seed × 1,000,003 + step, which must fit 64 bits."""


def _at_most(key: str) -> float | None:
    """The `train {}` block's upper bound for `key` (None: unbounded), so a run's config.json,
    which a user or a damaged disk may have edited, is held to the limits the rules file is."""
    high = TRAIN_SETTINGS[key].high
    return None if math.isinf(high) else high


class ConfigError(DireError):
    """A training setting out of its range (from the command line or the rules file)."""


class TrainConfig(BaseModel):
    """Everything a run needs to be reproduced; saved as RUN/config.json."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    category: str
    data_root: str
    rules_sha256: str
    backbone: str = "conv-small"
    grounding: Literal["few_shot", "prompts", "unsupervised"] = "few_shot"
    epochs: int = Field(12, ge=1, le=_at_most("epochs"))
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    batch_size: int = Field(16, ge=1, le=_at_most("batch_size"))
    image_size: int = Field(128, ge=16, le=_at_most("image_size"))
    lambda_: float = Field(1e-5, ge=0, alias="lambda")
    prune_threshold: float = Field(0.05, ge=0)
    max_gain: float = Field(11.0, ge=1)
    margin: float = Field(1.0, gt=0)
    compactness: float = Field(1.0, ge=0)
    rule_weight: float = Field(0.1, ge=0)  # larger lets the grounding invent parts to satisfy the rules
    component_weight: float = Field(1.0, ge=0)
    shots: int = Field(5, ge=0, le=_at_most("shots"))
    # unsupervised / prompts grounding: how many training normals get pseudo-annotations
    # (besides the `shots` really annotated ones); see dire_dsl.grounding.pseudo.
    pseudo_labels: int = Field(40, ge=0, le=_at_most("pseudo_labels"))
    fusion: float = Field(0.8, ge=0, le=1)
    rank: int = Field(16, ge=1, le=_at_most("rank"))
    seed: int = Field(0, ge=0, le=MAX_SEED)
    use_rules: bool = True
    slots: int = Field(20, ge=1, le=MAX_SLOTS)
    # Set from the annotations at training time: per object, how far apart two instances'
    # centres must be (fraction of the image's long side); see vision.instances.PEAK_SEPARATION.
    peak_separation: dict[str, float] = Field(default_factory=dict)
    # Likewise, how far apart two peaks on one heatmap ridge may be and still be one instance
    # (see vision.instances.RIDGE_REACH); runs written before this field derive it from
    # peak_separation.
    ridge_reach: dict[str, float] = Field(default_factory=dict)
    device: str = "cpu"
    input_height: int = Field(0, ge=0, le=MAX_INPUT_SIDE)  # set from the data at training time; 0 = square image_size
    input_width: int = Field(0, ge=0, le=MAX_INPUT_SIDE)

    def input_hw(self) -> tuple[int, int]:
        """(height, width) the detector sees: the images' aspect ratio, long side = image_size."""
        if self.input_height and self.input_width:
            return self.input_height, self.input_width
        return self.image_size, self.image_size

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


INPUT_MULTIPLE = 16
"""Input sides are rounded to a multiple of the backbone's coarsest stride."""


def input_shape(native_hw: tuple[int, int], long_side: int) -> tuple[int, int]:
    """Keep the aspect ratio (so lengths and circles stay true), long side ≈ `long_side`."""
    height, width = native_hw
    scale = long_side / max(height, width)
    return tuple(max(INPUT_MULTIPLE, round(side * scale / INPUT_MULTIPLE) * INPUT_MULTIPLE) for side in (height, width))


def settings_for(program: ir.CheckedProgram, data_root: str, overrides: dict[str, Any]) -> TrainConfig:
    """The run's configuration: defaults ← the rules file's `train {}` ← non-None overrides."""
    values: dict[str, Any] = {key: program.train[key] for key in TRAIN_SETTINGS}
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return TrainConfig.model_validate(
            {"category": program.category, "data_root": data_root, "rules_sha256": program.source_sha256, **values}
        )
    except ValidationError as error:
        problems = "; ".join(f"`{'.'.join(str(part) for part in e['loc'])}` = {e['input']!r}: {e['msg'].lower()}"
                             for e in error.errors())
        raise ConfigError(f"invalid training setting: {problems} (set by a command-line option or the rules "
                          "file's train {} block)") from None
