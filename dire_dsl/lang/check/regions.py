"""The region pass: named regions, boxes and grids, and the limits on how many cells they make.

Every cell becomes a pixel mask at run time, so the sizes `lang.limits` allows are checked
here, where the file can still say which declaration went too far.
"""

from __future__ import annotations

from dire_dsl.lang import ast, ir
from dire_dsl.lang.check.context import CheckContext, suggest
from dire_dsl.lang.limits import MAX_GRID_CELLS, MAX_GRID_SIDE, MAX_PROGRAM_CELLS

NAMED_REGIONS: dict[str, tuple[float, float, float, float]] = {
    "whole": (0.0, 0.0, 1.0, 1.0),
    "left": (0.0, 0.0, 0.5, 1.0),
    "right": (0.5, 0.0, 1.0, 1.0),
    "top": (0.0, 0.0, 1.0, 0.5),
    "bottom": (0.0, 0.5, 1.0, 1.0),
    "center": (0.25, 0.25, 0.75, 0.75),
}
REGION_SHAPES = ("grid(rows, cols[, x0, y0, x1, y1])", "box(x0, y0, x1, y1)", *NAMED_REGIONS)


def check_region(ctx: CheckContext, decl: ast.RegionDecl) -> None:
    """Add `region NAME = SHAPE` to `ctx.regions`, or report why it cannot be."""
    name, shape = decl.name.text, decl.shape
    ctx.check_name(decl.name)
    if name in ctx.regions or name in ctx.objects:
        what = "region" if name in ctx.regions else "object"
        ctx.bag.error("E210", f"`{name}` is already declared as a{'n' if what == 'object' else ''} {what}",
                      decl.name.span, help="objects and regions share one namespace; rename one of them")
        return
    func = shape.func.text
    if shape.args is None:
        if func in NAMED_REGIONS:
            ctx.regions[name] = ir.RegionDef(name=name, box=NAMED_REGIONS[func])
        elif func in ctx.regions:
            ctx.regions[name] = ctx.regions[func].model_copy(update={"name": name})
        elif func == name:
            ctx.bag.error("E217", f"region `{name}` is defined as itself", shape.func.span,
                          help=f"give it a shape: {', '.join(REGION_SHAPES)}, or another region declared above")
        elif (later := _declared_later(ctx, func, decl)) is not None:
            ctx.bag.error("E217", f"region `{func}` is declared further down (line {later.span.line})",
                          shape.func.span, help=f"move `region {func} = ...` above `region {name} = {func}`")
        else:
            _unknown_shape(ctx, shape)
        return
    numbers = [a.value for a in shape.args]
    if func == "grid":
        if len(numbers) not in (2, 6):
            ctx.bag.error("E301", f"`grid` takes 2 arguments (rows, cols), or 6 (rows, cols, x0, y0, x1, y1) for a "
                          f"grid over part of the image; got {len(numbers)}", shape.span)
            return
        bad = [a for a in shape.args[:2] if not a.is_int or a.value <= 0]
        for arg in bad:
            ctx.bag.error("E306", f"grid size must be a whole number ≥ 1; got {arg.text}", arg.span,
                          help="write e.g. grid(3, 5) for 3 rows and 5 columns")
        box = _box(ctx, shape, shape.args[2:]) if len(numbers) == 6 else (0.0, 0.0, 1.0, 1.0)
        if not bad and _grid_fits(ctx, shape) and box is not None:
            ctx.regions[name] = ir.RegionDef(name=name, box=box, rows=int(numbers[0]), cols=int(numbers[1]))
    elif func == "box":
        if len(numbers) != 4:
            ctx.bag.error("E301", f"`box` takes 4 arguments (x0, y0, x1, y1); got {len(numbers)}", shape.span)
            return
        box = _box(ctx, shape, shape.args)
        if box is not None:
            ctx.regions[name] = ir.RegionDef(name=name, box=box)
    else:
        _unknown_shape(ctx, shape)


def check_region_budget(ctx: CheckContext) -> None:
    """E318 on the region that takes all regions together past MAX_PROGRAM_CELLS masks."""
    total, counted = 0, set()
    for item in ctx.program.items:
        if isinstance(item, ast.RegionDecl) and item.name.text in ctx.regions and item.name.text not in counted:
            counted.add(item.name.text)
            total += ctx.regions[item.name.text].cells
            if total > MAX_PROGRAM_CELLS:
                ctx.bag.error("E318", f"with `{item.name.text}` the regions hold {total} cells together; at most "
                              f"{MAX_PROGRAM_CELLS} are allowed", item.span,
                              help="every cell becomes an image mask; declare fewer or smaller regions")
                return


def _grid_fits(ctx: CheckContext, shape: ast.RegionShape) -> bool:
    """E318 when a grid is too large: every cell becomes a pixel mask (see `limits`)."""
    rows, cols = shape.args[:2]
    big = [a for a in (rows, cols) if a.value > MAX_GRID_SIDE]
    for arg in big:
        ctx.bag.error("E318", f"a grid has at most {MAX_GRID_SIDE} rows and {MAX_GRID_SIDE} columns; got {arg.text}",
                      arg.span, help="every cell becomes an image mask; split the image into fewer, larger cells")
    if big:
        return False
    cells = int(rows.value) * int(cols.value)
    if cells > MAX_GRID_CELLS:
        ctx.bag.error("E318", f"grid({rows.text}, {cols.text}) has {cells} cells; a grid has at most "
                      f"{MAX_GRID_CELLS}", shape.span,
                      help="every cell becomes an image mask; use fewer rows or columns")
        return False
    return True


def _box(ctx: CheckContext, shape: ast.RegionShape,
         args: list[ast.NumberLit]) -> tuple[float, float, float, float] | None:
    """Validate box corners: fractions of the image, top-left before bottom-right."""
    outside = [a for a in args if not 0.0 <= a.value <= 1.0]
    for arg in outside:
        ctx.bag.error("E307", f"box coordinates are fractions of the image in [0, 1]; got {arg.text}", arg.span)
    if outside:
        return None
    x0, y0, x1, y1 = (a.value for a in args)
    if x0 >= x1 or y0 >= y1:
        ctx.bag.error("E307", f"box({x0:g}, {y0:g}, {x1:g}, {y1:g}) is empty: it needs x0 < x1 and y0 < y1",
                      shape.span, help="the first corner is the top-left one")
        return None
    return (x0, y0, x1, y1)


def _declared_later(ctx: CheckContext, name: str, decl: ast.RegionDecl) -> ast.RegionDecl | None:
    items = ctx.program.items
    later = items[items.index(decl) + 1:]
    return next((item for item in later if isinstance(item, ast.RegionDecl) and item.name.text == name), None)


def _unknown_shape(ctx: CheckContext, shape: ast.RegionShape) -> None:
    hint = suggest(shape.func.text, ["grid", "box", *NAMED_REGIONS, *ctx.regions])
    ctx.bag.error("E217", f"unknown region shape `{shape.func.text}`; expected {', '.join(REGION_SHAPES)}",
                  shape.func.span, help=hint)
