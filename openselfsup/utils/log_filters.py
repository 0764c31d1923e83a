"""Records left out of the current MMEngine logger while a body runs."""
import logging
from contextlib import contextmanager
from typing import Callable, Iterator


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
