"""Publishing output folders and the command line's errors: one line, exit code from the class."""

from __future__ import annotations

import errno
import pathlib

import pytest
from click.testing import CliRunner

from workbench import resources
from workbench.cli.main import main as cli
from workbench.exceptions import FileSystemError, OutputFolderError
from workbench.publish import publishing

PARAMS = str(resources.packaged("parameters") / "activity_report.yaml")


def test_publishing_swaps_in_and_keeps_the_old_folder_on_failure(tmp_path):
    target = tmp_path / "run"
    with publishing(target, "manifest.json") as folder:
        (folder / "manifest.json").write_text("1")
    with pytest.raises(RuntimeError):
        with publishing(target, "manifest.json") as folder:
            (folder / "manifest.json").write_text("2")
            raise RuntimeError("a cell failed")
    assert (target / "manifest.json").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left


def test_publishing_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(OutputFolderError, match="mine.*no manifest.json"):
        with publishing(tmp_path / "mine", "manifest.json") as folder:
            (folder / "manifest.json").write_text("{}")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def _run(args, **kwargs):
    result = CliRunner().invoke(cli, args, **kwargs)
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (OSError,)) or isinstance(result.exception, SystemExit)
    return result


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def _disk_full(monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    monkeypatch.setattr(pathlib.Path, "write_bytes", full)


def _unreadable(monkeypatch, name: str):
    real = pathlib.Path.read_text

    def denied(self, *args, **kwargs):
        if self.name == name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", denied)


def _case_disk_full(tmp_path, monkeypatch, extract_dir):
    _disk_full(monkeypatch)
    return ["indicators", str(extract_dir), "-p", "2024", "-o", str(tmp_path / "out.csv")], "out.csv", "free some space"


def _case_output_is_a_file(tmp_path, monkeypatch, extract_dir):
    (tmp_path / "taken").write_text("a file")
    return (["indicators", str(extract_dir), "-p", "2024", "-o", str(tmp_path / "taken" / "out.csv")], "taken",
            "a file is where a folder is expected")


def _case_render_output_is_a_file(tmp_path, monkeypatch, extract_dir):
    (tmp_path / "taken").write_text("a file")
    return (["render", PARAMS, "--set", f"extract={extract_dir}", "--set", "period=2024-Q4", "--output-dir",
             str(tmp_path / "taken" / "sub")],
            "taken", "a file is where a folder is expected")


def _case_unreadable(tmp_path, monkeypatch, extract_dir):
    params = tmp_path / "mine.yaml"
    params.write_text(f"report: activity_report\nextract: {extract_dir}\nperiod: 2024-Q1\n")
    _unreadable(monkeypatch, "mine.yaml")
    return ["render", str(params)], "mine.yaml", "Permission denied"


def _case_render_into_foreign_folder(tmp_path, monkeypatch, extract_dir):
    foreign = tmp_path / "out" / "activity_report" / "2024-Q4" / "activity_report"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("not a report")
    return (["render", PARAMS, "--set", f"extract={extract_dir}", "--set", "period=2024-Q4", "--output-dir",
             str(tmp_path / "out")],
            "activity_report", "no manifest.json")


@pytest.mark.parametrize("case", [_case_disk_full, _case_output_is_a_file, _case_render_output_is_a_file,
                                  _case_unreadable, _case_render_into_foreign_folder],
                         ids=lambda c: c.__name__[6:])
def test_error_table(case, tmp_path, monkeypatch, valid_extract):
    args, where, what = case(tmp_path, monkeypatch, valid_extract)
    result = _run(args)
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert where in line and what in line, line
    if case is _case_render_into_foreign_folder:
        notes = tmp_path / "out" / "activity_report" / "2024-Q4" / "activity_report" / "notes.txt"
        assert notes.read_text() == "not a report"


def test_exit_codes_live_on_the_classes():
    from workbench.exceptions import from_os_error

    assert OutputFolderError.exit_code == FileSystemError.exit_code == 2
    error = from_os_error(OSError(errno.ENOSPC, "No space left on device", "/x/y.csv"))
    assert isinstance(error, FileSystemError) and str(error).startswith("/x/y.csv: No space left on device;")


def test_render_with_a_relative_output_folder(tmp_path, monkeypatch, report_extract):
    """From a working folder, ``--output-dir out`` gets the HTML, the PDF (Chromium) and the XLSX."""
    monkeypatch.chdir(tmp_path)
    result = _run(["render", PARAMS, "--set", f"extract={report_extract}", "--output-dir", "out"])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "out" / "activity_report").glob("*/activity_report")
    for suffix in (".html", ".pdf", ".xlsx"):
        (path,) = run.glob(f"*{suffix}")
        assert path.stat().st_size > 0
    assert (run / "manifest.json").is_file()
