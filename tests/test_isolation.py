"""What one test leaves in the process that a later test meets: each pair
here runs in this order (pytest keeps a module's order), the first
leaving the state, the second asserting what a test run alone sees.
Under xdist (CI's ``--dist worksteal``) the two can land on different
workers: the second then skips, as it would pass there whatever conftest
does (r183)."""
import gc
import logging
import multiprocessing
import signal
import weakref

import pytest

from openselfsup.utils import terminate_raises

#: the tests of this file that left their state in this process
_left = set()


def _after(name: str) -> None:
    """Skip the calling test unless ``name`` left its state in this
    process before it."""
    if name not in _left:
        pytest.skip(f'{name} did not run before it in this process')


def test_a_logger_made_under_capsys(capsys):
    """Leaves the current MMEngine logger (the last made) writing to this
    test's capture, closed when it ends (as a run built in a test under
    ``capsys`` does: ``run_cli(knn_eval, ...)``)."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance(f'made_under_capsys_{id(capsys)}')
    assert MMLogger.get_current_instance() is logger
    _left.add('test_a_logger_made_under_capsys')


def test_a_later_warning_reaches_the_captured_output(capfd):
    """A warning logged to the current logger after it (the library's
    ``print_log(..., logger='current')``) is in this test's output, and
    no '--- Logging error ---' beside it (the reference: this test alone,
    whose current logger is made in it)."""
    from mmengine.logging import print_log
    _after('test_a_logger_made_under_capsys')
    print_log('the warning of a later test', logger='current',
              level=logging.WARNING)
    out, err = capfd.readouterr()
    assert 'Logging error' not in err, err[-2000:]
    assert 'the warning of a later test' in out + err, (out, err)


class _LikeARunner:
    """What a runner built and never trained holds of SIGTERM: its
    handler, set while the object lives (``AtomicRunner``: until it
    starts), given back by a finaliser when it is collected; and a
    reference cycle, as a runner's, so that only the collector frees it."""

    def __init__(self):
        self.me = self
        ref = weakref.ref(self)
        weakref.finalize(self, terminate_raises(lambda: ref() is not None))


def test_a_runner_dropped_in_a_reference_cycle():
    """Leaves its handler set: the dropped object is old (it survived a
    collection while held), which the collector looks at seldom."""
    held = _LikeARunner()
    gc.collect()
    assert hasattr(signal.getsignal(signal.SIGTERM), 'terminate_callers')
    del held
    _left.add('test_a_runner_dropped_in_a_reference_cycle')


def test_a_later_test_starts_with_sigterms_default_action():
    """As a test alone does (a launcher's test compares the handler with
    the default: test_a_failed_process_ends_the_launch_in_one_line after
    test_check_config_refuses_a_cut_short_legacy_file_as_the_run)."""
    _after('test_a_runner_dropped_in_a_reference_cycle')
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_loader_with_a_worker():
    """Imports what a loader's workers need (a later test that imported
    nothing new is not followed by conftest's collection and freeze)."""
    from torch.utils.data import DataLoader
    assert list(DataLoader(range(4), num_workers=1)) == [0, 1, 2, 3]
    _left.add('test_a_loader_with_a_worker')


def test_a_loader_iterator_dropped_in_a_reference_cycle():
    """Leaves a data loader's persistent iterator, its worker running, in
    a reference cycle (as a runner's evaluation loader is left)."""
    from torch.utils.data import DataLoader
    loader = DataLoader(range(4), num_workers=1, persistent_workers=True)
    assert list(loader) == [0, 1, 2, 3]
    assert multiprocessing.active_children()
    loader.me = loader
    _left.add('test_a_loader_iterator_dropped_in_a_reference_cycle')


def test_a_later_test_starts_with_no_worker_of_an_earlier_loader():
    """As a test alone does: no process of this one's is running, to be
    copied into the processes it forks (``test_batch_ring.py``'s pinning
    thread test, whose worker ended on the copy's collection)."""
    _after('test_a_loader_with_a_worker')  # else conftest's freeze collects
    _after('test_a_loader_iterator_dropped_in_a_reference_cycle')
    assert multiprocessing.active_children() == []
