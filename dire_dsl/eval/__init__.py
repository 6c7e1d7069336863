"""How good is a trained run? Metrics, evaluation on the test split, and its report.

Modules (the metrics import no torch and no run):
    metrics          image-level AUROC as MVTec LOCO's official script computes it
    spro             AU-sPRO, MVTec LOCO's localization metric, computed exactly
    separation       how far apart normal and anomalous scores are (d', gap, warnings)
    rule_stats       per rule and test label, how often it is violated and decides an image
    tiff_maps        anomaly maps as TIFFs in the official layout, for MVTec's own script
    plots            the report's plots: score histograms and ROC curves
    evaluate         `evaluate()`: a run on a test split -> every number `dire eval` reports
    report           the self-contained HTML report of an evaluation
    pointing         do explanations point at the right thing? (SynLOCO, where the truth is known)
    baselines        PatchCore on our backbone and colour histograms, what the benchmark compares against
    color_histogram  a trivial global-statistics detector: a generated benchmark must beat it
"""
