"""Raw scores as a flat list of tensors plus a JSON layout, and back.

An exported graph (`dire export`) can only return tensors, but an explanation needs the
whole `BatchScores`: the grounding's masks, every atom's measured values and its labels.
`pack_scores` lists the tensors (each distinct tensor once) and describes where each one
sits in a JSON-able layout that holds everything else (rule names, atom texts, spans, axis
labels); `unpack_scores` rebuilds the same `BatchScores` from the layout and the graph's
outputs, so `dire serve` explains an ONNX Runtime result with the code `dire explain` uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dire_dsl.lang.ast import Span
from dire_dsl.logic.atoms import Atom, Axis
from dire_dsl.logic.compiler import LogicOutput
from dire_dsl.logic.grounding import Grounding, ObjectGrounding
from dire_dsl.run.scoring import BatchScores

Layout = dict[str, Any]


class _Tensors:
    """The distinct tensors met so far, each numbered once (a tensor shared by two atoms is one output)."""

    def __init__(self) -> None:
        self.found: list[Tensor] = []
        self._index: dict[int, int] = {}

    def __call__(self, tensor: Tensor) -> int:
        key = id(tensor)
        if key not in self._index:
            self._index[key] = len(self.found)
            self.found.append(tensor)
        return self._index[key]


def pack_scores(scores: BatchScores) -> tuple[list[Tensor], Layout]:
    """The tensors of `scores` in a fixed order, and the layout that puts them back."""
    number = _Tensors()
    objects = {name: {"mask": number(found.mask), "instances": number(found.instances),
                      "presence": number(found.presence),
                      "attributes": {attr: number(value) for attr, value in found.attributes.items()}}
               for name, found in scores.grounding.objects.items()}
    atoms = {rule: [_pack_atom(atom, number) for atom in found] for rule, found in scores.logic.atoms.items()}
    layout = {
        "distance": number(scores.distance), "violation": number(scores.violation),
        "rule_violation": number(scores.rule_violation), "patch": number(scores.patch),
        "parts": None if scores.parts is None else {name: number(value) for name, value in scores.parts.items()},
        "logic": {"truth": number(scores.logic.truth), "s_logic": number(scores.logic.s_logic),
                  "rules": list(scores.logic.rules), "atoms": atoms},
        "grounding": {"objects": objects, "embedding": number(scores.grounding.embedding)},
    }
    return number.found, layout


def _pack_atom(atom: Atom, number: _Tensors) -> dict[str, Any]:
    return {"rule": atom.rule, "kind": atom.kind, "op": atom.op, "text": atom.text, "span": atom.span.model_dump(),
            "terms": [[text, number(value)] for text, value in atom.terms], "truth": number(atom.truth),
            "axes": [{"var": axis.var, "labels": list(axis.labels), "weights": number(axis.weights),
                      "distinct_from": axis.distinct_from} for axis in atom.axes]}


def unpack_scores(layout: Layout, values: Sequence[np.ndarray | Tensor]) -> BatchScores:
    """The `BatchScores` that `pack_scores` described, from its tensors (numpy arrays or tensors)."""
    tensors = [torch.as_tensor(value) for value in values]

    def at(index: int) -> Tensor:
        return tensors[index]

    grounding = layout["grounding"]
    objects = {name: ObjectGrounding(at(found["mask"]), at(found["instances"]), at(found["presence"]),
                                     {attr: at(i) for attr, i in found["attributes"].items()})
               for name, found in grounding["objects"].items()}
    logic = layout["logic"]
    atoms = {rule: [_unpack_atom(atom, at) for atom in found] for rule, found in logic["atoms"].items()}
    parts = layout["parts"]
    return BatchScores(
        distance=at(layout["distance"]), violation=at(layout["violation"]),
        rule_violation=at(layout["rule_violation"]), patch=at(layout["patch"]),
        logic=LogicOutput(at(logic["truth"]), at(logic["s_logic"]), tuple(logic["rules"]), atoms),
        grounding=Grounding(objects, at(grounding["embedding"])),
        parts=None if parts is None else {name: at(i) for name, i in parts.items()})


def _unpack_atom(atom: dict[str, Any], at: Any) -> Atom:
    axes = tuple(Axis(axis["var"], tuple(axis["labels"]), at(axis["weights"]), axis["distinct_from"])
                 for axis in atom["axes"])
    return Atom(atom["rule"], atom["kind"], atom["op"], atom["text"], Span(**atom["span"]),
                tuple((text, at(i)) for text, i in atom["terms"]), at(atom["truth"]), axes)
