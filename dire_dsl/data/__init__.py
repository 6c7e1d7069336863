"""Data: the MVTec LOCO loader, COCO component annotations and the SynLOCO generator.

Modules (import what you need; nothing heavy is imported here, torch only by `loco`):
    spec       scene specs (pydantic) and `load_spec`        specs/   the five LOCO categories
    shapes     shape primitives and their rasterization      layout   scene sampling
    render     drawing and camera nuisances                  anomalies recipes and ground-truth regions
    image      one image + its record                        writer   MVTec LOCO layout, COCO, records
    synth      `synthesize(...)`, the public generator API   loco     the `MVTecLOCO` dataset
    baseline   a trivial colour-histogram detector           errors   DataError and its subclasses
"""
