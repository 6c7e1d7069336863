"""The public API: `dire_dsl.__all__`, imported lazily so that `import dire_dsl` stays free of torch."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys

import dire_dsl


def test_import_dire_dsl_does_not_import_torch() -> None:
    script = (
        "import sys, dire_dsl\n"
        "dire_dsl.load_rules, dire_dsl.check_source, dire_dsl.format_source, dire_dsl.predicate\n"
        "print(sorted(m for m in ('torch', 'ltn', 'open_clip', 'peft', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"importing dire_dsl or its language API imported {out.strip()}"


def test_every_public_name_resolves_from_its_module() -> None:
    assert len(set(dire_dsl.__all__)) == len(dire_dsl.__all__)
    for name in dire_dsl.__all__:
        obj = getattr(dire_dsl, name)
        assert obj.__name__ == name, f"dire_dsl.{name} is {obj!r}"
    assert set(dire_dsl.__all__) <= set(dir(dire_dsl))


def test_type_checkers_see_exactly_the_public_names() -> None:
    """The `if TYPE_CHECKING:` re-exports are what IDEs and type checkers read; they follow `_EXPORTS`."""
    block = next(node for node in ast.parse(inspect.getsource(dire_dsl)).body
                 if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    seen = {alias.name: statement.module for statement in block.body if isinstance(statement, ast.ImportFrom)
            for alias in statement.names if alias.asname == alias.name}
    assert seen == dire_dsl._EXPORTS


def test_the_train_function_is_not_shadowed_by_the_train_subpackage() -> None:
    import dire_dsl.train.api  # noqa: F401  (binds the subpackage on the package, if nothing stops it)
    from dire_dsl.train import api

    assert dire_dsl.train is api.train and callable(dire_dsl.train)


def test_unknown_names_raise_attribute_error() -> None:
    try:
        dire_dsl.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("dire_dsl.no_such_name did not raise")
