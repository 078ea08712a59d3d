"""The organisation's settings for its forms (``workbench form SETTINGS.yaml``): its code and name,
its sites, partners and centres, the languages of the labels, and the questions that identify a
person (by default the organisation's file number, pseudonymised in the mapping). Every problem is
collected before the file is refused."""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.exceptions import MappingError
from workbench.extract import files as readers
from workbench.prepare.mapping.load import _Loader

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Languages of the labels a form can carry (the text catalogue's languages).
#: Languages of a form; Arabic and Dutch questions show the French text until forms.yaml has theirs.
LANGUAGE_NAMES = {"fr": "Français (fr)", "en": "English (en)", "ar": "العربية (ar)", "nl": "Nederlands (nl)"}
_KEYS = ("organisation", "label", "sites", "partners", "centres", "languages", "person_key")


@dataclass(frozen=True)
class FormSpec:
    """What an organisation declares for its forms. ``person_key`` maps each question that
    identifies a person to its labels; they are joined into the person's keyed pseudonym and never
    reach the extract."""

    organisation: str
    label: str | None = None
    sites: dict[str, str] = field(default_factory=dict)
    partners: dict[str, str] = field(default_factory=dict)
    centres: dict[str, str] = field(default_factory=dict)
    languages: tuple[str, ...] = ("fr", "en")
    person_key: dict[str, dict[str, str]] = field(default_factory=lambda: {"file_number": {}})


def parse_spec(data: Any, name: str = "settings") -> FormSpec:
    """Check the form settings given as data; :class:`MappingError` lists every problem."""
    problems: list[str] = []
    if not isinstance(data, MappingABC):
        raise MappingError(f"{name}: expected keys {', '.join(_KEYS)} (see docs/forms.md).")
    for key in data:
        if key not in _KEYS:
            problems.append(f"unknown key '{key}' (keys: {', '.join(_KEYS)})")
    organisation = data.get("organisation")
    if not isinstance(organisation, str) or not re.match(r"^[a-z0-9][a-z0-9_]*$", organisation):
        problems.append("organisation: a short code in lower-case letters, digits and _ is required")
    lists: dict[str, dict[str, str]] = {}
    for key in ("sites", "partners", "centres"):
        value = data.get(key) or {}
        if not isinstance(value, MappingABC):
            problems.append(f"{key}: must map codes to labels, e.g. {{tunis_centre: Tunis — centre}}")
            value = {}
        lists[key] = {readers.normalise_code(str(k)): str(v) for k, v in value.items()}
    if not lists["sites"]:
        problems.append("sites: at least one site is needed (persons and visits are registered at a site)")
    languages = data.get("languages", ["fr", "en"])
    if not isinstance(languages, list) or not languages or any(lang not in LANGUAGE_NAMES for lang in languages):
        problems.append(f"languages: a list of {', '.join(LANGUAGE_NAMES)}")
        languages = ["fr", "en"]
    key = data.get("person_key", {"file_number": {}})
    if isinstance(key, list):
        key = {k: {} for k in key}
    if not isinstance(key, MappingABC) or not key or not all(isinstance(k, str) and _CODE.match(k) for k in key):
        problems.append("person_key: the questions that identify a person (lower-case names), e.g. [file_number]")
        key = {"file_number": {}}
    labels = {}
    for k, v in key.items():
        if v is not None and not isinstance(v, MappingABC):
            problems.append(f"person_key.{k}: labels by language, e.g. {{fr: Numéro, en: Number}}")
            v = {}
        labels[str(k)] = {str(lang): str(text) for lang, text in (v or {}).items()}
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise MappingError(f"{name}: {len(problems)} problem{'s' if len(problems) > 1 else ''} in the form "
                           f"settings (see docs/forms.md):\n{listed}")
    return FormSpec(organisation=organisation, label=str(data["label"]) if data.get("label") else None,
                    sites=lists["sites"], partners=lists["partners"], centres=lists["centres"],
                    languages=tuple(languages), person_key=labels)


def load_spec(path: str | Path) -> FormSpec:
    path = Path(path)
    try:
        text, _ = readers.decode(path.read_bytes())
    except FileNotFoundError:
        raise MappingError(f"{path}: no such settings file.") from None
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read ({exc.strerror}).") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass (no yes/no booleans)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise MappingError(f"{path.name}: not valid YAML{where}.") from None
    return parse_spec(data, path.name)
