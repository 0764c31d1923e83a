"""A short console for a command that trains several runs (the lambda sweep).

Each MMEngine run writes its environment dump, its full config and a line
every ``logger.interval`` iterations to the console and to its log file;
four runs of a sweep printed some 2,000 lines, the sweep's own lines
among them. Inside :func:`short_console`, each runner built
(:class:`~openselfsup.engine.runner.AtomicRunner`) keeps its log file as
it is, and its console shows only warnings and errors, the lines logged
inside :func:`shown`, and one line per training epoch
(:class:`~openselfsup.engine.console.EpochLineHook`). MMEngine is not
changed: its console handler is given a filter (:func:`shorten`), taken
off again when the :func:`short_console` ends (before, it stayed on the
last run's logger, MMEngine's "current" one after the sweep, and later
INFO lines logged to it in the same process were not shown).
Standard library only: the sweep's command imports it before the model
stack.
"""
import contextlib
import logging
from typing import Iterator, List, Optional, Tuple

#: the labels of the runs being built with a short console, innermost last
#: (empty: every console as MMEngine sets it)
_SHORT: List[str] = []
#: set while the lines logged are shown on a short console (:func:`shown`)
_SHOWN: List[bool] = []
#: the filters :func:`shorten` gave handlers in each :func:`short_console`
#: (innermost last), taken off when it ends
_ADDED: List[List[Tuple[logging.Handler, logging.Filter]]] = []


class _ShortFilter(logging.Filter):
    """Lets a console handler show warnings and worse, and the records
    logged inside :func:`shown`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or bool(_SHOWN)


@contextlib.contextmanager
def short_console(label: str) -> Iterator[None]:
    """Runners built in the body have a short console; ``label`` names the
    run in its epoch lines (``lambda 0.3``). When it ends, the consoles
    it shortened are as MMEngine set them again."""
    _SHORT.append(label)
    _ADDED.append([])
    try:
        yield
    finally:
        _SHORT.pop()
        for handler, added in _ADDED.pop():
            handler.removeFilter(added)


def short_label() -> Optional[str]:
    """The label of the innermost :func:`short_console`, None outside."""
    return _SHORT[-1] if _SHORT else None


@contextlib.contextmanager
def shown() -> Iterator[None]:
    """What is logged in the body is shown on a short console too."""
    _SHOWN.append(True)
    try:
        yield
    finally:
        _SHOWN.pop()


def shorten(logger: logging.Logger) -> None:
    """Give ``logger``'s console handlers (its stream handlers that write
    no file) the filter of a short console; its file handler is left as it
    is. Inside :func:`short_console`, taken off when it ends."""
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and \
                not isinstance(handler, logging.FileHandler) and \
                not any(isinstance(f, _ShortFilter) for f in handler.filters):
            added = _ShortFilter()
            handler.addFilter(added)
            if _ADDED:
                _ADDED[-1].append((handler, added))


def _file_handlers(logger: Optional[logging.Logger]) -> list:
    """The handlers of ``logger`` that write a file (none where it is
    None)."""
    return [h for h in getattr(logger, 'handlers', ())
            if isinstance(h, logging.FileHandler)]


def log_file(logger: Optional[logging.Logger]) -> Optional[str]:
    """The file ``logger`` writes (MMEngine's ``<work_dir>/<timestamp>/
    <timestamp>.log``), None where it writes none (or is None)."""
    handlers = _file_handlers(logger)
    return handlers[0].baseFilename if handlers else None


def to_log_file(logger: Optional[logging.Logger], message: str,
                level: int = logging.WARNING) -> bool:
    """Write ``message`` to the file ``logger`` writes (:func:`log_file`:
    its file handlers) and to nothing else: a line the command also
    prints on stderr, which the console handler would repeat on stdout.

    ``level`` is the label the line carries (its level name in the file),
    not a threshold: neither the logger's level nor its handlers' (the
    config's ``log_level``) is applied, the line is written whatever they
    are (a WARNING line was dropped under ``log_level='ERROR'``), since
    it is a line that must reach the log; a caller whose line should
    follow ``log_level`` logs it as usual. The handlers' filters apply.
    False where ``logger`` writes no file: MMEngine's logger writes one
    on rank 0 alone, but under ``log_level='DEBUG'`` (or its own
    ``distributed=True``, which MMEngine's Runner does not set) every
    rank of a run of several processes writes one of its own
    (``<timestamp>_<user>@<host>_device<d>_rank<r>.log``, rank 0's
    too)."""
    handlers = _file_handlers(logger)
    if not handlers:
        return False
    record = logger.makeRecord(logger.name, level, '(unknown file)', 0,
                               message, None, None)
    for handler in handlers:
        handler.handle(record)  # its filters, not its level
    return True
