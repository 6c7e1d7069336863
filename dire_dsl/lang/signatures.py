"""The one registry of callable names (measurements, relations, plugin predicates).

It holds signatures only, so the checker can ask it without importing torch; the logic
layer attaches an implementation to each name (`dire_dsl.logic.registry`). Third-party
packages register through the entry-point group `dire_dsl.predicates`: each entry point
names a module (or object) whose import registers its predicates.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from importlib import metadata

ENTRY_POINT_GROUP = "dire_dsl.predicates"


class ArgKind(str, Enum):
    """What an argument or a result is, as the checker sees it."""

    NUMBER = "number"
    TRUTH = "truth"
    OBJECTS = "objects"  # the instances of an object, maybe narrowed: `pin in cell[1,2] where color == red`
    INSTANCE = "instance"  # one instance bound by a quantifier
    REGION = "region"  # a region, one of its cells, or a bound cell variable


ENTITY = frozenset({ArgKind.OBJECTS, ArgKind.INSTANCE})
PLACE = frozenset({ArgKind.OBJECTS, ArgKind.INSTANCE, ArgKind.REGION})
NUMBER = frozenset({ArgKind.NUMBER})
TRUTH = frozenset({ArgKind.TRUTH})
OBJECTS = frozenset({ArgKind.OBJECTS})


@dataclass(frozen=True)
class Param:
    """One parameter: its name (for messages) and the kinds of argument it accepts."""

    name: str
    kinds: frozenset[ArgKind]

    def describe(self) -> str:
        return " or ".join(sorted(k.value for k in self.kinds))


@dataclass(frozen=True)
class Signature:
    """What a callable takes and gives; `low`/`high` bound a numeric result (for triviality checks)."""

    name: str
    params: tuple[Param, ...]
    result: ArgKind
    doc: str
    integer: bool = False
    low: float = -math.inf
    high: float = math.inf
    source: str = "dire_dsl"

    def render(self) -> str:
        params = ", ".join(f"{p.name}: {p.describe()}" for p in self.params)
        return f"{self.name}({params}) -> {self.result.value}"


@dataclass
class SignatureRegistry:
    """Name → signature (+ implementation once the logic layer is loaded)."""

    _signatures: dict[str, Signature] = field(default_factory=dict)
    _implementations: dict[str, Callable[..., object]] = field(default_factory=dict)
    _plugins_loaded: bool = False
    plugin_errors: list[str] = field(default_factory=list)

    def add(self, signature: Signature, implementation: Callable[..., object] | None = None) -> None:
        if signature.name in self._signatures and self._signatures[signature.name] != signature:
            warnings.warn(f"predicate `{signature.name}` registered again; the new definition wins", stacklevel=3)
        self._signatures[signature.name] = signature
        if implementation is not None:
            self._implementations[signature.name] = implementation

    def implement(self, name: str, implementation: Callable[..., object]) -> None:
        if name not in self._signatures:
            raise KeyError(f"no signature registered for `{name}`")
        self._implementations[name] = implementation

    def get(self, name: str) -> Signature | None:
        self.load_plugins()
        return self._signatures.get(name)

    def implementation(self, name: str) -> Callable[..., object]:
        self.load_plugins()
        try:
            return self._implementations[name]
        except KeyError:
            raise KeyError(f"predicate `{name}` has a signature but no implementation") from None

    def names(self) -> list[str]:
        self.load_plugins()
        return sorted(self._signatures)

    def signatures(self) -> list[Signature]:
        return [self._signatures[n] for n in self.names()]

    def load_plugins(self) -> None:
        """Import every `dire_dsl.predicates` entry point once; record (not raise) broken ones."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                entry_point.load()
            except Exception as error:  # a broken plugin must not break `dire check`
                self.plugin_errors.append(f"plugin `{entry_point.name}` ({entry_point.value}) failed to load: {error}")


REGISTRY = SignatureRegistry()


def register_signature(
    name: str,
    params: list[tuple[str, frozenset[ArgKind]]],
    result: ArgKind,
    doc: str,
    *,
    integer: bool = False,
    low: float = -math.inf,
    high: float = math.inf,
    source: str = "dire_dsl",
) -> Signature:
    signature = Signature(name, tuple(Param(n, k) for n, k in params), result, doc, integer, low, high, source)
    REGISTRY.add(signature)
    return signature


# ---------------------------------------------------------------- built-ins
_UNIT = {"low": 0.0, "high": 1.0}
register_signature("count", [("objects", OBJECTS)], ArgKind.NUMBER,
                   "Soft number of instances (sum of presence probabilities).", integer=True, low=0.0)
register_signature("area", [("of", ENTITY)], ArgKind.NUMBER,
                   "Fraction of the image covered (soft mask mean), in [0, 1].", **_UNIT)
register_signature("ratio", [("numerator", NUMBER), ("denominator", NUMBER)], ArgKind.NUMBER,
                   "numerator / denominator, with a small epsilon against division by zero.", low=0.0)
register_signature("abs", [("value", NUMBER)], ArgKind.NUMBER, "Absolute value.", low=0.0)
for _name, _doc in (
    ("x", "Horizontal centroid in [0, 1] (0 = left edge)."),
    ("y", "Vertical centroid in [0, 1] (0 = top edge)."),
    ("top", "Topmost extent in [0, 1] (soft, from the mask's vertical profile)."),
    ("bottom", "Bottommost extent in [0, 1]."),
    ("left", "Leftmost extent in [0, 1]."),
    ("right", "Rightmost extent in [0, 1]."),
):
    register_signature(_name, [("of", ENTITY)], ArgKind.NUMBER, _doc, **_UNIT)
register_signature("length", [("of", ENTITY)], ArgKind.NUMBER,
                   "Major-axis length from second moments, in image widths.", low=0.0, high=2.0)
for _name, _doc in (
    ("inside", "Fraction of `a`'s mass inside `b` (a region, cell, instance or object)."),
    ("touches", "The dilated masks of `a` and `b` meet."),
    ("overlaps", "Intersection over the smaller of the two masks."),
    ("left_of", "The centroid of `a` lies left of the centroid of `b`."),
    ("right_of", "The centroid of `a` lies right of the centroid of `b`."),
    ("above", "The centroid of `a` lies above the centroid of `b`."),
    ("below", "The centroid of `a` lies below the centroid of `b`."),
):
    register_signature(_name, [("a", ENTITY), ("b", PLACE if _name == "inside" else ENTITY)], ArgKind.TRUTH, _doc)
register_signature("joins", [("via", ENTITY), ("a", ENTITY), ("b", ENTITY)], ArgKind.TRUTH,
                   "A path through `via` leads from `a` to `b` (its weakest pixel, on the best path).")
