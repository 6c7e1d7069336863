"""Reading JSON that a user, another tool or a damaged disk handed us.

`json` fails in three ways besides a missing file: bad syntax (ValueError), bytes that are not
UTF-8 (UnicodeDecodeError, also a ValueError) and nesting deeper than the interpreter's stack
(RecursionError, e.g. `[[[[...` a hundred thousand times). Every reader turns all three into
its own error class naming the file, so a damaged file is one clear message, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

JSON_ERRORS = (ValueError, RecursionError)
"""What `json.loads` raises on damaged input: for callers that skip a bad line rather than fail."""


def parse_json(text: str | bytes, fail: Callable[[str], Exception], max_depth: int | None = None) -> Any:
    """`text` parsed; on damage, raise `fail(reason)`, the caller's error built from a reason
    that reads after the file's name ("not valid JSON (…)"). With `max_depth`, a document nested
    deeper is damage too, so a caller that walks the tree recursively never meets a RecursionError
    whose depth depends on how deep its own stack already was."""
    try:
        value = json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
        if max_depth is not None and nesting_depth(value) > max_depth:
            raise RecursionError
        return value
    except RecursionError:
        raise fail("nested too deeply to be read as JSON") from None
    except UnicodeDecodeError as error:
        raise fail(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except ValueError as error:
        raise fail(f"not valid JSON ({error})") from None


def read_json(path: str | Path, fail: Callable[[str], Exception]) -> Any:
    """The JSON file at `path`, parsed as by :func:`parse_json`; OSError (a missing file, a
    permission) is left to the caller, who knows what to advise."""
    return parse_json(Path(path).read_bytes(), fail)


def nesting_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed document (a scalar is 0); iterative, so any
    depth json could parse is measured without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest
