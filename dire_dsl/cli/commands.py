"""The list of command modules; importing one registers its command on the app."""

from dire_dsl.cli import (  # noqa: F401
    check_cmd,
    compile_cmd,
    demo_cmd,
    eval_cmd,
    explain_cmd,
    fmt_cmd,
    measure_cmd,
    predicates_cmd,
    sweep_cmd,
    synth_cmd,
    train_cmd,
)
