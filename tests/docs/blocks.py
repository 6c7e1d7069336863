"""Fenced code blocks of a Markdown page, with the test marker written just above each.

A marker is an HTML comment on the line before the fence, invisible on the site:

    <!-- test: skip, installs packages -->     the block is not run; the reason is required
    <!-- test: exit 1 -->                      the block must fail with this exit code

A fence may carry a title naming a repository file (```toml title="examples/x.toml"```);
the block must then show that file exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(
    r"(?:^<!-- test: (?P<marker>[^\n]*?) -->\n)?^```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n(?P<body>.*?)^```[ \t]*$",
    re.S | re.M,
)
_TITLE = re.compile(r'title="([^"]+)"')


@dataclass(frozen=True)
class Block:
    lang: str
    body: str
    line: int  # 1-based line of the opening fence
    marker: str  # "" when there is none
    title: str | None

    @property
    def skip_reason(self) -> str | None:
        """The reason after `skip,` (an empty string for a bare `skip`), or None for a block that runs."""
        if not self.marker.startswith("skip"):
            return None
        return self.marker[len("skip"):].lstrip(" ,:").strip()

    @property
    def expected_exit(self) -> int:
        match = re.fullmatch(r"exit (\d+)", self.marker)
        return int(match.group(1)) if match else 0

    def commands(self) -> list[str]:
        """The block's shell commands, one per logical line (backslash continuations joined)."""
        joined = re.sub(r"\\\n\s*", " ", self.body)
        return [line.split(" #", 1)[0].strip() for line in joined.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]


def fenced_blocks(page: Path) -> list[Block]:
    """Every fenced block of `page`, in order."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        title = _TITLE.search(match.group("attrs"))
        fence_line = text.count("\n", 0, match.start("lang")) + 1
        blocks.append(Block(match.group("lang"), match.group("body"), fence_line, match.group("marker") or "",
                            title.group(1) if title else None))
    return blocks
