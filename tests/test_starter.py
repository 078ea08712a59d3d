"""``workbench notebook``: a researcher's own notebook, copied from the starter and wired to an extract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench import resources
from workbench.extract import demo

WORKBENCH = str(Path(sys.executable).with_name("workbench"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("research")
    demo.write(root / "data" / "demo", persons=400)
    return root


def parameters(nb: Path) -> str:
    cells = json.loads(nb.read_text())["cells"]
    (cell,) = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    return "".join(cell["source"])


def test_the_command_writes_a_starter_that_runs_on_the_extract(folder):
    import papermill

    before = resources.packaged("notebooks", "starter.ipynb").read_bytes()
    done = subprocess.run([WORKBENCH, "notebook", "mine.ipynb", "--extract", "data/demo"], cwd=folder,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    nb = folder / "mine.ipynb"
    assert 'EXTRACT = "data/demo"' in parameters(nb)  # relative: the folder can move with its notebook
    assert resources.packaged("notebooks", "starter.ipynb").read_bytes() == before
    out = folder / "mine-run.ipynb"
    papermill.execute_notebook(str(nb), str(out), cwd=str(folder), progress_bar=False, kernel_name="python3")
    cells = json.loads(out.read_text())["cells"]
    shown = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in shown if o["output_type"] == "error"]
    assert any("gt_table" in "".join(o.get("data", {}).get("text/html", "")) for o in shown)  # a formatted table


def test_the_command_refuses_what_it_must_not_write(folder):
    (folder / "taken.ipynb").write_text("{}")
    for target in ("taken.ipynb", "notes.txt", str(resources.packaged("notebooks", "mine.ipynb"))):
        done = subprocess.run([WORKBENCH, "notebook", target], cwd=folder, capture_output=True, text=True)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, target
    assert (folder / "taken.ipynb").read_text() == "{}"
    assert not resources.packaged("notebooks", "mine.ipynb").exists()
    outside = folder.parent / "elsewhere-demo"
    demo.write(outside, persons=50)
    done = subprocess.run([WORKBENCH, "notebook", "far.ipynb", "--extract", str(outside)], cwd=folder,
                          capture_output=True, text=True)
    assert done.returncode == 0 and f'EXTRACT = "{outside.as_posix()}"' in parameters(folder / "far.ipynb")


def test_the_explore_template_is_no_place_to_write():
    cells = json.loads(resources.packaged("notebooks", "explore.ipynb").read_text())["cells"]
    assert "workbench notebook" in "".join(cells[-1]["source"])
    code = [c for c in cells if c["cell_type"] == "code"]
    last = "".join(code[-1]["source"])
    assert "explorer" in last  # the last output of the template is no raw dataframe
