"""What the checker knows of an expression, and the pure arithmetic behind it.

Types are tracked with numeric intervals so that comparisons whose outcome no image can change
(`count(pin) >= 0`) are reported, and constants are folded once here so that the compiler and
the reports read the value from the IR instead of working it out again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dire_dsl.lang import ast
from dire_dsl.lang.limits import MAX_NUMBER
from dire_dsl.lang.signatures import ArgKind

# Internal kinds beyond the registry's argument kinds.
ATTRIBUTE = "attribute"  # a distribution over an attribute's values
VALUE = "value"  # a bare name or integer that can only be an attribute value
ERROR = "error"  # already reported: suppress follow-up diagnostics

KIND_WORDS = {
    ArgKind.NUMBER: "a number", ArgKind.TRUTH: "a truth value", ArgKind.OBJECTS: "a set of objects",
    ArgKind.INSTANCE: "an object instance", ArgKind.REGION: "a region", ATTRIBUTE: "an attribute",
    VALUE: "an attribute value",
}


@dataclass
class Typed:
    """What the checker knows of an expression: its kind, integer-ness, interval and IR."""

    kind: str
    node: Any = None
    integer: bool = False
    low: float = -math.inf
    high: float = math.inf
    attribute: tuple[str, list[str]] | None = None  # (attribute name, values) for ATTRIBUTE
    value_text: str | None = None  # for VALUE
    decided: bool | None = None  # a truth value no image can change

    @property
    def is_const(self) -> bool:
        return self.low == self.high


def fold(op: str, a: float | None, b: float | None) -> float | None:
    """`a op b` of two constants, or None when either side is measured (or a divisor is 0)."""
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if b else None


def interval(op: str, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Interval arithmetic; unknown (division through zero, inf·0) widens to (-inf, inf)."""
    try:
        if op == "+":
            return a[0] + b[0], a[1] + b[1]
        if op == "-":
            return a[0] - b[1], a[1] - b[0]
        if op == "/":
            if b[0] <= 0 <= b[1]:
                return -math.inf, math.inf
            b = (1 / b[1], 1 / b[0])
        products = [x * y for x in a for y in b]
        if any(math.isnan(p) for p in products):
            return -math.inf, math.inf
        return min(products), max(products)
    except (OverflowError, ZeroDivisionError):
        return -math.inf, math.inf


def arithmetic_problem(op: str, left: Typed, right: Typed, low: float, high: float) -> tuple[str, str] | None:
    """(message, help) when arithmetic the checker can bound breaks at run time: a constant divisor
    of 0, or finite operands whose result leaves the floats (inf, then NaN in the truths it touches)."""
    if op == "/" and right.is_const and right.low == 0:
        return "divides by zero", "divide by a number other than 0"
    finite = all(math.isfinite(bound) for bound in (left.low, left.high, right.low, right.high))
    through_zero = op == "/" and right.low <= 0 <= right.high
    if finite and not through_zero and max(abs(low), abs(high)) > MAX_NUMBER:
        return ("overflows: its value can exceed the largest number, about 3.4e38 (rules compute in 32-bit floats)",
                "use smaller constants; measurements are counts, or fractions of the image in [0, 1]")
    return None


def decide_compare(op: str, left: Typed, right: Typed) -> bool | None:
    (a0, a1), (b0, b1) = (left.low, left.high), (right.low, right.high)
    always = {"<": a1 < b0, "<=": a1 <= b0, ">": a0 > b1, ">=": a0 >= b1,
              "==": a0 == a1 == b0 == b1, "!=": a1 < b0 or a0 > b1}[op]
    never = {"<": a0 >= b1, "<=": a0 > b1, ">": a1 <= b0, ">=": a1 < b0,
             "==": a1 < b0 or a0 > b1, "!=": a0 == a1 == b0 == b1}[op]
    return True if always else False if never else None


def decide_connective(op: str, a: bool | None, b: bool | None) -> bool | None:
    if op == "and":
        return False if False in (a, b) else True if a is b is True else None
    if op == "or":
        return True if True in (a, b) else False if a is b is False else None
    return True if a is False or b is True else False if a is True and b is False else None


def is_const_only(node: Any) -> bool:
    """A comparison of literals only: reported once at rule level rather than per comparison."""
    return isinstance(node, ast.Compare) and node.left.kind == "number" and node.right.kind == "number"
