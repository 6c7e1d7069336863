"""Rules become differentiable logic: formula plans and their compilation to LTN.

Modules:
    compiler    checked rules → one torch module: the truth of every rule, S_logic, atom values
    plan        what a rule means as a formula tree (`dire compile`)
    semantics   the fuzzy semantics, chosen in one place: which LTN operator each connective uses
    operators   those operators as callables: connectives, weighted quantifiers, smooth comparisons
    measures    the built-in measurements and relations behind the checker's signatures
    registry    `@predicate`: plugin predicates, signature and implementation in one step
    grounding   `Grounding`: the one structure a vision model hands to the logic layer
    entities    what a measurement receives: entities with pixels, and the evaluation settings
    regions     region masks and the moment basis at one mask resolution
    tensors     the tensor layout of formulas: one axis per quantified variable
    gates       rule gates: how much each rule counts, learnt and λ-pruned
    atoms       the measured quantities behind every atom, kept for explanations
"""
