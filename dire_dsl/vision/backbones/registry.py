"""Backbone registry: names to factories, filled by decorators and by plugin entry points.

A spec string picks a backbone: ``NAME`` or ``NAME:ARG`` (``conv-small``,
``open_clip:ViT-B-16@/weights/clip.safetensors``, ``timm:resnet18``). The part after the
first ``:`` goes to the factory untouched. Plugins declare, in their own package,

    [project.entry-points."dire_dsl.backbones"]
    my-net = "my_pkg.backbones:create_my_net"

and are loaded on the first lookup, so importing dire_dsl stays cheap.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol, TypeVar

from dire_dsl.vision.backbones.base import Backbone, BackboneError
from dire_dsl.vision.backbones.lora import LoraSettings

ENTRY_POINT_GROUP = "dire_dsl.backbones"


class BackboneFactory(Protocol):
    """Builds a backbone from the text after ``NAME:`` (None when there is none).

    ``adapt`` is False (frozen), True (the backbone's default adaptation) or LoRA settings.
    """

    def __call__(self, arg: str | None, /, *, adapt: bool | LoraSettings, **kwargs: Any) -> Backbone: ...


F = TypeVar("F", bound=Callable[..., Backbone])

_BACKBONES: dict[str, Callable[..., Backbone]] = {}
_entry_points_loaded = False


def register_backbone(name: str) -> Callable[[F], F]:
    """Decorator registering ``factory`` under ``name``; re-registering a name warns and replaces."""
    if not name or any(c in name for c in ":@ "):
        raise BackboneError(f"invalid backbone name {name!r}: it must be non-empty without ':', '@' or spaces")

    def decorator(factory: F) -> F:
        previous = _BACKBONES.get(name)
        if previous is not None and previous is not factory:
            warnings.warn(
                f"backbone {name!r} registered again: {_qualname(factory)} replaces {_qualname(previous)}",
                stacklevel=2,
            )
        _BACKBONES[name] = factory
        return factory

    return decorator


def list_backbones() -> list[str]:
    """Names of all registered backbones, plugins included, sorted."""
    _load_entry_points()
    return sorted(_BACKBONES)


def get_backbone_factory(name: str) -> Callable[..., Backbone]:
    """The factory registered under ``name``; the error lists the known names."""
    _load_entry_points()
    try:
        return _BACKBONES[name]
    except KeyError:
        raise BackboneError(f"unknown backbone {name!r}; known backbones: {', '.join(sorted(_BACKBONES))}") from None


def create_backbone(
    spec: str,
    *,
    adapt: bool | LoraSettings = True,
    rank: int | None = None,
    **kwargs: Any,
) -> Backbone:
    """Build the backbone named by ``spec``.

    ``adapt``: False freezes it; True trains it the backbone's way (all weights for a network
    trained from scratch, LoRA adapters of rank ``rank`` (default 16) for pretrained ones);
    :class:`LoraSettings` chooses the adapters. Other keyword arguments go to the factory.
    """
    name, sep, arg = spec.partition(":")
    factory = get_backbone_factory(name)
    if rank is not None:
        if adapt is not True:
            raise BackboneError("rank= applies only with adapt=True; put the rank in LoraSettings otherwise")
        adapt = LoraSettings(rank=rank)
    return factory(arg if sep else None, adapt=adapt, **kwargs)


def split_weights(arg: str | None, spec_name: str) -> tuple[str, str | None]:
    """Split ``ARCH[@WEIGHTS]`` for factories whose argument names an architecture."""
    if not arg:
        raise BackboneError(f"{spec_name} needs an architecture: write {spec_name}:<arch>[@<weights>]")
    arch, sep, weights = arg.partition("@")
    if not arch or (sep and not weights):
        raise BackboneError(f"cannot read {spec_name}:{arg}; write {spec_name}:<arch>[@<weights>]")
    return arch, weights or None


def _load_entry_points() -> None:
    """Import plugin backbones once. An entry point names either a factory (registered under
    the entry point's name) or a module whose decorators register its backbones."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
        except Exception as error:  # a broken plugin must not take the built-ins down with it
            warnings.warn(f"backbone plugin {entry_point.name!r} ({entry_point.value}) failed to load: {error}",
                          stacklevel=3)
            continue
        if callable(loaded) and not isinstance(loaded, ModuleType) and _BACKBONES.get(entry_point.name) is not loaded:
            register_backbone(entry_point.name)(loaded)


def _qualname(factory: Callable[..., Any]) -> str:
    return f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', repr(factory))}"
