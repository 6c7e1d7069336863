"""The measured quantities behind every atom of a rule, kept for explanations.

An atom is a comparison, a range test, an attribute test, a mapping table or a relation.
Inside quantifiers it has one value per domain member (a cell, an instance slot), so an
explanation can say `count(pushpin in compartment[2,3]) = 2, expected == 1`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import torch
from torch import Tensor

from dire_dsl.lang.ast import Span


@dataclass(frozen=True)
class Axis:
    """One quantified variable of an atom: its members' labels and weights [B|1, n], and the
    variable it must differ from (the second of a pair: `forall a, b in connector`)."""

    var: str
    labels: tuple[str, ...]
    weights: Tensor
    distinct_from: str = ""


@dataclass(frozen=True)
class Atom:
    """One atom evaluated on a batch: its terms' values and its truth, [B, n_1, ..., n_d] each."""

    rule: str
    kind: str  # comparison | range | attribute | table | relation
    op: str  # ==, <=, in, is, is not, same, differs, table, or the relation's name
    text: str
    span: Span
    terms: tuple[tuple[str, Tensor], ...]
    truth: Tensor
    axes: tuple[Axis, ...]

    def lines(self, image: int, min_weight: float = 0.5, limit: int | None = None) -> list[str]:
        """Readable values for one image, least true first; members lighter than `min_weight` skipped."""
        truth = self.truth[image].detach().cpu()
        terms = [(text, value[image].detach().cpu()) for text, value in self.terms]
        weights = self.member_weights()[image]
        rows = []
        for index in itertools.product(*(range(len(axis.labels)) for axis in self.axes)):
            if float(weights[index]) >= min_weight:
                rows.append((float(truth[index]), self._line(index, [(t, float(v[index])) for t, v in terms],
                                                             float(truth[index]))))
        rows.sort(key=lambda row: row[0])
        return [line for _, line in rows[:limit]]

    def member_weights(self) -> Tensor:
        """[B, n_1, ..., n_d] on the CPU: each member's weight, the product over its variables;
        a pair of a member with itself (`a` = `b` in `forall a, b`) weighs 0, as the quantifier
        counts only distinct pairs."""
        shape = self.truth.shape
        weight = torch.ones(shape)
        depth_of = {axis.var: depth for depth, axis in enumerate(self.axes)}
        for depth, axis in enumerate(self.axes):
            view = [axis.weights.shape[0]] + [1] * len(self.axes)
            view[depth + 1] = len(axis.labels)
            weight = weight * axis.weights.detach().float().cpu().reshape(view)
            if axis.distinct_from in depth_of:
                pair_view = [1] * (len(self.axes) + 1)
                pair_view[depth + 1] = pair_view[depth_of[axis.distinct_from] + 1] = len(axis.labels)
                weight = weight * (1.0 - torch.eye(len(axis.labels))).reshape(pair_view)
        return weight.expand(shape)

    def _line(self, index: tuple[int, ...], values: list[tuple[str, float]], truth: float) -> str:
        names = {axis.var: axis.labels[i] for axis, i in zip(self.axes, index)}
        values = [(_substitute(text, names), value) for text, value in values]
        if self.kind == "comparison":
            (left, lv), (right, rv) = values
            shown = right if _is_number(right) else f"{right} = {rv:.3g}"
            return f"{left} = {lv:.3g}, expected {self.op} {shown}; truth {truth:.3f}"
        if self.kind == "range":
            (text, value), (_, low), (_, high) = values
            return f"{text} = {value:.3g}, expected in [{low:.3g}, {high:.3g}]; truth {truth:.3f}"
        measured = ", ".join(f"{text} = {value:.3g}" for text, value in values)
        return f"{_substitute(self.text, names)}: truth {truth:.3f}" + (f" ({measured})" if measured else "")


def _substitute(text: str, names: dict[str, str]) -> str:
    """Replace bound variable names by the member they stand for: `c` → `compartment[2,3]`."""
    for var, label in names.items():
        text = re.sub(rf"(?<![\w.#\[]){re.escape(var)}(?![\w\[])", label, text)
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
