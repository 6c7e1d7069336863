"""The MVTec LOCO AD loader: the real data set's folder layout, or a SynLOCO tree.

    ds = MVTecLOCO("/data/mvtec_loco_anomaly_detection", "juice_bottle", "test", image_size=256)
    item = ds[0]   # image, label, anomaly_type, defect_type, masks, saturation, annotations ...

The constructor checks the whole layout at once and raises ONE `LayoutError` that lists every
missing or inconsistent path; `defects_config.json` problems raise `ConfigError`; an image or
mask that cannot be decoded raises `ImageReadError` naming the file (at load time: loading is
lazy). Nothing is skipped silently. COCO component annotations (annotations/<split>.json) and
per-image records (records/<split>.jsonl), written by `dire synth`, are optional extras.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from dire_dsl.data.errors import ConfigError, DataError, LayoutError
from dire_dsl.data.image_io import open_image
from dire_dsl.json_read import parse_json, read_json

GOOD, LOGICAL, STRUCTURAL = "good", "logical_anomalies", "structural_anomalies"
SPLITS = ("train", "validation", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
CONFIG_KEYS = {"defect_name": str, "pixel_value": int, "saturation_threshold": (int, float),
               "relative_saturation": bool}


@dataclass(frozen=True)
class DefectType:
    """One entry of defects_config.json."""

    name: str
    pixel_value: int
    saturation_threshold: float
    relative_saturation: bool


@dataclass
class Sample:
    """One image of a split: where it is, what it is, and where its masks are."""

    path: Path
    label: int
    anomaly_type: str
    masks: list[Path] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The path relative to the category folder, e.g. 'test/good/000.png'."""
        return "/".join(self.path.parts[-3:])


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_defects_config(path: Path) -> dict[int, DefectType]:
    """Parse and check defects_config.json; keyed by pixel value."""
    try:
        raw = read_json(path, lambda reason: ConfigError(path, f"cannot be read as JSON: {reason}"))
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot be read: {exc.strerror or exc}") from None
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, "expected a non-empty list of {defect_name, pixel_value, saturation_threshold, "
                                "relative_saturation} objects")
    out: dict[int, DefectType] = {}
    names: set[str] = set()
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ConfigError(path, f"entry {i} is not an object")
        missing = [k for k in CONFIG_KEYS if k not in entry]
        if missing:
            raise ConfigError(path, f"entry {i} lacks {', '.join(missing)}")
        for k, typ in CONFIG_KEYS.items():
            v = entry[k]
            if not isinstance(v, typ) or (typ is not bool and isinstance(v, bool)):
                raise ConfigError(path, f"entry {i}: {k} = {v!r} has the wrong type")
        pv, thr = entry["pixel_value"], float(entry["saturation_threshold"])
        if not 1 <= pv <= 255:
            raise ConfigError(path, f"entry {i}: pixel_value {pv} is outside 1..255")
        if thr <= 0 or (entry["relative_saturation"] and thr > 1):
            expected = "a fraction in (0, 1]" if entry["relative_saturation"] else "a pixel count > 0"
            raise ConfigError(path, f"entry {i}: saturation_threshold {thr} is invalid ({expected} expected)")
        if pv in out:
            raise ConfigError(path, f"entry {i}: pixel_value {pv} is also used by {out[pv].name!r}")
        if entry["defect_name"] in names:
            raise ConfigError(path, f"entry {i}: defect_name {entry['defect_name']!r} appears twice")
        names.add(entry["defect_name"])
        out[pv] = DefectType(entry["defect_name"], pv, thr, bool(entry["relative_saturation"]))
    return out


def scan_split(cat: Path, split: str) -> tuple[list[Sample], list[str]]:
    """The samples of a split and every layout problem found (empty when all is well)."""
    problems: list[str] = []
    samples: list[Sample] = []
    kinds = (GOOD,) if split != "test" else (GOOD, LOGICAL, STRUCTURAL)
    for kind in kinds:
        folder = cat / split / kind
        if not folder.is_dir():
            problems.append(f"missing folder {folder}")
            continue
        for img in _images(folder):
            label = 0 if kind == GOOD else 1
            s = Sample(img, label, kind)
            if label:
                gt = cat / "ground_truth" / kind / img.stem
                if not gt.is_dir():
                    problems.append(f"no ground-truth folder {gt} for image {img}")
                else:
                    s.masks = _images(gt)
                    if not s.masks:
                        problems.append(f"ground-truth folder {gt} of image {img} holds no mask image")
            samples.append(s)
    if split == "test":
        for kind in (LOGICAL, STRUCTURAL):
            gt_root = cat / "ground_truth" / kind
            if not gt_root.is_dir():
                problems.append(f"missing folder {gt_root}")
                continue
            stems = {s.path.stem for s in samples if s.anomaly_type == kind}
            for d in sorted(p for p in gt_root.iterdir() if p.is_dir()):
                if d.name not in stems:
                    problems.append(f"ground-truth folder {d} has no image test/{kind}/{d.name}.png")
        if not (cat / "defects_config.json").is_file():
            problems.append(f"missing file {cat / 'defects_config.json'}")
    if not samples and not problems:
        problems.append(f"no images in {cat / split} (looked in: {', '.join(kinds)})")
    return samples, problems


def _mask_array(path: Path) -> np.ndarray:
    im = open_image(path, None)
    if im.mode == "1":
        im = im.convert("L")
    arr = np.asarray(im)
    if arr.ndim == 3:  # an RGB(A) mask: any channel > 0 counts
        arr = arr[..., :3].max(axis=2)
    return arr.astype(np.int64)


class LocoItem(dict):
    """A dataset item: a dict whose keys can also be read as attributes (item.image)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class MVTecLOCO(torch.utils.data.Dataset):
    """One category and split of MVTec LOCO AD (or of a SynLOCO tree), loaded lazily.

    Parameters
    ----------
    root: the folder that holds the category folders (e.g. mvtec_loco_anomaly_detection/).
    category: the category folder name (breakfast_box, juice_bottle, ...).
    split: "train", "validation" or "test".
    image_size: None (native size), an int (square side) or (height, width).
    load_masks: load ground-truth masks (test anomalies).
    transform: optional callable applied to the image tensor.

    Items are dicts (keys also readable as attributes): image (float C x H x W in [0, 1]),
    image_uint8 (H x W x 3 uint8 array, before `transform`), label (0 good, 1 anomalous),
    anomaly_type ("good" / "logical_anomalies" / "structural_anomalies"), defect_type (name or
    None), masks (bool K x H x W, one channel per defect region), mask_defects (names),
    saturation_area (float K: the sPRO saturation area of each region in pixels at the returned
    size), saturation_threshold / relative_saturation (per region, as in defects_config.json),
    path, annotations (COCO instances with bool masks, when present), record (when present).
    """

    def __init__(self, root: str | Path, category: str, split: str = "train",
                 image_size: int | tuple[int, int] | None = None, load_masks: bool = True,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.root = Path(root)
        self.category = category
        self.split = split
        self.cat_dir = self.root / category
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        self.image_size = tuple(image_size) if image_size is not None else None
        self.load_masks = load_masks
        self.transform = transform
        if not self.root.is_dir():
            raise LayoutError(self.root, [f"missing folder {self.root}"])
        if not self.cat_dir.is_dir():
            present = sorted(p.name for p in self.root.iterdir() if p.is_dir())
            raise LayoutError(self.cat_dir, [f"missing category folder {self.cat_dir} "
                                             f"(found: {', '.join(present) or 'nothing'})"])
        self.samples, problems = scan_split(self.cat_dir, split)
        if problems:
            raise LayoutError(self.cat_dir, problems)
        cfg = self.cat_dir / "defects_config.json"
        self.defects: dict[int, DefectType] = read_defects_config(cfg) if (split == "test" or cfg.is_file()) else {}
        self.annotations = self._read_coco()
        self.records = self._read_records()

    # ------------------------------------------------------------ optional extras
    def _read_coco(self) -> dict[str, list[dict]] | None:
        path = self.cat_dir / "annotations" / f"{self.split}.json"
        if not path.is_file():
            return None
        try:
            coco = read_json(path, lambda reason: ConfigError(path, f"not a valid COCO annotation file: {reason}"))
            cats = {c["id"]: c["name"] for c in coco["categories"]}
            by_image: dict[int, list[dict]] = {}
            for a in coco["annotations"]:
                by_image.setdefault(a["image_id"], []).append(a)
            out: dict[str, list[dict]] = {}
            for im in coco["images"]:
                anns = []
                for a in by_image.get(im["id"], []):
                    anns.append({**a, "category": cats[a["category_id"]],
                                 "_size": (int(im["height"]), int(im["width"]))})
                out[im["file_name"]] = anns
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(path, f"not a valid COCO annotation file: {type(exc).__name__}: {exc}") from None
        return out

    def _read_records(self) -> dict[str, dict] | None:
        path = self.cat_dir / "records" / f"{self.split}.jsonl"
        if not path.is_file():
            return None
        out = {}
        n = 0
        try:
            for n, line in enumerate(path.read_bytes().splitlines(), start=1):
                if line.strip():
                    rec = parse_json(line, lambda reason: ConfigError(path, f"line {n}: not a valid record: {reason}"))  # noqa: B023
                    out[rec["image"]] = rec
        except (OSError, KeyError, TypeError) as exc:
            raise ConfigError(path, f"line {n}: not a valid record: {exc}") from None
        return out

    # ------------------------------------------------------------ dataset protocol
    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> list[int]:
        return [s.label for s in self.samples]

    def defect_by_name(self) -> dict[str, DefectType]:
        return {d.name: d for d in self.defects.values()}

    def _resize(self, im: Image.Image, nearest: bool) -> Image.Image:
        if self.image_size is None:
            return im
        h, w = self.image_size
        return im.resize((w, h), Image.NEAREST if nearest else Image.BILINEAR)

    def __getitem__(self, i: int) -> LocoItem:
        s = self.samples[i]
        im = open_image(s.path, "RGB")
        native_w, native_h = im.size
        pixels = np.asarray(self._resize(im, False), dtype=np.uint8)
        image = torch.from_numpy(pixels.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()
        if self.transform is not None:
            image = self.transform(image)
        H, W = (self.image_size if self.image_size is not None else (native_h, native_w))
        item = LocoItem(image=image, image_uint8=pixels, label=s.label, anomaly_type=s.anomaly_type,
                        path=str(s.path), defect_type=None)
        masks, names, sat, thresholds, relative = [], [], [], [], []
        if self.load_masks and s.masks:
            area_scale = (H * W) / float(native_h * native_w)
            for mp in s.masks:
                arr = _mask_array(mp)
                if arr.shape != (native_h, native_w):
                    raise DataError(f"mask {mp} is {arr.shape[1]}x{arr.shape[0]} but its image {s.path} is "
                                    f"{native_w}x{native_h}")
                values = np.unique(arr[arr > 0])
                defect = None
                if values.size:
                    counts = [(arr == x).sum() for x in values]
                    v = int(values[np.argmax(counts)]) if values.size > 1 else int(values[0])
                    if v not in self.defects:
                        known = ", ".join(f"{d.pixel_value}={d.name}" for d in self.defects.values())
                        raise ConfigError(self.cat_dir / "defects_config.json",
                                          f"mask {mp} uses pixel value {v}, which no defect has (known: {known})")
                    defect = self.defects[v]
                m = arr > 0  # any value > 0 is the defect (values below 255 occur)
                if self.image_size is not None:
                    m = np.asarray(self._resize(Image.fromarray(m.astype(np.uint8) * 255), True)) > 0
                area = float(m.sum())
                if defect is None:
                    sat.append(area)
                elif defect.relative_saturation:
                    sat.append(defect.saturation_threshold * area)
                else:
                    sat.append(min(defect.saturation_threshold * area_scale, area))
                masks.append(m)
                names.append(defect.name if defect else None)
                thresholds.append(defect.saturation_threshold if defect else 1.0)
                relative.append(defect.relative_saturation if defect else True)
        item["masks"] = torch.from_numpy(np.stack(masks)) if masks else torch.zeros((0, H, W), dtype=torch.bool)
        item["mask_defects"] = names
        item["saturation_area"] = torch.tensor(sat, dtype=torch.float32)
        item["saturation_threshold"] = torch.tensor(thresholds, dtype=torch.float32)  # as in defects_config
        item["relative_saturation"] = relative
        if names:
            item["defect_type"] = next((n for n in names if n), None)
        rec = self.records.get(s.key) if self.records is not None else None
        if rec is not None:
            item["record"] = rec
            if rec.get("defect"):
                item["defect_type"] = rec["defect"]
        if self.annotations is not None:
            item["annotations"] = [self._decode(a, H, W) for a in self.annotations.get(s.key, [])]
        return item

    def _decode(self, ann: dict, H: int, W: int) -> dict:
        from dire_dsl.data.coco import SegmentationError, decode_segmentation

        h, w = ann["_size"]
        try:
            m = decode_segmentation(ann["segmentation"], h, w)
        except SegmentationError as error:
            raise ConfigError(self.cat_dir / "annotations" / f"{self.split}.json",
                              f"annotation id {ann.get('id', '?')}: {error}") from None
        if (H, W) != (h, w):
            m = np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize((W, H), Image.NEAREST)) > 0
        return {"category": ann["category"], "attributes": dict(ann.get("attributes", {})),
                "bbox": list(ann.get("bbox", [])), "mask": torch.from_numpy(m.copy())}

    def verify(self) -> None:
        """Decode every image and mask once; raises on the first unreadable file."""
        for s in self.samples:
            open_image(s.path, "RGB")
            for m in s.masks:
                _mask_array(m)

    @staticmethod
    def categories(root: str | Path) -> list[str]:
        """Category folders under `root` that have a train/good folder."""
        root = Path(root)
        return sorted(p.name for p in root.iterdir() if (p / "train" / "good").is_dir()) if root.is_dir() else []


def collate(batch: list[dict]) -> dict[str, Any]:
    """Batch items: images and labels stacked (same size needed), everything else as lists."""
    out: dict[str, Any] = {"image": torch.stack([b["image"] for b in batch]),
                           "label": torch.tensor([b["label"] for b in batch])}
    for k in batch[0]:
        if k not in out and k != "image_uint8":
            out[k] = [b.get(k) for b in batch]
    return out


def native_size(root: Path, category: str) -> tuple[int, int]:
    """(height, width) of the category's first training image (all images share one size)."""
    dataset = MVTecLOCO(root, category, "train")
    if len(dataset) == 0:
        raise DataError(f"{root / category / 'train' / 'good'}: no training images")
    image = dataset[0].image
    return int(image.shape[1]), int(image.shape[2])


def load_split(root: Path, category: str, split: str, hw: tuple[int, int]) -> tuple[list[str], list[np.ndarray]]:
    """File names and resized RGB uint8 arrays of a normal split (train or validation)."""
    dataset = MVTecLOCO(root, category, split, image_size=hw)
    names, images = [], []
    for index in range(len(dataset)):
        sample = dataset[index]
        names.append(Path(sample.path).name)
        images.append(np.asarray(sample.image_uint8 if hasattr(sample, "image_uint8") else sample.image))
    return names, images
