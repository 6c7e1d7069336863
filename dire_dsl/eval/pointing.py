"""Do explanations point at the right thing? A check for SynLOCO, where the truth is known.

A SynLOCO logical anomaly is made by a recipe whose steps name the objects they change (a
`remove` of a `pushpin`, an `add` of a `long_screw`). An explanation points at the right
object when the image's most violated rule (highest z among the violated ones,
`evidence.rule_violated`) is about one of those objects, in the rules file's names (a spec
object `long_screw` is the DSL object `screw`). Recipes whose steps name no object (a
mirrored box, swapped labels) count as pointed at when any rule is violated.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from dire_dsl.data.errors import ConfigError
from dire_dsl.eval.evaluate import EvalReport
from dire_dsl.json_read import read_json
from dire_dsl.lang.ir import CheckedProgram
from dire_dsl.logic.evidence import rule_objects, rule_violated


class PointingResult(BaseModel):
    """Share of logical anomalies whose most violated rule is about a changed object."""

    rate: float | None
    images: int
    per_defect: dict[str, float]
    misses: list[str]


def defect_objects(category_root: str | Path) -> dict[str, set[str]] | None:
    """Defect name → the DSL objects its recipe changes, from a SynLOCO tree's synloco.json (None otherwise)."""
    from dire_dsl.synth.spec.models import SceneSpec

    marker = Path(category_root) / "synloco.json"
    if not marker.is_file():
        return None
    raw = read_json(marker, lambda reason: ConfigError(marker, f"{reason}; run `dire synth` again to rewrite it"))
    spec = SceneSpec.model_validate(raw["spec"])
    names = {obj.id: obj.name or obj.id for obj in spec.objects}
    out: dict[str, set[str]] = {}
    for anomaly in spec.anomalies:
        out[anomaly.name] = {found for step in anomaly.steps for found in _step_objects(step, names)}
    return out


def _step_objects(step: object, names: dict[str, str]) -> set[str]:
    """The DSL objects one recipe step changes: its `object`, each of its `objects` (a swap), or
    the family it picks from by `name`."""
    ids = [getattr(step, "object", None), *(getattr(step, "objects", None) or [])]
    found = {names.get(ident, ident) for ident in ids if ident}
    if getattr(step, "name", None):
        found.add(step.name)
    return found


def pointing(report: EvalReport, program: CheckedProgram, changed: dict[str, set[str]]) -> PointingResult:
    """How often the most violated rule of a logical test anomaly is about an object its recipe changed."""
    about = {rule.name: set(rule_objects(rule)) for rule in program.rules}
    hits: dict[str, list[bool]] = {}
    misses = []
    for record in report.images:
        if record.split != "logical_anomalies" or record.defect_type is None:
            continue
        # Rank by how abnormal each rule is (its z against validation normals), not by raw truth:
        # a rule that is always half-true on good images is not evidence.
        violated = sorted((-z, name) for name, z in record.rule_z.items() if rule_violated(z))
        targets = changed.get(record.defect_type, set())
        if not targets:
            hit = bool(violated)
        else:
            hit = bool(violated) and bool(about.get(violated[0][1], set()) & targets)
        hits.setdefault(record.defect_type, []).append(hit)
        if not hit:
            top = violated[0][1] if violated else "no rule violated"
            misses.append(f"{record.key} ({record.defect_type}): {top}")
    flat = [h for values in hits.values() for h in values]
    return PointingResult(rate=sum(flat) / len(flat) if flat else None, images=len(flat),
                          per_defect={k: sum(v) / len(v) for k, v in sorted(hits.items())}, misses=misses)
