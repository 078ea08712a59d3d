"""``import workbench as wb``: a small, lazily imported API whose docstring examples run on the demo extract."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

import workbench

FRONT_DOOR_MODULES = ("workbench", "workbench.present.quick")
HEAVY = ("polars", "altair", "numpy", "great_tables", "papermill", "vl_convert", "voila", "nbconvert")


@pytest.fixture(scope="module")
def demo_extract(tmp_path_factory):
    return workbench.demo(tmp_path_factory.mktemp("front") / "demo", persons=600)


def test_import_workbench_imports_nothing_heavy():
    code = ("import sys, workbench; import workbench.exceptions, workbench.resources; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_a_front_door_name_imports_its_module_on_first_use():
    code = ("import sys, workbench as wb; before = 'polars' in sys.modules; f = wb.compute; "
            "print(before, 'polars' in sys.modules, f.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "workbench.disclosure.figures"]


@pytest.mark.parametrize("name", sorted(workbench.FRONT_DOOR))
def test_every_front_door_name_resolves_to_its_target(name):
    module, attribute = workbench.FRONT_DOOR[name]
    assert getattr(workbench, name) is getattr(importlib.import_module(module), attribute)
    assert name in dir(workbench) and name in workbench.__all__
    assert getattr(workbench, name).__doc__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'compuet'"):
        workbench.compuet  # noqa: B018


@pytest.mark.parametrize("module_name", FRONT_DOOR_MODULES)
def test_docstring_examples_run_on_the_demo_extract(module_name, demo_extract):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, module_name, globs={"demo_extract": demo_extract})
             if t.examples and (t.name == module_name or t.name.split(".")[-1] in workbench.FRONT_DOOR)]
    assert tests, f"no examples in {module_name}"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 4
    assert result.failed == 0
