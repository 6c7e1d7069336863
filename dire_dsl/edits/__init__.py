"""Anomalies synthesized from the rules: edits of normal images that break a rule.

Works on real images with COCO component annotations and on SynLOCO alike: it sees only the
checked rules (IR), the images and their components. Modules:
    synthesize  the facade: `synthesize_anomalies` / `iter_anomalies`, recipes planned, applied, judged
    recipes     what an edit is, as hashable data naming the rules it breaks
    plan        checked rules -> the recipes that break them, from the IR alone
    apply       recipe + image + component masks -> edited image, components, changed mask
    judge       whether an edit broke its rules, by the compiled rules on the components
    scene       `ComponentScene`: the components of one image as edits see them
    place       where a moved or copied instance may go, and putting it there
    fill        filling the place of a removed instance with background
    looks       how each attribute value looks, learned from normals, and recolouring to it
"""
