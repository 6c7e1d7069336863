"""Reading image files the same way everywhere: training data, evaluation, explanation.

An image is read as a user sees it in a viewer, or refused with an `ImageReadError` naming the
file -- never silently altered:

- PIL's `convert("RGB")` clips 16- and 32-bit integer images (e.g. 16-bit grayscale PNGs) at
  255, so almost every pixel turns white without a word; `to_8bit` scales them first. Float
  images (mode "F", e.g. float32 TIFFs) are scaled from [0, 1]; any other float range has no
  single faithful 8-bit reading, so it is refused.
- A phone photo stores its pixels sideways plus an EXIF orientation tag; `exif_transpose`
  turns it upright, as viewers do.
- The decoded size is checked from the header before decoding: a 17 KB PNG can claim
  12000x12000 pixels and take gigabytes. PIL's own decompression-bomb limit is higher.
- Only regular files are opened: a FIFO or device named `.png` would block (or never end).

Masks (`mode=None`) are read raw: their pixel values are labels and their grid must match the
image file's stored grid, so they are neither scaled nor turned.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from dire_dsl.data.errors import ImageReadError
from dire_dsl.errors import DireError

UINT16_MAX = 65535
# 64 megapixels (e.g. 8000 x 8000): 30x the largest MVTec LOCO image (1700 x 1100, 1.9 Mpx);
# decoded as RGB it takes 192 MB, as the float tensor the model sees 768 MB.
MAX_PIXELS = 64_000_000


class UnfaithfulImageError(DireError, ValueError):
    """An image with no single faithful 8-bit reading (a float image outside [0, 1])."""


def to_8bit(image: Image.Image) -> Image.Image:
    """A wide integer image (modes I;16*, I) or a [0, 1] float image (mode F) as 8-bit "L";
    any other image unchanged.

    16-bit modes are divided by 65535; mode "I" by 65535 when its values fit 16 bits (a
    16-bit file PIL widened), else by its own maximum. A float image with values outside
    [0, 1] (or NaN/inf) raises UnfaithfulImageError: guessing its range would change what it shows.
    """
    if image.mode == "F":
        return _float_to_8bit(np.asarray(image, dtype=np.float64))
    if not image.mode.startswith("I"):
        return image
    values = np.asarray(image).astype(np.float64).clip(min=0)
    top = float(values.max(initial=0.0))
    scale = UINT16_MAX if image.mode.startswith("I;16") or top <= UINT16_MAX else top
    return Image.fromarray(np.rint(values * (255.0 / scale)).astype(np.uint8))


def _float_to_8bit(values: np.ndarray) -> Image.Image:
    """A float image in [0, 1] scaled to 8-bit "L"; anything else refused (see `to_8bit`)."""
    if not np.isfinite(values).all():
        raise UnfaithfulImageError("a float image with NaN or infinite values cannot be shown as 8-bit; "
                                   "save it as an 8- or 16-bit image")
    low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    if low < 0.0 or high > 1.0:
        raise UnfaithfulImageError(f"a float image must hold values in [0, 1], this one spans [{low:g}, {high:g}]; "
                                   "scale it to [0, 1] or save it as an 8- or 16-bit image")
    return Image.fromarray(np.rint(values * 255.0).astype(np.uint8))


def _check_regular_file(path: str | Path) -> None:
    """Refuse what is not a regular file before opening it: reading a FIFO blocks forever."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as error:
        raise ImageReadError(path, error.strerror or str(error)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError(path, "is a folder, not an image")
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError(path, "is not a regular file (a FIFO, socket or device); give an image file")


def _limit_text() -> str:
    return f"the limit of {MAX_PIXELS / 1e6:g} megapixels"


def _check_size(path: str | Path, image: Image.Image) -> None:
    """Refuse an image whose header claims more than MAX_PIXELS, before it is decoded."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageReadError(
            path,
            f"{width}x{height} pixels ({width * height / 1e6:.1f} megapixels) is more than {_limit_text()}; "
            "downscale the image",
        )


def open_image(path: str | Path, mode: str | None) -> Image.Image:
    """Decode an image file as a viewer shows it (upright, converted to `mode`), or with
    mode None its stored pixels exactly (masks); ImageReadError names the file."""
    _check_regular_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # _check_size's limit is lower
            with Image.open(path) as image:
                _check_size(path, image)
                image.load()
                if mode is None:
                    return image.copy()
                image = to_8bit(ImageOps.exif_transpose(image))  # a copy, detached from the file
                return image.convert(mode) if image.mode != mode else image
    except ImageReadError:
        raise
    except UnfaithfulImageError as error:
        raise ImageReadError(path, str(error)) from None
    except Image.DecompressionBombError as error:  # raised by Image.open itself, before _check_size
        raise ImageReadError(path, f"more than {_limit_text()}; downscale the image (PIL: {error})") from None
    except Exception as error:  # PIL raises many types for corrupt files
        raise ImageReadError(path, f"{type(error).__name__}: {error}") from None


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as RGB uint8 [H, W, 3]; ImageReadError names the file when it cannot be decoded."""
    return np.asarray(open_image(path, "RGB"), dtype=np.uint8).copy()
