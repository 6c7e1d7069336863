"""Merging overrides into object specs: attribute looks and `modify` steps change a few fields.

`merge_object` is called for every instance of every sampled scene, so it caches the merged,
validated spec by (id of the object spec, overrides); the cache holds the object spec itself so
that its id cannot be reused by another object while the entry lives.
"""

from __future__ import annotations

import json

from dire_dsl.synth.spec.models import ObjectSpec


def deep_merge(base: dict, over: dict) -> dict:
    """Recursive dict merge; a sub-dict whose `kind`/`op` changes is replaced, not merged."""
    out = dict(base)
    for k, v in over.items():
        b = out.get(k)
        if isinstance(b, dict) and isinstance(v, dict):
            tag_changed = any(t in v and b.get(t) != v[t] for t in ("kind", "op"))
            out[k] = dict(v) if tag_changed else deep_merge(b, v)
        else:
            out[k] = v
    return out


def object_dict(obj: ObjectSpec) -> dict:
    """Every field of `obj` as plain data, the form overrides are merged into."""
    return obj.model_dump(mode="python", exclude_unset=False)


_MERGE_CACHE: dict[tuple[int, str], tuple[ObjectSpec, ObjectSpec]] = {}


def merge_object(obj: ObjectSpec, *overrides: dict) -> ObjectSpec:
    """The object spec with the override dicts merged in order (validated, cached)."""
    if not any(overrides):
        return obj
    over: dict = {}
    for o in overrides:
        if o:
            over = deep_merge(over, o)
    key = (id(obj), json.dumps(over, sort_keys=True, default=list))
    hit = _MERGE_CACHE.get(key)
    if hit is not None and hit[0] is obj:
        return hit[1]
    merged = ObjectSpec.model_validate(deep_merge(object_dict(obj), over))
    if len(_MERGE_CACHE) > 20000:
        _MERGE_CACHE.clear()
    _MERGE_CACHE[key] = (obj, merged)  # holding `obj` keeps its id from being reused
    return merged
