"""The `dire` command line: a thin shell over the library API, one module per command.

Modules:
    app         the typer application, built from `commands`; `main()` is the console script
    commands    the table of commands: each name and the function behind it
    *_cmd       one module per command (check, compile, fmt, predicates, synth, train, eval,
                explain, measure, sweep, demo); they import heavy libraries inside the function
    errors      the one mapping from an error to its message and exit code
    output      the stderr console, `fail`, and the output-format enum
    output_paths the one check every output path goes through before any work
    paths       the paths a user typed → the .rules files they mean
    progress    plain progress lines for when stderr is not a terminal
"""
