"""Reading image files the same way everywhere: training data, evaluation, explanation.

PIL's `convert("RGB")` clips 16- and 32-bit integer images (e.g. 16-bit grayscale PNGs) at
255, so almost every pixel turns white without a word; `to_8bit` scales them first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from dire_dsl.data.errors import ImageReadError

UINT16_MAX = 65535


def to_8bit(image: Image.Image) -> Image.Image:
    """A wide integer image (modes I;16*, I) scaled to 8-bit "L"; any other image unchanged.

    16-bit modes are divided by 65535; mode "I" by 65535 when its values fit 16 bits (a
    16-bit file PIL widened), else by its own maximum.
    """
    if not image.mode.startswith("I"):
        return image
    values = np.asarray(image).astype(np.float64).clip(min=0)
    top = float(values.max(initial=0.0))
    scale = UINT16_MAX if image.mode.startswith("I;16") or top <= UINT16_MAX else top
    return Image.fromarray(np.rint(values * (255.0 / scale)).astype(np.uint8))


def open_image(path: str | Path, mode: str | None) -> Image.Image:
    """Decode an image file (converted to `mode` unless None); ImageReadError names the file."""
    try:
        with Image.open(path) as image:
            image.load()
            if mode is None:
                return image.copy()
            image = to_8bit(image)
            return image.convert(mode) if image.mode != mode else image.copy()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not an image") from None
    except Exception as error:  # PIL raises many types for corrupt files
        raise ImageReadError(path, f"{type(error).__name__}: {error}") from None


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as RGB uint8 [H, W, 3]; ImageReadError names the file when it cannot be decoded."""
    return np.asarray(open_image(path, "RGB"), dtype=np.uint8).copy()
