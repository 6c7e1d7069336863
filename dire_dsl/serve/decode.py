"""Uploaded bytes → RGB pixels, read as `dire explain` reads a file, or refused with a 4xx.

The size in the header is checked before any pixel is decoded (PIL's `Image.open` reads only
the header): a 30 KB PNG can claim 20000 x 20000 pixels and take gigabytes. Only the raster
formats a camera or a browser sends are opened; PIL's other plugins (EPS runs Ghostscript)
are never reached by a client's bytes.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dire_dsl.data.image_io import UnfaithfulImageError, to_8bit
from dire_dsl.serve.errors import RequestError

FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF", "PPM")
FORMAT_NAMES = "PNG, JPEG, BMP, TIFF, WebP, GIF or PPM"


def decode_rgb(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """RGB uint8 [H, W, 3] of an uploaded image (upright, wide or float pixels scaled as `dire explain`
    scales them); RequestError 400 when empty, 413 when too many pixels, 422 when not a readable image."""
    if not data:
        raise RequestError(400, f"{name}: the image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels is the limit here
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                _check_pixels(name, image.size, max_pixels)
                image.load()
                image = to_8bit(ImageOps.exif_transpose(image))
                return np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8).copy()
    except RequestError:
        raise
    except Image.DecompressionBombError as error:  # Image.open's own, higher limit
        raise RequestError(413, f"{name}: too many pixels ({error}); the limit is {max_pixels / 1e6:g} megapixels"
                           ) from None
    except UnidentifiedImageError:
        raise RequestError(422, f"{name}: not an image (expected {FORMAT_NAMES})") from None
    except UnfaithfulImageError as error:
        raise RequestError(422, f"{name}: {error}") from None
    except Exception as error:  # PIL raises many types for a truncated or corrupt file
        raise RequestError(422, f"{name}: a damaged image ({type(error).__name__}: {error})") from None


def _check_pixels(name: str, size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise RequestError(413, f"{name}: {width}x{height} is {width * height / 1e6:.1f} megapixels, more than the "
                                f"limit of {max_pixels / 1e6:g}; downscale the image")
