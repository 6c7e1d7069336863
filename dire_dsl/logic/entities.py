"""What a measurement receives: entities (things with pixels) and the evaluation settings.

An entity is an object set (`pin in cell[1,2] where color == red`), an instance bound by a
quantifier, or a region / cell. Its mask and moments are computed only if a measurement
asks for them; object sets also expose per-instance weights (what `count` sums).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from torch import Tensor

from dire_dsl.logic.regions import MASS, moments


class Entity:
    """A lazily computed, scope-aligned mask [B|1, *S, H, W] and its moments [B|1, *S, F]."""

    def __init__(self, mask: Callable[[], Tensor], basis: Tensor, weights: Callable[[], Tensor] | None = None,
                 moments: Callable[[], Tensor] | None = None) -> None:
        self._mask = mask
        self._basis = basis
        self._weights = weights
        self._moments = moments

    @cached_property
    def mask(self) -> Tensor:
        return self._mask()

    @cached_property
    def moments(self) -> Tensor:
        """Mask-weighted sums of the basis functions (`dire_dsl.logic.regions`): mass, x, y, x², y², xy, regions."""
        if self._moments is not None:
            return self._moments()
        return moments(self.mask, self._basis)

    @cached_property
    def mass(self) -> Tensor:
        """Σ mask, from the moments if they are already known (one cheap pass otherwise)."""
        if "moments" in self.__dict__:
            return self.moments[..., MASS]
        return self.mask.sum((-2, -1))

    @cached_property
    def weights(self) -> Tensor:
        """Per-instance membership [B, *S, K]: presence × `where` probability × share inside the region."""
        if self._weights is None:
            raise TypeError("only a set of objects has per-instance weights")
        return self._weights()


Argument = Entity | Tensor


@dataclass(frozen=True)
class MeasureContext:
    """What an implementation may need beyond its arguments: τ of the `logic {}` block, mask size."""

    tau: float
    height: int
    width: int

    @staticmethod
    def tensor(argument: Argument) -> Tensor:
        """The plain tensor behind an argument: an entity's mask, or the number itself."""
        return argument.mask if isinstance(argument, Entity) else argument
