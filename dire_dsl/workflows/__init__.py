"""Workflows that train and rewrite rules files; only the CLI (and `dire_dsl.demo`/`.sweep`) call them.

Modules:
    demo   `demo()`: the whole product in one call: synthesize, train, evaluate, report
    sweep  `sweep()`: one run per setting of a grid, chosen without looking at the test set
"""
