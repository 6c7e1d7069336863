"""The declaration pass: the category line, objects, attributes, regions and settings blocks.

Objects come first so that an attribute or a region may name an object declared further down;
everything else is read in file order, so a region can only build on regions above it.
"""

from __future__ import annotations

from dire_dsl.lang import ast
from dire_dsl.lang.check.context import CheckContext
from dire_dsl.lang.check.regions import check_region, check_region_budget
from dire_dsl.lang.check.settings import check_settings_block


def check_category(ctx: CheckContext) -> str | None:
    """The one category the file describes (E201 none, E202 several)."""
    cats = [i for i in ctx.program.items if isinstance(i, ast.CategoryDecl)]
    if not cats:
        ctx.bag.error("E201", "this file has no `category` line", ast.Span(line=1, column=1, end_line=1, end_column=2),
                      help="start the file with `category NAME`, e.g. `category pushpins`")
        return None
    for extra in cats[1:]:
        ctx.bag.error("E202", f"a file describes one category; `{cats[0].name.text}` was declared on line "
                      f"{cats[0].span.line}", extra.span, help="put each category in its own .rules file")
    ctx.check_name(cats[0].name)
    return cats[0].name.text


def check_declarations(ctx: CheckContext) -> None:
    """Fill the context's tables of objects, attributes, regions and settings."""
    seen_blocks: dict[str, ast.SettingsBlock] = {}
    for item in ctx.program.items:
        if isinstance(item, ast.ObjectDecl):
            _object(ctx, item)
    for item in ctx.program.items:
        if isinstance(item, ast.AttributeDecl):
            _attribute(ctx, item)
        elif isinstance(item, ast.RegionDecl):
            check_region(ctx, item)
            if item.name.text not in ctx.regions and item.name.text not in ctx.objects:
                ctx.broken_regions.add(item.name.text)
        elif isinstance(item, ast.SettingsBlock):
            if item.block in seen_blocks:
                ctx.bag.error("E216", f"`{item.block}` block already given on line {seen_blocks[item.block].span.line}",
                              item.span, help=f"merge the keys into one `{item.block} {{ ... }}` block")
            else:
                seen_blocks[item.block] = item
                check_settings_block(ctx, item)
    check_region_budget(ctx)


def _object(ctx: CheckContext, decl: ast.ObjectDecl) -> None:
    ctx.check_name(decl.name)
    name = decl.name.text
    if name in ctx.objects:
        ctx.bag.error("E204", f"object `{name}` is already declared on line {ctx.objects[name].span.line}",
                      decl.name.span, help="declare each object once; list several prompts on one line")
        return
    if not decl.prompts:
        ctx.bag.warning("W405", f"object `{name}` has no prompt; text-prompt grounding cannot find it",
                        decl.name.span, help=f'add a description: object {name} "a photo of a {name}"')
    ctx.objects[name] = decl


def _attribute(ctx: CheckContext, decl: ast.AttributeDecl) -> None:
    owner, name = decl.owner.text, decl.name.text
    ctx.check_name(decl.name)
    if owner not in ctx.objects:
        ctx.unknown_object(decl.owner)
        return
    declared = ctx.attributes.setdefault(owner, {})
    if name in declared:
        ctx.bag.error("E206", f"attribute `{owner}.{name}` is already declared", decl.name.span,
                      help="list all its values in one declaration")
        return
    values: list[str] = []
    for value in decl.values:
        if value.text in values:
            ctx.bag.error("E208", f"value `{value.text}` is listed twice in `{owner}.{name}`", value.span,
                          help="remove the repeated value")
        else:
            values.append(value.text)
    declared[name] = values
