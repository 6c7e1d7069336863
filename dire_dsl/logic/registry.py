"""`@predicate`: register a plugin predicate's signature and implementation in one step.

    from dire_dsl.logic.registry import predicate

    @predicate("symmetric", params=[("obj", "entity")], doc="Left-right mirror similarity.")
    def symmetric(obj):            # obj: mask [B, *S, H, W]
        import torch
        ...
        return score               # [B, *S], float, in [0, 1] for a truth value

The signature goes to `dire_dsl.lang.signatures.REGISTRY`, which the checker reads; the
implementation is attached to the same name. This module does not import torch, so a
plugin that imports it keeps `dire check` fast. Calling convention: docs/plugins.md.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable, Sequence
from typing import Any

from dire_dsl.lang.signatures import ENTITY, PLACE, REGISTRY, ArgKind, register_signature

KINDS: dict[str, frozenset[ArgKind]] = {
    "number": frozenset({ArgKind.NUMBER}),
    "truth": frozenset({ArgKind.TRUTH}),
    "objects": frozenset({ArgKind.OBJECTS}),
    "instance": frozenset({ArgKind.INSTANCE}),
    "region": frozenset({ArgKind.REGION}),
    "entity": ENTITY,
    "place": PLACE,
}
"""Parameter kinds a plugin may ask for; combine with `|`, e.g. "objects|region"."""

RESULTS = {"truth": ArgKind.TRUTH, "number": ArgKind.NUMBER}


class PluginCall:
    """Adapts a plugin function on plain tensors to the internal (context, *arguments) convention."""

    def __init__(self, name: str, function: Callable[..., Any]) -> None:
        self.name = name
        self.function = function

    def __call__(self, ctx: Any, *arguments: Any) -> Any:
        tensors = [ctx.tensor(argument) for argument in arguments]
        result = self.function(*tensors)
        dtype = tensors[0].dtype
        return result.to(dtype) if getattr(result, "dtype", dtype) != dtype else result


def parse_kinds(text: str) -> frozenset[ArgKind]:
    """"entity", "objects|region", ... → the argument kinds the checker accepts."""
    kinds: frozenset[ArgKind] = frozenset()
    for part in text.split("|"):
        if part.strip() not in KINDS:
            raise ValueError(f"unknown parameter kind `{part.strip()}`; "
                             f"use one of: {', '.join(KINDS)} (or several joined by |)")
        kinds |= KINDS[part.strip()]
    return kinds


def predicate(
    name: str,
    params: Sequence[tuple[str, str]],
    result: str = "truth",
    doc: str | None = None,
    *,
    integer: bool = False,
    low: float = -math.inf,
    high: float = math.inf,
    source: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `name(params) -> result`; the decorated function receives one tensor per parameter.

    `low`/`high` bound a number result (the checker flags comparisons they decide);
    `integer` marks counts. `source` defaults to the function's top-level package.
    """
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"predicate name `{name}` is not a valid identifier")
    if result not in RESULTS:
        raise ValueError(f"result must be one of: {', '.join(RESULTS)}; got `{result}`")
    if not params:
        raise ValueError(f"predicate `{name}` needs at least one parameter (it is evaluated per image)")
    kinds = [(param, parse_kinds(kind)) for param, kind in params]

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        text = doc if doc is not None else (function.__doc__ or "").strip().split("\n")[0]
        register_signature(name, kinds, RESULTS[result], text, integer=integer, low=low, high=high,
                           source=source or function.__module__.split(".")[0])
        REGISTRY.implement(name, PluginCall(name, function))
        return function

    return register
