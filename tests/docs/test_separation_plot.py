"""The "why separation matters" figure of docs/metrics.md: its numbers are what the script computes."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_figure_numbers_match_the_page() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "plot_separation.py"))
    a, b = script["detectors"]()
    assert abs(a.auroc - b.auroc) < 1e-3, "the two detectors must have the same AUROC"
    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    claims = [f"same AUROC, {a.auroc:.3f}", f"flags **{a.recall:.0%}**", f"B **{b.recall:.0%}**",
              f"({a.d_prime:.1f} against {b.d_prime:.1f})"]
    for claim in claims:
        assert claim.replace("%", " %") in page, \
            f"docs/metrics.md should say {claim!r}: rerun scripts/plot_separation.py"
    assert (ROOT / "docs" / "img" / "separation.png").stat().st_size > 10_000
