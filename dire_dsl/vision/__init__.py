"""What does the image show? Backbones, the grounding head and soft instances.

Modules:
    backbones/  the backbone registry and its built-in backbones (conv_small, timm, open_clip, LoRA)
    heads       grounding heads: a feature pyramid -> per-object maps and an embedding
    instances   soft instances from a class mask and a centre heatmap
    model       the grounding model: backbone -> head -> instances -> the `Grounding` contract
"""
