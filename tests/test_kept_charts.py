"""Charts kept by their spec beside the validated extract: a chart drawn before is read back, the
same bytes; another language, another spec or a damaged file is drawn again."""

from __future__ import annotations

import polars as pl

from workbench.present import charts

TABLE = pl.DataFrame({"indicator": ["contacts"] * 3, "period": ["2025-Q4"] * 3, "sex": [None, "female", "male"],
                      "value": [30.0, 18.0, 12.0], "numerator": [30, 18, 12], "denominator": [None] * 3,
                      "flag": [None] * 3}, schema_overrides={"sex": pl.String, "denominator": pl.Int64,
                                                              "flag": pl.String})


def _drawn(monkeypatch) -> list[dict]:
    """Each spec vl-convert is asked to draw (the real vl-convert draws it)."""
    import vl_convert as vlc

    calls: list[dict] = []

    def draw(spec, **options):
        calls.append(spec)
        return vlc.vegalite_to_svg(spec, **options)

    monkeypatch.setattr(charts, "svg_renderer", draw)
    return calls


def test_a_kept_chart_is_read_back_the_same(tmp_path, monkeypatch):
    calls = _drawn(monkeypatch)
    chart = charts.breakdown_chart(TABLE, "contacts", "sex", "fr")
    first = charts.to_svg(chart, "fr", tmp_path)
    assert len(calls) == 1 and first == charts.to_svg(chart, "fr")  # kept or not, the same bytes
    assert len(calls) == 2
    again = charts.to_svg(chart, "fr", tmp_path)
    assert again == first and len(calls) == 2  # read back, not drawn
    assert [p.name.endswith(".svg") for p in tmp_path.iterdir()] == [True]
    # another language, another chart: drawn and kept beside it
    charts.to_svg(charts.breakdown_chart(TABLE, "contacts", "sex", "en"), "en", tmp_path)
    charts.to_svg(charts.breakdown_chart(TABLE.with_columns(value=pl.col("value") + 1), "contacts", "sex", "fr"),
                  "fr", tmp_path)
    assert len(calls) == 4 and len(list(tmp_path.glob("*.svg"))) == 3


def test_a_damaged_chart_is_drawn_again(tmp_path, monkeypatch):
    calls = _drawn(monkeypatch)
    chart = charts.breakdown_chart(TABLE, "contacts", "sex", "fr")
    first = charts.to_svg(chart, "fr", tmp_path)
    kept, = tmp_path.glob("*.svg")
    kept.write_text(first[: len(first) // 2], encoding="utf-8")  # half a file
    assert charts.to_svg(chart, "fr", tmp_path) == first and len(calls) == 2
    assert kept.read_text(encoding="utf-8") == first


def test_at_most_keep_charts_are_kept(tmp_path, monkeypatch):
    _drawn(monkeypatch)
    monkeypatch.setattr(charts, "KEEP_CHARTS", 2)
    for i in range(4):
        charts.to_svg(charts.breakdown_chart(TABLE.with_columns(value=pl.col("value") + i), "contacts", "sex"),
                      "fr", tmp_path)
    assert len(list(tmp_path.glob("*.svg"))) == 2
