"""Raw scores survive the trip through a flat list of tensors and a JSON layout."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from dire_dsl.run.packing import pack_scores, unpack_scores
from dire_dsl.run.trained import load_run


def test_scores_come_back_whole(tiny_run: Path) -> None:
    trained = load_run(tiny_run)
    scores = trained.score_batch(torch.rand(3, 3, *trained.config.input_hw()))
    tensors, layout = pack_scores(scores)
    assert len({id(t) for t in tensors}) == len(tensors)  # each shared tensor once
    back = unpack_scores(json.loads(json.dumps(layout)), [t.numpy() for t in tensors])
    assert torch.equal(back.rule_violation, scores.rule_violation) and torch.equal(back.patch, scores.patch)
    assert back.logic.rules == scores.logic.rules
    for rule, atoms in scores.logic.atoms.items():
        assert [a.lines(1) for a in back.logic.atoms[rule]] == [a.lines(1) for a in atoms]
        assert [a.span for a in back.logic.atoms[rule]] == [a.span for a in atoms]
    for name, found in scores.grounding.objects.items():
        assert torch.equal(back.grounding.objects[name].instances, found.instances)
    assert trained.calibration.image_score(back).tolist() == trained.calibration.image_score(scores).tolist()
