"""The report's plots as PNG bytes (matplotlib, headless): score histograms and ROC curves."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np

from dire_dsl.eval.metrics import GOOD, LOGICAL, STRUCTURAL, image_roc_curve

COLORS = {GOOD: "#2b8a3e", LOGICAL: "#c92a2a", STRUCTURAL: "#e67700"}


def _figure(width: float = 6.0, height: float = 3.4):  # noqa: ANN202 (matplotlib types)
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(width, height), dpi=100)


def _png(plt, figure) -> bytes:  # noqa: ANN001
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def score_histograms(scores_by_split: Mapping[str, Sequence[float]], threshold: float) -> bytes:
    """One histogram per split on shared bins, with the calibrated threshold as a line."""
    plt, figure, axes = _figure()
    present = {k: np.asarray(v, dtype=float) for k, v in scores_by_split.items() if len(v)}
    everything = np.concatenate([*present.values(), [threshold]])
    low, high = float(everything.min()), float(everything.max())
    bins = np.linspace(low, high if high > low else low + 1, 31)
    for split, values in present.items():
        axes.hist(values, bins=bins, alpha=0.45, label=f"{split} ({values.size})", color=COLORS.get(split))
    axes.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:.2f}")
    axes.set_xlabel("image score (max of the anomaly map)")
    axes.set_ylabel("images")
    axes.legend(fontsize=8)
    return _png(plt, figure)


def roc_curves(good: Sequence[float], anomalies: Mapping[str, Sequence[float]],
               aurocs: Mapping[str, float | None]) -> bytes:
    """ROC of good vs each anomaly kind present (scikit-learn's curve, every point kept)."""
    plt, figure, axes = _figure(4.6, 4.0)
    for kind, values in anomalies.items():
        if not len(values):
            continue
        curve = image_roc_curve(good, values)
        value = aurocs.get(kind)
        label = f"{kind} (AUROC {value:.3f})" if value is not None else kind
        axes.plot(curve.fpr, curve.tpr, label=label, color=COLORS.get(kind), drawstyle="steps-post")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axes.set_xlabel("false positive rate (good images)")
    axes.set_ylabel("true positive rate")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.legend(fontsize=8, loc="lower right")
    return _png(plt, figure)
