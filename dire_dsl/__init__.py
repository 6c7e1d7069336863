"""dire-dsl: write the logic of a good product in a small language; get an anomaly detector.

The package root stays light: importing ``dire_dsl`` never imports torch, so that
``dire check`` answers in well under a second.
"""

__version__ = "0.1.0"
