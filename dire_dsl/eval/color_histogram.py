"""A trivial global-statistics detector, to show a generated benchmark is not trivial.

Each image becomes its colour histogram (joint RGB, `bins` per channel, square-rooted so the
Euclidean distance is the Hellinger distance); the anomaly score of a test image is its mean
distance to the `k` nearest training histograms. If this scores well on logical anomalies,
the data set leaks the anomaly through global colour statistics. Works on any folder in the
MVTec LOCO layout (generated or real).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from dire_dsl.data.image_io import open_image


def color_histogram(path: str | Path, bins: int = 8, size: int | None = 128) -> np.ndarray:
    """Joint RGB histogram of an image (optionally downsized first), L1-normalised, sqrt.

    The image is read like the detectors read it (`open_image`): 16-bit files scaled, not
    clipped to white; unreadable files raise ImageReadError naming the file.
    """
    im = open_image(path, "RGB")
    if size is not None and max(im.size) > size:
        scale = size / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.BILINEAR)
    arr = np.asarray(im, dtype=np.int64) * bins // 256
    idx = (arr[..., 0] * bins + arr[..., 1]) * bins + arr[..., 2]
    hist = np.bincount(idx.ravel(), minlength=bins**3).astype(np.float64)
    return np.sqrt(hist / max(hist.sum(), 1.0))


def _features(paths: list[Path], bins: int) -> np.ndarray:
    return np.stack([color_histogram(p, bins) for p in paths]) if paths else np.zeros((0, bins**3))


def _pngs(folder: Path, limit: int | None = None) -> list[Path]:
    files = sorted(p for p in folder.glob("*.png"))
    return files[:limit] if limit else files


def histogram_knn_auroc(category_root: str | Path, k: int = 1, bins: int = 8, max_train: int | None = None
                        ) -> dict[str, float]:
    """Image AUROC of the histogram-kNN detector: good vs logical, good vs structural."""
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import NearestNeighbors

    root = Path(category_root)
    train = _features(_pngs(root / "train" / "good", max_train), bins)
    good = _features(_pngs(root / "test" / "good"), bins)
    nn = NearestNeighbors(n_neighbors=min(k, len(train))).fit(train)

    def score(x: np.ndarray) -> np.ndarray:
        return nn.kneighbors(x)[0].mean(axis=1) if len(x) else np.zeros(0)

    s_good = score(good)
    out = {}
    for kind in ("logical_anomalies", "structural_anomalies"):
        bad = _features(_pngs(root / "test" / kind), bins)
        if len(bad) == 0 or len(good) == 0:
            out[kind] = float("nan")
            continue
        y = np.r_[np.zeros(len(good)), np.ones(len(bad))]
        out[kind] = float(roc_auc_score(y, np.r_[s_good, score(bad)]))
    return out
