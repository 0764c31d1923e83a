"""Helpers for the data tests: run a tools/prepare_data script in-process."""
import importlib.util
import os

from _foundation_helpers import REPO, error_lines

_TOOLS = {}


def run_data_tool(name, argv, capsys):
    """``tools/prepare_data/<name>.py`` with ``argv`` under ``run_cli``, in
    this process (no interpreter start, no second mmpretrain import).

    Returns:
        (exit code, stdout, the stderr lines that are not warnings).
    """
    from openselfsup.utils import run_cli
    if name not in _TOOLS:
        spec = importlib.util.spec_from_file_location(
            f'_tool_{name}', os.path.join(REPO, 'tools', 'prepare_data',
                                          f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _TOOLS[name] = module
    capsys.readouterr()
    code = run_cli(_TOOLS[name].main, argv)
    out, err = capsys.readouterr()
    return code, out, error_lines(err)


def refused_before_writing(name, argv, capsys, root, line):
    """``run_data_tool`` refuses in the one line ``error: <line>`` and
    writes no ``<root>/meta``."""
    code, _, lines = run_data_tool(name, argv, capsys)
    assert code == 2 and lines == [f'error: {line}'], lines
    assert not (root / 'meta').exists()
