"""The settings pass: each key of a `train {}` or `logic {}` block against `lang.settings`."""

from __future__ import annotations

from dire_dsl.lang import ast
from dire_dsl.lang.check.context import CheckContext, suggest
from dire_dsl.lang.settings import BLOCKS


def check_settings_block(ctx: CheckContext, block: ast.SettingsBlock) -> None:
    """E212 unknown key, E213 a key given twice, E311 a value of the wrong type or out of range;
    accepted values replace the defaults in `ctx.settings`, as the key's type."""
    specs = BLOCKS[block.block]
    seen: set[str] = set()
    for setting in block.settings:
        key = setting.key.text
        if key not in specs:
            hint = suggest(key, list(specs)) or f"known keys: {', '.join(specs)}"
            ctx.bag.error("E212", f"unknown `{block.block}` key `{key}`", setting.key.span, help=hint)
            continue
        if key in seen:
            ctx.bag.error("E213", f"`{key}` is given twice in the `{block.block}` block", setting.key.span,
                          help="keep one value")
            continue
        seen.add(key)
        spec = specs[key]
        problem = spec.problem(setting.value)
        if problem:
            ctx.bag.error("E311", problem, setting.span, help=spec.doc)
            continue
        ctx.settings[block.block][key] = spec.coerce(setting.value)
