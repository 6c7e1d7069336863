"""ONNX forms for the few torch operations the exporter cannot translate by itself.

- `torch.prod` over one axis (the union of a region's instances, 1 − Π(1 − pᵢ)) is decomposed
  by torch's exporter into a primitive with no ONNX function; ONNX's ReduceProd computes it.
- `torch.cumprod` (the soft first occupied line of `top`, `left`, ...) has no ONNX operator:
  it is exp(cumsum(log |x|)) with the sign of the count of negative factors so far, exact
  in sign and zeros, within float rounding in size (the parity check measures it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def translations() -> dict[Any, Callable[..., Any]]:
    """`custom_translation_table` for `torch.onnx.export` (onnxscript is imported only here)."""
    import torch
    from onnxscript import opset18 as op

    def reduce_prod(self: Any, dim: int, keepdim: bool = False) -> Any:
        return op.ReduceProd(self, op.Constant(value_ints=[dim]), keepdims=1 if keepdim else 0)

    def cumulative_prod(self: Any, dim: int, dtype: Any = None) -> Any:
        axis = op.Constant(value_int=dim)
        zero, one, two = (op.CastLike(op.Constant(value_float=v), self) for v in (0.0, 1.0, 2.0))
        size = op.Exp(op.CumSum(op.Log(op.Abs(self)), axis))
        negatives = op.CumSum(op.CastLike(op.Less(self, zero), self), axis)
        return op.Mul(op.Sub(one, op.Mul(two, op.Mod(negatives, two, fmod=1))), size)

    return {torch.ops.aten.prod.dim_int: reduce_prod, torch.ops.aten.cumprod.default: cumulative_prod}
