"""How much of a table its protection changed: cells withheld, categories grouped, cells rounded."""

from __future__ import annotations

from workbench.disclosure.flags import HIDDEN


def protection_summary(table) -> dict[str, int]:
    """Counts for one protected table (an :class:`~workbench.disclosure.IndicatorTable`).

    ``withheld``: cells whose figure is not shown (``< k``, ``[c]``, ``[p]``); ``grouped``:
    categories grouped into ``other`` (or left out of a breakdown where a person can count in
    several categories); ``rounded``: counts shown rounded; ``shown``: figures shown.
    """
    frame = table.frame
    units = {i.id: i.unit for i in table.catalogue} if table.catalogue is not None else {}
    withheld = frame.filter(frame["flag"].is_in(list(HIDDEN))).height if frame.height else 0
    shown = frame.filter(frame["value"].is_not_null()).height if frame.height else 0
    rounded = 0
    if getattr(table, "base", None):
        rounded = sum(1 for ind, v in zip(frame["indicator"], frame["value"])
                      if v is not None and units.get(ind, "count") == "count")
    return {"shown": shown, "withheld": withheld, "grouped": int(getattr(table, "grouped", 0)), "rounded": rounded}
