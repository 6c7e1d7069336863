"""Hand-made normal images with component masks for the six shipped rules files; the rules
hold on them, as the compiled rules judge annotated components."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from dire_dsl.data.components import Component
from dire_dsl.edits.judge import RuleJudge
from dire_dsl.lang import ir
from dire_dsl.lang.program import load_rules

ROOT = Path(__file__).resolve().parents[2]
Normal = tuple[np.ndarray, list[Component]]


# ---------------------------------------------------------------- drawing
def ellipse(shape: tuple[int, int], cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> np.ndarray:
    """Centre in image fractions, radii in pixels, angle in degrees."""
    ys, xs = np.mgrid[: shape[0], : shape[1]] + 0.5
    dx, dy = xs - cx * shape[1], ys - cy * shape[0]
    t = np.deg2rad(angle)
    u, v = dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t)
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0


def rect(shape: tuple[int, int], x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    ys, xs = (np.arange(shape[0]) + 0.5) / shape[0], (np.arange(shape[1]) + 0.5) / shape[1]
    return ((ys >= y0) & (ys < y1))[:, None] & ((xs >= x0) & (xs < x1))[None, :]


def bar(shape: tuple[int, int], cx: float, cy: float, length: float, width: float, angle: float) -> np.ndarray:
    """A rotated rectangle; length and width in pixels."""
    ys, xs = np.mgrid[: shape[0], : shape[1]] + 0.5
    t = np.deg2rad(angle)
    dx, dy = xs - cx * shape[1], ys - cy * shape[0]
    u, v = dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t)
    return (np.abs(u) <= length / 2) & (np.abs(v) <= width / 2)


def canvas(shape: tuple[int, int], colour: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """A textured background: smooth shading plus pixel noise."""
    smooth = ndimage.gaussian_filter(rng.normal(0, 1, (*shape, 1)), (6, 6, 0)) * 40
    return np.asarray(colour, np.float32) + smooth + rng.normal(0, 3, (*shape, 3))


def paint(image: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], rng: np.random.Generator) -> None:
    image[mask] = np.asarray(colour, np.float32) + rng.normal(0, 4, (int(mask.sum()), 3))


def finish(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- the six categories
def breakfast_box(variant: int) -> Normal:
    rng = np.random.default_rng(variant)
    shape = (96, 160)
    image = canvas(shape, (200, 190, 170), rng)
    parts = [
        ("tangerine", ellipse(shape, 0.14, 0.3, 10, 10), (235, 140, 30)),
        ("tangerine", ellipse(shape, 0.3, 0.72, 10, 10), (235, 140, 30)),
        ("nectarine", ellipse(shape, 0.33, 0.3, 11, 11), (200, 60, 50)),
        ("cereal", ellipse(shape, 0.7, 0.34, 25, 23), (190, 150, 90)),
    ]
    parts += [("banana_chip", ellipse(shape, x, 0.8, 5, 5), (240, 230, 160)) for x in (0.56, 0.63, 0.7, 0.77)]
    parts += [("almond", ellipse(shape, x, 0.92, 6, 4), (140, 90, 50)) for x in (0.58, 0.66, 0.74, 0.82)]
    for _, mask, colour in parts:
        paint(image, mask, colour, rng)
    return finish(image), [Component(name, mask) for name, mask, _ in parts]


JUICE = [("cherry", "red", (200, 30, 40), (180, 20, 30)), ("orange", "yellow", (240, 150, 20), (230, 200, 40)),
         ("banana", "white", (250, 230, 80), (235, 235, 225))]


def juice_bottle(variant: int) -> Normal:
    rng = np.random.default_rng(variant)
    fruit, colour, icon_colour, juice_colour = JUICE[variant % 3]
    shape = (160, 80)
    image = canvas(shape, (60, 60, 70), rng)
    bottle = rect(shape, 0.3, 0.1, 0.7, 0.95)
    juice = rect(shape, 0.32, 0.25, 0.68, 0.93)
    fruit_label = rect(shape, 0.33, 0.46, 0.67, 0.6)
    juice_label = rect(shape, 0.33, 0.74, 0.67, 0.84)
    icon = ellipse(shape, 0.5, 0.53, 5, 5)
    labels = fruit_label | juice_label
    paint(image, bottle, (150, 160, 150), rng)
    paint(image, juice & ~labels, juice_colour, rng)
    paint(image, labels, (245, 245, 240), rng)
    paint(image, icon, icon_colour, rng)
    return finish(image), [
        Component("bottle", bottle & ~juice & ~labels),
        Component("juice", juice & ~labels, {"color": colour}),
        Component("fruit_label", fruit_label),
        Component("icon", icon, {"fruit": fruit}),
        Component("juice_label", juice_label),
    ]


def pcb1(variant: int) -> Normal:
    rng = np.random.default_rng(variant)
    shape = (96, 96)
    image = canvas(shape, (40, 40, 40), rng)
    parts = [
        ("board", rect(shape, 0.1, 0.1, 0.9, 0.9), (30, 110, 50)),
        ("chip", rect(shape, 0.3, 0.25, 0.5, 0.4), (20, 20, 20)),
        ("capacitor", ellipse(shape, 0.7, 0.3, 6, 6), (60, 60, 160)),
        ("led", ellipse(shape, 0.25, 0.6, 3, 3), (230, 230, 120)),
        ("header", rect(shape, 0.3, 0.75, 0.7, 0.82), (200, 190, 90)),
    ]
    for _, mask, colour in parts:
        paint(image, mask, colour, rng)
    return finish(image), [Component(name, mask) for name, mask, _ in parts]


def pushpins(variant: int) -> Normal:
    rng = np.random.default_rng(variant)
    shape = (90, 150)
    image = canvas(shape, (90, 90, 95), rng)
    x0, y0, x1, y1 = 0.04, 0.05, 0.96, 0.95
    width, height = (x1 - x0) / 5, (y1 - y0) / 3
    paint(image, rect(shape, x0, y0, x1, y1), (170, 170, 160), rng)
    components = []
    wall_x, wall_y = 1.0 / shape[1], 1.0 / shape[0]
    for r in range(3):
        for c in range(1, 5):
            x = x0 + c * width
            components.append(Component("separator", rect(shape, x - wall_x, y0 + r * height, x + wall_x,
                                                          y0 + (r + 1) * height)))
    for r in range(1, 3):
        for c in range(5):
            y = y0 + r * height
            components.append(Component("separator", rect(shape, x0 + c * width + wall_x, y - wall_y,
                                                          x0 + (c + 1) * width - wall_x, y + wall_y)))
    for component in components:
        paint(image, component.mask, (120, 120, 115), rng)
    for r in range(3):
        for c in range(5):
            jitter = rng.uniform(-0.15, 0.15, 2)
            pin = ellipse(shape, x0 + (c + 0.5 + jitter[0]) * width, y0 + (r + 0.5 + jitter[1]) * height, 4, 4)
            paint(image, pin, (40, 120, 210), rng)
            components.append(Component("pushpin", pin))
    return finish(image), components


def screw_bag(variant: int) -> Normal:
    rng = np.random.default_rng(variant)
    shape = (100, 120)
    image = canvas(shape, (210, 210, 215), rng)
    parts = [
        ("screw", bar(shape, 0.4, 0.35, 0.44 * shape[1], 4, 15 + 10 * variant), {"length": "long"}),
        ("screw", bar(shape, 0.62, 0.7, 0.27 * shape[1], 4, -20), {"length": "short"}),
        ("nut", ellipse(shape, 0.2, 0.72, 6, 6), {}),
        ("nut", ellipse(shape, 0.85, 0.3, 6, 6), {}),
        ("washer", ellipse(shape, 0.4, 0.78, 7, 7) & ~ellipse(shape, 0.4, 0.78, 3, 3), {}),
        ("washer", ellipse(shape, 0.8, 0.62, 7, 7) & ~ellipse(shape, 0.8, 0.62, 3, 3), {}),
    ]
    for _, mask, _ in parts:
        paint(image, mask, (120, 120, 125), rng)
    return finish(image), [Component(name, mask, attributes) for name, mask, attributes in parts]


CABLES = [("2", "yellow", (230, 200, 30), 0.1), ("3", "blue", (40, 70, 200), 0.15), ("5", "red", (200, 40, 40), 0.2)]


def splicing_connectors(variant: int) -> Normal:
    """Connectors of every clamp count share one colour and differ in length, as in LOCO."""
    rng = np.random.default_rng(variant)
    clamps, colour, rgb, length = CABLES[variant % 3]
    shape = (80, 160)
    image = canvas(shape, (230, 230, 230), rng)
    left = rect(shape, 0.25 - length, 0.35, 0.25, 0.65)
    right = rect(shape, 0.75, 0.35, 0.75 + length, 0.65)
    cable = rect(shape, 0.25, 0.46, 0.75, 0.54)
    for mask, paint_colour in ((left, (150, 150, 150)), (right, (150, 150, 150)), (cable, rgb)):
        paint(image, mask, paint_colour, rng)
    return finish(image), [
        Component("connector", left, {"clamps": clamps}),
        Component("connector", right, {"clamps": clamps}),
        Component("cable", cable, {"color": colour}),
    ]


SCENES: dict[str, Callable[[int], Normal]] = {
    "breakfast_box": breakfast_box, "juice_bottle": juice_bottle, "pcb1": pcb1, "pushpins": pushpins,
    "screw_bag": screw_bag, "splicing_connectors": splicing_connectors,
}


def normals(category: str, count: int = 3) -> tuple[list[np.ndarray], list[list[Component]]]:
    pairs = [SCENES[category](v) for v in range(count)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


@cache
def shipped(category: str) -> ir.CheckedProgram:
    return load_rules(ROOT / "tests" / "fixtures" / "frozen_rules" / f"{category}.rules")


# ---------------------------------------------------------------- the scenes are normal
@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Small tensors: extra threads only add overhead on shared cores (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("category", SCENES)
def test_scenes_keep_their_rules(category: str) -> None:
    """Every rule holds as well as the soft semantics allows: a value in the middle of a narrow
    range (τ = 0.05) scores about 0.5, a bare `area >= 0.01` about 0.55."""
    for variant in range(3):
        image, components = SCENES[category](variant)
        assert image.dtype == np.uint8 and image.shape[2] == 3
        truths = RuleJudge(shipped(category)).truths(components, image.shape[:2])
        assert min(truths.values()) >= 0.25, truths
