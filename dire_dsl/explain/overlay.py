"""Pictures for people: an anomaly map over the image, and the marks of violated rules.

Pure numpy + PIL (no plotting library), so `dire explain` stays light. Each violated rule
gets one colour: its instance masks are filled and outlined, its cells and regions boxed
and labelled, and a legend under the image names the rules.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from dire_dsl.atomic import GENERATOR
from dire_dsl.logic.evidence import Mark

PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40))
"""Distinct colours, one per violated rule (in order of appearance)."""

_HEAT = np.array([(0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9), (252, 255, 164)], dtype=np.float64)
"""Anchor colours of an inferno-like colour scale, low to high."""

MIN_SIDE = 320
"""Small images are enlarged to this longer side for display."""


def heat_colors(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] → RGB uint8 on the inferno-like scale."""
    t = np.clip(values, 0.0, 1.0) * (len(_HEAT) - 1)
    low = np.floor(t).astype(int).clip(0, len(_HEAT) - 2)
    frac = (t - low)[..., None]
    return (_HEAT[low] * (1 - frac) + _HEAT[low + 1] * frac).round().astype(np.uint8)


def heat_overlay(pixels: np.ndarray, anomaly_map: np.ndarray, low: float, high: float) -> Image.Image:
    """The map's values scaled from `low` (transparent) to `high` (opaque), blended over the image."""
    if anomaly_map.shape != pixels.shape[:2]:
        anomaly_map = np.asarray(Image.fromarray(anomaly_map.astype(np.float32)).resize(
            (pixels.shape[1], pixels.shape[0]), Image.BILINEAR))
    scaled = (anomaly_map - low) / (high - low) if high > low else np.zeros_like(anomaly_map)
    alpha = (0.15 + 0.7 * np.clip(scaled, 0, 1))[..., None]
    blended = pixels.astype(np.float64) * (1 - alpha) + heat_colors(scaled).astype(np.float64) * alpha
    return Image.fromarray(blended.round().astype(np.uint8))


def _resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    return np.asarray(Image.fromarray(mask.astype(np.float32)).resize((width, height), Image.BILINEAR))


def _outline(binary: np.ndarray) -> np.ndarray:
    inner = binary.copy()
    inner[1:, :] &= binary[:-1, :]
    inner[:-1, :] &= binary[1:, :]
    inner[:, 1:] &= binary[:, :-1]
    inner[:, :-1] &= binary[:, 1:]
    return binary & ~inner


def rule_colors(marks: Sequence[Mark]) -> dict[str, tuple[int, int, int]]:
    """One palette colour per rule, in order of first appearance."""
    colors: dict[str, tuple[int, int, int]] = {}
    for mark in marks:
        if mark.rule not in colors:
            colors[mark.rule] = PALETTE[len(colors) % len(PALETTE)]
    return colors


def enlarge(image: Image.Image, min_side: int = MIN_SIDE) -> Image.Image:
    """Scale a small image up so its longer side is at least `min_side` (for display)."""
    longest = max(image.size)
    if longest >= min_side:
        return image
    scale = min_side / longest
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)


def marks_overlay(pixels: np.ndarray, marks: Sequence[Mark], legend: bool = True) -> Image.Image:
    """The image with each mark drawn in its rule's colour, plus a legend of the rules."""
    base = enlarge(Image.fromarray(pixels))
    height, width = base.height, base.width
    canvas = np.asarray(base, dtype=np.float64).copy()
    colors = rule_colors(marks)
    for mark in marks:
        if mark.mask is None:
            continue
        soft = np.clip(_resize_mask(mark.mask, (height, width)), 0, 1)
        color = np.array(colors[mark.rule], dtype=np.float64)
        alpha = (0.45 * soft)[..., None]
        canvas = canvas * (1 - alpha) + color * alpha
        canvas[_outline(soft > 0.5)] = color
    image = Image.fromarray(canvas.round().astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for mark in marks:
        if mark.box is None:
            continue
        x0, y0, x1, y1 = mark.box
        box = (x0 * (width - 1), y0 * (height - 1), x1 * (width - 1), y1 * (height - 1))
        draw.rectangle(box, outline=colors[mark.rule], width=2)
        label = mark.label[mark.label.index("["):] if "[" in mark.label else mark.label  # a cell: `[2,3]`
        draw.text((box[0] + 3, box[1] + 2), label, fill=colors[mark.rule], font=font)
    partial = {mark.rule for mark in marks if mark.partial}
    return with_legend(image, colors, partial) if legend and colors else image


def with_legend(image: Image.Image, colors: dict[str, tuple[int, int, int]],
                partial: set[str] | frozenset[str] = frozenset()) -> Image.Image:
    """The image with a strip under it naming each rule in its colour (`partial`: holds, but not everywhere)."""
    line = 14
    strip = Image.new("RGB", (image.width, line * len(colors) + 6), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default()
    for row, (rule, color) in enumerate(colors.items()):
        y = 3 + row * line
        draw.rectangle((4, y + 2, 14, y + 11), fill=color)
        status = "false in part" if rule in partial else "violated"
        text = rule if " " in rule else f"{status}: {rule}"  # `structural defect` is not a rule
        draw.text((20, y), text, fill=(0, 0, 0), font=font)
    out = Image.new("RGB", (image.width, image.height + strip.height), (255, 255, 255))
    out.paste(image, (0, 0))
    out.paste(strip, (0, image.height))
    return out


def side_by_side(images: Sequence[Image.Image], titles: Sequence[str]) -> Image.Image:
    """Panels next to each other (tops aligned), each with its title above it."""
    title_height, gap = 16, 6
    height = max(image.height for image in images) + title_height
    width = sum(image.width for image in images) + gap * (len(images) - 1)
    out = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default()
    x = 0
    for image, title in zip(images, titles):
        draw.text((x + 2, 2), title, fill=(0, 0, 0), font=font)
        out.paste(image, (x, title_height))
        x += image.width + gap
    return out


def png_bytes(image: Image.Image) -> bytes:
    """PNG encoding with dire's "Software" text chunk, so a later `dire explain` may replace the file."""
    info = PngInfo()
    info.add_text("Software", GENERATOR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True, pnginfo=info)
    return buffer.getvalue()
