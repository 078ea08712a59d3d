"""The coordinator's own words in a report: commentary per section, with figures that cannot leak.

A parameter file names the commentary with ``narrative``: either a mapping of sections to
Markdown (in the report's language), or the path of a Markdown file beside it, where
``{lang}`` stands for the report's language (``narrative: commentary.{lang}.md``). A file is
split into sections by its level-two headings: ``## summary`` opens the report, ``## reception``
(a catalogue family or a heading of ``texts.yaml``) follows that section's heading.

Placeholders are filled with the report's own figures through the one cell presenter
(:mod:`workbench.present.cells`): ``{{ contacts }}`` is the period's figure, ``{{ contacts.change }}``
the change against the comparison period, ``{{ contacts.previous }}`` the comparison period's
figure. A withheld figure shows its mark ("< 5"), never its value, and its change is left out.
An unknown placeholder stops the report with its name and place. Markdown is rendered
without raw HTML (``markdown-it-py``): what the text says is shown, never run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workbench.exceptions import ParameterError

PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)(?:\.([a-z_]+))?\s*\}\}")
FIELDS = ("value", "change", "previous")
_SECTION = re.compile(r"^##\s+([A-Za-z0-9_]+)\s*$", re.MULTILINE)


def sections(value: Any, lang: str, base: str | Path = ".") -> dict[str, str]:
    """The commentary of ``narrative`` (a mapping, or a Markdown file's path) by section."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        if any(not isinstance(v, str) for v in value.values()):
            raise ParameterError("'narrative' must map sections to text (Markdown).")
        return {str(k): v for k, v in value.items()}
    path = Path(str(value).replace("{lang}", lang)).expanduser()
    path = path if path.is_absolute() else Path(base) / path
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"narrative: {path} cannot be read ({getattr(exc, 'strerror', None) or exc}).") \
            from None
    parts = _SECTION.split(content)
    if parts[0].strip():
        raise ParameterError(f"narrative: {path}: text before the first '## section' heading "
                             "(start each section with '## summary', '## reception'…).")
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def fill(markdown: str, figure: Callable[[str, str], str], where: str = "") -> str:
    """``markdown`` with its placeholders replaced by ``figure(indicator, field)``."""
    problems: list[str] = []

    def one(match: re.Match) -> str:
        name, field = match.group(1), match.group(2) or "value"
        if field not in FIELDS:
            problems.append(f"{{{{ {match.group(1)}.{field} }}}}: use .change or .previous")
            return ""
        try:
            return _escape(figure(name, field))
        except KeyError:
            problems.append(f"{{{{ {match.group(0)[2:-2].strip()} }}}}: no indicator '{name}'")
            return ""

    out = PLACEHOLDER.sub(one, markdown)
    if problems:
        raise ParameterError(f"narrative{where}: " + "; ".join(problems) + ".")
    return out


def _escape(shown: str) -> str:
    """A figure as Markdown text (a mark such as "< 5" or "[c]" stays literal)."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", shown)


def to_html(markdown: str) -> str:
    """Markdown as HTML, raw HTML escaped (CommonMark, tables; no HTML passes through)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").render(markdown)
