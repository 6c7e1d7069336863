"""How good is it? Metrics, thresholds, reports and explanations."""
