"""Unsupervised discovery on images with known coloured blobs: clusters of a random conv-small's
features and colour are named from ONE annotated image, and the pseudo instances they give on
the other images are the true blobs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dire_dsl.data.components import Component
from dire_dsl.grounding import clusters
from dire_dsl.grounding.pseudo_labels import BACKGROUND, components_from_labels, speck_areas
from dire_dsl.vision.backbones import create_backbone

SIZE = 48
OBJECTS = ["red_square", "blue_disc"]


def _scene(rng: np.random.Generator) -> tuple[np.ndarray, list[Component]]:
    """A grey, slightly noisy tray under random lighting with 1–3 red squares and 1–3 blue discs,
    one per 16-pixel cell."""
    image = 0.55 + 0.03 * rng.standard_normal((SIZE, SIZE, 3))
    cells = rng.permutation(9)
    n_red, n_blue = rng.integers(1, 4, size=2)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    parts = []
    for slot, cell in enumerate(cells[: n_red + n_blue]):
        cy, cx = 16 * (cell // 3) + 8 + rng.integers(-2, 3), 16 * (cell % 3) + 8 + rng.integers(-2, 3)
        if slot < n_red:
            mask = (abs(ys - cy) <= 4) & (abs(xs - cx) <= 4)
            colour, name = (0.85, 0.12, 0.1), "red_square"
        else:
            mask = (ys - cy) ** 2 + (xs - cx) ** 2 <= 20
            colour, name = (0.1, 0.2, 0.85), "blue_disc"
        image[mask] = np.array(colour) + 0.03 * rng.standard_normal((int(mask.sum()), 3))
        parts.append(Component(name, mask))
    gain = rng.uniform(0.8, 1.15)
    return np.clip(image * gain, 0, 1).astype(np.float32), parts


@pytest.fixture(scope="module")
def scenes() -> tuple[torch.Tensor, list[list[Component]], torch.Tensor]:
    rng = np.random.default_rng(3)
    made = [_scene(rng) for _ in range(8)]
    images = torch.from_numpy(np.stack([m[0] for m in made]).transpose(0, 3, 1, 2).copy())
    torch.manual_seed(0)
    backbone = create_backbone("conv-small", adapt=False, width=16).eval()
    with torch.no_grad():
        cells = clusters.normalized_cells(backbone(images)[0])
    return images, [m[1] for m in made], cells


def _masks(parts: list[Component]) -> np.ndarray:
    masks = np.zeros((len(OBJECTS), SIZE, SIZE), bool)
    for part in parts:
        masks[OBJECTS.index(part.object)] |= part.mask
    return masks


def test_clusters_named_from_one_annotated_image_find_the_blobs_on_the_others(scenes) -> None:  # noqa: ANN001
    images, truth, cells = scenes
    fitted = clusters.fit_clusters(cells, images, clusters.cluster_count(len(OBJECTS)), seed=0)
    assigned = fitted.assign(cells, images)
    assert assigned.shape == (8, SIZE, SIZE)
    naming = clusters.name_by_overlap([assigned[0].numpy()], [_masks(truth[0])], fitted.k)
    assert set(naming.names) == {BACKGROUND, 0, 1}
    labels = clusters.relabel(assigned, naming.names)
    min_area = speck_areas(OBJECTS, truth[0], cell_area=16)
    for index in range(1, 8):
        found = components_from_labels(labels[index], OBJECTS, min_area)
        for name in OBJECTS:
            real = [p.mask for p in truth[index] if p.object == name]
            pseudo = [p.mask for p in found if p.object == name]
            assert len(pseudo) == len(real), f"image {index}: {len(pseudo)} {name} found, {len(real)} there"
            for mask in real:
                best = max((mask & p).sum() / (mask | p).sum() for p in pseudo)
                assert best > 0.8, f"image {index}: a {name} is found with IoU {best:.2f}"


def test_assignment_at_full_resolution_is_the_nearest_centroid_of_the_interpolated_feature(scenes) -> None:  # noqa: ANN001
    images, _, cells = scenes
    fitted = clusters.fit_clusters(cells, images, 6, seed=1)
    up = F.interpolate(cells[:2], size=(SIZE, SIZE), mode="bilinear", align_corners=False) * fitted.feature_scale
    colour = torch.stack([clusters.standardized_colour(i) for i in images[:2]]) * fitted.colour_scale
    pixels = torch.cat([up, colour], dim=1).permute(0, 2, 3, 1).reshape(-1, up.shape[1] + 3)
    brute = torch.cdist(pixels, torch.from_numpy(fitted.centroids)).argmin(dim=1).view(2, SIZE, SIZE)
    assigned = fitted.assign(cells[:2], images[:2])
    assert (assigned == brute).float().mean() > 0.999  # float rounding may flip an exact tie


def test_fitting_is_deterministic_per_seed(scenes) -> None:  # noqa: ANN001
    images, _, cells = scenes
    first = clusters.fit_clusters(cells, images, 5, seed=4)
    again = clusters.fit_clusters(cells, images, 5, seed=4)
    assert np.array_equal(first.centroids, again.centroids)


def test_naming_matches_one_cluster_per_object_then_adds_majority_clusters() -> None:
    labels = np.repeat(np.arange(4), 3)[None]  # clusters 0-3, three pixels each; cluster 4 never occurs
    masks = np.zeros((2, 1, 12), bool)
    masks[0, 0, 0:4] = True  # object 0: all of cluster 0 and one pixel of cluster 1
    masks[1, 0, 6:12] = True  # object 1: clusters 2 and 3 (a part in two looks)
    naming = clusters.name_by_overlap([labels], [masks], k=5)
    # Hungarian: object 0 takes cluster 0 (IoU 3/4), object 1 one of 2 and 3 (IoU 1/2 each); the
    # other lies wholly on object 1 and joins it; cluster 1 is a third on object 0, under the majority
    assert naming.names[0] == 0 and naming.matched[0]
    assert naming.names[2] == naming.names[3] == 1 and naming.matched[2] != naming.matched[3]
    assert naming.names[1] == naming.names[4] == BACKGROUND
    assert naming.pixels.tolist() == [3, 3, 3, 3, 0]
    assert naming.iou[0, 0] == pytest.approx(0.75) and naming.share[1, 0] == pytest.approx(1 / 3)


def test_two_objects_never_take_the_same_cluster() -> None:
    labels = np.array([[0, 0, 0, 0, 1, 1]])
    masks = np.zeros((2, 1, 6), bool)
    masks[0, 0, 0:2] = True
    masks[1, 0, 2:4] = True  # both objects overlap cluster 0 best, cluster 1 not at all
    naming = clusters.name_by_overlap([labels], [masks], k=2)
    assert naming.matched == [True, False]
    assert naming.names[0] in (0, 1) and naming.names[1] == BACKGROUND
