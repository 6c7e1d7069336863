"""Taking a trained run to production: `export` (one ONNX graph, checked for parity) and
`quantize` (its int8 form). Scoring an exported file lives in `dire_dsl.run.exported`."""
