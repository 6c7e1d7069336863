"""Where the grounding head's training targets come from: the three grounding modes.

`few_shot` reads COCO component annotations of a few training images; `unsupervised` clusters
per-pixel features of normal images and names the clusters; `prompts` asks a pretrained CLIP
which declared object each patch shows. Modules:
    modes          `ground()`: the one interface, a mode -> the components and targets to train on
    targets        per-pixel head targets from the components of one image
    annotations    the rules read on annotated (or annotation-built) groundings before training
    pseudo         pseudo-annotations for the `unsupervised` and `prompts` modes
    clusters       k-means over per-pixel features, clusters named to declared objects
    prompts        text prompts to pixels through a pretrained CLIP
    pseudo_labels  a per-pixel object label map -> the Components annotations would give
"""
