"""Recurring reports: parameter files, notebook sections, rendering, schedules and diffs."""

from workbench.reports.runs import (Outcome, Run, batch, demo_parameter_files, ensure_kernel, injected, render,
                                      render_demo)

__all__ = ["Outcome", "Run", "batch", "demo_parameter_files", "ensure_kernel", "injected", "render", "render_demo"]
