"""The generated tree has MVTec LOCO's layout, is byte-reproducible, and reads back."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dire_dsl.data.errors import OutputError, SpecError
from dire_dsl.data.loco import MVTecLOCO
from dire_dsl.synth.generate import check_layout, plan, remove_leftovers, synthesize
from dire_dsl.synth.spec.load import load_spec
from tests.synth.conftest import EXAMPLE_SPECS

# The real data set's layout (MVTec LOCO AD): these folders and nothing else for images.
LOCO_FOLDERS = {"train/good", "validation/good", "test/good", "test/logical_anomalies", "test/structural_anomalies",
                "ground_truth/logical_anomalies", "ground_truth/structural_anomalies"}
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONFIG_SCHEMA = {"defect_name": str, "pixel_value": int, "saturation_threshold": (int, float),
                 "relative_saturation": bool}


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_matches_mvtec_loco(pushpins_tree: Path) -> None:
    root = pushpins_tree
    assert root.name == "pushpins"
    folders = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()}
    image_folders = {f for f in folders if f.count("/") == 1 and f.split("/")[0] in ("train", "validation", "test",
                                                                                      "ground_truth")}
    assert image_folders == LOCO_FOLDERS
    for folder in ("train/good", "validation/good", "test/good", "test/logical_anomalies",
                   "test/structural_anomalies"):
        names = sorted(p.name for p in (root / folder).iterdir())
        assert names == [f"{i:03d}.png" for i in range(len(names))]
    for kind in ("logical_anomalies", "structural_anomalies"):
        images = sorted(p.stem for p in (root / "test" / kind).glob("*.png"))
        gts = sorted(p.name for p in (root / "ground_truth" / kind).iterdir())
        assert images == gts and images
        for stem in gts:
            masks = sorted(p.name for p in (root / "ground_truth" / kind / stem).iterdir())
            assert masks == [f"{i:03d}.png" for i in range(len(masks))] and masks
    top = {p.name for p in root.iterdir()}
    assert {"train", "validation", "test", "ground_truth", "defects_config.json"} <= top


def test_defects_config_schema_and_mask_values(pushpins_tree: Path) -> None:
    config = json.loads((pushpins_tree / "defects_config.json").read_text())
    spec = load_spec("pushpins")
    assert [c["defect_name"] for c in config] == [a.name for a in spec.anomalies]
    for entry in config:
        assert set(entry) == set(CONFIG_SCHEMA)
        for key, typ in CONFIG_SCHEMA.items():
            assert isinstance(entry[key], typ)
        assert 0 < entry["pixel_value"] <= 255
        if entry["relative_saturation"]:
            assert 0 < entry["saturation_threshold"] <= 1
        else:  # a pixel count: an int, as in the real data set (MVTec's script asserts one)
            assert type(entry["saturation_threshold"]) is int and entry["saturation_threshold"] > 0
    values = {c["defect_name"]: c["pixel_value"] for c in config}
    assert len(set(values.values())) == len(values)
    by_missing = {c["defect_name"]: c for c in config}
    assert by_missing["missing_pushpin"]["relative_saturation"] is False  # about one pin's area, in pixels
    records = [json.loads(line) for line in (pushpins_tree / "records" / "test.jsonl").read_text().splitlines()]
    for rec in records:
        if rec["anomaly_type"] == "good":
            assert rec["defect"] is None
            continue
        for mask_path in rec["masks"]:
            with Image.open(pushpins_tree / mask_path) as im:
                assert im.mode == "L"
                arr = np.asarray(im)
            assert set(np.unique(arr)) == {0, values[rec["defect"]]}


def test_coco_annotations_and_records(pushpins_tree: Path) -> None:
    from pycocotools.coco import COCO

    coco = COCO(str(pushpins_tree / "annotations" / "train.json"))
    names = {c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert names == {"pushpin", "separator"}
    records = {json.loads(line)["image"]: json.loads(line)
               for line in (pushpins_tree / "records" / "train.jsonl").read_text().splitlines()}
    for image_id in coco.getImgIds():
        info = coco.loadImgs(image_id)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        counts = {}
        for a in anns:
            name = coco.loadCats(a["category_id"])[0]["name"]
            counts[name] = counts.get(name, 0) + 1
            assert coco.annToMask(a).sum() == a["area"] > 0
            assert isinstance(a["attributes"], dict)
        assert counts == records[info["file_name"]]["counts"] == {"pushpin": 15, "separator": 22}
    tests = (pushpins_tree / "records" / "test.jsonl").read_text().splitlines()
    assert len(tests) == 16 and all("counts" in json.loads(t) for t in tests)


def test_loads_through_the_loader(pushpins_tree: Path) -> None:
    ds = MVTecLOCO(pushpins_tree.parent, "pushpins", "test", image_size=32)
    assert len(ds) == 16
    kinds = {ds[i]["anomaly_type"] for i in range(len(ds))}
    assert kinds == {"good", "logical_anomalies", "structural_anomalies"}
    for i in range(len(ds)):
        item = ds[i]
        assert item["image"].shape == (3, 32, 32)
        if item["label"]:
            assert item["masks"].shape[0] >= 1 and item["masks"].any()
            assert item["defect_type"] == item["record"]["defect"] == item["mask_defects"][0]
    train = MVTecLOCO(pushpins_tree.parent, "pushpins", "train")
    assert len(train[0]["annotations"]) == 37


def test_plan_covers_every_recipe() -> None:
    spec = load_spec("juice_bottle")
    tasks = plan(spec, 2, 1, 40)
    used = {spec.anomalies[t.recipe].name for t in tasks if t.recipe is not None}
    assert used == {a.name for a in spec.anomalies}
    assert [t.split for t in tasks].count("test") == 40


def test_same_seed_same_bytes_any_worker_count(tmp_path: Path) -> None:
    a = synthesize("splicing_connectors", tmp_path / "a", seed=9, size=64, n_train=3, n_val=2, n_test=10, workers=1)
    b = synthesize("splicing_connectors", tmp_path / "b", seed=9, size=64, n_train=3, n_val=2, n_test=10, workers=2)
    c = synthesize("splicing_connectors", tmp_path / "c", seed=10, size=64, n_train=3, n_val=2, n_test=10, workers=2)
    ha, hb, hc = hashes(a), hashes(b), hashes(c)
    assert ha == hb
    assert ha.keys() == hc.keys() and ha != hc
    again = synthesize("splicing_connectors", tmp_path / "a", seed=9, size=64, n_train=3, n_val=2, n_test=10,
                       workers=2)  # rerun over its own output: stale files are replaced
    assert hashes(again) == ha


def test_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "pushpins").mkdir()
    (tmp_path / "pushpins" / "precious.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not written by `dire synth`"):
        synthesize("pushpins", tmp_path, size=32, n_train=1, n_val=0, n_test=0)
    assert (tmp_path / "pushpins" / "precious.txt").exists()


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_example_product_generates(path: Path, tmp_path: Path) -> None:
    root = synthesize(path, tmp_path, seed=0, size=72, n_train=3, n_val=1, n_test=12, workers=1)
    ds = MVTecLOCO(tmp_path, root.name, "test")
    assert len(ds) == 12 and sum(ds.labels) > 0
    assert re.match(r"^[a-z_]+$", root.name)


CROWDED = """
category = "crowd"
[[objects]]
id = "egg"
shape = "ellipse"
size = [0.16, 0.2]
count = {count}
placement = {{ kind = "scatter", region = [0.1, 0.1, 0.9, 0.9], gap = 0.01 }}
"""


def test_objects_with_no_room_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    spec_file = tmp_path / "crowd.toml"
    spec_file.write_text(CROWDED.format(count=25), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        synthesize(spec_file, tmp_path / "out", size=32, n_train=1, n_val=0, n_test=0)
    assert [i.field for i in info.value.issues] == ["objects[0](egg).placement"]
    assert "overlap" in info.value.render() and not (tmp_path / "out").exists()
    spec_file.write_text(CROWDED.format(count=4), encoding="utf-8")  # four fit: no complaint
    check_layout(load_spec(spec_file), spec_file)


def test_an_interrupted_run_leaves_no_partial_tree(tmp_path: Path) -> None:
    def interrupt(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        synthesize("pushpins", tmp_path, size=32, n_train=3, n_val=1, n_test=2, workers=1, check=False,
                   progress=interrupt)
    assert list(tmp_path.iterdir()) == []
    root = synthesize("pushpins", tmp_path, size=32, n_train=3, n_val=1, n_test=2, workers=1, check=False)
    assert (root / "synloco.json").is_file() and [p.name for p in tmp_path.iterdir()] == ["pushpins"]


def _ended_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


KILL_MID_RUN = """
import os, signal, sys
from dire_dsl.synth.generate import synthesize

def kill(done, total):
    if done == 2:
        os.kill(os.getpid(), signal.SIGKILL)

synthesize("pushpins", sys.argv[1], size=32, n_train=3, n_val=1, n_test=2, workers=1, check=False, progress=kill)
"""


def test_leftovers_of_a_killed_run_are_removed_and_nothing_else(tmp_path: Path) -> None:
    from dire_dsl.synth.writer import STAGING_MARKER

    killed = subprocess.run([sys.executable, "-c", KILL_MID_RUN, str(tmp_path)], check=False)
    assert killed.returncode == -signal.SIGKILL
    [leftover] = tmp_path.iterdir()
    assert leftover.name.startswith(".pushpins.partial-") and (leftover / STAGING_MARKER).is_file()
    keep = {".pushpins.partial-0badc0de": None,  # the right name, but no marker: not provably synth's
            ".pushpins.partial-mine": _ended_pid(),  # a marker, but not synth's name pattern
            ".other.partial-0123abcd": _ended_pid(),  # another category's
            ".pushpins.partial-76543210": os.getppid()}  # a synth that is still running
    for name, pid in keep.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "train").mkdir()
        if pid is not None:
            (tmp_path / name / STAGING_MARKER).write_text(str(pid), encoding="ascii")
    synthesize("pushpins", tmp_path, size=32, n_train=3, n_val=1, n_test=2, workers=1, check=False)
    assert {p.name for p in tmp_path.iterdir()} == {"pushpins", *keep}
    assert all((tmp_path / name / "train").is_dir() for name in keep)
    assert not (tmp_path / "pushpins" / STAGING_MARKER).exists()


def test_a_tree_retired_by_a_killed_run_is_put_back_with_the_users_files(tmp_path: Path) -> None:
    from dire_dsl.synth.writer import STAGING_MARKER

    root = synthesize("pushpins", tmp_path, size=32, n_train=3, n_val=1, n_test=2, workers=1, check=False)
    (root / "README.txt").write_text("beside the data", encoding="utf-8")
    before = hashes(root)
    aside = tmp_path / ".pushpins.old-0123abcd"  # killed between install's two renames
    root.rename(aside)
    (aside / STAGING_MARKER).write_text(str(_ended_pid()), encoding="ascii")
    remove_leftovers(root)
    assert hashes(root) == before and [p.name for p in tmp_path.iterdir()] == ["pushpins"]
    root.rename(aside)  # killed after the new tree went in: the old one's generated files go, the README moves
    shutil.copytree(aside, root, ignore=shutil.ignore_patterns("README.txt"))
    (aside / STAGING_MARKER).write_text(str(_ended_pid()), encoding="ascii")
    synthesize("pushpins", tmp_path, size=32, n_train=3, n_val=1, n_test=2, workers=1, check=False)
    assert hashes(root) == before and [p.name for p in tmp_path.iterdir()] == ["pushpins"]
