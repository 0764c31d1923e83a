"""One-line errors for bad input.

Library code raises :class:`InputError` with a message that names the file
(and line) and the problem. Command-line scripts wrap their ``main`` with
:func:`run_cli`, which prints that one line to stderr and exits non-zero
instead of showing a traceback from deep inside numpy or torch.
"""
import sys
from typing import Callable, Optional, Sequence


class InputError(Exception):
    """Bad input from the user: a file, a flag, a config value.

    The message is a single line that names what is wrong and, where there is
    one, the command that fixes it.
    """


def first_line(exc: BaseException, with_type: bool = False) -> str:
    """The first line of ``exc``'s message (its type name if empty), after
    ``'<type name>: '`` with ``with_type``: for library errors quoted
    inside a one-line refusal."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    return f'{type(exc).__name__}: {lines[0]}' if with_type else lines[0]


def one_line(exc: BaseException) -> str:
    """The one-line message of ``exc``.

    An InputError raised inside a DataLoader worker reaches the main process
    re-raised with the worker's traceback in its message; its last line is
    ``openselfsup.utils.errors.InputError: <the original message>``.
    """
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    if len(lines) == 1:
        return lines[0]
    prefix = f'{InputError.__module__}.{InputError.__qualname__}: '
    last = lines[-1].strip()
    return last[len(prefix):] if last.startswith(prefix) else last


def run_cli(main: Callable[[Optional[Sequence[str]]], Optional[int]],
            argv: Optional[Sequence[str]] = None) -> int:
    """Run ``main(argv)``; turn an :class:`InputError` into one stderr line.

    Args:
        main: the script's entry point; returns an exit code or None.
        argv: arguments without the program name (None: ``sys.argv[1:]``).

    Returns:
        int: the exit code: ``main``'s, 0 for None, 2 for an InputError,
        130 for Ctrl-C.
    """
    try:
        code = main(argv)
    except InputError as exc:
        print(f'error: {one_line(exc)}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except Exception as exc:
        if not _interrupted(exc):
            raise
        # a library's bare ``except:`` turned Ctrl-C into another error
        # (MMEngine's config formatting raises SyntaxError)
        print('interrupted', file=sys.stderr)
        return 130
    return 0 if code is None else int(code)


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while handling a Ctrl-C."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
