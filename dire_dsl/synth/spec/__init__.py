"""The scene spec of a SynLOCO category: what a good image shows and how it may break.

Modules:
    models  the pydantic models of a spec (canvas, objects, links, nuisances, anomaly recipes)
    merge   merging overrides into object specs (attribute looks, `modify` steps), cached
    check   cross-field checks pydantic cannot express, and pydantic errors as `SpecIssue`s
    load    `load_spec`: a file or a built-in category name -> a validated, checked `SceneSpec`
"""
