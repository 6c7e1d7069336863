"""Quiet: the exporter and the quantizer print progress lines, warnings and log messages that
say nothing to a user of `dire export` (a failure still raises, and is reported by name)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from io import StringIO

LOGGERS = ("", "onnx_ir", "onnxscript", "torch.onnx", "torch.export")
"""The root logger (onnxruntime's quantizer logs there) and the exporter's own."""


@contextmanager
def quiet() -> Iterator[None]:
    """Silence stdout, stderr, warnings and the LOGGERS below ERROR for the block."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(), redirect_stdout(StringIO()), redirect_stderr(StringIO()):
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
