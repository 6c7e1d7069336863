"""Data: the MVTec LOCO loader, COCO component annotations and the SynLOCO generator."""
