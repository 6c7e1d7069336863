"""Where the logical half of the anomaly map goes: the cells and instances behind a broken rule."""

from __future__ import annotations

import torch

from dire_dsl.lang.program import check_source
from dire_dsl.logic.compiler import compile_program
from dire_dsl.logic.grounding import Grounding, ObjectGrounding
from dire_dsl.run.evidence_map import evidence_masks
from dire_dsl.run.scoring import BatchScores, Calibration

SIZE = 32
RULES = """category tray
object pin "a pin"
region cell = grid(2, 2, 0.0, 0.0, 1.0, 1.0)
rule one_per_cell:
    forall c in cell: count(pin in c) == 1
rule four_pins:
    count(pin) == 4
"""
CENTRES = ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75))


def disc(cx: float, cy: float) -> torch.Tensor:
    centres = (torch.arange(SIZE) + 0.5) / SIZE
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    return (((xs - cx) ** 2 + (ys - cy) ** 2) <= 0.08**2).float()


def scored(present: list[tuple[float, float]]) -> tuple[object, Calibration, BatchScores]:
    program = check_source(RULES).program
    slots = torch.zeros(1, 6, SIZE, SIZE)
    presence = torch.zeros(1, 6)
    for slot, (cx, cy) in enumerate(present):
        slots[0, slot] = disc(cx, cy)
        presence[0, slot] = 1.0
    grounding = Grounding({"pin": ObjectGrounding(slots.amax(dim=1), slots, presence)}, torch.zeros(1, 4))
    logic = compile_program(program)(grounding)
    calibration = Calibration(distance_mean=0.0, distance_std=1.0, rule_mean=[0.0, 0.0], rule_std=[0.05, 0.05],
                              rule_weight=[1.0, 1.0], patch_mean=0.0, patch_std=1.0, fusion=0.8, threshold=3.0,
                              n_validation=10, patch_margin=0.0)
    scores = BatchScores(torch.zeros(1), 1 - logic.s_logic, 1 - logic.truth, torch.zeros(1, 8, 8), logic, grounding)
    return program, calibration, scores


def test_a_missing_parts_evidence_lies_in_its_cell() -> None:
    program, calibration, scores = scored(list(CENTRES[:3]))  # the bottom-right cell is empty
    evidence = evidence_masks(program, calibration, scores)[0]
    half = SIZE // 2
    assert float(evidence[half:, half:].min()) >= 0.5, "the empty cell is not painted"
    assert float(evidence[:half, :].max()) < 0.5 and float(evidence[half:, :half].max()) < 0.5, \
        "evidence outside the empty cell"


def test_an_extra_parts_evidence_lies_on_the_parts_of_its_cell() -> None:
    program, calibration, scores = scored([*CENTRES, (0.32, 0.3)])  # a second pin in the top-left cell
    evidence = evidence_masks(program, calibration, scores)[0]
    extra = disc(0.32, 0.3).bool()
    assert float(evidence[extra].min()) >= 0.5
    elsewhere = disc(0.75, 0.75).bool() | disc(0.25, 0.75).bool() | disc(0.75, 0.25).bool()
    assert float(evidence[elsewhere].max()) < 0.5, "pins in the cells that hold one are painted"


def test_a_normal_image_puts_its_score_on_its_parts_not_the_background() -> None:
    program, calibration, scores = scored(list(CENTRES))
    evidence = evidence_masks(program, calibration, scores)[0]
    parts = sum(disc(cx, cy) for cx, cy in CENTRES).bool()
    assert float(evidence[parts].min()) >= 0.5 and float(evidence[~parts].max()) < 0.5
