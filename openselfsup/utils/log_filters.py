"""Records left out of the current MMEngine logger, and Python warnings
left out, while a body runs."""
import itertools
import logging
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator, Type

#: makes each filter of :func:`warnings_left_out` its own
_filter_ids = itertools.count()


@contextmanager
def records_left_out(
        drop: Callable[[logging.LogRecord], bool]) -> Iterator[None]:
    """Leave the records for which ``drop(record)`` is true out of the
    current MMEngine logger (every handler of it: the console and a run's
    log file) while the body runs: a warning MMEngine or mmpretrain logs
    where it says nothing to the user (a FileClient built and not used),
    or that a later step logs again (views built once to check them)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()

    def keep(record: logging.LogRecord) -> bool:
        return not drop(record)
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


@contextmanager
def warnings_left_out(message: str,
                      category: Type[Warning] = Warning) -> Iterator[None]:
    """Leave the warnings of ``category`` whose message matches the regular
    expression ``message`` (from its start, as :func:`warnings.
    filterwarnings`) unshown while the body runs. The filter is this
    call's own (its pattern ends in a comment that numbers it), so a
    filter equal to it set before (a user's, or another call's around
    this one: ``warnings.filterwarnings`` removes an equal one first) is
    left in place, and only this filter is taken out after: those set in
    the body stay.

    Args:
        message (str): regular expression of the messages left out.
        category (type): the warning class (and its subclasses).
    """
    own = f'(?:{message})(?#left out {next(_filter_ids)})'
    warnings.filterwarnings('ignore', message=own, category=category)
    try:
        yield
    finally:
        # found by its own pattern, not as filters[0] after the call: a
        # filter another thread added between the two would be taken for
        # it (and removed in its place); none when the body's
        # resetwarnings took it
        entry = next((f for f in warnings.filters
                      if getattr(f[1], 'pattern', None) == own), None)
        if entry is not None:
            warnings.filters.remove(entry)
            mutated = getattr(warnings, '_filters_mutated', None)
            if mutated is not None:  # the warnings' once-registries
                mutated()
