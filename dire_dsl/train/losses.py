"""The training losses, as pure functions of tensors (each one small enough to test by hand).

- component: masks, centre heatmaps and attributes on the few annotated normal images;
- rule satisfaction: the rules should hold on every normal image;
- compactness: normal embeddings are pulled to a centre (distance-based scoring);
- logic-gated push: synthetic anomalies are pushed beyond a margin, harder the more rules
  they break: gain = 1 + (max_gain − 1)(1 − S_logic);
- gate loss: rule gates grow for rules that separate anomalies from normals and shrink
  under λ·Σ|g| otherwise (λ-pruning).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def dice_loss(logits: Tensor, target: Tensor, eps: float = 1.0) -> Tensor:
    """1 − Dice over each (image, channel), averaged; robust to small objects."""
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(-2, -1))
    union = prob.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    return (1 - (2 * inter + eps) / (union + eps)).mean()


def heatmap_focal_loss(logits: Tensor, target: Tensor, alpha: float = 2.0, beta: float = 4.0) -> Tensor:
    """CenterNet's penalty-reduced focal loss; target is 1 at centres, Gaussian around them."""
    prob = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = target.ge(0.99).to(logits.dtype)
    pos_loss = -torch.log(prob) * (1 - prob) ** alpha * positive
    neg_loss = -torch.log(1 - prob) * prob**alpha * (1 - target) ** beta * (1 - positive)
    n_pos = positive.sum().clamp_min(1.0)
    return (pos_loss.sum() + neg_loss.sum()) / n_pos


def component_loss(mask_logits: Tensor, center_logits: Tensor, mask_target: Tensor, center_target: Tensor,
                   attribute_logits: dict[tuple[str, str], Tensor], attribute_target: dict[tuple[str, str], Tensor]
                   ) -> Tensor:
    """Supervised grounding loss on annotated images.

    mask/center logits and targets: [B, O, h, w]; attribute targets: [B, h, w] value index,
    −1 where the attribute is undefined (background or another object). Computed in float32
    whatever the logits' dtype: under float16 autocast 1 − 1e-4 rounds to 1, and the focal
    loss's log(1 − p) would be −inf.
    """
    mask_logits, center_logits = mask_logits.float(), center_logits.float()
    attribute_logits = {key: logits.float() for key, logits in attribute_logits.items()}
    loss = F.binary_cross_entropy_with_logits(mask_logits, mask_target) + dice_loss(mask_logits, mask_target)
    loss = loss + heatmap_focal_loss(center_logits, center_target)
    for key, logits in attribute_logits.items():
        target = attribute_target[key]
        if bool((target >= 0).any()):
            loss = loss + F.cross_entropy(logits, target.long(), ignore_index=-1)
    return loss


def rule_satisfaction_loss(truth: Tensor, weights: Tensor) -> Tensor:
    """Weighted mean violation of the rules on normal images; truth [B, R], weights [R] ≥ 0."""
    weights = weights / weights.sum().clamp_min(1e-8)
    return ((1 - truth) * weights).sum(dim=1).mean()


def compactness_loss(embedding: Tensor, center: Tensor) -> Tensor:
    """Mean squared distance of normal embeddings to the centre."""
    return (embedding - center).pow(2).sum(dim=1).mean()


def logic_gain(s_logic: Tensor, max_gain: float) -> Tensor:
    """1 when every rule holds, `max_gain` when every rule fails (no gradient through it)."""
    return 1 + (max_gain - 1) * (1 - s_logic.detach().clamp(0, 1))


def push_loss(embedding: Tensor, center: Tensor, s_logic: Tensor, margin: float, max_gain: float) -> Tensor:
    """Anomalies closer than `margin` to the centre are pushed out, times the logic gain."""
    distance = (embedding - center).pow(2).sum(dim=1).add(1e-8).sqrt()
    return (logic_gain(s_logic, max_gain) * F.relu(margin - distance).pow(2)).mean()


def gate_utility_loss(gates: Tensor, normal_truth: Tensor, anomaly_truth: Tensor, soft: Tensor) -> Tensor:
    """Gates follow each rule's usefulness: violation on anomalies minus violation on normals.

    A rule broken by anomalies and kept by normals earns a larger gate; a rule that normals
    break too (a noisy rule) loses it. Together with λ·Σ|g| over the soft rules
    (`CompiledRules.penalty`) this prunes what does not pay for itself. gates [R],
    truths [B, R], soft [R] bool. The loop clamps gates, so the linear term stays bounded.
    """
    usefulness = (1 - anomaly_truth.detach()).mean(dim=0) - (1 - normal_truth.detach()).mean(dim=0)
    return -(gates * usefulness * soft).sum()
