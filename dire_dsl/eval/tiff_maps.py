"""Anomaly maps as float32 TIFFs in the official layout, so MVTec's own script can read them.

Layout: `<maps>/<category>/test/<split>/<id>.tiff`, one full-resolution 2-D map per test
image, `<id>` being the image's file stem ("000"). Writes are atomic: an interrupted run
never leaves a truncated TIFF that the official script would choke on.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import tifffile

from dire_dsl.atomic import GENERATOR, atomic_write_bytes


def map_path(maps_dir: str | os.PathLike[str], category: str, split: str, image_id: str) -> Path:
    """Where the official script looks for this image's map."""
    for what, name in (("category", category), ("split", split), ("image id", image_id)):
        if not name or name in {".", ".."} or "/" in name or "\\" in name:
            raise ValueError(
                f"{what} {name!r} must be a single folder/file name, e.g. 'pushpins', 'good', '000'"
            )
    return Path(maps_dir) / category / "test" / split / f"{image_id}.tiff"


def write_anomaly_map(
    maps_dir: str | os.PathLike[str], category: str, split: str, image_id: str, anomaly_map: np.ndarray
) -> Path:
    """Write one map as a float32 TIFF and return its path; the map must already be full size."""
    values = np.asarray(anomaly_map)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"an anomaly map must be a non-empty 2-D array (H, W), got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise ValueError(f"an anomaly map must hold real numbers, got dtype {values.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        as_float32 = values.astype(np.float32)
    if not np.isfinite(as_float32).all():
        raise ValueError(
            "the anomaly map has NaN/inf values (or values beyond float32); "
            "the official script cannot use them"
        )
    path = map_path(maps_dir, category, split, image_id)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, as_float32, software=GENERATOR)  # so a later `dire eval --maps` may replace it
    atomic_write_bytes(path, buffer.getvalue())
    return path


def read_anomaly_map(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a map back as a 2-D float32 array."""
    values = tifffile.imread(path)
    if values.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {values.shape}; an anomaly map is 2-D")
    return values.astype(np.float32, copy=False)
