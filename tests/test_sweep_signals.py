"""Signals to a lambda sweep (several runs in one process): a SIGTERM
between its runs ends it as Ctrl-C does. The runs are stand-ins (nothing
trains, no model is built): what is under test is the sweep around them."""
import os
import signal
import sys

import pytest

from _foundation_helpers import (MODEL_STACK_IMPORT, REPO, error_lines,
                                 sigterm_once_blocked)

SLIDE_DEMO = os.path.join(REPO, 'configs', 'demo',
                          'balance_slide_synthetic.py')

#: tools/balance_sweep.py with its training replaced by stand-ins (each
#: run's weights a small layer, each metric 0.5) and its plot by nothing;
#: the stand-in's evaluation of the run in the folder named AT (after its
#: training has returned), or the baseline's save_weights where AT is
#: ``save_weights``, touches MARKER and waits
#: (``python driver.py AT MARKER ARGS...``)
_BLOCKING_SWEEP_DRIVER = '''
import os, pathlib, runpy, sys, time
from types import SimpleNamespace

from torch import nn

from openselfsup.apis import balance_sweep
from openselfsup.registry import METRICS

AT, MARKER = sys.argv[1], pathlib.Path(sys.argv[2])


def block():
    MARKER.touch()
    time.sleep(120)


def train(config, work_dir=None, loaded=None, **kwargs):
    names = METRICS.build(dict(loaded.val_evaluator)).names(1)

    def val():
        if work_dir.endswith(AT):
            block()
        return {k: 0.5 for k in names}
    os.makedirs(work_dir, exist_ok=True)
    return SimpleNamespace(model=nn.Linear(2, 1), epoch=1, val=val)


save_weights = balance_sweep.save_weights


def blocking_save(*args, **kwargs):
    if AT == 'save_weights':
        block()
    return save_weights(*args, **kwargs)


balance_sweep.train = train
balance_sweep.save_weights = blocking_save
balance_sweep.plot_sweep = lambda *a, **k: b''
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.fixture(scope='module')
def slides(tmp_path_factory):
    from openselfsup.datasets.synthetic import (SlideReportsSpec,
                                                make_slide_reports)
    root = tmp_path_factory.mktemp('slides')
    make_slide_reports(str(root), SlideReportsSpec(
        train=4, val=2, feat_dim=4, min_regions=1, max_regions=1, seed=0))
    return root


def _sweep_until_sigterm(tmp_path, slides, at):
    """tools/balance_sweep.py (lambdas 0 and 1 after a 1-epoch baseline,
    stand-in runs) blocked at ``at``; SIGTERM sent there; the sweep a fork
    of an interpreter that imported the model stack. Returns (exit
    status, stderr, the work dir)."""
    driver = tmp_path / 'driver.py'
    driver.write_text(_BLOCKING_SWEEP_DRIVER)
    marker, work = tmp_path / 'blocked', tmp_path / 'sweep'
    rc, err, _ = sigterm_once_blocked(
        [sys.executable, str(driver), at, str(marker),
         os.path.join(REPO, 'tools', 'balance_sweep.py'), SLIDE_DEMO,
         '--lambdas', '0', '1', '--baseline-epochs', '1', '--work-dir',
         str(work), '--cfg-options',
         f'train_dataloader.dataset.data_root={slides}',
         f'val_dataloader.dataset.data_root={slides}'], marker,
        first=MODEL_STACK_IMPORT)
    return rc, err, work


@pytest.mark.parametrize('at, kept', [
    ('lambda_1', ['baseline', 'lambda_0']), ('save_weights', [])])
def test_a_sigterm_between_a_sweeps_runs_ends_it_as_ctrl_c_does(
        slides, tmp_path, at, kept):
    """A SIGTERM (scancel, `kill`) to a sweep between its runs (in the
    evaluation of lambda 1, after its training has returned; in the
    baseline's save_weights), where no training's handler is set, ended
    the process where it stood: exit -15, no line, the sweep's lock file
    left. It ends as Ctrl-C does: one line, exit 143, the lock released,
    the records of the runs that ended kept (and lambda 1 has none)."""
    from openselfsup.apis.balance_sweep import RUN_RECORD
    rc, err, work = _sweep_until_sigterm(tmp_path, slides, at)
    assert rc == 128 + signal.SIGTERM, (rc, err[-3000:])
    assert error_lines(err)[-1].startswith('terminated (SIGTERM)'), \
        err[-3000:]
    assert 'Traceback' not in err
    assert not [n for n in os.listdir(work) if n.endswith('.lock')]
    assert [run for run in ('baseline', 'lambda_0', 'lambda_1')
            if os.path.isfile(work / run / RUN_RECORD)] == kept
    if kept:
        assert error_lines(err)[-1].startswith(
            f'terminated (SIGTERM): {work}: the runs that ended are kept; '
            'continue the sweep with: '), err[-3000:]
