"""Small Markdown helpers shared by the page generators."""

from __future__ import annotations

import re

_SETEXT_UNDERLINE = re.compile(r"^\s*(-{3,}|={3,})\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc):(`[^`]+`)")
_FIELD = re.compile(r"^\s*[\w*]+\s*:\s")


def escape_text(text: str) -> str:
    """Escape Markdown and HTML outside code spans, so help text shows exactly as typed.

    `<category>` would otherwise vanish as an unknown HTML tag and `*.rules` start emphasis.
    """
    out, start = [], 0
    for span in _CODE_SPAN.finditer(text):
        out += [_escape_plain(text[start:span.start()]), span.group(0)]
        start = span.end()
    return "".join([*out, _escape_plain(text[start:])])


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("*", r"\*")


def docstring_markdown(doc: str) -> str:
    """A docstring as Markdown.

    Sphinx roles (:class:`X`) become code spans; a numpy-style section (a line underlined
    with dashes) becomes a bold label, not a heading that would break the page's outline,
    and its `name: text` lines become list items. Indented blocks stay code blocks.
    """
    out: list[str] = []
    in_section = False
    for line in _ROLE.sub(r"\1", doc).splitlines():
        if _SETEXT_UNDERLINE.match(line) and out and out[-1].strip():
            out[-1] = f"**{out[-1].strip()}**"
            out.append("")
            in_section = True
        elif not line.strip():
            in_section = False
            out.append("")
        elif line.startswith("    "):
            out.append(line)
        elif in_section:
            out.append(("- " if _FIELD.match(line) else "  ") + escape_text(line.strip()))
        else:
            out.append(escape_text(line))
    return "\n".join(out).strip()
