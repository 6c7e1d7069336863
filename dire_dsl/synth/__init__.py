"""SynLOCO: the generator of synthetic data sets in MVTec LOCO's folder layout.

Pipeline: a scene spec -> a sampled scene -> an anomaly recipe applied -> drawn -> written.

Modules (this package imports none of them; the generator needs no torch):
    spec/       the scene spec: models, merging overrides, loading, cross-field checks
    categories/ the built-in specs of the five MVTec LOCO categories (TOML)
    shapes      shape primitives and their anti-aliased rasterization
    scene       scene sampling: `SceneSampler` places object instances from a spec and a seed
    render      drawing a sampled scene, with camera nuisances
    anomalies   anomaly recipes: logical steps edit the scene, structural steps its pixels
    image       one image: sample, apply a recipe, draw, mark the defects, record
    writer      the MVTec LOCO folder layout, COCO annotations and records on disk
    generate    `synthesize(...)`, the public generator API behind `dire synth`
"""
