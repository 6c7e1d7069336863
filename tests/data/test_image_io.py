"""Image files read as 8-bit RGB: wide integer images are scaled, never clipped to white."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dire_dsl.data.errors import ImageReadError
from dire_dsl.data.image_io import open_image, read_rgb
from dire_dsl.eval import inference


def gradient16(path: Path) -> Path:
    """A 16-bit grayscale PNG: a left-to-right ramp over the whole range, mid-gray in row 0."""
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))
    ramp[0, 0] = 32768
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "I;16"
    return path


def test_16_bit_png_is_scaled_to_8_bit(tmp_path: Path) -> None:
    pixels = read_rgb(gradient16(tmp_path / "g16.png"))
    assert pixels.dtype == np.uint8 and pixels.shape == (8, 64, 3)
    assert pixels.min() == 0 and pixels.max() == 255 and len(np.unique(pixels)) > 32
    assert abs(int(pixels[0, 0, 0]) - 128) <= 1
    assert inference.read_rgb is read_rgb  # evaluation reads images like training does


@pytest.mark.parametrize("mode", ["I;16B", "I"])
def test_big_endian_16_bit_and_32_bit_images_are_scaled(mode: str) -> None:
    from dire_dsl.data.image_io import to_8bit

    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    image = Image.frombytes("I;16B", (3, 1), values.astype(">u2").tobytes()) if mode == "I;16B" else \
        Image.fromarray(values.astype(np.int32))
    assert image.mode == mode
    assert np.asarray(to_8bit(image)).tolist() == [[0, 128, 255]]
    wide = Image.fromarray(np.array([[0, 500_000, 1_000_000]], dtype=np.int32))  # beyond 16 bits: own max
    assert np.asarray(to_8bit(wide)).tolist() == [[0, 128, 255]]


def test_8_bit_images_and_raw_reads_are_unchanged(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert np.array_equal(read_rgb(tmp_path / "rgb.png"), rgb)
    assert open_image(gradient16(tmp_path / "g16.png"), None).mode == "I;16"  # masks keep raw values


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="missing.png: file not found"):
        read_rgb(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="is a folder"):
        read_rgb(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match="bad.png"):
        open_image(tmp_path / "bad.png", "RGB")
