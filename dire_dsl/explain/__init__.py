"""Why did an image get its score? Rule by rule, with the measurements and where it broke.

Modules:
    evidence  the cells, instances and objects behind a rule's false atoms; when a rule is violated
    explain   `explain()`: each rule's truth, its measurements and source line, violated first
    overlay   pictures for people: an anomaly map over the image, the marks of violated rules
"""
