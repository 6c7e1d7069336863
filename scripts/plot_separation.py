"""Draw docs/img/separation.png: two detectors with the same AUROC and very different separation.

    python scripts/plot_separation.py        # rewrites the PNG and prints the numbers

Detector A scores most anomalies far above every normal image and misses a fifth of them
completely; detector B shifts all anomalies a little. Both rank a random anomaly above a
random normal image 90 % of the time, but a threshold taken from validation normals (the
0.99 quantile, as `dire train` does) catches most anomalies of A and few of B. The numbers
come from dire_dsl.eval, the same functions `dire eval` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dire_dsl.eval.metrics import image_auroc
from dire_dsl.eval.separation import separation
from dire_dsl.run.threshold import calibrate_threshold, classify_at

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "separation.png"
N_NORMAL, N_ANOMALY, N_VALIDATION = 400, 400, 60


@dataclass(frozen=True)
class Detector:
    """Scores of one detector on test normals, test anomalies and validation normals, and what they give."""

    name: str
    normal: np.ndarray
    anomaly: np.ndarray
    validation: np.ndarray

    @property
    def auroc(self) -> float:
        return image_auroc(self.normal, self.anomaly)

    @property
    def d_prime(self) -> float:
        return separation(self.normal, self.anomaly).d_prime

    @property
    def threshold(self) -> float:
        return calibrate_threshold(self.validation)

    @property
    def recall(self) -> float:
        scores = np.concatenate([self.normal, self.anomaly])
        labels = np.r_[np.zeros(self.normal.size, bool), np.ones(self.anomaly.size, bool)]
        return classify_at(self.threshold, scores, labels).recall


def detectors(seed: int = 0) -> tuple[Detector, Detector]:
    """A (bimodal anomalies: far away or invisible) and B (all anomalies shifted a little), equal AUROC."""
    rng = np.random.default_rng(seed)
    normal, validation = rng.normal(0, 1, N_NORMAL), rng.normal(0, 1, N_VALIDATION)
    missed = rng.random(N_ANOMALY) < 0.2
    a = Detector("A", normal, np.where(missed, rng.normal(0, 1, N_ANOMALY), rng.normal(7, 1, N_ANOMALY)), validation)
    base = rng.normal(0, 1, N_ANOMALY)
    low, high = 0.0, 6.0  # bisect the shift of B until its AUROC equals A's
    for _ in range(60):
        shift = (low + high) / 2
        low, high = (shift, high) if image_auroc(normal, base + shift) < a.auroc else (low, shift)
    return a, Detector("B", normal, base + (low + high) / 2, validation)


def draw(a: Detector, b: Detector, out: Path = OUT) -> None:
    """Both histograms side by side, with the validation threshold of each."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100, sharey=True)
    bins = np.linspace(-4, 11, 61)
    for axis, det in zip(axes, (a, b)):
        axis.hist(det.normal, bins=bins, alpha=0.6, color="#2b8a3e", label="normal")
        axis.hist(det.anomaly, bins=bins, alpha=0.6, color="#c92a2a", label="anomalous")
        axis.axvline(det.threshold, color="black", linestyle="--", label="threshold (validation normals, q=0.99)")
        axis.set_title(f"detector {det.name}: AUROC {det.auroc:.3f}, d' {det.d_prime:.1f}, "
                       f"recall {det.recall:.0%}", fontsize=10)
        axis.set_xlabel("anomaly score")
    axes[0].set_ylabel("images")
    axes[1].legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", metadata={"Software": None})
    plt.close(figure)


def main() -> None:
    a, b = detectors()
    draw(a, b)
    for det in (a, b):
        print(f"detector {det.name}: AUROC {det.auroc:.3f}  d' {det.d_prime:.2f}  "
              f"threshold {det.threshold:.2f}  recall {det.recall:.0%}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
