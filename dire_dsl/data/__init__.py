"""Real data: the MVTec LOCO loader and the COCO component annotations of its images.

Modules (this package imports none of them; `loco` imports torch):
    loco        the `MVTecLOCO` dataset: the folder layout, splits, masks and defect configs
    coco        COCO component annotations (category name = object name) -> Components per image
    components  `Component`: one annotated part of an image, what grounding and rule edits work on
    image_io    reading image files one way everywhere: training, evaluation, explanation
    errors      `DataError` and its subclasses (the generator's `SpecError` and `OutputError` too)
"""
