"""What does the image show? Backbones, grounding heads and measurements."""
