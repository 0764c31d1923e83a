"""Progress bars that suit both a terminal and a log file.

On a terminal a bar is tqdm's own, redrawn in place with ``\\r``. The
scripts are documented to run piped to a log (``sh ... 2>&1 | tee
log.txt``), where each of those redraws (up to ten a second) became part of
one ever longer line: there a bar writes whole lines instead, at most one
every :data:`LOG_INTERVAL` seconds while it runs and one when it closes, so
a ``tail -f`` of a long run shows it is alive and a short run adds a line.
(Imports tqdm: import this module explicitly, it is not in ``utils``.)
"""
import sys

from tqdm import tqdm

#: seconds between two lines of a bar written to something not a terminal
LOG_INTERVAL = 30.0


class LogLinesBar(tqdm):
    """tqdm writing whole lines (no ``\\r``, no cursor moves): nothing when
    it starts, then at most a line every ``mininterval`` seconds (tqdm's
    monitor thread adds one when an update is that late) and a last line,
    with the overall rate, when it closes complete (unless the line before
    showed the same count), ``leave`` or not: a log keeps what it was
    told. A bar stopped short (an error, a ``break``) adds no last line,
    so a refusal stays the one line after what was logged before it."""

    def __init__(self, *args, **kwargs):
        kwargs['leave'] = False  # close() then asks display(msg='') once
        self._starting = True  # the line tqdm draws as it starts: none
        self._shown = None  # the count the last line showed
        self._cleared = False  # tqdm.write() redraws after clear(): no
        self._ended = None  # iterated: whether the iterable ended
        super().__init__(*args, **kwargs)
        self._starting = False

    def __iter__(self):
        """tqdm's iteration, the iterable's end marked: a bar of unknown
        length (no ``total``) stopped short adds no last line either."""
        iterable, self._ended = self.iterable, False

        def to_the_end():
            yield from iterable
            self._ended = True
        self.iterable = to_the_end()  # what tqdm's __iter__ walks
        try:
            yield from super().__iter__()
        finally:
            self.iterable = iterable

    def display(self, msg=None, pos=None):
        if self._starting or self._cleared:
            self._cleared = False
            return False
        if msg is None and \
                self._time() - self.last_print_t < self.mininterval:
            # a refresh sooner than the interval: set_postfix and
            # set_description refresh on each call by default; and two
            # refreshes that both found the interval passed (an update and
            # tqdm's monitor thread, each holding the bars' lock in turn)
            # write one line, not the same count twice
            return False
        if msg == '':  # close(): the last line, at the overall rate
            short = not self._ended if self._ended is not None else \
                self.total is not None and self.n < self.total
            if short or self.n == self._shown:
                return False  # stopped short (an error), or already said
            self._ema_dt = lambda: None
        self._shown = self.n
        self.fp.write(self.__str__() + '\n')
        getattr(self.fp, 'flush', lambda: None)()
        self.last_print_t = self._time()
        return False  # nothing drawn in place to clear after it

    def clear(self, nolock=False):
        """Nothing is drawn in place, so nothing to clear; tqdm.write()
        calls this before its message and redraws the bar after it."""
        self._cleared = True

    def moveto(self, n):
        """Lines are not positioned (nested bars write in turn)."""


def _is_terminal(stream) -> bool:
    """True for a terminal, and for a Jupyter cell's output stream (not a
    terminal, but it draws ``\\r`` redraws in place, as plain tqdm relied
    on in notebooks)."""
    if type(stream).__module__.split('.')[0] == 'ipykernel':
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def progress_bar(iterable=None, *, file=None, **kwargs) -> tqdm:
    """A progress bar over ``iterable`` (or ``total=``), tqdm's arguments.

    Written to ``file`` (default: ``sys.stderr`` at the call). On a
    terminal it is ``tqdm(iterable, **kwargs)`` unchanged; elsewhere a
    :class:`LogLinesBar` with ``mininterval`` and ``maxinterval``
    :data:`LOG_INTERVAL` (read at the call). A Jupyter cell's output
    counts as a terminal. ``disable=True``
    shows nothing; ``disable=None`` shows nothing off a terminal, a
    Jupyter cell included (tqdm's meaning).
    """
    stream = sys.stderr if file is None else file
    if _is_terminal(stream):
        return tqdm(iterable, file=file, **kwargs)
    kwargs.update(mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL)
    return LogLinesBar(iterable, file=stream, **kwargs)
