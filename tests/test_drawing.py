"""Charts drawn in a process of their own (workbench.present.drawing): the same SVG, in the order asked,
the same error for a refused spec, and drawn in-process when the process is gone."""

from __future__ import annotations

import polars as pl
import pytest
import vl_convert as vlc

from workbench.present import charts
from workbench.present.drawing import Drawer

TABLE = pl.DataFrame({"indicator": ["contacts"] * 3, "period": ["2025-Q4"] * 3, "sex": [None, "female", "male"],
                      "value": [30.0, 18.0, 12.0], "numerator": [30, 18, 12], "denominator": [None] * 3,
                      "flag": [None] * 3}, schema_overrides={"sex": pl.String, "denominator": pl.Int64,
                                                              "flag": pl.String})


def _charts() -> list:
    """Charts that differ (values, language, kind), so a swapped answer would show."""
    out = [charts.breakdown_chart(TABLE.with_columns(value=pl.col("value") + i), "contacts", "sex", lang)
           for i, lang in enumerate(("fr", "en", "ar", "nl"))]
    series = TABLE.filter(pl.col("sex").is_null()).vstack(
        TABLE.filter(pl.col("sex").is_null()).with_columns(period=pl.lit("2025-Q3"), value=pl.lit(25.0)))
    out.append(charts.trend_chart(series.sort("period"), "contacts", "fr"))
    return out


@pytest.fixture
def drawer():
    d = Drawer()
    yield d
    d.close()


def test_charts_drawn_in_the_process_are_the_same_bytes_in_the_order_asked(drawer):
    langs = ["fr", "en", "ar", "nl", "fr"]
    expected = [charts.to_svg(c, lang) for c, lang in zip(_charts(), langs)]  # in-process
    assert len(set(expected)) == len(expected)
    pending = [charts.draw(c, lang, renderer=drawer) for c, lang in zip(_charts(), langs)]  # all handed over
    got = [p() for p in reversed(pending)][::-1]  # asked for last first: each still gets its own
    assert got == expected
    assert not drawer.failed


def test_a_refused_spec_raises_the_same_error_as_in_process(drawer):
    bad = {"data": {"values": [{"x": 1}]}, "mark": "no-such-mark",
           "encoding": {"x": {"field": "x", "type": "quantitative"}}}
    with pytest.raises(Exception) as in_process:
        vlc.vegalite_to_svg(bad, format_locale="fr-FR")
    with pytest.raises(type(in_process.value)) as drawn:
        charts.draw(bad, "fr", renderer=drawer)()
    assert str(drawn.value) == str(in_process.value) and "conversion failed" in str(drawn.value)
    # the process goes on drawing after a refusal
    chart = _charts()[0]
    assert charts.draw(chart, "fr", renderer=drawer)() == charts.to_svg(chart, "fr") and not drawer.failed


def test_charts_are_drawn_in_process_when_the_process_is_gone(drawer):
    chart = _charts()[1]
    drawer._proc.kill()
    drawer._proc.wait()
    assert charts.draw(chart, "en", renderer=drawer)() == charts.to_svg(chart, "en")
    assert drawer.failed  # from now on drawn here
    assert charts.draw(chart, "en", renderer=drawer)() == charts.to_svg(chart, "en")


def test_a_drawer_that_cannot_start_draws_in_process(tmp_path):
    d = Drawer([str(tmp_path / "no-such-program")])
    chart = _charts()[2]
    assert d.failed
    assert charts.draw(chart, "ar", renderer=d)() == charts.to_svg(chart, "ar")


def test_a_chart_drawn_in_the_process_is_kept_and_read_back(drawer, tmp_path):
    chart = _charts()[3]
    first = charts.draw(chart, "nl", tmp_path, renderer=drawer)()
    kept, = tmp_path.glob("*.svg")
    assert kept.read_text(encoding="utf-8") == first == charts.to_svg(chart, "nl")
    drawer.close()  # read back: the process is not asked
    assert charts.draw(chart, "nl", tmp_path, renderer=drawer)() == first


def test_a_drawing_process_that_ends_is_reaped_at_once(drawer):
    """A kernel ending its children at shutdown (ipykernel) waits, by steps up to seconds, while one is
    left, even a zombie: the reader reaps the process as soon as it ends."""
    import os
    import signal

    import psutil

    os.kill(drawer._proc.pid, signal.SIGTERM)  # as ipykernel ends its children
    drawer._reader.join(timeout=30)
    assert not drawer._reader.is_alive() and drawer._proc.returncode is not None and drawer.failed
    assert drawer._proc.pid not in {p.pid for p in psutil.Process().children(recursive=True)}
    chart = _charts()[0]
    assert charts.draw(chart, "fr", renderer=drawer)() == charts.to_svg(chart, "fr")  # drawn here since


def test_charts_are_drawn_in_the_kernel_where_every_core_is_busy(monkeypatch):
    """A batch rendering as many reports at once as there are cores sets IN_KERNEL for its workers'
    kernels: no drawing process is started, the same bytes are drawn in-process."""
    from workbench.present import drawing

    monkeypatch.setenv(drawing.IN_KERNEL, "1")
    assert drawing.shared() is None
    chart = _charts()[0]
    assert charts.draw(chart, "fr", renderer=drawing.shared())() == charts.to_svg(chart, "fr")
