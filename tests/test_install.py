"""The package works installed from its wheel, not only from a checkout.

One wheel is built (``pip wheel --no-deps``) and installed into a fresh virtual
environment; ``workbench demo`` is then run from an unrelated folder. To stay fast the
dependencies are not downloaded again: the fresh environment sees the test
environment's site-packages through a ``.pth`` file (its own site-packages, holding the
wheel, comes first on ``sys.path``) and the Jupyter data files installed with them
(nbconvert's base templates) through ``JUPYTER_PATH``; ``pip check`` confirms that every
declared dependency is satisfied there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PERSONS = "300"


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT], cwd=out)
    assert done.returncode == 0, done.stderr[-2000:]
    (found,) = out.glob("workbench-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A fresh venv with the wheel installed; its ``bin`` folder and the environment to run it with."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, capture_output=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=venv).stdout.strip())
    deps = sysconfig.get_paths()["purelib"]
    (purelib / "_workbench_test_deps.pth").write_text(deps + "\n")
    done = _run([python, "-m", "pip", "install", "--no-deps", "-q", wheel], cwd=venv)
    assert done.returncode == 0, done.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    check = _run([python, "-m", "pip", "check"], cwd=venv, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    where = _run([python, "-c", "import workbench; print(workbench.__file__)"], cwd=venv, env=env)
    assert Path(where.stdout.strip()).is_relative_to(purelib), where.stdout + where.stderr
    return {"bin": venv / "bin", "env": env, "purelib": purelib}


def _tracked(pattern: str) -> set[str]:
    out = subprocess.run(["git", "ls-files", pattern], cwd=ROOT, capture_output=True, text=True, check=True)
    return {line for line in out.stdout.splitlines() if line}


@pytest.mark.slow
def test_wheel_holds_every_asset_and_yaml_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = _tracked("workbench/assets/**") | _tracked("workbench/**.yaml")
    assert wanted, "git ls-files found nothing: run from a checkout"
    assert {"workbench/assets/voila.json", "workbench/indicators/catalogue.yaml",
            "workbench/assets/templates/voila/templates/workbench/index.html.j2",
            "workbench/assets/parameters/mappings/kobo.yaml"} <= wanted
    assert sorted(wanted - names) == []


def _report_params(purelib: Path) -> dict[str, list[str]]:
    import yaml

    out = {}
    for path in sorted((purelib / "workbench" / "assets" / "parameters").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("report"):
            out[path.stem] = data.get("formats", ["html", "pdf", "xlsx"])
    return out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs the Debian Chromium for the PDF")
def test_installed_demo_renders_every_report(installed, tmp_path):
    done = _run([installed["bin"] / "workbench", "demo", "--persons", PERSONS, "--output", "demo",
                 "--reports", "out"], cwd=tmp_path, env=installed["env"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    expected = _report_params(installed["purelib"])
    assert len(expected) >= 4
    for stem, formats in expected.items():
        html = list((tmp_path / "out").glob(f"*/*/{stem}/*.html"))
        assert len(html) == 1, (stem, done.stdout[-2000:])
        assert html[0].stat().st_size > 10_000
        pdf = list(html[0].parent.glob("*.pdf"))
        assert len(pdf) == (1 if "pdf" in formats else 0), stem
        if pdf:
            assert pdf[0].read_bytes()[:5] == b"%PDF-"
    assert "PDF skipped" not in done.stdout


@pytest.mark.slow
def test_installed_demo_without_chromium_renders_html_and_excel(installed, tmp_path):
    env = {**installed["env"], "WORKBENCH_CHROMIUM": str(tmp_path / "no-such-browser")}
    done = _run([installed["bin"] / "workbench", "demo", "--persons", PERSONS, "--output", "demo",
                 "--reports", "out", "--jobs", "2"], cwd=tmp_path, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    skipped = [line for line in output.splitlines() if "PDF skipped" in line]
    assert len(skipped) == 1 and "no-such-browser" in skipped[0] and "make system-deps" in skipped[0], output
    for stem in _report_params(installed["purelib"]):
        folder = next((tmp_path / "out").glob(f"*/*/{stem}"))
        assert len(list(folder.glob("*.html"))) == 1
        assert len(list(folder.glob("*.xlsx"))) == 1
        assert list(folder.glob("*.pdf")) == []


@pytest.mark.slow
def test_installed_demo_without_parameter_files_is_an_error(installed, tmp_path):
    params = installed["purelib"] / "workbench" / "assets" / "parameters"
    hidden = params.with_name("parameters.hidden")
    shutil.move(params, hidden)
    try:
        done = _run([installed["bin"] / "workbench", "demo", "--persons", "50", "--output", "demo",
                     "--reports", "out"], cwd=tmp_path, env=installed["env"])
    finally:
        shutil.move(hidden, params)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "No example parameter files" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.html"))


# --------------------------------------------------------------------------- an organisation's own folder

def test_render_with_resources_uses_the_organisations_notebook(tmp_path):
    import json

    import nbformat
    from click.testing import CliRunner

    from workbench import resources
    from workbench.cli import main
    from workbench.extract import demo

    extract = demo.write(tmp_path / "demo", persons=200)
    own = tmp_path / "our-workbench"
    (own / "notebooks").mkdir(parents=True)
    nb = nbformat.read(resources.packaged("notebooks", "data_quality_report.ipynb"), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("from IPython.display import Markdown\nMarkdown(\"Note of our association\")"))
    nbformat.write(nb, own / "notebooks" / "data_quality_report.ipynb")
    params = tmp_path / "quality.yaml"
    params.write_text(f"report: data_quality_report\nextract: {extract}\nperiod: 2025-Q4\nformats: [html]\n")

    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["render", str(params), "--resources", str(own), "-o", str(out)])
    assert done.exit_code == 0, done.output
    (html,) = out.rglob("*.html")
    assert "Note of our association" in html.read_text()
    manifest = json.loads((html.parent / "manifest.json").read_text())
    from workbench.reports.outputs import sha256

    assert manifest["notebook"]["sha256"] == sha256(own / "notebooks" / "data_quality_report.ipynb")
    assert manifest["parameters"]["resources"] == str(own.resolve())

    # without --resources, the packaged notebook is used
    done = CliRunner().invoke(main, ["render", str(params), "-o", str(tmp_path / "packaged")])
    assert done.exit_code == 0, done.output
    (html,) = (tmp_path / "packaged").rglob("*.html")
    assert "Note of our association" not in html.read_text()


def test_a_missing_resources_folder_is_refused(tmp_path):
    from click.testing import CliRunner

    from workbench.cli import main

    done = CliRunner().invoke(main, ["render", "x.yaml", "--resources", str(tmp_path / "nowhere")])
    assert done.exit_code == 2 and "nowhere" in done.output and "does not exist" in done.output


def test_dashboards_served_from_the_organisations_folder(tmp_path):
    from workbench.dashboards import server

    own = tmp_path / "ours"
    (own / "notebooks" / "dashboards").mkdir(parents=True)
    (own / "templates").mkdir()
    ours = server.Server(tmp_path / "demo", port=1, resources=own)
    assert ours.command(tmp_path)[3] == str(own / "notebooks" / "dashboards")
    assert ours.environment()["JUPYTER_PATH"].split(os.pathsep)[0] == str(own / "templates")
    packaged = server.Server(tmp_path / "demo", port=1)
    assert packaged.command(tmp_path)[3] == str(server.notebooks_dir())
