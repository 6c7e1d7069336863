"""Rules become differentiable logic: signatures, formula plans, LTN compilation."""
