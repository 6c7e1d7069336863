"""Cross-field checks of a validated scene spec that pydantic cannot express.

References between objects, links and recipes; shape parameters; the objects that looks and
`modify` steps produce once merged; counts and ranges. Each finding is a `SpecIssue`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dire_dsl.data.errors import SpecIssue
from dire_dsl.synth.shapes import SHAPES
from dire_dsl.synth.spec.merge import deep_merge, object_dict
from dire_dsl.synth.spec.models import (
    DEFECT_RE,
    NAME_RE,
    PLACEMENT_KINDS,
    STEP_OPS,
    STRUCTURAL_OPS,
    ObjectSpec,
    SceneSpec,
)


def _loc(loc: tuple, data: Any) -> str:
    out = ""
    node = data
    for i, part in enumerate(loc):
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and 0 <= part < len(node):
                node = node[part]
                if isinstance(node, dict) and isinstance(node.get("id") or node.get("name"), str):
                    label += f"({node.get('id') or node.get('name')})"
            else:
                node = None
            out += label
            continue
        prev = loc[i - 1] if i else None
        if (part in PLACEMENT_KINDS and prev == "placement") or (
                part in STEP_OPS and isinstance(prev, int) and i >= 2 and loc[i - 2] == "steps"):
            continue  # pydantic's discriminator tag in the path: not a field
        if part in ("function-after", "function-before", "tagged-union") or str(part).startswith(
                ("tuple[", "list[", "function-", "union[", "float", "int", "str", "literal[")):
            continue
        node = node.get(part) if isinstance(node, dict) else None
        out += ("." if out else "") + str(part)
    return out


_HINTS = {
    "extra_forbidden": "remove it or check its spelling (see docs/data.md for the allowed fields)",
    "missing": "add this field",
    "union_tag_invalid": "use one of the documented kinds",
    "union_tag_not_found": "add the `kind` (placement) or `op` (step) field",
}


def issues_from_validation(err: ValidationError, data: Any) -> list[SpecIssue]:
    """pydantic's errors as issues: one per field, its path in the words of the spec file, with a hint."""
    issues: dict[str, SpecIssue] = {}
    for e in err.errors():
        field = _loc(tuple(e["loc"]), data)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "union_tag_invalid":
            ctx = e.get("ctx", {})
            msg = (f"unknown {ctx.get('discriminator', 'tag')} {ctx.get('tag')!r}; "
                   f"expected one of {ctx.get('expected_tags')}")
        if field in issues:  # alternatives of a union: one issue per field is enough
            if "range" not in issues[field].message and len(e["loc"]) > 0 and "tuple" in str(e["loc"][-1]):
                issues[field] = SpecIssue(field, "expected a number or a [low, high] range", "")
            continue
        issues[field] = SpecIssue(field, msg, _HINTS.get(e["type"], ""))
    return list(issues.values())


def check_spec(spec: SceneSpec) -> list[SpecIssue]:
    """Cross-field checks that pydantic cannot express: references, shapes, merges, counts."""
    issues: list[SpecIssue] = []
    add = issues.append
    if not NAME_RE.match(spec.category):
        add(SpecIssue("category", f"{spec.category!r} is not a valid folder name",
                      "use letters, digits and underscores, starting with a letter"))
    ids: dict[str, int] = {}
    for i, o in enumerate(spec.objects):
        where = f"objects[{i}]({o.id})"
        if not NAME_RE.match(o.id):
            add(SpecIssue(f"{where}.id", f"{o.id!r} is not a valid identifier", "use letters, digits, underscores"))
        if o.id in ids:
            add(SpecIssue(f"{where}.id", f"duplicate object id {o.id!r} (also objects[{ids[o.id]}])",
                          "give every object a unique id; share the COCO category with `name`"))
        _check_object(o, where, ids, spec, add)
        for aname, a in o.attributes.items():
            aw = f"{where}.attributes.{aname}"
            if len(set(a.values)) != len(a.values):
                add(SpecIssue(f"{aw}.values", "duplicate values", "list each value once"))
            if a.fixed is not None and a.fixed not in a.values:
                add(SpecIssue(f"{aw}.fixed", f"{a.fixed!r} is not one of {a.values}", "add it to `values`"))
            for val, look in a.looks.items():
                if val not in a.values:
                    add(SpecIssue(f"{aw}.looks.{val}", f"{val!r} is not one of the values {a.values}",
                                  "fix the value name"))
                bad = set(look) & {"id", "name", "attributes", "annotate"}
                if bad:
                    add(SpecIssue(f"{aw}.looks.{val}", f"a look cannot change {sorted(bad)}",
                                  "change only appearance fields (shape, params, parts, size, color, ...)"))
                    continue
                _check_merge(o, look, f"{aw}.looks.{val}", ids, spec, add)
        ids[o.id] = i
    for j, link in enumerate(spec.links):
        lw = f"links[{j}]({link.name})"
        for k, ref in enumerate(link.attributes):
            oid, _, attr = ref.partition(".")
            if oid not in ids:
                add(_unknown_link_object(oid, attr, f"{lw}.attributes[{k}]", ids, spec))
                continue
            o = spec.objects[ids[oid]]
            if attr not in o.attributes:
                add(SpecIssue(f"{lw}.attributes[{k}]", f"object {oid!r} has no attribute {attr!r}",
                              f"declare it under objects.attributes (has: {', '.join(o.attributes) or 'none'})"))
                continue
            if o.attributes[attr].fixed is not None:
                add(SpecIssue(f"{lw}.attributes[{k}]", f"{ref} is fixed to {o.attributes[attr].fixed!r}, so the "
                              "link's rows would not set it and good images would break the table",
                              "drop `fixed` (the link sets the value), or take it out of the link"))
                continue
            for r, row in enumerate(link.rows):
                if len(row) != len(link.attributes):
                    continue
                if row[k] not in o.attributes[attr].values:
                    add(SpecIssue(f"{lw}.rows[{r}][{k}]", f"{row[k]!r} is not a value of {ref}",
                                  f"use one of {o.attributes[attr].values}"))
        for r, row in enumerate(link.rows):
            if len(row) != len(link.attributes):
                add(SpecIssue(f"{lw}.rows[{r}]", f"has {len(row)} entries for {len(link.attributes)} attributes",
                              "give one value per attribute, in order"))
    names = set()
    pixel_values: dict[int, str] = {}
    for j, an in enumerate(spec.anomalies):
        aw = f"anomalies[{j}]({an.name})"
        if not DEFECT_RE.match(an.name):
            add(SpecIssue(f"{aw}.name", f"{an.name!r} is not a valid defect name", "use letters, digits, underscores"))
        if an.name in names:
            add(SpecIssue(f"{aw}.name", f"duplicate defect name {an.name!r}", "give each recipe a unique name"))
        names.add(an.name)
        if an.pixel_value is not None:
            if an.pixel_value in pixel_values:
                add(SpecIssue(f"{aw}.pixel_value", f"{an.pixel_value} is also used by {pixel_values[an.pixel_value]}",
                              "use a distinct pixel value per defect type"))
            pixel_values[an.pixel_value] = an.name
        if an.relative_saturation and an.saturation_threshold is not None and an.saturation_threshold > 1:
            add(SpecIssue(f"{aw}.saturation_threshold", "a relative saturation threshold must lie in (0, 1]",
                          "use a fraction, or set relative_saturation = false for a pixel count"))
        for s, step in enumerate(an.steps):
            _check_step(step, f"{aw}.steps[{s}]", ids, spec, add)
    if not spec.objects or not any(o.annotate for o in spec.objects):
        add(SpecIssue("objects", "no annotated object", "set annotate = true on at least one object"))
    return issues


def _unknown_link_object(oid: str, attr: str, where: str, ids: dict, spec: SceneSpec) -> SpecIssue:
    """A link names object ids; a shared `name` is the usual slip, so say which ids carry it."""
    named = [o.id for o in spec.objects if o.coco_name == oid]
    if named:
        return SpecIssue(where, f"{oid!r} is the name of {', '.join(named)}, not an object id",
                         "a link lists object ids: write one entry per object, "
                         f"{', '.join(repr(f'{i}.{attr}') for i in named)}")
    return SpecIssue(where, f"unknown object {oid!r}", f"use OBJECT.ATTRIBUTE with one of: {', '.join(ids)}")


def _check_object(o: ObjectSpec, where: str, ids: dict[str, int], spec: SceneSpec, add) -> None:
    if o.shape not in SHAPES:
        add(SpecIssue(f"{where}.shape", f"unknown shape {o.shape!r}", f"use one of: {', '.join(SHAPES)}"))
    else:
        _check_params(o.shape, o.params, f"{where}.params", add)
    if o.shape == "curve" and o.placement.kind != "connect":
        add(SpecIssue(f"{where}.placement.kind", "a curve must be placed with kind = 'connect'",
                      "set placement = { kind = 'connect', a = ..., b = ... }"))
    if o.placement.kind == "connect" and o.shape != "curve":
        add(SpecIssue(f"{where}.shape", "placement kind 'connect' draws a curve", "set shape = 'curve'"))
    for k, part in enumerate(o.parts or []):
        if part.shape not in SHAPES or part.shape == "curve":
            add(SpecIssue(f"{where}.parts[{k}].shape", f"unknown part shape {part.shape!r}",
                          f"use one of: {', '.join(s for s in SHAPES if s != 'curve')}"))
        else:
            _check_params(part.shape, part.params, f"{where}.parts[{k}].params", add)
    pl = o.placement
    refs = [("parent", pl.parent)]
    if pl.kind == "connect":
        refs += [("a", pl.a), ("b", pl.b)]
    for field, ref in refs:
        if ref is None:
            continue
        if ref == o.id:
            add(SpecIssue(f"{where}.placement.{field}", "an object cannot refer to itself", ""))
        elif ref not in ids:
            later = any(x.id == ref for x in spec.objects)
            add(SpecIssue(f"{where}.placement.{field}",
                          f"object {ref!r} is declared after this one" if later else f"unknown object {ref!r}",
                          "declare the referenced object earlier in `objects`" if later
                          else f"use one of: {', '.join(ids) or '(none declared before)'}"))
    if pl.kind == "walls" and pl.rows * (pl.cols - 1) + (pl.rows - 1) * pl.cols == 0:
        add(SpecIssue(f"{where}.placement", "a 1 x 1 grid has no inner walls", "use rows or cols > 1"))
    if pl.kind == "grid" and isinstance(o.count, int) and o.count > pl.rows * pl.cols * pl.per_cell:
        add(SpecIssue(f"{where}.count", f"{o.count} instances do not fit {pl.rows}x{pl.cols} cells "
                      f"x {pl.per_cell} per cell", "raise per_cell or lower count"))
    for region_field in ("region",):
        reg = getattr(pl, region_field, None)
        if reg is not None and (reg[0] >= reg[2] or reg[1] >= reg[3]):
            add(SpecIssue(f"{where}.placement.{region_field}", f"{list(reg)} is empty",
                          "give [x0, y0, x1, y1] with x0 < x1 and y0 < y1"))


def _check_params(shape: str, params: dict, where: str, add) -> None:
    allowed = SHAPES[shape].params
    for k, v in params.items():
        if k not in allowed:
            add(SpecIssue(f"{where}.{k}", f"shape {shape!r} has no parameter {k!r}",
                          f"allowed: {', '.join(allowed) or 'none'}"))
        elif k == "points":
            ok = isinstance(v, list) and len(v) >= 3 and all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(x, (int, float)) for x in p) for p in v)
            if not ok:
                add(SpecIssue(f"{where}.points", "expected a list of at least 3 [u, v] points", ""))
        elif isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                         for x in v):
            if v[0] > v[1]:
                add(SpecIssue(f"{where}.{k}", f"range {v} has its low end above its high end", "write [low, high]"))
        elif not isinstance(v, (int, float)) or isinstance(v, bool):
            add(SpecIssue(f"{where}.{k}", f"expected a number or a [low, high] range, got {v!r}", ""))
    if shape == "polygon" and "points" not in params:
        add(SpecIssue(f"{where}", "a polygon needs `points`", "add points = [[u, v], ...]"))


def _check_merge(o: ObjectSpec, over: dict, where: str, ids: dict, spec: SceneSpec, add) -> ObjectSpec | None:
    try:
        merged = ObjectSpec.model_validate(deep_merge(object_dict(o), over))
    except ValidationError as err:
        for issue in issues_from_validation(err, over):
            add(SpecIssue(f"{where}.{issue.field}" if issue.field else where, issue.message, issue.hint))
        return None
    if merged.shape not in SHAPES:
        add(SpecIssue(f"{where}.shape", f"unknown shape {merged.shape!r}", f"use one of: {', '.join(SHAPES)}"))
    else:
        _check_params(merged.shape, merged.params, f"{where}.params", add)
    return merged


def _step_objects(step: Any, where: str, ids: dict, spec: SceneSpec, add) -> list[ObjectSpec] | None:
    """The objects a step acts on: its ids, or every object of its `name` (none: any annotated
    object, for a structural step); None once an unknown target is reported."""
    name = getattr(step, "name", None)
    if name is not None:
        members = [o for o in spec.objects if o.coco_name == name]
        if not members:
            names = ", ".join(dict.fromkeys(o.coco_name for o in spec.objects))
            add(SpecIssue(f"{where}.name", f"no object is named {name!r}", f"use one of: {names}"))
            return None
        return members
    targets = []
    if getattr(step, "objects", None) is not None:
        targets = [(f"objects[{k}]", t) for k, t in enumerate(step.objects)]
    elif getattr(step, "object", None) is not None:
        targets = [("object", step.object)]
    for field, t in targets:
        if t not in ids:
            add(SpecIssue(f"{where}.{field}", f"unknown object {t!r}", f"use one of: {', '.join(ids)}"))
            return None
    return [spec.object(t) for _, t in targets]


def _check_step(step: Any, where: str, ids: dict, spec: SceneSpec, add) -> None:
    members = _step_objects(step, where, ids, spec, add)
    if members is None or step.op in STRUCTURAL_OPS:
        return
    o = members[0]
    total = sum(m.max_count for m in members)
    name = getattr(step, "name", None)
    what = f"objects named {name!r}" if name else repr(o.id)
    empty = [m for m in members if not m.max_count]  # a family needs one member drawn, an object itself
    if step.op in ("attr", "modify", "move", "swap") and empty and (len(empty) == len(members) or not name):
        add(SpecIssue(f"{where}.op", f"object {empty[0].id!r} has count = 0: no good image draws it, so "
                      f"`{step.op}` has nothing to act on", "give it a count, or make it appear with op = \"add\""))
        return
    if step.op == "swap" and step.objects is not None and step.objects[0] == step.objects[1]:
        add(SpecIssue(f"{where}.objects", "swap needs two different objects", "name two object ids"))
    if step.op == "swap" and step.name is not None and total < (step.pick or 2):
        add(SpecIssue(f"{where}.pick", f"cannot pick {step.pick or 2} of the {what} (a good image has at most "
                      f"{total})", f"use pick = 2..{max(total, 2)}"))
    if step.op in ("remove", "move") and step.n != "all" and (step.n < 1 or step.n > total):
        add(SpecIssue(f"{where}.n", f"cannot {step.op} {step.n} of {what} (it has at most {total})",
                      "use 1..count" + (" or \"all\"" if step.op == "remove" else "")))
    if step.op == "add" and any(m.placement.kind == "walls" for m in members):
        add(SpecIssue(f"{where}.op", "cannot add instances to a 'walls' placement", "use remove instead"))
    if step.op in ("add", "move") and step.to is not None:
        found: list[SpecIssue] = []
        for m in members:  # the first member that cannot take `to` is report enough
            _check_to(step, m, f"{where}.to", ids, spec, found.append)
            if found:
                break
        for issue in found:
            add(issue)
    if step.op == "attr":
        for m in members:
            _check_attr_step(step, m, where, add)
    if step.op == "modify":
        bad = set(step.set) & {"id", "name", "annotate"}
        if bad:
            add(SpecIssue(f"{where}.set", f"cannot modify {sorted(bad)}", "modify appearance, size or placement"))
            return
        _check_merge(o, step.set, f"{where}.set", ids, spec, add)
        if isinstance(step.index, int) and step.index >= o.max_count:
            add(SpecIssue(f"{where}.index", f"index {step.index} >= count {o.max_count}", ""))


def _check_attr_step(step: Any, o: ObjectSpec, where: str, add) -> None:
    if step.attribute not in o.attributes:
        add(SpecIssue(f"{where}.attribute", f"object {o.id!r} has no attribute {step.attribute!r}",
                      f"declared: {', '.join(o.attributes) or 'none'}"))
        return
    values = o.attributes[step.attribute].values
    if step.value is not None and step.value not in values:
        add(SpecIssue(f"{where}.value", f"{step.value!r} is not a value of {o.id}.{step.attribute}",
                      f"use one of {values}"))
    if step.value is None and len(values) < 2:
        add(SpecIssue(f"{where}.attribute", "the attribute has a single value: nothing to change to",
                      "give `value` or more `values`"))


def _check_to(step: Any, o: ObjectSpec, where: str, ids: dict, spec: SceneSpec, add) -> None:
    """A placement of an added or moved instance that the object's own placement can take."""
    to, pl = step.to, o.placement
    if pl.kind in ("connect", "walls"):
        add(SpecIssue(f"{where}", f"{o.id!r} is placed by kind = {pl.kind!r}: it runs between fixed points, "
                      "so it cannot be put elsewhere", "drop `to`, or use modify with the placement's fields"))
        return
    if to.cell is not None:
        if pl.kind != "grid":
            add(SpecIssue(f"{where}.cell", f"cell = [row, col] needs a grid placement; {o.id!r} is placed by "
                          f"kind = {pl.kind!r}", "use at = [x, y] instead"))
        elif to.cell[0] >= pl.rows or to.cell[1] >= pl.cols:
            add(SpecIssue(f"{where}.cell", f"{list(to.cell)} is not a cell of the {pl.rows} x {pl.cols} grid of "
                          f"{o.id!r}", f"rows go 0..{pl.rows - 1}, columns 0..{pl.cols - 1}"))
    if to.overlap is not None:
        of = to.of or o.id
        if of not in ids:
            add(SpecIssue(f"{where}.of", f"unknown object {of!r}", f"use one of: {', '.join(ids)}"))
        elif spec.object(of).placement.kind == "connect":
            add(SpecIssue(f"{where}.of", f"{of!r} is a curve: overlap is measured on shapes",
                          "name an object with a shape"))
        elif spec.object(of).max_count < (2 if of == o.id and step.op == "move" else 1):
            add(SpecIssue(f"{where}.of", f"{of!r} has no other instance in a good image to overlap",
                          "name an object that is drawn with `of`"))
    if to.outside and o.clip:
        add(SpecIssue(f"{where}.outside", f"{o.id!r} has clip = true: outside its parent nothing would be drawn",
                      "use at = [x, y] inside the parent"))
    elif to.outside and pl.parent is None and pl.kind not in ("grid", "scatter"):
        add(SpecIssue(f"{where}.outside", f"{o.id!r} has no parent and no region to be outside of",
                      "use at = [x, y]"))
