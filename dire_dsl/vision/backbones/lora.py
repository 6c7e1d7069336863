"""LoRA adapters through peft, with a guard against adapters that silently do nothing.

peft is imported inside :func:`apply_lora` because it costs seconds to import.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from dire_dsl.vision.backbones.base import BackboneError


class LoraSettings(BaseModel):
    """LoRA hyper-parameters; plain data so a run config can store them.

    ``None`` targets mean "the backbone's default" (attention and MLP layers);
    an empty tuple means "none of this kind".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rank: int = Field(16, ge=1, le=64)
    alpha: float | None = Field(None, gt=0, description="scale numerator; None means alpha = rank (scale 1)")
    target_modules: tuple[str, ...] | None = None
    target_parameters: tuple[str, ...] | None = None


def apply_lora(
    module: nn.Module,
    settings: LoraSettings,
    *,
    default_modules: list[str] | str,
    default_parameters: tuple[str, ...] = (),
) -> list[str]:
    """Inject LoRA adapters into ``module`` in place, freeze everything else, and return the
    names of the adapted modules. ``default_*`` apply where ``settings`` leaves targets as None.
    """
    from peft import LoraConfig, inject_adapter_in_model

    modules = default_modules if settings.target_modules is None else list(settings.target_modules)
    parameters = default_parameters if settings.target_parameters is None else settings.target_parameters
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha if settings.alpha is not None else settings.rank,
        target_modules=modules,
        target_parameters=list(parameters) or None,
    )
    try:
        inject_adapter_in_model(config, module)
    except ValueError as error:
        raise BackboneError(f"LoRA targets {modules!r} / {list(parameters)!r} do not fit this backbone: "
                            f"{error}") from error
    adapted = [name for name, sub in module.named_modules() if hasattr(sub, "lora_A") and len(sub.lora_A) > 0]
    _refuse_dead_adapters(module, adapted)
    for name, param in module.named_parameters():
        param.requires_grad_("lora_" in name)
    return adapted


def _refuse_dead_adapters(module: nn.Module, adapted: list[str]) -> None:
    """nn.MultiheadAttention never calls ``out_proj.forward``, so an adapter placed there alone
    would neither change the output nor receive a gradient: refuse it instead of training nothing."""
    adapted_set = set(adapted)
    for name, sub in module.named_modules():
        wrapped = name.removesuffix(".base_layer") in adapted_set  # peft wrapped the whole attention
        if isinstance(sub, nn.MultiheadAttention) and name not in adapted_set and not wrapped:
            dead = [a for a in adapted if a.startswith(f"{name}.out_proj")]
            if dead:
                raise BackboneError(
                    f"LoRA on {dead[0]!r} would be ignored: nn.MultiheadAttention does not call out_proj.forward; "
                    f"target the attention module {name!r} itself instead"
                )
