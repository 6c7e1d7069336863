"""The catalogue of diagnostic codes: one entry per code, with a bad example and its fix.

docs/diagnostics.md is generated from this table (scripts/gen_docs.py), and a test
checks that every code has a bad fixture under tests/fixtures/bad/.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeInfo:
    code: str
    title: str
    bad: str
    fix: str


_ENTRIES = [
    CodeInfo("E101", "unexpected input", "rule r: count(pin) == == 1", "rule r: count(pin) == 1"),
    CodeInfo("E102", "the file ends too early", "rule r: count(pin", "rule r: count(pin) == 1"),
    CodeInfo("E103", "unclosed quoted text", 'object pin "a pin', 'object pin "a pin"'),
    CodeInfo("E104", "`=` used to compare", "rule r: count(pin) = 1", "rule r: count(pin) == 1"),
    CodeInfo("E105", "reserved word used as a name", 'object rule "a rule"', 'object ruler "a ruler"'),
    CodeInfo("E106", "rule name without `:`", "rule r count(pin) == 1", "rule r: count(pin) == 1"),
    CodeInfo("E107", "expression nested too deeply to read",
             "rule r: count(pin) == 1 and count(pin) == 1 and ...   # hundreds of times",
             "rule r1: count(pin) == 1\nrule r2: ...   # one rule per idea"),
    CodeInfo("E108", "number too large or too close to zero to represent", "rule r: count(pin) in [5, 1e309]",
             "rule r: count(pin) >= 5"),
    CodeInfo("E201", "no `category` line", 'object pin "a pin"', 'category pushpins\nobject pin "a pin"'),
    CodeInfo("E202", "more than one `category` line", "category a\ncategory b", "category a"),
    CodeInfo("E203", "unknown object", "rule r: count(srew) == 2", "rule r: count(screw) == 2"),
    CodeInfo("E204", "object declared twice", 'object pin "a"\nobject pin "b"', 'object pin "a" "b"'),
    CodeInfo("E205", "unknown attribute", "rule r: count(cable where colour == red) == 1",
             "rule r: count(cable where color == red) == 1"),
    CodeInfo("E206", "attribute declared twice", "attribute cable.color { red }\nattribute cable.color { blue }",
             "attribute cable.color { red, blue }"),
    CodeInfo("E207", "value not in the attribute's declared set", "rule r: count(cable where color == green) == 1",
             "rule r: count(cable where color == red) == 1"),
    CodeInfo("E208", "value listed twice in an attribute", "attribute cable.color { red, red }",
             "attribute cable.color { red, blue }"),
    CodeInfo("E209", "unknown region", "rule r: count(pin in cel[1, 1]) == 1", "rule r: count(pin in cell[1, 1]) == 1"),
    CodeInfo("E210", "name declared twice", "region cell = grid(3, 5)\nregion cell = left", "region cell = grid(3, 5)"),
    CodeInfo("E211", "rule declared twice", "rule r: true\nrule r: false", "rule r1: ...\nrule r2: ..."),
    CodeInfo("E212", "unknown setting key", "train { epoch = 3 }", "train { epochs = 3 }"),
    CodeInfo("E213", "setting given twice", "train { epochs = 3, epochs = 4 }", "train { epochs = 4 }"),
    CodeInfo("E214", "unknown function or predicate", "rule r: cont(pin) == 1", "rule r: count(pin) == 1"),
    CodeInfo("E215", "unknown name", "rule r: forall c in cell: count(pin in d) == 1",
             "rule r: forall c in cell: count(pin in c) == 1"),
    CodeInfo("E216", "settings block given twice", "train { epochs = 3 }\ntrain { lr = 0.1 }",
             "train { epochs = 3, lr = 0.1 }"),
    CodeInfo("E217", "unknown region shape", "region cell = grod(3, 5)", "region cell = grid(3, 5)"),
    CodeInfo("E301", "wrong number of arguments", "rule r: count(pin, nut) == 1",
             "rule r: count(pin) + count(nut) == 1"),
    CodeInfo("E302", "wrong kind of argument", "rule r: count(2) == 1", "rule r: count(pin) == 1"),
    CodeInfo("E303", "number, truth value or set in the wrong place", "rule r: count(pin)", "rule r: count(pin) == 15"),
    CodeInfo("E304", "a count compared with a non-integer", "rule r: count(pin) == 1.5", "rule r: count(pin) == 2"),
    CodeInfo("E305", "empty or reversed range", "rule r: area(pin) in [0.5, 0.1]", "rule r: area(pin) in [0.1, 0.5]"),
    CodeInfo("E306", "grid size not a positive whole number", "region cell = grid(0, 5)", "region cell = grid(3, 5)"),
    CodeInfo("E307", "box outside [0, 1] or reversed", "region tray = box(0.2, 0.1, 1.4, 0.9)",
             "region tray = box(0.2, 0.1, 1.0, 0.9)"),
    CodeInfo("E308", "cell outside the grid", "rule r: count(pin in cell[4, 1]) == 1",
             "rule r: count(pin in cell[3, 1]) == 1"),
    CodeInfo("E309", "mapping table misses a value", "rule r: cable.color -> connector.clamps { yellow: 2, blue: 3 }",
             "rule r: cable.color -> connector.clamps { yellow: 2, blue: 3, red: 5 }"),
    CodeInfo("E310", "mapping table repeats a value",
             "rule r: cable.color -> connector.clamps { red: 2, red: 5, blue: 3, yellow: 2 }",
             "rule r: cable.color -> connector.clamps { yellow: 2, blue: 3, red: 5 }"),
    CodeInfo("E311", "setting of the wrong type or out of range", "train { epochs = -1 }", "train { epochs = 10 }"),
    CodeInfo("E312", "`in` or `where` where no object set is taken", "rule r: area(2 in cell) > 0",
             "rule r: area(pin in cell) > 0"),
    CodeInfo("E313", "attributes with different values compared", "rule r: forall c in cable: c.color == c.length",
             "rule r: forall a, b in cable: a.color == b.color"),
    CodeInfo("E314", "more than two quantified variables", "rule r: forall a, b, c in pin: true",
             "rule r: forall a, b in pin: ..."),
    CodeInfo("E315", "rule weight not positive, or beyond [1e-6, 1e6]", "rule r weight 0: count(pin) == 1",
             "rule r weight 0.5: count(pin) == 1"),
    CodeInfo("E316", "ordering used on attribute values", "rule r: forall c in cable: c.color < red",
             "rule r: forall c in cable: c.color != red"),
    CodeInfo("E317", "`where` on a region", "rule r: forall c in cell where color == red: true",
             "rule r: forall p in pin where color == red: inside(p, cell)"),
    CodeInfo("E318", "grid, or cells iterated by one rule, beyond the size limits",
             "region cell = grid(100, 100)\nrule r: forall a, b in cell: count(pin in a) == count(pin in b)",
             "region cell = grid(3, 5)   # rows, cols ≤ 64; cells ≤ 1024; cells one rule iterates ≤ 1024"),
    CodeInfo("E319", "arithmetic on constants that overflows or divides by zero", "rule r: area(pin) < 1e38 * 10",
             "rule r: area(pin) < 0.5"),
    CodeInfo("E320", "`sorted(...)` or `by` used the wrong way", "rule r: sorted(pin by size).color == [red, blue]",
             "rule r: sorted(pin by x).color == [red, blue]"),
    CodeInfo("E321", "a value in two places of a `sorted` list", "rule r: sorted(pin by x).color == [red, blue, red]",
             "rule r: sorted(pin by x).color == [red, red, blue]"),
    CodeInfo("W401", "a variable shadows another name", "rule r: forall pin in pin: true",
             "rule r: forall p in pin: area(p) > 0.01"),
    CodeInfo("W402", "a quantified variable is never used", "rule r: forall c in cell: count(pin) == 15",
             "rule r: forall c in cell: count(pin in c) == 1"),
    CodeInfo("W403", "a rule or comparison that is always true", "rule r: count(pin) >= 0", "rule r: count(pin) >= 1"),
    CodeInfo("W404", "a rule or comparison that is always false", "rule r: area(pin) > 1", "rule r: area(pin) > 0.1"),
    CodeInfo("W405", "an object without a prompt", "object pin", 'object pin "a colored push pin"'),
    CodeInfo("W407", "a rule that holds when a part is missing", "rule r: forall c in cable: area(c) < 0.1",
             "rule r: count(cable) == 1 and forall c in cable: area(c) < 0.1"),
    CodeInfo("W406", "a plugin failed to load", "(a broken `dire_dsl.predicates` entry point)",
             "reinstall or fix the plugin package"),
]

CODES: dict[str, CodeInfo] = {entry.code: entry for entry in _ENTRIES}
