"""Output paths are checked before any work: a file where a folder goes, a folder where a file
goes, maps that would land among the test images; each is one `error:` line and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner


@pytest.fixture()
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("keep me", encoding="utf-8")
    return path


def _refused(result, *words: str) -> None:  # noqa: ANN001
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.count("error:") == 1
    for word in words:
        assert word in result.output, result.output


def test_eval_outputs_are_checked_before_scoring(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                 tiny_loco: Path, a_file: Path, tmp_path: Path) -> None:
    base = ["eval", str(tiny_run), "--data", str(tiny_loco)]
    _refused(runner.invoke(cli_app, [*base, "--json", str(a_file / "m.json")]), "--json", "is a file, not a folder")
    _refused(runner.invoke(cli_app, [*base, "--report", str(tmp_path)]), "--report", "is a folder")
    _refused(runner.invoke(cli_app, [*base, "--maps", str(a_file)]), "--maps", "is a file")
    _refused(runner.invoke(cli_app, [*base, "--maps", str(tiny_loco)]), "would be read as data")
    assert a_file.read_text(encoding="utf-8") == "keep me"
    assert not list(tiny_loco.rglob("*.tiff"))


def test_other_commands_check_their_out_folder(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                               tiny_loco: Path, a_file: Path) -> None:
    image = next((tiny_loco / "pushpins" / "test" / "good").glob("*.png"))
    _refused(runner.invoke(cli_app, ["explain", str(tiny_run), str(image), "--out", str(a_file)]), "--out")
    _refused(runner.invoke(cli_app, ["train", str(tiny_run / "rules.rules"), "--data", str(tiny_loco),
                                     "--out", str(a_file / "run")]), "--out", "is a file, not a folder")
    _refused(runner.invoke(cli_app, ["demo", "--out", str(a_file)]), "--out", "is a file")



def test_eval_never_writes_over_its_inputs_even_with_force(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                          tiny_loco: Path) -> None:
    base = ["eval", str(tiny_run), "--data", str(tiny_loco), "--force"]
    weights, rules = tiny_run / "model.safetensors", tiny_run / "rules.rules"
    image = next((tiny_loco / "pushpins" / "test" / "good").glob("*.png"))
    kept = {path: path.read_bytes() for path in (weights, rules, image)}
    _refused(runner.invoke(cli_app, [*base, "--json", str(weights)]), "--json", "part of the run")
    _refused(runner.invoke(cli_app, [*base, "--report", str(rules)]), "--report", "part of the run")
    _refused(runner.invoke(cli_app, [*base, "--json", str(image)]), "--json", "read as data")
    _refused(runner.invoke(cli_app, [*base, "--maps", str(tiny_run)]), "--maps", "part of the run")
    assert all(path.read_bytes() == data for path, data in kept.items())


def test_eval_replaces_its_own_outputs_and_others_only_with_force(cli_app: typer.Typer, runner: CliRunner,
                                                                  tiny_run: Path, tiny_loco: Path, a_file: Path,
                                                                  tmp_path: Path) -> None:
    from dire_dsl.cli.output_paths import written_by_dire

    maps, report = tmp_path / "maps", tmp_path / "r.html"
    foreign_map = maps / "pushpins" / "test" / "good" / "000.tiff"
    foreign_map.parent.mkdir(parents=True)
    foreign_map.write_bytes(b"II*\x00 someone else's map")
    base = ["eval", str(tiny_run), "--data", str(tiny_loco), "--quiet", "--report", str(report)]
    _refused(runner.invoke(cli_app, [*base, "--json", str(a_file)]), str(a_file), "not written by dire", "--force")
    _refused(runner.invoke(cli_app, [*base, "--maps", str(maps)]), str(foreign_map), "--force")
    assert a_file.read_text(encoding="utf-8") == "keep me" and not report.exists()
    forced = runner.invoke(cli_app, [*base, "--json", str(a_file), "--maps", str(maps), "--force"])
    assert forced.exit_code == 0, forced.output
    again = runner.invoke(cli_app, [*base, "--json", str(a_file), "--maps", str(maps)])  # its own: no --force needed
    assert again.exit_code == 0, again.output
    assert all(written_by_dire(path) for path in (a_file, report, foreign_map))
    assert json.loads(a_file.read_text(encoding="utf-8"))["generator"] == "dire-dsl"


def test_files_dire_did_not_write_are_not_recognised(tiny_loco: Path, a_file: Path, tmp_path: Path) -> None:
    from dire_dsl.cli.output_paths import written_by_dire

    image = next((tiny_loco / "pushpins" / "test" / "good").glob("*.png"))
    other_json = tmp_path / "x.json"
    other_json.write_text('{"data": {"generator": "dire-dsl"}}', encoding="utf-8")
    assert not any(written_by_dire(path) for path in (image, a_file, other_json, tmp_path / "missing.json"))


def test_train_and_sweep_refuse_an_out_folder_inside_the_data(cli_app: typer.Typer, runner: CliRunner,
                                                              tiny_loco: Path, tiny_rules: Path) -> None:
    inside = tiny_loco / "pushpins" / "runs"
    _refused(runner.invoke(cli_app, ["train", str(tiny_rules), "--data", str(tiny_loco), "--out", str(inside)]),
             "--out", "read as data")
    _refused(runner.invoke(cli_app, ["sweep", str(tiny_rules), "--data", str(tiny_loco), "--grid", "epochs=1",
                                     "--out", str(tiny_loco)]), "--out", "read as data")
    assert not inside.exists()


def test_demo_refuses_to_replace_a_report_it_did_not_write(cli_app: typer.Typer, runner: CliRunner,
                                                           tmp_path: Path) -> None:
    mine = tmp_path / "report.html"
    mine.write_text("<html>my notes</html>", encoding="utf-8")
    _refused(runner.invoke(cli_app, ["demo", "--out", str(tmp_path)]), str(mine), "not written by dire")
    assert mine.read_text(encoding="utf-8") == "<html>my notes</html>"


def test_a_fifo_or_device_is_refused_without_being_opened(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                          tiny_loco: Path, tmp_path: Path) -> None:
    import os

    from dire_dsl.cli.output_paths import written_by_dire

    fifo = tmp_path / "m.json"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes: the test would hang
    base = ["eval", str(tiny_run), "--data", str(tiny_loco), "--force"]
    _refused(runner.invoke(cli_app, [*base, "--json", str(fifo)]), "--json", str(fifo), "not a regular file")
    _refused(runner.invoke(cli_app, [*base, "--report", "/dev/null"]), "--report", "not a regular file")
    assert not written_by_dire(fifo) and fifo.is_fifo()


def test_two_outputs_at_one_path_are_refused(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                             tiny_loco: Path, tmp_path: Path) -> None:
    base = ["eval", str(tiny_run), "--data", str(tiny_loco)]
    same = tmp_path / "out.json"
    _refused(runner.invoke(cli_app, [*base, "--json", str(same), "--report", str(same)]), "--json", "--report",
             "same file")
    (tmp_path / "sub").mkdir()
    detour = tmp_path / "sub" / ".." / "out.json"
    _refused(runner.invoke(cli_app, [*base, "--json", str(same), "--report", str(detour)]), "--json", "--report",
             "same file")
    assert not same.exists()


def test_outputs_inside_a_category_folder_are_refused(cli_app: typer.Typer, runner: CliRunner, tiny_run: Path,
                                                     tiny_loco: Path, tmp_path: Path) -> None:
    category = tiny_loco / "pushpins"
    image = next((category / "test" / "good").glob("*.png"))
    before = sorted(category.rglob("*"))
    for out in (category / "test" / "good", category, category / "overlays", category / "test" / "logical_anomalies"):
        _refused(runner.invoke(cli_app, ["explain", str(tiny_run), str(image), "--out", str(out)]), "--out",
                 "data category folder", str(category))
    other = tmp_path / "other_data" / "screws"  # a category of another data set than --data
    (other / "train" / "good").mkdir(parents=True)
    _refused(runner.invoke(cli_app, ["eval", str(tiny_run), "--data", str(tiny_loco), "--maps", str(other / "maps")]),
             "--maps", "data category folder", str(other))
    _refused(runner.invoke(cli_app, ["eval", str(tiny_run), "--data", str(tiny_loco), "--json",
                                     str(other / "m.json")]), "--json", "data category folder")
    assert sorted(other.rglob("*")) == [other / "train", other / "train" / "good"]
    assert sorted(category.rglob("*")) == before
    loose = tmp_path / "photos" / "good"  # a folder named `good` outside any data tree is fine
    result = runner.invoke(cli_app, ["explain", str(tiny_run), str(image), "--out", str(loose)])
    assert result.exit_code == 0, result.output
