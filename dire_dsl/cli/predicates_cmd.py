"""`dire predicates`: every callable a rule may use, built-in or from a plugin package."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer

from dire_dsl.cli.output import OutputFormat, err_console


def predicates(
    output_format: Annotated[OutputFormat,
                             typer.Option("--format", help="text (a table) or json.")] = OutputFormat.text,
) -> None:
    """List measurements, relations and plugin predicates with their signatures, source package and doc."""
    from dire_dsl.lang.signatures import REGISTRY

    signatures = REGISTRY.signatures()  # loads the `dire_dsl.predicates` entry points first
    for problem in REGISTRY.plugin_errors:
        err_console().print(f"[bold yellow]warning:[/] {problem}", markup=True)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps([_as_dict(s) for s in signatures], indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(signatures)} predicates and measurements", title_justify="left")
    for column in ("name", "signature", "source", "doc"):
        table.add_column(column, overflow="fold")
    for signature in signatures:
        table.add_row(signature.name, signature.render(), signature.source, signature.doc)
    Console(soft_wrap=False).print(table)


def _as_dict(signature: Any) -> dict[str, Any]:
    def bound(value: float) -> float | None:
        return None if math.isinf(value) else value

    return {
        "name": signature.name,
        "signature": signature.render(),
        "params": [{"name": p.name, "kinds": sorted(k.value for k in p.kinds)} for p in signature.params],
        "result": signature.result.value,
        "integer": signature.integer,
        "low": bound(signature.low),
        "high": bound(signature.high),
        "source": signature.source,
        "doc": signature.doc,
    }
