"""The typed keys of the `train {}` and `logic {}` blocks, their defaults and their limits.

One table serves the checker (unknown key, wrong type, out of range), the formatter's
documentation, the settings page of the docs and the training configuration, so a key is
declared exactly once: a pydantic model takes its fields from `model_fields`, whose validator
is the checker's own `SettingSpec.problem`, so a run's config.json, a command-line option and
a sweep's grid accept and refuse exactly what the rules file does, in the same words.
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from dire_dsl.lang.limits import MAX_NUMBER

SETTING_ERROR = "setting"
"""The pydantic error type of a value `SettingSpec.problem` refuses; its message is the problem."""


@dataclass(frozen=True)
class SettingSpec:
    """One key: its type, default, allowed range or choices, and what it does."""

    key: str
    type: type
    default: Any
    doc: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    choices: tuple[str, ...] = ()

    def problem(self, value: Any) -> str | None:
        """Why `value` is not acceptable, or None."""
        if self.type is float and isinstance(value, bool) or self.type is int and isinstance(value, bool):
            return f"`{self.key}` takes a {self.type_name()}, not true/false"
        if self.type is float and not isinstance(value, (int, float)):
            return f"`{self.key}` takes a number"
        if self.type is int and not (isinstance(value, int) or isinstance(value, float) and value.is_integer()):
            return f"`{self.key}` takes a whole number"
        if self.type is str and not isinstance(value, str):
            return f"`{self.key}` takes a text or a name"
        if self.type is bool and not isinstance(value, bool):
            return f"`{self.key}` takes true or false"
        if self.choices and value not in self.choices:
            return f"`{self.key}` must be one of: {', '.join(self.choices)}"
        if self.type in (int, float) and not abs(value) <= MAX_NUMBER:  # NaN too; an int too large for a float too
            return f"`{self.key}` must be a finite number; got {value} (numbers go up to about 3.4e38)"
        if self.type in (int, float):
            too_low = value <= self.low if self.low_open else value < self.low
            if too_low or value > self.high:
                return f"`{self.key}` must be in {self.range_text()}; got {value}"
        return None

    def coerce(self, value: Any) -> Any:
        """An accepted value as the key's type: `epochs = 12.0` is the whole number 12."""
        if self.type is int:
            return int(value)
        if self.type is float:
            return float(value)
        return value

    @property
    def field_name(self) -> str:
        """The key as a Python name: a keyword (`lambda`) gets a trailing underscore."""
        return f"{self.key}_" if keyword.iskeyword(self.key) else self.key

    def model_field(self) -> tuple[Any, FieldInfo]:
        """(annotation, Field) of this key for a pydantic model: the choices as a Literal,
        validated first by `validated` (so pydantic's lax coercions, `"12"` or `true` for a
        number, are refused as the checker refuses them), the key itself as the alias when it
        is not a Python name."""
        annotation = Literal[self.choices] if self.choices else self.type
        alias = self.key if self.field_name != self.key else None
        return (Annotated[annotation, BeforeValidator(self.validated)],
                Field(self.default, alias=alias, description=self.doc))

    def validated(self, value: Any) -> Any:
        """`value` as the key's type, or a pydantic error whose message is the checker's `problem`."""
        problem = self.problem(value)
        if problem is not None:
            raise PydanticCustomError(SETTING_ERROR, "{problem}", {"problem": problem})
        return self.coerce(value)

    def type_name(self) -> str:
        return {float: "number", int: "whole number", str: "text", bool: "true/false"}[self.type]

    def range_text(self) -> str:
        left = "(" if self.low_open else "["
        high = "∞" if math.isinf(self.high) else self._bound(self.high)
        return f"{left}{self._bound(self.low)}, {high}]"

    def _bound(self, value: float) -> str:
        """A limit as written: whole-number keys show every digit (a seed's 4294967295, not 4.29497e+09)."""
        return str(int(value)) if self.type is int else f"{value:g}"


def _specs(*specs: SettingSpec) -> dict[str, SettingSpec]:
    return {s.key: s for s in specs}


TRAIN_SETTINGS = _specs(
    SettingSpec("lambda", float, 1e-5, "λ of the λ·Σ|gate| rule-pruning penalty.", low=0.0),
    SettingSpec("prune_threshold", float, 0.05, "A soft rule whose gate falls below this is pruned.", low=0.0),
    SettingSpec("epochs", int, 12, "Training epochs.", low=1, high=10_000),
    SettingSpec("lr", float, 2e-3, "Learning rate (AdamW).", low=0.0, low_open=True, high=10.0),
    SettingSpec("weight_decay", float, 1e-4, "AdamW weight decay.", low=0.0),
    SettingSpec("batch_size", int, 16, "Images per step.", low=1, high=4096),
    SettingSpec("image_size", int, 128, "Side of the square network input, in pixels.", low=16, high=4096),
    SettingSpec("max_gain", float, 11.0, "Push gain when every rule fails (1 = logic does not lead).", low=1.0),
    SettingSpec("margin", float, 1.0, "Distance the push loss drives anomalies beyond.", low=0.0, low_open=True),
    SettingSpec("compactness", float, 1.0, "Weight of the pull of normal embeddings to the centre.", low=0.0),
    SettingSpec("rule_weight", float, 0.1, "Weight of rule satisfaction on normal images.", low=0.0),
    SettingSpec("component_weight", float, 1.0, "Weight of the component (mask) loss.", low=0.0),
    SettingSpec("structural", str, "auto", "What the structural branch compares with the normal patches: raw "
                "pixel windows, the backbone's features (for a pretrained tower), or nothing; auto = pixels for "
                "conv-small, features otherwise.", choices=("auto", "pixels", "features", "off")),
    SettingSpec("patch_spread", str, "cell", "How the structural map counts normal spreads: each map cell in the "
                "validation normals' spread at that cell (rare-but-normal spots count less), or one spread for the "
                "whole image.", choices=("cell", "image")),
    SettingSpec("patch_position", float, 0.0, "Weight of a patch's place in the image when it is compared with the "
                "normal patches (per image side, in descriptor units): above 0, a patch is normal only if alike "
                "patches lie near it, for products whose parts keep their places; 0 = anywhere.", low=0.0, high=100.0),
    SettingSpec("patch_colour", str, "raw", "How the structural branch's pixel windows see colour: as they are, or "
                "each image divided by its own mean colour (balanced), for products whose colour or lighting varies "
                "between good images, where a dent or stain is told by its colour against the rest of the image; "
                "pixel windows only.", choices=("raw", "balanced")),
    SettingSpec("part_appearance", str, "off", "Whether the structural branch also compares each found instance "
                "with the normal instances of its object (a cut-out of it): on for products whose defects are wrong "
                "parts rather than wrong patches; off by default, since on validation normals with generic defects "
                "the patch map alone scored higher on every shipped category.", choices=("on", "off")),
    SettingSpec("patch_memory", int, 8192, "Normal patches the structural branch keeps (a greedy coreset): fewer "
                "score faster, more cover rarer normal patches; sweep it.", low=16, high=1_000_000),
    SettingSpec("shots", int, 5, "Annotated normal images used for few-shot grounding (and, by the unsupervised "
                "and prompts modes, as they are).", low=0.0),
    SettingSpec("pseudo_labels", int, 40, "Training normals the unsupervised and prompts grounding modes "
                "pseudo-annotate (more: better coverage, slower start).", low=0.0, high=100_000),
    SettingSpec("fusion", float, 0.8, "Share of the logic distance in the fused score (rest: embedding distance).",
                low=0.0, high=1.0),
    SettingSpec("backbone", str, "conv-small", "Backbone name, e.g. conv-small or open_clip:ViT-B-16@/path.pt."),
    SettingSpec("grounding", str, "few_shot", "How objects are found.",
                choices=("few_shot", "prompts", "unsupervised")),
    SettingSpec("rank", int, 16, "LoRA rank when the backbone is adapted.", low=1, high=64),
    SettingSpec("seed", int, 0, "Random seed (NumPy and scikit-learn take at most 2³² - 1).", low=0, high=2**32 - 1),
)

SMALLEST_WIDTH = 1e-6
"""Least σ and τ: below it σ², and τ times a small threshold, vanish in float32 tensors, and
`==` and `<` turn into 0/0 = NaN; no comparison needs a sharper step than a millionth."""

LOGIC_SETTINGS = _specs(
    SettingSpec("semantics", str, "product", "Fuzzy semantics of and/or/not/implies.",
                choices=("product", "lukasiewicz", "godel")),
    SettingSpec("sigma", float, 0.5, "Width σ of `==`: exp(-(a-b)²/2σ²) (relative to the threshold, "
                "absolute for counts).", low=SMALLEST_WIDTH, high=1e6),
    SettingSpec("tau", float, 0.02, "Temperature τ of `<`, `<=`, ranges: sigmoid((b-a)/(τ·s)), s = the "
                "threshold's magnitude.", low=SMALLEST_WIDTH, high=1e6),
    SettingSpec("p_forall", float, 2.0, "p of the p-mean-error aggregator of `forall`.", low=1.0),
    SettingSpec("p_exists", float, 2.0, "p of the p-mean aggregator of `exists`.", low=1.0),
)

BLOCKS: dict[str, dict[str, SettingSpec]] = {"train": TRAIN_SETTINGS, "logic": LOGIC_SETTINGS}


def defaults(block: str) -> dict[str, Any]:
    return {key: spec.default for key, spec in BLOCKS[block].items()}


def model_fields(block: str) -> dict[str, tuple[Any, FieldInfo]]:
    """The fields of a pydantic model of `block`: `pydantic.create_model(name, **model_fields("train"))`."""
    return {spec.field_name: spec.model_field() for spec in BLOCKS[block].values()}
