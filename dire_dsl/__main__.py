"""`python -m dire_dsl ...` runs the `dire` command line."""

from dire_dsl.cli.app import main

main()
