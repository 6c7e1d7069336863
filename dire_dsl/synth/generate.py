"""SynLOCO: generate a data set in MVTec LOCO's layout from a scene spec (public API).

    from dire_dsl.synth.generate import synthesize
    root = synthesize("pushpins", "data/synloco", seed=0)     # -> data/synloco/pushpins

writes
    <out>/<category>/train/good/000.png ...
    <out>/<category>/validation/good/...
    <out>/<category>/test/{good,logical_anomalies,structural_anomalies}/000.png ...
    <out>/<category>/ground_truth/{logical_anomalies,structural_anomalies}/000/000.png ...
    <out>/<category>/defects_config.json
    <out>/<category>/annotations/{train,validation}.json     (COCO, extra)
    <out>/<category>/records/{train,validation,test}.jsonl   (true counts/attributes, extra)
    <out>/<category>/synloco.json                            (how it was made, extra)

Each image is a pure function of (spec, size, seed, split, index), so the bytes do not depend
on the number of worker processes.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dire_dsl.synth.spec.load import load_spec
from dire_dsl.synth.spec.models import SceneSpec
from dire_dsl.synth.writer import (
    GENERATED,
    GOOD,
    LOGICAL,
    STAGING_MARKER,
    STRUCTURAL,
    check_output,
    coco_file,
    defects_config,
    image_name,
    install,
    mark_staging,
    pixel_values,
    rle_annotations,
    write_json,
    write_jsonl,
    write_png,
)

DEFAULTS = {"size": 256, "n_train": 350, "n_val": 60, "n_test": 300}


@dataclass(frozen=True)
class Task:
    """One image to make: its split, seed index, folder (relative), file stem and recipe."""

    split: str
    index: int
    folder: str
    stem: str
    anomaly_type: str
    recipe: int | None  # index into spec.anomalies


def plan(spec: SceneSpec, n_train: int, n_val: int, n_test: int) -> list[Task]:
    """Every image of the data set, in a fixed order. Recipes are used round-robin."""
    tasks = [Task("train", i, "train/good", image_name(i), GOOD, None) for i in range(n_train)]
    tasks += [Task("validation", i, "validation/good", image_name(i), GOOD, None) for i in range(n_val)]
    logical = [k for k, a in enumerate(spec.anomalies) if a.type == "logical"]
    structural = [k for k, a in enumerate(spec.anomalies) if a.type == "structural"]
    fr = spec.test_split
    weights = {GOOD: fr.good, LOGICAL: fr.logical if logical else 0.0,
               STRUCTURAL: fr.structural if structural else 0.0}
    total = sum(weights.values()) or 1.0
    n_log = int(round(n_test * weights[LOGICAL] / total))
    n_str = int(round(n_test * weights[STRUCTURAL] / total))
    n_good = max(0, n_test - n_log - n_str)
    if n_good + n_log + n_str > n_test:  # rounding
        n_str = n_test - n_good - n_log
    index = 0
    for kind, n, pool in ((GOOD, n_good, [None]), (LOGICAL, n_log, logical), (STRUCTURAL, n_str, structural)):
        for i in range(n):
            tasks.append(Task("test", index, f"test/{kind}", image_name(i), kind, pool[i % len(pool)]))
            index += 1
    return tasks


# ---------------------------------------------------------------- worker side

_STATE: dict = {}


def _init(spec: SceneSpec, out: str, size: int, seed: int) -> None:
    _STATE.update(spec=spec, out=Path(out), size=size, seed=seed, values=pixel_values(spec),
                  cat_ids={n: k for k, n in enumerate(spec.coco_names, start=1)})


def _run(task: Task) -> dict:
    from dire_dsl.synth.image import make_image, record_of

    spec: SceneSpec = _STATE["spec"]
    out: Path = _STATE["out"]
    recipe = spec.anomalies[task.recipe] if task.recipe is not None else None
    rel = f"{task.folder}/{task.stem}.png"
    res = make_image(spec, _STATE["size"], _STATE["seed"], task.split, task.index, recipe, where=rel)
    write_png(out / rel, res.image)
    masks = []
    if recipe is not None:
        value = _STATE["values"][recipe.name]
        gt = out / "ground_truth" / task.anomaly_type / task.stem
        for k, region in enumerate(res.regions):
            mask = region.astype("uint8") * value
            write_png(gt / f"{image_name(k)}.png", mask)
            masks.append(f"ground_truth/{task.anomaly_type}/{task.stem}/{image_name(k)}.png")
    record = record_of(spec, res, rel, task.split, task.anomaly_type, recipe.name if recipe else None)
    if masks:
        record["masks"] = masks
    anns = rle_annotations(res, _STATE["cat_ids"]) if task.split in ("train", "validation") else []
    return {"record": record, "annotations": anns, "missing": res.missing_areas,
            "defect": recipe.name if recipe else None}


# ---------------------------------------------------------------- public API

def check_layout(spec: SceneSpec, file: str | os.PathLike[str] = "<spec>", tries: int = 3) -> None:
    """Fail early (SpecError naming the object) if an object cannot be placed without overlapping
    in any of a few sample layouts: the generator would otherwise draw it piled on others, and
    count and annotate every hidden instance."""
    from dire_dsl.data.errors import SpecError, SpecIssue
    from dire_dsl.synth.image import base_seed
    from dire_dsl.synth.scene import SceneSampler

    always: set[str] | None = None
    for index in range(tries):
        crowded = set(SceneSampler(spec, base_seed(0, "train", index)).scene().crowded)
        always = crowded if always is None else always & crowded
        if not always:
            return
    for i, obj in enumerate(spec.objects):  # the first one only: it may be what crowds out the later ones
        if always and obj.id in always:
            raise SpecError(file, [SpecIssue(
                f"objects[{i}]({obj.id}).placement",
                f"its instances overlap others in all {tries} sample layouts (no room to place them apart)",
                "place fewer or smaller ones, give them a bigger region, or lower `gap`")])


def check_recipes(spec: SceneSpec, file: str | os.PathLike[str] = "<spec>", size: int = 64, tries: int = 3) -> None:
    """Fail early (SpecError naming the recipe) if an anomaly recipe changes nothing visible.

    Each recipe is tried on a few small sample images; one that never produces a visible,
    marked change (it targets objects that are absent, hidden or too small to see) would
    otherwise stop the generator half-way.
    """
    from dire_dsl.data.errors import DataError, SpecError, SpecIssue
    from dire_dsl.synth.image import make_image

    issues = []
    for i, recipe in enumerate(spec.anomalies):
        reason = ""
        for index in range(tries):
            try:
                make_image(spec, size, 0, "test", index, recipe)
                break
            except DataError as error:
                reason = str(error)
        else:
            issues.append(SpecIssue(f"anomalies[{i}]({recipe.name})", "makes no visible change in sample images "
                                    f"({reason.split(' on ')[0].removeprefix('anomaly recipe ')})",
                                    "make its steps target objects that are drawn, visible and large enough"))
    if issues:
        raise SpecError(file, issues)


def synthesize(spec_or_category: str | os.PathLike[str] | SceneSpec, out: str | os.PathLike[str], seed: int = 0,
               size: int = DEFAULTS["size"], n_train: int = DEFAULTS["n_train"], n_val: int = DEFAULTS["n_val"],
               n_test: int = DEFAULTS["n_test"], workers: int | None = None,
               progress: Callable[[int, int], None] | None = None, check: bool = True) -> Path:
    """Generate a SynLOCO data set; returns the category folder `out/<category>`.

    `spec_or_category` is a spec file, a built-in category name or a `SceneSpec`. `size` is the
    longer image side in pixels. `workers` defaults to the number of CPUs. `progress(done,
    total)` is called as images are finished. Raises SpecError for an invalid spec (with
    `check`, also for an object with no room to be placed apart from the others and for a
    recipe that changes nothing visible) and OutputError for an output
    folder it must not overwrite.
    """
    spec = spec_or_category if isinstance(spec_or_category, SceneSpec) else load_spec(spec_or_category)
    where = spec_or_category if not isinstance(spec_or_category, SceneSpec) else spec.category
    if check:
        check_layout(spec, where)
    if check and n_test > 0:
        check_recipes(spec, where)
    if size < 16:
        raise ValueError("size must be at least 16 pixels")
    if min(n_train, n_val, n_test) < 0:
        raise ValueError("image counts must be >= 0")
    if seed < 0:
        raise ValueError("seed must be >= 0")
    remove_leftovers(Path(out) / spec.category)
    target = check_output(Path(out), spec.category)
    with staging_folder(target) as root:
        _generate(spec, root, seed, size, plan(spec, n_train, n_val, n_test), workers, progress)
    return target


@contextmanager
def staging_folder(target: Path) -> Iterator[Path]:
    """A new hidden folder beside `target` to generate into, put in `target`'s place (`install`)
    only when the body completes and deleted when it fails or is interrupted: a synth cut short
    by an error, a full disk or Ctrl-C never leaves a partial tree that looks like a data set."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        mark_staging(staging)
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    install(staging, target)


def remove_leftovers(target: Path) -> None:
    """Clear what a `dire synth` into `target` killed outright (no cleanup ran) left beside it.

    Only hidden `.<category>.partial-*` / `.old-*` folders holding synth's `STAGING_MARKER` are
    touched, and none a running process marked. A retired `.old-*` tree is put back when the
    kill came between the two renames of `install` (no `target`); otherwise only generated
    entries are deleted: a user's file not yet moved back goes into `target`, or stays.
    """
    if not target.parent.is_dir():
        return
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(partial|old)-[0-9a-f]{{8}}")
    for folder in sorted(target.parent.iterdir()):
        if not (pattern.fullmatch(folder.name) and folder.is_dir() and not folder.is_symlink()
                and _abandoned(folder)):
            continue
        if ".old-" in folder.name and not target.exists():
            (folder / STAGING_MARKER).unlink()
            folder.rename(target)
            continue
        for entry in folder.iterdir():
            if entry.name in GENERATED and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif entry.name in GENERATED:
                entry.unlink()
            elif entry.name != STAGING_MARKER and target.is_dir() and not (target / entry.name).exists():
                entry.rename(target / entry.name)
        if [entry.name for entry in folder.iterdir()] == [STAGING_MARKER]:
            shutil.rmtree(folder)


def _abandoned(folder: Path) -> bool:
    """True if `folder` carries synth's marker and no other running process wrote it."""
    try:
        pid = int((folder / STAGING_MARKER).read_text(encoding="ascii"))
    except (OSError, ValueError):  # no marker, or not ours: not provably synth's
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":  # no harmless liveness probe there: os.kill would end the process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    return False


def _generate(spec: SceneSpec, root: Path, seed: int, size: int, tasks: list[Task], workers: int | None,
              progress: Callable[[int, int], None] | None) -> None:
    """Every image of `tasks`, then the indexes, under `root`."""
    workers = max(1, int(workers or os.cpu_count() or 1))
    workers = min(workers, max(1, len(tasks)))
    results: list[dict] = []
    if workers == 1:
        _init(spec, str(root), size, seed)
        if progress:
            progress(0, len(tasks))
        for t in tasks:
            results.append(_run(t))
            if progress:
                progress(len(results), len(tasks))
    else:
        # fork: no re-import of __main__ (scripts need no main guard). The pool is created
        # before the first progress call, so a progress display's thread is never forked.
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        chunk = max(1, min(8, len(tasks) // (workers * 8) or 1))
        with ctx.Pool(workers, initializer=_init, initargs=(spec, str(root), size, seed)) as pool:
            if progress:
                progress(0, len(tasks))
            for r in pool.imap(_run, tasks, chunksize=chunk):
                results.append(r)
                if progress:
                    progress(len(results), len(tasks))
    _write_indexes(spec, root, tasks, results, seed, size)


def _write_indexes(spec: SceneSpec, root: Path, tasks: list[Task], results: list[dict], seed: int,
                   size: int) -> None:
    missing: dict[str, list[int]] = {}
    for r in results:
        if r["defect"] and r["missing"]:
            missing.setdefault(r["defect"], []).extend(r["missing"])
    (root / "ground_truth" / LOGICAL).mkdir(parents=True, exist_ok=True)
    (root / "ground_truth" / STRUCTURAL).mkdir(parents=True, exist_ok=True)
    for folder in ("train/good", "validation/good", "test/good", f"test/{LOGICAL}", f"test/{STRUCTURAL}"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    write_json(root / "defects_config.json", defects_config(spec, missing))
    for split in ("train", "validation"):
        images, anns = [], []
        for t, r in zip(tasks, results):
            if t.split != split:
                continue
            image_id = len(images) + 1
            rec = r["record"]
            images.append({"id": image_id, "file_name": rec["image"], "width": rec["width"], "height": rec["height"]})
            for a in r["annotations"]:
                anns.append({"id": len(anns) + 1, "image_id": image_id, **a})
        write_json(root / "annotations" / f"{split}.json", coco_file(spec, images, anns), indent=None)
    for split in ("train", "validation", "test"):
        write_jsonl(root / "records" / f"{split}.jsonl", [r["record"] for t, r in zip(tasks, results)
                                                          if t.split == split])
    write_json(root / "synloco.json", {
        "generator": "dire-dsl SynLOCO",
        "category": spec.category,
        "seed": seed,
        "size": size,
        "counts": {s: sum(1 for t in tasks if t.split == s) for s in ("train", "validation", "test")},
        "spec": spec.model_dump(mode="json"),
    })
