"""The checks speak the edition's language: English as written in the check modules, Chinese
from one catalog, `exercises/zh.json`, that maps each message's English template to Chinese.

A template is a message as the source writes it: an f-string keeps its fields as written
(`"at T = {T}: {_first_difference(m, want)}"`), and the Chinese template uses the same fields.
A printed message is matched against the templates, the fields' values are themselves
translated (a hint built from smaller messages), and put into the Chinese template. The catalog
is made and kept complete by `python -m exercises.i18n` (see tests/test_zh.py), like gettext's
msgid -> msgstr, with the English source as the key.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import sys
from pathlib import Path

from helpers.language import language

CATALOG = Path(__file__).with_name("zh.json")
SOURCES = sorted(p for p in Path(__file__).parent.glob("*.py") if p.name != "i18n.py")
PROSE = re.compile(r"\b[A-Za-z]{3,} [a-z]{2,} [a-z]{3,}\b")  # three words: an English sentence
FIELD = re.compile(r"\{(?!\{)(?:[^{}]|\{[^{}]*\})*\}")  # one {field}, a {nested:{spec}} allowed


def _template(node: ast.JoinedStr | ast.Constant) -> str:
    """The English template of one string literal: text as is ({ and } doubled), fields as
    written in the source."""
    if isinstance(node, ast.Constant):
        return node.value.replace("{", "{{").replace("}", "}}")
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(value.value.replace("{", "{{").replace("}", "}}"))
            continue
        conversion = {-1: "", 115: "!s", 114: "!r", 97: "!a"}[value.conversion]
        spec = ""
        if value.format_spec is not None:
            spec = ":" + "".join(x.value if isinstance(x, ast.Constant) else
                                 "{" + ast.unparse(x.value) + "}" for x in value.format_spec.values)
        parts.append("{" + ast.unparse(value.value) + conversion + spec + "}")
    return "".join(parts)


def templates(source: str) -> list[str]:
    """Every message template in a check module's source: its string literals and f-strings
    with a word and a space, docstrings left out, in source order."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skipped.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.JoinedStr):  # the pieces of an f-string are not messages
            skipped.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant)
                                                and isinstance(node.value, str)):
            text = _template(node)
            if re.search(r"[A-Za-z]{2}", text) and " " in text.strip() and text not in found:
                found.append(text)
    return found


def all_templates() -> list[str]:
    """The templates of every check module, in file order."""
    return list(dict.fromkeys(t for path in SOURCES for t in templates(path.read_text(encoding="utf-8"))))


@functools.cache
def _catalog() -> dict[str, str]:
    return json.loads(CATALOG.read_text(encoding="utf-8")) if CATALOG.exists() else {}


@functools.cache
def _patterns() -> list[tuple[re.Pattern, list[str], str]]:
    """(regex matching a printed message, the fields in order, the Chinese template) for every
    template with fields."""
    found = []
    for english, chinese in _catalog().items():
        fields = FIELD.findall(english)
        if not fields or not chinese:
            continue
        pieces = FIELD.split(english)
        regex = "(.*?)".join(re.escape(p.replace("{{", "{").replace("}}", "}")) for p in pieces)
        found.append((re.compile(regex, re.S), fields, chinese, len("".join(pieces))))
    return [(regex, fields, chinese) for regex, fields, chinese, _ in found]


def translate(message: str, strict: bool = False) -> str:
    """`message` (English, as a check printed it) in Chinese. Unknown text stays English, or
    with strict=True raises KeyError naming it (the tests use that to keep the catalog whole)."""
    catalog = _catalog()
    plain = message.replace("{", "{{").replace("}", "}}")
    if catalog.get(plain):
        return catalog[plain]
    matches = [(match, fields, chinese) for regex, fields, chinese in _patterns()
               if (match := regex.fullmatch(message)) is not None]
    if matches:  # the most specific template: the most fixed text
        match, fields, chinese = max(matches, key=lambda m: len(FIELD.sub("", m[0].re.pattern)))
        values = dict(zip(fields, (_translate_value(v, strict) for v in match.groups()), strict=True))
        return FIELD.sub(lambda m, values=values: values.get(m.group(0), m.group(0)), chinese)
    if strict and PROSE.search(message):
        raise KeyError(f"no Chinese for the check message {message!r}: add it to {CATALOG.name} "
                       "(python -m exercises.i18n lists what is missing)")
    return message


def _translate_value(value: str, strict: bool) -> str:
    """A field's value: a message of its own is translated, anything else (a number, a shape,
    a name, a repr) is kept; with strict=True, English prose left untranslated raises."""
    try:
        return translate(value, strict=True)
    except KeyError:
        if strict and PROSE.search(value) and value[:1] not in "'\"[(":  # a repr stays as is
            raise
        return value


def space() -> str:
    """What separates two sentences: a space in English, nothing after Chinese punctuation."""
    return " " if language() == "en" else ""


def say(message: str) -> str:
    """`message` in the edition's language (helpers.language): as is in English, else
    translated."""
    return message if language() == "en" else translate(message)


def main() -> None:
    """Bring the catalog up to date: every template of the check modules is a key (new ones
    with an empty translation), keys no module uses any more are dropped; list the empty ones."""
    catalog = _catalog()
    updated = {t: catalog.get(t, "") for t in all_templates()}
    CATALOG.write_text(json.dumps(updated, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    missing = [t for t, zh in updated.items() if not zh]
    print(f"{CATALOG}: {len(updated)} messages, {len(missing)} without Chinese")
    for t in missing:
        print("  ", t)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
