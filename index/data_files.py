"""The one loader of rule data files (the JSON tables under `index/data/` and `agent/data/`).

Every table that rules behaviour (abbreviations, ConText triggers, guideline texts, coding
conventions) is read through `rule_file`, so a missing, unreadable or misshapen file always
ends in a `DataError` that names the file, never in a bare KeyError from deep inside a
constructor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.errors import DataError

__all__ = ["load_json", "require", "require_mapping", "rule_file"]


def load_json(path: str | Path) -> Any:
    """The parsed JSON at `path`; DataError when it is missing or is not JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"rule file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"rule file {path} cannot be read as JSON: {exc}") from exc


def require(data: Any, key: str, path: str | Path) -> Any:
    """`data[key]`; DataError when `data` is not an object holding `key`."""
    if not isinstance(data, dict) or key not in data:
        raise DataError(f"rule file {path} has no {key!r} entry")
    return data[key]


def require_mapping(data: Any, key: str, path: str | Path) -> dict[str, Any]:
    """`data[key]` when it is a non-empty JSON object; DataError otherwise."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, dict) or not value:
        raise DataError(f"rule file {path} has no non-empty {key!r} object")
    return value


@contextmanager
def rule_file(path: str | Path) -> Iterator[Any]:
    """Read a rule file and build from it: the body receives the parsed JSON, and any
    KeyError, TypeError, ValueError or bad regular expression it raises while building
    becomes a DataError naming the file."""
    data = load_json(path)
    try:
        yield data
    except DataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, re.error) as exc:
        raise DataError(f"rule file {path} is malformed: {type(exc).__name__}: {exc}") from exc
