"""The validated configuration of a training run: rules-file settings, then command-line overrides."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, create_model

from dire_dsl.errors import DireError
from dire_dsl.lang import ir
from dire_dsl.lang.settings import SETTING_ERROR, TRAIN_SETTINGS, model_fields

MAX_SLOTS = 1024
"""Instance slots per object at most (room for about 680 instances of one object in an image)."""
MAX_INPUT_SIDE = int(TRAIN_SETTINGS["image_size"].high)
"""The network input's sides at most: the largest `image_size` (the long side)."""


class SettingError(DireError):
    """A training setting out of its range (from the command line or the rules file)."""


TrainSettings = create_model("TrainSettings", __config__=ConfigDict(extra="forbid", populate_by_name=True,
                                                                     allow_inf_nan=False),
                             **model_fields("train"))
"""The `train {}` block's keys as fields, from the one table in `dire_dsl.lang.settings`: a run's
config.json, a command-line option and a sweep's grid are held to the checker's own test."""


class TrainConfig(TrainSettings):
    """Everything a run needs to be reproduced; saved as RUN/config.json. The `train {}` settings
    come from `TrainSettings`; the fields here are what training derives itself."""

    category: str
    data_root: str
    rules_sha256: str
    use_rules: bool = True
    slots: int = Field(20, ge=1, le=MAX_SLOTS)
    # Set from the annotations at training time: per object, how far apart two instances'
    # centres must be (fraction of the image's long side); see vision.instances.PEAK_SEPARATION.
    peak_separation: dict[str, float] = Field(default_factory=dict)
    # Likewise, how far apart two peaks on one heatmap ridge may be and still be one instance
    # (see vision.instances.RIDGE_REACH); runs written before this field derive it from
    # peak_separation.
    ridge_reach: dict[str, float] = Field(default_factory=dict)
    # What the structural branch compares (dire_dsl.run.appearance.DESCRIPTORS): set at training
    # time from `structural`; runs written before the branch existed compared head features.
    descriptor: Literal["pixels", "features", "head", "off"] = "head"
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


def structural_descriptor(structural: str, backbone: str) -> str:
    """The descriptor a new run's structural branch uses: `structural`, with auto resolved (raw
    pixels for conv-small, trained from scratch; the backbone's features for a pretrained tower)."""
    if structural != "auto":
        return structural
    return "pixels" if backbone.startswith("conv-small") else "features"


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
        problems = "; ".join(_problem_text(e) for e in error.errors())
        raise SettingError(f"invalid training setting: {problems} (set by a command-line option or the rules "
                          "file's train {} block)") from None


def _problem_text(error: Any) -> str:
    """One refused value: a `train {}` key in the checker's own words (they name the key, the
    value and the bound, as E311 does), any other field as pydantic puts it."""
    if error["type"] == SETTING_ERROR:
        return error["msg"]
    return f"`{'.'.join(str(part) for part in error['loc'])}` = {error['input']!r}: {error['msg'].lower()}"
