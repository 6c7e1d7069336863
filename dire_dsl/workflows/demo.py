"""`demo()`: the whole product in one call — synthesize, train, evaluate, report.

    from dire_dsl.workflows.demo import demo
    result = demo("pushpins", "dire-demo")      # a few minutes on a 2-core CPU
    print(result.report_path)

Steps, each announced through `on_phase`:
1. a SynLOCO data set of the category in MVTec LOCO's layout (`<out>/data`);
2. a detector trained with the built-in rules file and its own `train {}` settings
   (`<out>/run`);
3. `evaluate` on the test split (`<out>/metrics.json`) and the HTML report
   (`<out>/report.html`).
Running it again replaces what an earlier demo wrote in `<out>` (and nothing else).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dire_dsl.errors import DireError
from dire_dsl.eval.evaluate import EvalReport, evaluate
from dire_dsl.eval.report import write_report
from dire_dsl.synth.generate import synthesize
from dire_dsl.train.api import train

DEMO_DATA: dict[str, int] = {"n_train": 200, "n_val": 40, "n_test": 100, "size": 256}
"""The default data set: enough images for the metrics to mean something, small enough to be quick."""

DEMO_TRAIN: dict[str, Any] = {}
"""Training overrides of the demo, on top of the rules file's `train {}` block. None: each
category trains with the settings its rules file was tuned with (breakfast_box's almonds
need its 192 px; 12 epochs at 160 px is pushpins' own block), all within the time budget."""


class DemoError(DireError):
    """The demo cannot run as asked (unknown category, unusable output folder)."""


@dataclass
class DemoResult:
    category: str
    data_root: Path
    run: Path
    metrics_path: Path
    report_path: Path
    report: EvalReport
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def demo_categories() -> list[str]:
    """Categories the demo can run: a shipped rules file and a shipped scene spec to synthesize."""
    from dire_dsl.synth.spec.load import builtin_categories

    folder = Path(str(resources.files("dire_dsl") / "rules"))
    return sorted(set(p.name.removesuffix(".rules") for p in folder.glob("*.rules")) & set(builtin_categories()))


def builtin_rules(category: str) -> Path:
    """The rules file shipped for a category (dire_dsl/rules/<category>.rules)."""
    known = demo_categories()
    if category not in known:
        raise DemoError(f"no built-in category {category!r}; built-in categories: {', '.join(known)}")
    return Path(str(resources.files("dire_dsl") / "rules" / f"{category}.rules"))


def demo(category: str = "pushpins", out: str | Path = "dire-demo", *, seed: int = 0,
         data: dict[str, int] | None = None, overrides: dict[str, Any] | None = None,
         on_phase: Callable[[str], None] | None = None,
         on_synth: Callable[[int, int], None] | None = None,
         on_step: Callable[[dict[str, Any]], None] | None = None,
         on_eval: Callable[[int, int], None] | None = None) -> DemoResult:
    """Synthesize → train → evaluate → report for `category` under `out`; returns the paths and metrics."""
    say = on_phase or (lambda _: None)
    rules = builtin_rules(category)
    root, out = Path(out) / "data", Path(out)
    sizes = {**DEMO_DATA, **(data or {})}
    settings = {**DEMO_TRAIN, "seed": seed, **(overrides or {})}
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    say(f"synthesizing {category}: {sizes['n_train']} train, {sizes['n_val']} validation, {sizes['n_test']} test "
        f"images at {sizes['size']} px")
    synthesize(category, root, seed=seed, progress=on_synth, check=False, **sizes)
    seconds["synthesize"] = time.perf_counter() - start

    start = time.perf_counter()
    say(f"training ({', '.join(f'{k}={v}' for k, v in settings.items())})")
    trained = train(rules, root, out / "run", overrides=settings, force=True, on_step=on_step,
                    on_phase=lambda phase: say(f"training: {phase}"))
    seconds["train"] = time.perf_counter() - start

    start = time.perf_counter()
    say("evaluating on the test split")
    report = evaluate(trained, root, category, on_progress=on_eval)
    report.write_json(out / "metrics.json")
    seconds["evaluate"] = time.perf_counter() - start

    start = time.perf_counter()
    say("writing the HTML report")
    write_report(report, out / "report.html", run=trained)
    seconds["report"] = time.perf_counter() - start
    return DemoResult(category, root, out / "run", out / "metrics.json", out / "report.html", report, seconds)
