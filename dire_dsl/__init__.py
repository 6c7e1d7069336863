"""dire-dsl: write the logic of a good product in a small language; get an anomaly detector.

The public API is the list in ``__all__``; everything else is private by convention::

    import dire_dsl

    program = dire_dsl.load_rules("rules/pushpins.rules")
    root = dire_dsl.synthesize("pushpins", "data/synloco")
    run = dire_dsl.train("rules/pushpins.rules", "data/synloco", "runs/pushpins")
    report = dire_dsl.evaluate(run, "data/synloco")

Names are imported on first use (PEP 562), so ``import dire_dsl`` never imports torch:
``dire check`` and a notebook that only checks rules files answer in well under a second.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # the rule language (no torch)
    "load_rules": "dire_dsl.lang.program",
    "check_source": "dire_dsl.lang.program",
    "check_file": "dire_dsl.lang.program",
    "CheckResult": "dire_dsl.lang.program",
    "format_source": "dire_dsl.lang.format",
    "DireError": "dire_dsl.errors",
    # the logic layer and its extension points
    "compile_program": "dire_dsl.logic.compiler",
    "Grounding": "dire_dsl.logic.grounding",
    "ObjectGrounding": "dire_dsl.logic.grounding",
    "grounding_from_masks": "dire_dsl.logic.grounding",
    "predicate": "dire_dsl.logic.registry",
    "create_backbone": "dire_dsl.vision.backbones",
    "list_backbones": "dire_dsl.vision.backbones",
    "register_backbone": "dire_dsl.vision.backbones",
    # real data and the SynLOCO generator
    "synthesize": "dire_dsl.synth.generate",
    "MVTecLOCO": "dire_dsl.data.loco",
    # training, the trained run, evaluation and explanation
    "train": "dire_dsl.train.api",
    "load_run": "dire_dsl.run.trained",
    "TrainedRun": "dire_dsl.run.trained",
    "evaluate": "dire_dsl.eval.evaluate",
    "explain": "dire_dsl.explain.explain",
    # deployment: one ONNX graph, and the runs or graphs a service scores with
    "export_run": "dire_dsl.deploy.export",
    "open_model": "dire_dsl.run.inference",
    # workflows (they train and rewrite rules files)
    "sweep": "dire_dsl.workflows.sweep",
    "demo": "dire_dsl.workflows.demo",
}
"""Public name -> the module that defines it (the API reference is generated from this list)."""

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access (PEP 562) and cache the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dire_dsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The lazy names too, so that tab completion in a notebook offers them before first use."""
    return sorted([*globals(), *__all__])


class _Package(types.ModuleType):
    """The package module, kept from binding a subpackage over the public function of its name.

    Importing ``dire_dsl.train.api`` would otherwise set ``dire_dsl.train`` to the subpackage,
    and ``dire_dsl.train(...)`` would stop working once anything had imported training code.
    The subpackage stays reachable with ``from dire_dsl.train import ...``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # static type checkers and IDEs see the real names; `as` marks each a re-export (PEP 484)
    from dire_dsl.data.loco import MVTecLOCO as MVTecLOCO
    from dire_dsl.deploy.export import export_run as export_run
    from dire_dsl.errors import DireError as DireError
    from dire_dsl.eval.evaluate import evaluate as evaluate
    from dire_dsl.explain.explain import explain as explain
    from dire_dsl.lang.format import format_source as format_source
    from dire_dsl.lang.program import CheckResult as CheckResult
    from dire_dsl.lang.program import check_file as check_file
    from dire_dsl.lang.program import check_source as check_source
    from dire_dsl.lang.program import load_rules as load_rules
    from dire_dsl.logic.compiler import compile_program as compile_program
    from dire_dsl.logic.grounding import Grounding as Grounding
    from dire_dsl.logic.grounding import ObjectGrounding as ObjectGrounding
    from dire_dsl.logic.grounding import grounding_from_masks as grounding_from_masks
    from dire_dsl.logic.registry import predicate as predicate
    from dire_dsl.run.inference import open_model as open_model
    from dire_dsl.run.trained import TrainedRun as TrainedRun
    from dire_dsl.run.trained import load_run as load_run
    from dire_dsl.synth.generate import synthesize as synthesize
    from dire_dsl.train.api import train as train
    from dire_dsl.vision.backbones import create_backbone as create_backbone
    from dire_dsl.vision.backbones import list_backbones as list_backbones
    from dire_dsl.vision.backbones import register_backbone as register_backbone
    from dire_dsl.workflows.demo import demo as demo
    from dire_dsl.workflows.sweep import sweep as sweep
