"""Size limits of regions and of what one rule iterates: why a rules file cannot exhaust memory.

A grid of rows × cols cells becomes rows·cols pixel masks, and a rule quantified over its
cells evaluates its body once per cell (once per ordered pair for `forall a, b in grid`),
each on a [batch, H, W] mask. The limits are far above real products (MVTec LOCO's largest
layout, the pushpins box, has 3 × 5 compartments) and far below what fills a GPU.
The checker reports a breach as E318; `ir.RegionDef` and `ir.CheckedProgram` refuse one too,
so a program built without the checker cannot get past them either.
"""

from __future__ import annotations

MAX_GRID_SIDE = 64
"""Most rows, and most columns, of one grid."""

MAX_GRID_CELLS = 1024
"""Most cells (rows × cols) of one grid, e.g. 32 × 32."""

MAX_PROGRAM_CELLS = 4096
"""Most cells of all regions of a file together (a box or a named region counts as one)."""

MAX_RULE_CELLS = 1024
"""Most grid cells one rule iterates: the product of the domain sizes of nested cell
quantifiers, a pair (`forall a, b in grid`) counting cells × cells: pairs over 32 cells, or
every cell of a 32 × 32 grid once."""

MAX_NUMBER = 3.4028234663852886e38
"""Largest magnitude a number in a rules file may have, literal or folded: float32's largest
finite value. The compiled rules compute in float32, where a larger bound (`count(pin) in
[0, 1e300]`, finite as a 64-bit float) cannot even be made a tensor. Literals beyond it are
E108, arithmetic that can exceed it is E319."""
