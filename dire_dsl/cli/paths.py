"""Turn the paths a user typed into the list of .rules files they mean."""

from __future__ import annotations

from pathlib import Path

from dire_dsl.errors import DireError, ExitCode

RULES_SUFFIX = ".rules"


class NoRulesFiles(DireError):
    """A path does not exist, or a folder holds no .rules file: a usage error."""

    exit_code = ExitCode.USAGE_ERROR


def expand_rules_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders searched recursively for *.rules, in sorted order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob(f"*{RULES_SUFFIX}"))
            if not found:
                raise NoRulesFiles(f"{path}: no {RULES_SUFFIX} files in this folder")
            files.extend(found)
        elif path.suffix.lower() in (".toml", ".json") and path.is_file():
            raise NoRulesFiles(f"{path}: a scene spec, not a rules file; give .rules files "
                               "(a spec is checked by `dire synth SPEC`)")
        elif path.exists():
            files.append(path)
        else:
            raise NoRulesFiles(f"{path}: no such file or folder")
    return files


def rules_files_or_exit(paths: list[Path]) -> list[Path]:
    """`expand_rules_paths` for a command: a bad path is a usage error (message, exit 2)."""
    from dire_dsl.cli.errors import user_errors

    with user_errors():
        return expand_rules_paths(paths)
