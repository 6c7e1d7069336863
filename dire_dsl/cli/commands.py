"""Every `dire` command: its name and the function behind it, in the order `dire --help` lists them.

The command modules define plain functions and know nothing of the app; `dire_dsl.cli.app`
registers each one from this table. They import heavy libraries (torch, open_clip) inside
their functions, so that importing them all costs `dire check` and `dire fmt` nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from dire_dsl.cli import (
    check_cmd,
    compile_cmd,
    demo_cmd,
    eval_cmd,
    explain_cmd,
    export_cmd,
    fmt_cmd,
    measure_cmd,
    predicates_cmd,
    serve_cmd,
    sweep_cmd,
    synth_cmd,
    train_cmd,
)

COMMANDS: dict[str, Callable[..., None]] = {
    "check": check_cmd.check,
    "compile": compile_cmd.compile_rules,
    "demo": demo_cmd.demo_command,
    "eval": eval_cmd.evaluate_command,
    "explain": explain_cmd.explain_command,
    "export": export_cmd.export_command,
    "fmt": fmt_cmd.fmt,
    "measure": measure_cmd.measure_command,
    "predicates": predicates_cmd.predicates,
    "serve": serve_cmd.serve_command,
    "sweep": sweep_cmd.sweep_command,
    "synth": synth_cmd.synth,
    "train": train_cmd.train,
}
