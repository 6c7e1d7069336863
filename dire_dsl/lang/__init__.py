"""What does the text mean? Grammar, typed AST, diagnostics, checker and formatter (no torch).

Modules:
    grammar.lark  the rule language's grammar (Lark, LALR)
    parser      text → parse tree → typed AST, syntax errors in plain words
    ast         the typed syntax tree: pydantic models, every node with its span
    check/      the checker as passes: AST → diagnostics, and the checked program (IR)
    ir          the checked program: names resolved, nodes typed; what the logic layer compiles
    program     the facade: text → AST → diagnostics → CheckedProgram (`load_rules`, `check_file`)
    diagnostics `Diagnostic` and the syntax/semantic errors that carry them
    render      diagnostics as rustc-like text or JSON
    codes       the catalogue of diagnostic codes, each with a bad example and its fix
    catalogue   that catalogue as Markdown (docs/diagnostics.md)
    format      the canonical form of a rules file (`dire fmt`)
    settings    the one table of `train {}` / `logic {}` keys: types, defaults, bounds
    signatures  the one registry of callable names: measurements, relations, plugin predicates
    limits      size and number limits that keep a rules file from exhausting memory
"""
