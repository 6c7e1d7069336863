"""The trained artefact: everything a finished run is, and scoring images with it.

Nothing here imports the training loop: evaluation, explanation and `dire measure` open a
run with `trained.load_run` alone. Modules:
    config      `TrainConfig`: the validated settings of a run (rules-file settings, then overrides)
    detector    `Detector`: grounding model + compiled rules + normal centre + patch memory
    scoring     anomaly scores of a batch, and the `Calibration` that fuses them into one score
    threshold   the decision threshold set from validation normals, and classifying at it
    folder      the run folder: config, rules, weights, calibration, logs, safe to reload
    checkpoint  training state on disk without pickle (safetensors + JSON), checked before resume
    trained     `TrainedRun` and `load_run()`: a run folder opened, ready to score
    inference   scoring RGB images with a trained run: network input, timed scores, maps
"""
