"""What every dashboard part shares: the page's style sheet and small widget helpers."""

from __future__ import annotations

import ipywidgets as w

STYLE = """
<style>
.wb-dashboard { font-family: "DejaVu Sans", var(--jp-ui-font-family), sans-serif; color: #1a202c;
  max-width: 1180px; }
.wb-dashboard .widget-html-content { line-height: 1.35; }
html:has(.wb-dashboard.wb-rtl) { direction: rtl; }
.wb-dashboard.wb-rtl, .wb-dashboard.wb-rtl .widget-html-content, .wb-dashboard.wb-rtl .widget-label,
.wb-dashboard.wb-rtl table { direction: rtl; text-align: start; }
.wb-dashboard.wb-rtl td, .wb-dashboard.wb-rtl th { text-align: start; unicode-bidi: plaintext; }
.wb-dashboard.wb-rtl .widget-inline-hbox .widget-label { text-align: end; }
.wb-dashboard.wb-rtl svg { direction: ltr; }
.wb-header h1 { font-size: 1.5em; margin: 0 0 2px 0; font-weight: 600; }
.wb-header .wb-sub { color: #4a5568; font-size: 0.95em; }
.wb-badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 0.85em;
  background: #ebf8ff; color: #2c5282; margin-top: 4px; }
.wb-badge.wb-suppressed { background: #fefcbf; color: #744210; }
.wb-notice { background: #fffaf0; border-left: 4px solid #dd6b20; padding: 6px 10px; margin: 6px 0;
  font-size: 0.9em; }
.wb-error { background: #fff5f5; border-left: 4px solid #c53030; padding: 6px 10px; margin: 6px 0; }
.wb-tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0 4px 0; }
.wb-tile { flex: 1 1 160px; max-width: 190px; border: 1px solid #e2e8f0; border-radius: 6px;
  padding: 8px 10px; background: #fff; }
.wb-tile-label { font-size: 0.82em; color: #4a5568; min-height: 2.4em; line-height: 1.2em; }
.wb-tile-value { font-size: 1.7em; font-weight: 600; color: #2b6cb0; margin: 2px 0; }
.wb-tile-change { font-size: 0.78em; color: #4a5568; }
.wb-tile-na .wb-tile-value { color: #4a5568; font-size: 1.1em; }
.wb-section { font-size: 1.1em; font-weight: 600; margin: 14px 0 4px 0; border-bottom: 1px solid #e2e8f0;
  padding-bottom: 2px; }
.wb-scope { color: #4a5568; font-size: 0.9em; margin: 2px 0 6px 0; }
.wb-hint { color: #4a5568; font-size: 0.85em; }
.wb-warn { color: #9c4221; }
.wb-definition { color: #4a5568; font-size: 0.88em; max-width: 900px; }
.wb-chart { min-width: 300px; }
.wb-chart svg { max-width: 100%; height: auto; }
.wb-downloads a { display: inline-block; margin: 6px 8px 6px 0; padding: 4px 12px; border: 1px solid #2b6cb0;
  border-radius: 4px; color: #2b6cb0; text-decoration: none; font-size: 0.9em; }
.wb-downloads a:hover { background: #ebf8ff; }
.wb-link { font-size: 0.85em; }
.wb-row { gap: 12px 24px; align-items: flex-start; }
.wb-filters .widget-label { min-width: 0; }
.wb-about { margin: 4px 0; color: #2d3748; max-width: 900px; }
.wb-note { background: #f7fafc; border-left: 4px solid #4a5568; padding: 6px 10px; margin: 6px 0; font-size: 0.88em;
  max-width: 900px; }
.wb-chooser { border: 1px solid #e2e8f0; border-radius: 6px; padding: 4px 8px; margin: 4px 0; max-width: 100%;
  box-sizing: border-box; }
.wb-chooser-title { font-weight: 600; margin-right: 8px; }
.wb-chooser-head .widget-button { height: 26px; margin: 2px 4px 2px 0; }
.wb-chooser .wb-chooser-list { flex-flow: row wrap; max-height: 9em; overflow-y: auto; gap: 0 14px; }
.wb-chooser .wb-choice { width: auto; margin: 1px 0; }
.wb-chooser .wb-choice label { overflow: visible; }
.wb-summary, .wb-table-view { max-width: 100%; }
.wb-dashboard .jupyter-widget-Collapse-header { color: #1a202c; background: #edf2f7; }
.wb-dashboard .jupyter-widget-Collapse-header span { color: #1a202c; }
@media (max-width: 640px) {
  .wb-dashboard .widget-dropdown, .wb-dashboard .widget-datepicker, .wb-chooser { width: 100% !important; }
  .wb-dashboard .widget-dropdown > select { flex: 1 1 auto; min-width: 0; }
  .wb-tile { flex: 1 1 40%; max-width: none; }
  .wb-chart { min-width: 0; width: 100%; }
  .wb-header h1 { font-size: 1.25em; }
}
</style>
"""


def _html(value: str = "", cls: str = "") -> w.HTML:
    box = w.HTML(value=value)
    if cls:
        box.add_class(cls)
    return box


def _close(widget: w.Widget) -> None:
    """Close a widget and everything in it (their models leave the kernel and the page)."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


def _row(children) -> w.HBox:
    box = w.HBox(children, layout=w.Layout(flex_flow="row wrap"))
    box.add_class("wb-row")
    return box
