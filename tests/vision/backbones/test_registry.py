"""The registry: names, errors, overwrites, specs, and plugins through entry points."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from typing import Any

import pytest

from dire_dsl.vision.backbones import (
    ENTRY_POINT_GROUP,
    BackboneError,
    LoraSettings,
    create_backbone,
    get_backbone_factory,
    list_backbones,
    register_backbone,
    registry,
)
from dire_dsl.vision.backbones.conv_small import ConvSmall


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A private copy of the registry, with entry points not yet loaded."""
    backbones = dict(registry._BACKBONES)
    monkeypatch.setattr(registry, "_BACKBONES", backbones)
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    return backbones


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, *declared: importlib.metadata.EntryPoint) -> list[str]:
    """Make ``declared`` the installed entry points; return the groups looked up."""
    calls: list[str] = []

    def entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        calls.append(group)
        return [ep for ep in declared if ep.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return calls


def plugin_factory(arg: str | None, /, *, adapt: bool | LoraSettings = True, **kwargs: Any) -> ConvSmall:
    """Stands in for a factory shipped by another package."""
    return ConvSmall(width=8, frozen=not adapt)


def test_built_ins_are_registered() -> None:
    assert {"conv-small", "open_clip", "timm"} <= set(list_backbones())
    assert list_backbones() == sorted(list_backbones())


def test_unknown_name_lists_known_ones() -> None:
    known = r"unknown backbone 'resnet'; known backbones: .*conv-small.*open_clip.*timm"
    with pytest.raises(BackboneError, match=known):
        create_backbone("resnet")


def test_overwrite_warns_and_replaces(clean_registry: dict[str, Any]) -> None:
    register_backbone("mine")(plugin_factory)
    register_backbone("mine")(plugin_factory)  # same factory again: silent

    def other(arg: str | None, /, **kwargs: Any) -> ConvSmall:
        return ConvSmall(width=8)

    with pytest.warns(UserWarning, match="backbone 'mine' registered again"):
        register_backbone("mine")(other)
    assert get_backbone_factory("mine") is other


@pytest.mark.parametrize("name", ["", "a:b", "a@b", "a b"])
def test_names_that_would_break_specs_are_refused(name: str) -> None:
    with pytest.raises(BackboneError, match="invalid backbone name"):
        register_backbone(name)


def test_factory_receives_argument_adapt_and_kwargs(clean_registry: dict[str, Any]) -> None:
    seen: dict[str, Any] = {}

    @register_backbone("probe")
    def probe(arg: str | None, /, *, adapt: bool | LoraSettings = True, **kwargs: Any) -> ConvSmall:
        seen.update(arg=arg, adapt=adapt, kwargs=kwargs)
        return ConvSmall(width=8)

    create_backbone("probe:x@/some/path:with:colons", size=3)
    assert seen == {"arg": "x@/some/path:with:colons", "adapt": True, "kwargs": {"size": 3}}
    create_backbone("probe", rank=32)
    assert seen["arg"] is None and seen["adapt"] == LoraSettings(rank=32)
    with pytest.raises(BackboneError, match="rank= applies only with adapt=True"):
        create_backbone("probe", adapt=False, rank=8)


def test_rank_is_bounded() -> None:
    assert LoraSettings(rank=64).rank == 64
    with pytest.raises(ValueError):
        LoraSettings(rank=65)
    with pytest.raises(ValueError):
        LoraSettings(rank=0)


def test_plugin_factory_from_entry_point(monkeypatch: pytest.MonkeyPatch, clean_registry: dict[str, Any]) -> None:
    calls = _fake_entry_points(
        monkeypatch,
        importlib.metadata.EntryPoint("tiny-plugin", f"{__name__}:plugin_factory", ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("elsewhere", f"{__name__}:plugin_factory", "other.group"),
    )
    assert calls == []  # nothing is loaded before the first lookup
    backbone = create_backbone("tiny-plugin", adapt=False)
    assert isinstance(backbone, ConvSmall) and backbone.frozen
    assert "tiny-plugin" in list_backbones() and "elsewhere" not in list_backbones()
    assert calls == [ENTRY_POINT_GROUP]  # and entry points are read once


def test_plugin_module_registers_by_decorator(
    monkeypatch: pytest.MonkeyPatch, clean_registry: dict[str, Any], tmp_path: Any
) -> None:
    (tmp_path / "dire_fake_plugin.py").write_text(
        "from dire_dsl.vision.backbones import register_backbone\n"
        "from dire_dsl.vision.backbones.conv_small import ConvSmall\n"
        "@register_backbone('decorated-net')\n"
        "def create(arg, /, *, adapt=True, **kwargs):\n"
        "    return ConvSmall(width=8)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_entry_points(monkeypatch, importlib.metadata.EntryPoint("fake", "dire_fake_plugin", ENTRY_POINT_GROUP))
    assert "decorated-net" in list_backbones()
    assert "fake" not in list_backbones()  # a module entry point registers what it decorates, nothing more


def test_broken_plugin_warns_and_spares_built_ins(monkeypatch: pytest.MonkeyPatch,
                                                  clean_registry: dict[str, Any]) -> None:
    _fake_entry_points(monkeypatch, importlib.metadata.EntryPoint("broken", "no_such_module_xyz:f", ENTRY_POINT_GROUP))
    with pytest.warns(UserWarning, match="backbone plugin 'broken'.*failed to load"):
        names = list_backbones()
    assert "conv-small" in names and "broken" not in names


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("open_clip", "needs an architecture"),
        ("open_clip:", "needs an architecture"),
        ("open_clip:ViT-B-16@", "cannot read"),
        ("timm:@/x.safetensors", "cannot read"),
    ],
)
def test_malformed_specs(spec: str, message: str) -> None:
    with pytest.raises(BackboneError, match=message):
        create_backbone(spec)


def test_import_stays_light() -> None:
    code = (
        "import sys, dire_dsl.vision.backbones\n"
        "heavy = [m for m in ('open_clip', 'peft', 'timm') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
