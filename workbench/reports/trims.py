"""What a report section leaves out: the periods before the extract's first data (trend charts),
the categories beyond the largest (bar charts); and the warm-up of the rendering libraries."""

from __future__ import annotations

import polars as pl


def from_first_data(series: pl.DataFrame) -> pl.DataFrame:
    """A trend series from its first period with data: the periods before the extract's data starts
    (every figure zero or empty, nothing withheld) are not plotted as zeros. The last period stays."""
    if series.height == 0 or "period" not in series.columns:
        return series
    has_data = (pl.col("value").fill_null(0) != 0) | pl.col("flag").is_in(["suppressed", "withheld",
                                                                            "small_population"])
    periods = series["period"].unique(maintain_order=True).to_list()
    with_data = set(series.filter(has_data)["period"].to_list())
    first = next((i for i, p in enumerate(periods) if p in with_data), len(periods) - 1)
    return series.filter(pl.col("period").is_in(periods[first:]))


def _top(figures: pl.DataFrame, indicator: str, by: str, top: int | None) -> pl.DataFrame:
    """The total and the ``top`` largest categories of one breakdown (for a readable chart)."""
    rows = figures.filter((pl.col("indicator") == indicator) & pl.col(by).is_not_null())
    if top is None or rows.height <= top:
        return figures
    keep = (rows.with_row_index("_i").sort([pl.col("value").is_null(), pl.col("value"), pl.col("_i")],
                                          descending=[False, True, False])
            .head(top)[by].to_list())
    return figures.filter((pl.col("indicator") != indicator) | pl.col(by).is_null() | pl.col(by).is_in(keep))


def _warm_up(engine: bool = False) -> None:
    """Read the text catalogue and import the chart and table libraries while the extract loads (the
    title and the first chart would otherwise wait for them); vl-convert's engine starts in the
    report's drawing process (:mod:`workbench.present.drawing`), or here with ``engine`` (charts drawn
    in the kernel). Output is unaffected."""
    try:
        from workbench.present import texts

        texts.catalogue()  # read once per process (cached), parsed here while the extract is read
        import altair  # noqa: F401
        import great_tables  # noqa: F401
        if engine:
            from workbench.present.drawing import WARM_SPEC, draw_here

            draw_here(WARM_SPEC)
    except Exception:  # pragma: no cover - the real calls report any problem
        pass
