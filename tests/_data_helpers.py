"""Helpers for the data tests: run a tools/prepare_data script in-process."""
from _foundation_helpers import error_lines, tool_module


def run_data_tool(name, argv, capsys):
    """``tools/prepare_data/<name>.py`` with ``argv`` under ``run_cli``, in
    this process (no interpreter start, no second mmpretrain import).

    Returns:
        (exit code, stdout, the stderr lines that are not warnings).
    """
    from openselfsup.utils import run_cli
    main = tool_module(f'tools/prepare_data/{name}.py').main
    capsys.readouterr()
    code = run_cli(main, argv)
    out, err = capsys.readouterr()
    return code, out, error_lines(err)


def refused_before_writing(name, argv, capsys, root, line):
    """``run_data_tool`` refuses in the one line ``error: <line>`` and
    writes no ``<root>/meta``."""
    code, _, lines = run_data_tool(name, argv, capsys)
    assert code == 2 and lines == [f'error: {line}'], lines
    assert not (root / 'meta').exists()
