"""One exception tree: every exception class dire-dsl defines derives from `DireError`,
which carries the exit code `dire` ends with."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import dire_dsl
from dire_dsl.errors import DireError, ExitCode


def _package_exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module of the package (each module imported once)."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(dire_dsl.__path__, "dire_dsl."):
        if module_info.name == "dire_dsl.__main__":  # runs the CLI when imported
            continue
        module = importlib.import_module(module_info.name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


def test_every_exception_class_of_the_package_derives_from_dire_error() -> None:
    classes = _package_exception_classes()
    assert len(classes) >= 25  # the walk reached the whole package
    strays = [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, DireError)]
    assert strays == []


def test_the_public_name_is_the_root() -> None:
    assert dire_dsl.DireError is DireError


@pytest.mark.parametrize(("module", "name", "code"), [
    ("dire_dsl.lang.diagnostics", "RulesCheckError", ExitCode.USER_ERROR),
    ("dire_dsl.data.errors", "DataError", ExitCode.USER_ERROR),
    ("dire_dsl.run.folder", "RunDirError", ExitCode.USER_ERROR),
    ("dire_dsl.cli.paths", "NoRulesFiles", ExitCode.USAGE_ERROR),
])
def test_an_error_carries_its_exit_code(module: str, name: str, code: ExitCode) -> None:
    assert getattr(importlib.import_module(module), name).exit_code is code


@pytest.mark.parametrize(("module", "name", "also"), [
    ("dire_dsl.logic.compiler", "CompileError", ValueError),
    ("dire_dsl.vision.backbones.base", "BackboneError", ValueError),
    ("dire_dsl.train.errors", "TrainingDiverged", RuntimeError),
])
def test_errors_keep_the_builtin_base_library_code_may_catch(module: str, name: str, also: type) -> None:
    assert issubclass(getattr(importlib.import_module(module), name), also)
