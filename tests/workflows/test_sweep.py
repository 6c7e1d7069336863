"""The sweep: grid parsing, the validation-only choice (test images never opened), write-back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from dire_dsl.data import loco
from dire_dsl.lang.program import load_rules
from dire_dsl.run.trained import load_run
from dire_dsl.workflows import sweep as sweep_module
from dire_dsl.workflows.sweep import (
    SweepError,
    ValidationScore,
    expand_grid,
    parse_grid,
    setting_name,
    sweep,
    write_back,
)


def test_grid_parsing() -> None:
    grid = parse_grid(["lambda=5e-7,5e-6", "epochs=1,2", "use_rules=true,false", "backbone=conv-small"])
    assert grid == {"lambda": [5e-7, 5e-6], "epochs": [1, 2], "use_rules": [True, False], "backbone": ["conv-small"]}
    assert len(expand_grid(grid)) == 8
    assert expand_grid({"a": [1, 2], "b": [3]}) == [{"a": 1, "b": 3}, {"a": 2, "b": 3}]
    assert setting_name({"lambda": 5e-7, "epochs": 10}) == "lambda=5e-07,epochs=10"
    with pytest.raises(SweepError, match="unknown setting 'lamda'.*lambda"):
        parse_grid(["lamda=1"])
    for derived in ("peak_separation", "input_height", "slots", "device"):  # training sets these itself
        with pytest.raises(SweepError, match=f"unknown setting '{derived}'"):
            parse_grid([f"{derived}=1"])
    with pytest.raises(SweepError, match="KEY=V1,V2"):
        parse_grid(["lambda"])


@pytest.fixture()
def rules_copy(tiny_rules: Path, tmp_path: Path) -> Path:
    path = tmp_path / "pushpins.rules"
    path.write_text(tiny_rules.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_write_back_replaces_and_adds_keeping_comments(rules_copy: Path) -> None:
    comments = [line for line in rules_copy.read_text().splitlines() if line.startswith("#")]
    text = write_back(rules_copy, {"lambda": 5e-6, "lr": 0.001, "epochs": 7})
    assert rules_copy.read_text() == text
    assert all(comment in text for comment in comments)
    train = load_rules(rules_copy).train
    assert train["lambda"] == 5e-6 and train["lr"] == 0.001 and train["epochs"] == 7
    assert text.count("train {") == 1


def test_write_back_adds_a_missing_block(tmp_path: Path) -> None:
    path = tmp_path / "x.rules"
    path.write_text('category x\n# the part\nobject part "a part"\n\nrule one:\n    count(part) == 1  # exactly\n')
    text = write_back(path, {"epochs": 3})
    assert "# the part" in text and "# exactly" in text and text.rstrip().endswith("train { epochs = 3 }")
    assert load_rules(path).train["epochs"] == 3
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # a file saved on Windows stays one
    write_back(path, {"epochs": 4})
    assert path.read_bytes().count(b"\r\n") == path.read_bytes().count(b"\n")
    assert load_rules(path).train["epochs"] == 4


def test_write_back_refuses_keys_outside_the_train_block(rules_copy: Path) -> None:
    before = rules_copy.read_text()
    with pytest.raises(SweepError, match="use_rules"):
        write_back(rules_copy, {"use_rules": False})
    assert rules_copy.read_text() == before


@pytest.fixture()
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every image file opened and every split loaded, from now on."""
    seen: list[str] = []
    original_open = Image.open
    original_init = loco.MVTecLOCO.__init__

    def spy_open(fp, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        seen.append(str(fp))
        return original_open(fp, *args, **kwargs)

    def spy_init(self, root, category, split="train", *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        seen.append(f"split:{split}")
        original_init(self, root, category, split, *args, **kwargs)

    monkeypatch.setattr(Image, "open", spy_open)
    monkeypatch.setattr(loco.MVTecLOCO, "__init__", spy_init)
    return seen


def _fake_train(tiny_run: Path):  # noqa: ANN202
    calls: list[dict] = []

    def fake(rules, data_root, out, **kwargs):  # noqa: ANN001, ANN003
        calls.append(kwargs["overrides"])
        return load_run(tiny_run)

    return fake, calls


def test_sweep_chooses_without_touching_the_test_split(tiny_rules: Path, tiny_loco: Path, tiny_run: Path,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        opened: list[str]) -> None:
    fake, calls = _fake_train(tiny_run)
    monkeypatch.setattr(sweep_module, "train", fake)
    result = sweep(tiny_rules, tiny_loco, {"lambda": [1e-6, 1e-5]}, tmp_path / "sweep", evaluate_test=False,
                   n_anomalies=12)
    assert [c["lambda"] for c in calls] == [1e-6, 1e-5]
    assert opened and not [p for p in opened if "/test/" in p or p == "split:test"]
    assert any("/validation/" in p for p in opened)
    assert [row.chosen for row in result.rows].count(True) == 1
    assert result.winner in {row.name for row in result.rows}
    for row in result.rows:
        assert row.validation.n_anomaly > 0 and row.validation.n_normal == 8
        assert "annotated validation images" in row.validation.source
        assert "8 generic defects on the validation normals" in row.validation.source
        assert row.validation.n_anomaly == int(row.validation.source.split(" edits")[0]) + 8
        halves = (row.validation.auroc_logical, row.validation.auroc_structural)
        assert row.validation.auroc == pytest.approx(sum(halves) / 2)  # the mean of the two, as LOCO averages
        assert 0 <= row.validation.auroc <= 1 and row.test_auroc_logical is None
    saved = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert saved["winner"] == result.winner
    assert "val AUROC str." in (tmp_path / "sweep" / "sweep.md").read_text()


def test_choice_follows_validation_not_test(tiny_rules: Path, tiny_loco: Path, tiny_run: Path, rules_copy: Path,
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, _ = _fake_train(tiny_run)
    monkeypatch.setattr(sweep_module, "train", fake)
    validation = iter([0.6, 0.9])  # the second setting is better on validation data ...
    monkeypatch.setattr(sweep_module, "validation_criterion", lambda *a, **k: ValidationScore(
        auroc=next(validation), d_prime=1.0, n_normal=8, n_anomaly=8, source="stub"))
    monkeypatch.setattr(sweep_module, "_validation_set", lambda *a, **k: ([], [], [], "stub"))
    real_evaluate = sweep_module.evaluate
    test = iter([0.99, 0.10])  # ... and much worse on the test set, which must not matter

    def rigged(*args, **kwargs):  # noqa: ANN002, ANN003
        report = real_evaluate(*args, **kwargs)
        return report.model_copy(update={"auroc": report.auroc.model_copy(update={"logical": next(test)})})

    monkeypatch.setattr(sweep_module, "evaluate", rigged)
    result = sweep(rules_copy, tiny_loco, {"lambda": [1e-6, 1e-5], "epochs": [1]}, tmp_path / "s",
                   write_back_winner=True)
    assert result.winner == "lambda=1e-05,epochs=1"
    assert [row.test_auroc_logical for row in result.rows] == [0.99, 0.10]
    assert result.written_back == {"lambda": 1e-5, "epochs": 1}
    assert load_rules(rules_copy).train["lambda"] == 1e-5


def test_bad_values_fail_before_any_training(tiny_rules: Path, tiny_loco: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("trained before checking the grid")

    monkeypatch.setattr(sweep_module, "train", never)
    with pytest.raises(SweepError, match="epochs=0"):
        sweep(tiny_rules, tiny_loco, {"epochs": [1, 0]}, tmp_path / "s")
