"""Generators of the documentation pages that must match the code: the CLI and API references
and the settings of the `train {}` and `logic {}` blocks (`settings_reference`).

`python scripts/gen_docs.py` writes them; tests fail when a committed page differs from
what the code generates, so the reference never drifts from the tool.
"""
