"""`dire measure`'s output: per rule, how often it holds on good images; per comparison, the
spread of what it measures against its bound (text for people, JSON for scripts)."""

from __future__ import annotations

import json
from typing import Any

from dire_dsl.measure.measurements import AtomReading, RulesReader


def _bound_text(atom: AtomReading) -> str:
    if atom.op == "in":
        return f"in [{atom.bound[0]:.4g}, {atom.bound[1]:.4g}]"
    return f"{atom.op} {atom.bound[0]:.4g}"


def _where(atom: AtomReading) -> str:
    parts = []
    if atom.context.condition_text:
        parts.append(f"where {atom.context.condition_text}")
    if atom.context.optional:
        parts.append("one alternative of the rule: need not hold everywhere")
    return f" ({'; '.join(parts)})" if parts else ""


def _atom_lines(atom: AtomReading) -> list[str]:
    summary = atom.summary()
    head = f"  {atom.measured} {_bound_text(atom)}{_where(atom)}"
    if not summary["n"]:
        return [head, "    no value to read: no instance (or no case the rule asks about) on these images"]
    n, low, high = summary["n"], summary["min"], summary["max"]
    spread = f"{low:.4g} .. {high:.4g}"
    if f"{high:.4g}" != f"{low:.4g}":
        spread += f" (p5 {summary['p5']:.4g}, median {summary['median']:.4g}, p95 {summary['p95']:.4g})"
    lines = [head, f"    measured {spread} over {n} value(s)"]
    failed = round((1.0 - float(summary["holds"])) * n)
    room = summary["room"]
    if failed and atom.context.optional:
        lines.append(f"    holds on {n - failed} of {n}, which may be right: the rule has other ways to hold")
    elif failed:
        lines.append(f"    the bound is missed by {failed} of {n}: it cuts into what good images measure")
    elif room is not None:
        width = high - low
        scale = f", {room / width:.1f}x the spread of the values" if width > 0 else ""
        lines.append(f"    room to the bound: {room:.4g}{scale}")
    return lines


def render_text(reader: RulesReader, source: str) -> str:
    """Readable report; rules false on some good image first, each with its comparisons."""
    lines = [f"read {reader.images} good image(s): {source}", ""]
    readings = sorted(reader.readings.values(), key=lambda r: (r.holds_on - len(r.truths), r.line))
    for reading in readings:
        total = len(reading.truths)
        verdict = f"holds on {reading.holds_on} of {total} image(s)"
        if reading.holds_on < total:
            verdict += f"; lowest truth {min(reading.truths):.3f}: check the rule (or those images)"
        lines.append(f"rule {reading.rule} (line {reading.line}): {verdict}")
        for atom in reading.atoms:
            lines.extend(_atom_lines(atom))
    for name in reader.skipped:
        lines.append(f"rule {name}: not read; the source does not give the attributes it tests")
    false_somewhere = sum(r.holds_on < len(r.truths) for r in readings)
    lines += ["", f"{len(readings)} rule(s) read, {false_somewhere} false on some good image"]
    return "\n".join(lines) + "\n"


def render_json(reader: RulesReader, source: str) -> str:
    data: dict[str, Any] = {"source": source, "images": reader.images, "skipped": reader.skipped, "rules": []}
    for reading in reader.readings.values():
        data["rules"].append({
            "rule": reading.rule, "line": reading.line, "images": len(reading.truths), "holds_on": reading.holds_on,
            "lowest_truth": min(reading.truths) if reading.truths else None,
            "atoms": [{"text": a.text, "line": a.line, "column": a.column, "measured": a.measured, "op": a.op,
                       "bound": list(a.bound), "condition": a.context.condition_text or None,
                       "optional": a.context.optional, **a.summary()} for a in reading.atoms],
        })
    return json.dumps(data, indent=2) + "\n"
