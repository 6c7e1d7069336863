"""Pseudo-annotations of training normals for `grounding = unsupervised` and `grounding = prompts`.

Both modes label every pixel of up to `pseudo_labels` training normals with an object or
background, cut the label maps into Components (dire_dsl.grounding.pseudo_labels) and hand them
to training exactly as few-shot annotations: head targets, anomaly synthesis, sizes. Images
with real COCO annotations (up to `shots`) keep their real components.

- unsupervised: k-means over per-pixel backbone features and colour (dire_dsl.grounding.clusters);
  clusters are named by overlap with the annotated images, or, without any, by the rules'
  prompts through a pretrained CLIP backbone; with neither it fails before training.
- prompts: the rules' prompts matched to CLIP patch embeddings (dire_dsl.grounding.prompts).

What was done is recorded (`record`) and written to the run folder as pseudo_labels.json.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dire_dsl.data.coco import AnnotationError
from dire_dsl.data.components import Component
from dire_dsl.errors import DireError
from dire_dsl.grounding import clusters
from dire_dsl.grounding.prompts import (
    BACKGROUND_PROMPTS,
    EXAMPLE_BACKBONE,
    ClipPrompts,
    PatchEmbeddings,
    clip_weights_problem,
    load_clip,
    match_prompts,
)
from dire_dsl.grounding.pseudo_labels import BACKGROUND, components_from_labels, instance_counts, speck_areas
from dire_dsl.lang import ir
from dire_dsl.run.config import TrainConfig

FEATURE_BATCH = 8


class GroundingModeError(DireError):
    """The grounding mode cannot work with this run's backbone or data; the message says what would."""


@dataclass
class PseudoAnnotations:
    """Components of every image that has any (real first, then pseudo), by index into the
    training normals, and the record of how the pseudo ones were made."""

    components: dict[int, list[Component]]
    record: dict[str, Any]


def check_grounding_backbone(config: TrainConfig) -> None:
    """Fail before anything else when the grounding mode cannot work with the backbone at all."""
    if config.grounding != "prompts":
        return
    problem = clip_weights_problem(config.backbone)
    if problem is not None:
        raise GroundingModeError(
            f"grounding = prompts matches the rules' object prompts to image patches through a pretrained CLIP, "
            f"and {problem}. Use --backbone {EXAMPLE_BACKBONE} (a local checkpoint file, or a pretrained tag already "
            "in the open_clip cache), or set `grounding = few_shot` or `unsupervised` with an annotated image")


def pick_images(n_images: int, taken: set[int], count: int) -> list[int]:
    """Up to `count` training normals not in `taken`, evenly spread over the training set."""
    candidates = [i for i in range(n_images) if i not in taken]
    if count >= len(candidates):
        return candidates
    if count <= 0:
        return []
    picks = np.linspace(0, len(candidates) - 1, count).round().astype(int)
    return [candidates[i] for i in picks]


def pseudo_annotate(program: ir.CheckedProgram, config: TrainConfig, names: list[str], normals: list[np.ndarray],
                    real: dict[int, list[Component]], annotations: Path) -> PseudoAnnotations:
    """Pseudo-annotate up to `config.pseudo_labels` normals (`normals`: HWC uint8 at the training
    size) besides the really annotated ones (`real`, read from `annotations`)."""
    objects = [o.name for o in program.objects]
    chosen = pick_images(len(normals), set(real), config.pseudo_labels)
    record: dict[str, Any] = {
        "grounding": config.grounding, "backbone": config.backbone, "input_size": list(config.input_hw()),
        "annotated": [names[i] for i in sorted(real)],
    }
    if config.grounding == "prompts":
        check_grounding_backbone(config)
        clip = load_clip(config.backbone)
        texts = _prompt_embeddings(program, config.grounding, clip, record)
        images = _as_float([normals[i] for i in chosen])
        labels = _prompt_labels(clip, texts, len(objects), images)
        stride = clip.stride * images.shape[-1] / clip.input_size[1] if chosen else clip.stride
    else:
        labels, stride = _cluster_labels(program, config, normals, real, chosen, annotations, record)
    min_area = speck_areas(objects, [c for parts in real.values() for c in parts], round(stride) ** 2)
    pseudo = {i: components_from_labels(labels[row], objects, min_area) for row, i in enumerate(chosen)}
    record["min_area"] = min_area
    record["pseudo_labelled"] = {names[i]: instance_counts(parts, objects) for i, parts in pseudo.items()}
    found = {c.object for parts in (*real.values(), *pseudo.values()) for c in parts}
    record["never_found"] = [name for name in objects if name not in found]
    if record["never_found"] and chosen:
        warnings.warn(f"grounding = {config.grounding} found no {', '.join(record['never_found'])} in "
                      f"{len(chosen)} pseudo-labelled images; those objects get no component targets", stacklevel=2)
    return PseudoAnnotations({**pseudo, **real}, record)


def _as_float(images: list[np.ndarray]) -> torch.Tensor:
    """HWC uint8 arrays → [N, 3, H, W] float in [0, 1]."""
    if not images:
        return torch.zeros(0, 3, 1, 1)
    return torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).copy()).float() / 255


def _prompt_embeddings(program: ir.CheckedProgram, mode: str, clip: ClipPrompts,
                       record: dict[str, Any]) -> torch.Tensor:
    """Text embeddings of every object's prompts, then of each background description."""
    silent = [o.name for o in program.objects if not o.prompts]
    if silent:
        raise GroundingModeError(
            f"{', '.join(f'`{n}`' for n in silent)} {'has' if len(silent) == 1 else 'have'} no prompt, and "
            f"grounding = {mode} names parts by their prompts here: "
            f"give each object one, e.g. `object {silent[0]} \"a ...\"`, or annotate a training image")
    record["prompts"] = {o.name: list(o.prompts) for o in program.objects}
    record["background_prompts"] = list(BACKGROUND_PROMPTS)
    return clip.encode_prompts([o.prompts for o in program.objects] + [[p] for p in BACKGROUND_PROMPTS])


def _prompt_labels(clip: ClipPrompts, texts: torch.Tensor, n_objects: int, images: torch.Tensor) -> np.ndarray:
    rows = []
    for start in range(0, images.shape[0], FEATURE_BATCH):
        batch = images[start:start + FEATURE_BATCH]
        projected = clip.embed_patches(batch).projected
        rows.append(match_prompts(projected, texts, n_objects, clip.logit_scale, size=tuple(batch.shape[-2:])))
    return torch.cat(rows).numpy() if rows else np.zeros((0, *images.shape[-2:]), np.int64)


def _cluster_labels(program: ir.CheckedProgram, config: TrainConfig, normals: list[np.ndarray],
                    real: dict[int, list[Component]], chosen: list[int], annotations: Path,
                    record: dict[str, Any]) -> tuple[np.ndarray, float]:
    """Label maps of the `chosen` images from clusters fitted on them and the annotated ones,
    and the stride of the features the clusters were made of."""
    _check_cluster_naming(program, config, real, annotations)
    if not chosen:
        return np.zeros((0, *config.input_hw()), np.int64), 1.0
    fit = sorted(set(real) | set(chosen))
    images = _as_float([normals[i] for i in fit])
    k = clusters.cluster_count(len(program.objects))
    if real:
        cells, stride = _backbone_cells(config, images)
        fitted = clusters.fit_clusters(cells, images, k, config.seed)
        assigned = fitted.assign(cells, images)
        names = _names_from_annotations(program, real, [assigned[fit.index(i)] for i in sorted(real)], fitted.k, record)
    else:
        clip = load_clip(config.backbone)
        embedded = _clip_patches(clip, images)
        cells = clusters.normalized_cells(embedded.tokens)
        stride = clip.stride * images.shape[-1] / clip.input_size[1]
        fitted = clusters.fit_clusters(cells, images, k, config.seed)
        assigned = fitted.assign(cells, images)
        names = _names_from_prompts(program, config, clip, embedded, fitted.assign(cells, images, at_cells=True),
                                    fitted.k, record)
    record["clusters"]["features"] = f"{config.backbone} finest feature map (stride {round(stride)}) + colour"
    return clusters.relabel(assigned[[fit.index(i) for i in chosen]], names), stride


def _check_cluster_naming(program: ir.CheckedProgram, config: TrainConfig, real: dict[int, list[Component]],
                          annotations: Path) -> None:
    """Fail before any work unless the clusters can be named: annotated images showing every
    object, or (with none) a pretrained CLIP backbone."""
    if real:
        shown = {c.object for parts in real.values() for c in parts}
        missing = [o.name for o in program.objects if o.name not in shown]
        if missing:
            raise AnnotationError(
                f"{annotations}: grounding = unsupervised names its clusters after the annotated images, and "
                f"{', '.join(f'`{m}`' for m in missing)} appears in none of the {len(real)} used (`shots` = "
                f"{config.shots}); annotate it in one of them, or raise `shots`")
        return
    problem = clip_weights_problem(config.backbone)
    if problem is not None:
        how = (f"no training image is annotated in {annotations}" if config.shots > 0 else
               "`shots` = 0 uses no annotated image")
        raise GroundingModeError(
            f"grounding = unsupervised cannot name its clusters: {how}, and {problem} to name them by the rules' "
            "prompts. Annotate one training image (COCO, category names = the rules' object names) in "
            f"{annotations}, or use a pretrained CLIP backbone: --backbone {EXAMPLE_BACKBONE}")


def _names_from_annotations(program: ir.CheckedProgram, real: dict[int, list[Component]], assigned: list[torch.Tensor],
                            k: int, record: dict[str, Any]) -> list[int]:
    """Cluster names by overlap with the annotated images (`assigned`: their cluster maps, in
    the order of sorted(real))."""
    objects = [o.name for o in program.objects]
    masks = [_object_masks(real[i], objects, tuple(assigned[0].shape)) for i in sorted(real)]
    naming = clusters.name_by_overlap([a.numpy() for a in assigned], masks, k)
    record["clusters"] = _naming_record(naming, objects, "annotations")
    return naming.names


def _names_from_prompts(program: ir.CheckedProgram, config: TrainConfig, clip: ClipPrompts,
                        embedded: PatchEmbeddings, on_cells: torch.Tensor, k: int, record: dict[str, Any]) -> list[int]:
    """Cluster names by the rules' prompts: each cluster's mean (unit) projected patch embedding
    is matched to the prompts as one patch would be; a cluster on no cell is background."""
    objects = [o.name for o in program.objects]
    texts = _prompt_embeddings(program, config.grounding, clip, record)
    means = clusters.cluster_means(F.normalize(embedded.projected, dim=1), on_cells, k)  # [K, D]
    names = match_prompts(means.T[None, :, :, None], texts, len(objects), clip.logit_scale)[0, :, 0].tolist()
    cells = torch.bincount(on_cells.reshape(-1), minlength=k)[:k].tolist()
    names = [name if cells[cluster] > 0 else BACKGROUND for cluster, name in enumerate(names)]
    record["clusters"] = {"k": k, "named_by": "prompts", "names": [
        {"cluster": cluster, "object": objects[name] if name != BACKGROUND else "background", "cells": cells[cluster]}
        for cluster, name in enumerate(names)]}
    return names


def _backbone_cells(config: TrainConfig, images: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The run's backbone (frozen, initialised from config.seed) finest map, cells L2-normalised."""
    from dire_dsl.vision.backbones import create_backbone

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        with warnings.catch_warnings():  # the run's own model says so once already
            warnings.filterwarnings("ignore", message=".*random weights")
            backbone = create_backbone(config.backbone, adapt=False).eval()
    with torch.no_grad():
        maps = [backbone(images[s:s + FEATURE_BATCH])[0] for s in range(0, images.shape[0], FEATURE_BATCH)]
    return clusters.normalized_cells(torch.cat(maps)), float(backbone.strides[0])


def _clip_patches(clip: ClipPrompts, images: torch.Tensor) -> PatchEmbeddings:
    parts = [clip.embed_patches(images[s:s + FEATURE_BATCH]) for s in range(0, images.shape[0], FEATURE_BATCH)]
    return PatchEmbeddings(torch.cat([p.tokens for p in parts]), torch.cat([p.projected for p in parts]))


def _object_masks(components: list[Component], objects: list[str], size: tuple[int, ...]) -> np.ndarray:
    """[O, H, W] bool: each object's annotated pixels (the union of its instances)."""
    masks = np.zeros((len(objects), *size), bool)
    for component in components:
        if component.object in objects:
            masks[objects.index(component.object)] |= component.mask
    return masks


def _naming_record(naming: clusters.ClusterNaming, objects: list[str], named_by: str) -> dict[str, Any]:
    """The cluster→object table for pseudo_labels.json: each cluster's name, why, and its overlaps."""
    table = []
    for k, name in enumerate(naming.names):
        how = "matched" if naming.matched[k] else "majority" if name != BACKGROUND else "background"
        table.append({
            "cluster": k, "object": objects[name] if name != BACKGROUND else "background", "how": how,
            "pixels": int(naming.pixels[k]),
            "iou": {o: round(float(naming.iou[k, j]), 4) for j, o in enumerate(objects)},
            "share": {o: round(float(naming.share[k, j]), 4) for j, o in enumerate(objects)},
        })
    return {"k": len(naming.names), "named_by": named_by, "names": table}


def describe(record: dict[str, Any]) -> list[str]:
    """A few lines for `dire train` to print about a pseudo_labels.json record."""
    lines = [f"grounding = {record['grounding']}: pseudo-annotated {len(record['pseudo_labelled'])} training images"
             + (f" besides {len(record['annotated'])} annotated" if record["annotated"] else "")]
    table = record.get("clusters")
    if table:
        by_object: dict[str, list[str]] = {}
        for row in table["names"]:
            by_object.setdefault(row["object"], []).append(str(row["cluster"]))
        named = "; ".join(f"{name} ← {', '.join(ids)}" for name, ids in by_object.items())
        lines.append(f"{table['k']} clusters named by the {table['named_by']}: {named}")
    if record.get("never_found"):
        lines.append(f"never found: {', '.join(record['never_found'])}")
    return lines
