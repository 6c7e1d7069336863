"""`dire measure`: what each rule measures on images known to be good, to set its bounds from.

Modules:
    good_groundings  groundings of good images: from the annotations, or from a trained run
    measurements     each rule's truth and each comparison's measured side on those groundings
    report           per rule, how often it holds; per comparison, the measured range against its bound
"""
