"""The validated configuration of a training run: rules-file settings, then command-line overrides."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dire_dsl.lang import ir
from dire_dsl.lang.settings import TRAIN_SETTINGS


class TrainConfig(BaseModel):
    """Everything a run needs to be reproduced; saved as RUN/config.json."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    category: str
    data_root: str
    rules_sha256: str
    backbone: str = "conv-small"
    grounding: Literal["few_shot", "prompts", "unsupervised"] = "few_shot"
    epochs: int = Field(12, ge=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    batch_size: int = Field(16, ge=1)
    image_size: int = Field(128, ge=16)
    lambda_: float = Field(1e-5, ge=0, alias="lambda")
    prune_threshold: float = Field(0.05, ge=0)
    max_gain: float = Field(11.0, ge=1)
    margin: float = Field(1.0, gt=0)
    compactness: float = Field(1.0, ge=0)
    rule_weight: float = Field(1.0, ge=0)
    component_weight: float = Field(1.0, ge=0)
    shots: int = Field(5, ge=0)
    fusion: float = Field(0.5, ge=0, le=1)
    rank: int = Field(16, ge=1, le=64)
    seed: int = Field(0, ge=0)
    use_rules: bool = True
    slots: int = Field(20, ge=1)
    device: str = "cpu"

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


def settings_for(program: ir.CheckedProgram, data_root: str, overrides: dict[str, Any]) -> TrainConfig:
    """The run's configuration: defaults ← the rules file's `train {}` ← non-None overrides."""
    values: dict[str, Any] = {key: program.train[key] for key in TRAIN_SETTINGS}
    values.update({key: value for key, value in overrides.items() if value is not None})
    return TrainConfig.model_validate(
        {"category": program.category, "data_root": data_root, "rules_sha256": program.source_sha256, **values}
    )
