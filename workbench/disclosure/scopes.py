"""The selections published to outside audiences: the whole extract and the declared scopes.

A selection is one more link between tables: "all sites" minus "all sites but one" is that
site. So an outside audience receives the whole extract, or a *scope* declared in
``extract.yaml`` under ``scopes:`` (a name → its sites and/or centres, e.g. the services of
an organisation), and nothing else (:class:`~workbench.exceptions.UnpublishedSelectionError`).
"""

from __future__ import annotations

from workbench.exceptions import UnpublishedSelectionError
from workbench.selection import Selection


def declared(extract) -> dict[str, Selection]:
    """The scopes declared in ``extract.yaml``, as selections."""
    meta = getattr(extract, "meta", None)
    return {name: Selection(sites=tuple(spec.get("sites", ())), centres=tuple(spec.get("centres", ())))
            for name, spec in (getattr(meta, "scopes", None) or {}).items()}


def by_depth(extract) -> list[list[Selection]]:
    """The declared scopes, each once, by depth: a scope inside another declared scope (by its sites
    and centres) is one level deeper (the services, then the centres of a service)."""
    scopes: list[Selection] = []
    for scope in declared(extract).values():
        if scope not in scopes and not scope.is_empty:
            scopes.append(scope)
    members = {s: set(_members(s)) for s in scopes}
    depth: dict[Selection, int] = {}
    for s in sorted(scopes, key=lambda s: -len(members[s])):  # containers first
        inside = [t for t in depth if members[s] < members[t]]
        depth[s] = 1 + max((depth[t] for t in inside), default=0)
    layers: list[list[Selection]] = [[] for _ in range(max(depth.values(), default=0))]
    for s in scopes:
        layers[depth[s] - 1].append(s)
    return layers


def atoms(scopes: list[Selection]) -> list[Selection]:
    """The smallest parts ``scopes`` cut the extract into (sites and centres grouped by the scopes
    they belong to): any difference between them is a sum of atoms and of the rest of the extract."""
    signature: dict[tuple[str, str], frozenset] = {}
    for i, scope in enumerate(scopes):
        for member in _members(scope):
            signature[member] = signature.get(member, frozenset()) | {i}
    groups: dict[frozenset, list[tuple[str, str]]] = {}
    for member, names in sorted(signature.items()):
        groups.setdefault(names, []).append(member)
    return [Selection(sites=tuple(c for f, c in members if f == "sites"),
                      centres=tuple(c for f, c in members if f == "centres"))
            for _, members in sorted(groups.items(), key=lambda kv: sorted(kv[0]))]


def _members(scope: Selection) -> list[tuple[str, str]]:
    return [("sites", c) for c in scope.sites] + [("centres", c) for c in scope.centres]


def scope_of(extract, selection: Selection | None) -> str | None:
    """The name of the declared scope ``selection`` is (``None``: the whole extract)."""
    if selection is None or selection.is_empty:
        return None
    for name, scope in declared(extract).items():
        if scope == selection:
            return name
    return _refuse(extract, selection)


def require_scope(extract, selection: Selection | None, audience) -> str | None:
    """The declared scope of ``selection`` if the audience may receive it, else :class:`UnpublishedSelectionError`."""
    if not getattr(audience, "outside", False):
        return None
    return scope_of(extract, selection)


def _refuse(extract, selection: Selection):
    names = declared(extract)
    offer = "; ".join(f"{n} ({', '.join(s.sites + s.centres)})" for n, s in names.items()) or "none is declared"
    raise UnpublishedSelectionError(
        f"This selection ({_describe(selection)}) is not published "
        f"to outside audiences: they receive the whole extract or one of the scopes declared in extract.yaml "
        f"under 'scopes:' ({offer}). Choose the whole extract or a declared scope (sites/centres exactly as "
        f"declared), declare a new scope, or use the internal audience.")


def _describe(selection: Selection) -> str:
    from dataclasses import fields

    return ", ".join(f"{f.name}: {', '.join(getattr(selection, f.name))}" for f in fields(selection)
                     if getattr(selection, f.name))
