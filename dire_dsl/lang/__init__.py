"""What does the text mean? Grammar, typed AST, diagnostics, checker and formatter."""
