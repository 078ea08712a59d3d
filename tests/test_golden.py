"""nbval re-executes the golden report notebooks (tests/golden/README) and compares every output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def test_golden_notebooks_re_execute_identically(tmp_path):
    from conftest_reports import write_report_extract

    from workbench.extract import demo

    sys.path.insert(0, str(GOLDEN))
    try:
        from regenerate import GOLDEN_PERSONS
    finally:
        sys.path.remove(str(GOLDEN))
    write_report_extract(tmp_path / "demo", persons=GOLDEN_PERSONS)
    demo.network_beside(tmp_path / "demo")
    notebooks = sorted(GOLDEN.glob("*.ipynb"))
    assert len(notebooks) == 6
    for nb in notebooks:
        shutil.copy(nb, tmp_path / nb.name)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
         str(GOLDEN / "sanitize.cfg"), "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
         *[nb.name for nb in notebooks]],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
