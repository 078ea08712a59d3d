"""Process start-up: importing the workbench spares every process altair's slow IRI grammar."""

from __future__ import annotations

import os
import subprocess
import sys


def test_importing_workbench_then_altair_skips_the_iri_grammar():
    """jsonschema (through altair) would build ``rfc3987_syntax``'s grammar for seconds; the package's
    first module keeps it out of every process, and altair's validation still works."""
    script = ("import sys, workbench, altair as alt\n"
              "assert sys.modules.get('rfc3987_syntax') is None, 'the IRI grammar was imported'\n"
              "import jsonschema\n"
              "chart = alt.Chart({'values': [{'a': 1}]}).mark_bar().encode(x='a:Q')\n"
              "chart.to_dict(validate=True)\n"
              "try:\n"
              "    alt.Chart({'values': []}).mark_bar().encode(x='a:Nonsense').to_dict(validate=True)\n"
              "except Exception as exc:\n"
              "    print(type(exc).__name__)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()  # an invalid chart is still refused


def test_the_command_line_does_not_import_the_iri_grammar(tmp_path):
    script = ("import sys\n"
              "from workbench.cli.main import main\n"
              "import altair\n"
              "print(sys.modules.get('rfc3987_syntax'))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None"


def test_indicators_on_an_extract_validated_once_imports_no_validation_or_chart_library(valid_extract, tmp_path):
    """Validating an extract needs no schema library (dataframely, and numpy through it), and the figures
    of an extract read back from the validation cache need no chart library either (altair, jsonschema)."""
    env = dict(os.environ, WORKBENCH_CACHE=str(tmp_path / "cache"))
    out_csv = tmp_path / "figures.csv"
    script = ("import sys\n"
              "from workbench.cli.main import main\n"
              "try:\n"
              f"    main(['indicators', {str(valid_extract)!r}, '-p', '2024', '-b', 'sex', '-o', {str(out_csv)!r}])\n"
              "except SystemExit as exc:\n"
              "    assert exc.code in (0, 1, None), exc.code\n"
              "print(sorted(m for m in ('dataframely', 'numpy', 'altair', 'jsonschema') if m in sys.modules))\n")
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "[]"  # the first run validates
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "[]"
    assert out_csv.read_text(encoding="utf-8").startswith("indicator,")


def test_the_workbench_imported_first_gives_polars_allocator_one_arena_per_four_cores():
    """Set before polars is loaded, kept when given, without effect once polars is loaded."""
    from workbench import _arenas as arenas

    assert [arenas(n) for n in (1, 2, 4, 7, 8, 64)] == [1, 1, 1, 1, 2, 16]
    show = "import os; print(os.environ.get('_RJEM_MALLOC_CONF'))"
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}

    def run(code: str, **extra: str) -> str:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **extra})
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert run(f"import workbench; {show}") == f"narenas:{arenas()}"
    assert run(f"import workbench, polars; {show}").endswith(f",narenas:{arenas()}")  # after polars' own
    assert run(f"import workbench; {show}", _RJEM_MALLOC_CONF="narenas:3") == "narenas:3"
    assert "narenas" not in run(f"import polars, workbench; {show}")
