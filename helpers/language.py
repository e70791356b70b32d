"""The edition's language: one setting, read by the exercise checks (their verdicts and hints)
and by the schematic diagrams (their labels). English unless a notebook of the Chinese edition
sets it, in its first cell: `helpers.notebook.setup(language="zh")`."""

from __future__ import annotations

LANGUAGES = ("en", "zh")
_current = "en"


def set_language(code: str) -> None:
    """Make `code` ("en" or "zh") the language of checks and diagrams from now on."""
    global _current
    if code not in LANGUAGES:
        raise ValueError(f"language {code!r} is not an edition of the series; use one of "
                         f"{', '.join(map(repr, LANGUAGES))}")
    _current = code


def language() -> str:
    """The current edition's language: "en" or "zh"."""
    return _current
