"""The measured quantities behind every atom of a rule, kept for explanations.

An atom is a comparison, a range test, an attribute test, a mapping table or a relation.
Inside quantifiers it has one value per domain member (a cell, an instance slot), so an
explanation can say `count(pushpin in compartment[2,3]) = 2, expected == 1`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from torch import Tensor

from dire_dsl.lang.ast import Span


@dataclass(frozen=True)
class Axis:
    """One quantified variable of an atom: its members' labels and weights [B|1, n]."""

    var: str
    labels: tuple[str, ...]
    weights: Tensor


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
        weights = [axis.weights[min(image, axis.weights.shape[0] - 1)].detach().cpu() for axis in self.axes]
        rows = []
        for index in itertools.product(*(range(len(axis.labels)) for axis in self.axes)):
            weight = 1.0
            for member_weights, i in zip(weights, index):
                weight *= float(member_weights[i])
            if weight >= min_weight:
                rows.append((float(truth[index]), self._line(index, [(t, float(v[index])) for t, v in terms],
                                                             float(truth[index]))))
        rows.sort(key=lambda row: row[0])
        return [line for _, line in rows[:limit]]

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
