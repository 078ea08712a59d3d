"""The data-quality report's sections: rows per table, quarantine by rule and column, dates out of
order, completeness — counts only, never a value (mixed into :class:`workbench.reports.sections.Report`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from workbench.present import cells, labels
from workbench.present.texts import section, text
from workbench.reports.blocks import Block, _e, _payload_table


class QualitySections:
    """Sections of the data-quality report; the host class gives ``extract``, ``audience``, ``period``,
    ``lang``, ``k`` and ``_block``."""

    def quality_tables(self) -> Block:
        """Rows read, accepted and quarantined per table (suppressed for a shared audience)."""
        from workbench.reports import quality
        from workbench.present.tables import text_table, to_html

        frame = quality.table_rows(self.extract, self.audience, self.period.code)
        lang = self.lang
        out = []
        for name in dict.fromkeys(frame["table"].to_list()):
            rows = {(r["status"], r["rule"]): r for r in frame.filter(pl.col("table") == name).iter_rows(named=True)}
            out.append({"table": text(f"report.tables.{name}", lang), "read": self._count(rows[(None, None)]),
                        "accepted": self._count(rows[("accepted", None)]),
                        "quarantined": self._count(rows[("quarantined", None)])})
        shown = pl.DataFrame(out, schema={c: pl.String for c in ("table", "read", "accepted", "quarantined")})
        notes = [text("report.text.quality_rows", lang)] + self._k_note(frame)
        gt = text_table(shown, self._columns(), text("report.headings.tables", lang), notes,
                        right=["read", "accepted", "quarantined"])
        return self._block("quality", to_html(gt), "rows per table", [_payload_table(frame, "current")])

    def quarantine(self) -> Block:
        """Quarantined rows by table, rule and column: counts, never values."""
        from workbench.reports import quality
        from workbench.present.tables import text_table, to_html

        lang = self.lang
        frame = quality.quarantine_by_column(self.extract, self.audience, self.period.code)
        heading = f"<h2 class=\"wb-heading\">{_e(text('report.headings.quarantine', lang))}</h2>"
        if frame.height == 0:
            body = f"<p>{_e(text('report.text.quality_none', lang))}</p>"
        else:
            shown = pl.DataFrame([{"table": text(f"report.tables.{r['table']}", lang), "rule": self._rule(r["rule"]),
                                   "column": r["column"], "rows": self._count(r)}
                                  for r in frame.iter_rows(named=True)],
                                 schema={c: pl.String for c in ("table", "rule", "column", "rows")})
            notes = [text("report.text.quality_values", lang)] + self._k_note(frame)
            body = to_html(text_table(shown, self._columns(), None, notes, right=["rows"]))
        return self._block("quarantine", heading + body, "quarantine by rule", [_payload_table(frame, "current")])

    def date_order(self) -> Block:
        """Each date-order rule of the contract and the rows it quarantined."""
        from workbench.reports import quality
        from workbench.present.tables import text_table, to_html

        lang = self.lang
        frame = quality.date_order(self.extract, self.audience, self.period.code)
        shown = pl.DataFrame([{"table": text(f"report.tables.{r['table']}", lang), "later": r["later"],
                               "earlier": r["earlier"], "rows": self._count(r)} for r in frame.iter_rows(named=True)],
                             schema={c: pl.String for c in ("table", "later", "earlier", "rows")})
        notes = self._k_note(frame)
        if frame.height and not (frame["numerator"].fill_null(1) > 0).any():
            notes = [text("report.text.quality_no_date_order", lang)] + notes
        gt = text_table(shown, self._columns(), None, notes, right=["rows"])
        heading = f"<h2 class=\"wb-heading\">{_e(text('report.headings.date_order', lang))}</h2>"
        return self._block("date-order", heading + to_html(gt), "dates out of order",
                           [_payload_table(frame, "current")])

    def completeness(self) -> Block:
        """Share of accepted rows where each contract column is filled in, per table."""
        from workbench.reports import quality
        from workbench.present.tables import text_table, to_html

        lang = self.lang
        frame = quality.completeness(self.extract)
        yes, no = labels.code_label("", "true", lang), labels.code_label("", "false", lang)
        shown = frame.select(
            pl.col("table").replace_strict({t: text(f"report.tables.{t}", lang) for t in section("report.tables")}),
            "column", pl.when(pl.col("required")).then(pl.lit(yes)).otherwise(pl.lit(no)).alias("required"),
            pl.col("rows").map_elements(lambda v: labels.format_count(v, lang), return_dtype=pl.String),
            pl.col("filled").map_elements(lambda v: labels.format_count(v, lang), return_dtype=pl.String),
            pl.col("share").map_elements(lambda v: labels.format_value(v, "rate", lang), return_dtype=pl.String))
        gt = text_table(shown, self._columns(), None, [text("report.text.completeness_note", lang)],
                        right=["rows", "filled", "share"])
        heading = f"<h2 class=\"wb-heading\">{_e(text('report.headings.completeness', lang))}</h2>"
        return self._block("completeness", heading + to_html(gt), "completeness by column")

    def _count(self, row: Mapping[str, Any]) -> str:
        return cells.cell(row["value"], row["flag"], "count", self.lang, self.k)

    def _k_note(self, frame: pl.DataFrame) -> list[str]:
        return cells.legends(frame["flag"].to_list(), self.lang, self.k)

    def _rule(self, rule: str) -> str:
        return text(f"report.rules.{rule}", self.lang) if rule in section("report.rules") else rule

    def _columns(self) -> dict[str, str]:
        return {k: v[self.lang] for k, v in section("report.columns").items()}
