"""One annotated part of an image: the unit that grounding targets and rule edits work on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Component:
    """An instance of a declared object: its name, full-resolution boolean mask, attributes."""

    object: str
    mask: np.ndarray
    attributes: dict[str, str] = field(default_factory=dict)
