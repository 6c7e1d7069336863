"""Plugin predicates: the decorator, the calling convention, and a real installed plugin package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from dire_dsl.cli.app import app
from dire_dsl.lang.signatures import REGISTRY, ArgKind
from dire_dsl.logic.compiler import CompileError, compile_program
from dire_dsl.logic.plan import program_plan
from dire_dsl.logic.registry import predicate
from tests.logic.conftest import ROOT, program, random_grounding

EXAMPLE = ROOT / "examples" / "plugin_symmetry"


@pytest.fixture()
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Predicates registered by a test disappear after it."""
    monkeypatch.setattr(REGISTRY, "_signatures", dict(REGISTRY._signatures))
    monkeypatch.setattr(REGISTRY, "_implementations", dict(REGISTRY._implementations))


def test_decorator_registers_signature_and_implementation(registry: None) -> None:
    seen: list[tuple[int, ...]] = []

    @predicate("bright_test", params=[("a", "entity"), ("level", "number")], result="number", low=0.0, high=1.0)
    def bright(mask: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """Mean mask value above a level."""
        seen.append((tuple(mask.shape), tuple(level.shape)))
        return (mask.mean((-2, -1)) - level).double()  # float64 on purpose: cast back by dire-dsl

    signature = REGISTRY.get("bright_test")
    assert signature.render() == "bright_test(a: instance or objects, level: number) -> number"
    assert signature.doc == "Mean mask value above a level." and signature.source == "tests"
    assert (signature.result, signature.low, signature.high) == (ArgKind.NUMBER, 0.0, 1.0)
    prog = program('object pin "p"\nrule r: bright_test(pin, 0.5) <= 0.1 and forall p in pin: bright_test(p, 0.2) >= 0')
    out = compile_program(prog)(random_grounding(prog, batch=2, size=8, slots=3))
    assert seen == [((2, 8, 8), (1,)), ((2, 3, 8, 8), (1, 1))]  # [B, *S, H, W] and [B|1, *S]
    assert out.truth.dtype == torch.float32 and out.atoms["r"][0].terms[0][1].dtype == torch.float32
    measurement = program_plan(prog)["rules"][0]["formula"]["children"][0]["children"][0]
    assert (measurement["label"], measurement["fuzzy"]) == ("bright_test", "plugin from tests")


def test_a_result_of_the_wrong_layout_is_a_clear_error(registry: None) -> None:
    @predicate("flat_test", params=[("a", "entity")])
    def flat(mask: torch.Tensor) -> torch.Tensor:
        return mask.flatten(1).mean(-1)  # drops the variable axis: wrong inside a quantifier

    prog = program('object pin "p"\nrule r: forall p in pin: flat_test(p)')
    with pytest.raises(CompileError, match=r"`flat_test` returned \[2\]; inside 1 quantified variable\(s\)"):
        compile_program(prog)(random_grounding(prog, batch=2, size=8, slots=3))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "not valid"}, "not a valid identifier"),
    ({"params": [("a", "shape")]}, "unknown parameter kind `shape`"),
    ({"result": "mask"}, "result must be one of: truth, number"),
    ({"params": []}, "needs at least one parameter"),
])
def test_decorator_rejects_bad_declarations(kwargs: dict, message: str) -> None:
    arguments = {"name": "ok_test", "params": [("a", "entity")], **kwargs}
    with pytest.raises(ValueError, match=message):
        predicate(**arguments)


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin package, pip-installed into a folder of its own (build files stay in tmp)."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(EXAMPLE, work / "source", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def run_with(site: Path, code: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_installed_plugin_checks_compiles_and_evaluates(installed_plugin: Path) -> None:
    checked = run_with(installed_plugin, """
        import sys
        from dire_dsl.cli.app import main
        sys.argv = ["dire", "check", "examples/plugin_symmetry/symmetric.rules"]
        main()
    """)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 error(s)" in checked.stdout
    evaluated = run_with(installed_plugin, """
        import torch
        from dire_dsl.lang.program import load_rules
        from dire_dsl.logic.compiler import compile_program
        from dire_dsl.logic.grounding import grounding_from_masks
        from tests.logic.conftest import box, disc
        prog = load_rules("examples/plugin_symmetry/symmetric.rules")
        holes = torch.stack([disc(0.3, 0.5, 0.1), box(0.6, 0.4, 0.9, 0.5) + box(0.6, 0.5, 0.7, 0.6)])
        masks = [{"part": box(0.1, 0.2, 0.6, 0.8)[None], "hole": holes}]
        out = compile_program(prog)(grounding_from_masks(prog, masks))
        print(out.truth[0, 0].item(), *(line for line in out.atoms["round_holes"][-1].lines(0)), sep="\\n")
    """)
    assert evaluated.returncode == 0, evaluated.stderr
    part, l_shaped, round_hole = evaluated.stdout.splitlines()
    assert float(part) > 0.99  # a rectangle is its own mirror image
    assert l_shaped.startswith("symmetric(hole#2): truth 0.6") and round_hole.startswith("symmetric(hole#1): truth 0.9")


def test_without_the_plugin_the_same_file_fails_check() -> None:
    result = CliRunner().invoke(app, ["check", str(EXAMPLE / "symmetric.rules")])
    assert result.exit_code == 1
    assert "error[E214]: unknown function or predicate `symmetric`" in result.output
