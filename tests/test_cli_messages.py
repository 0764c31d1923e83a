"""What the commands say to a new user (review r198): the help's
examples run as they read, the run's own warnings are seen, a misspelt
work dir or model is named with what exists, every ``--help`` says
where the command writes."""
import os

from _foundation_helpers import (FSP_DEMO, MODEL_STACK_IMPORT, error_lines,
                                 run_tool, small_config)


def test_a_runs_own_warnings_come_before_its_log_and_after_its_end(
        tmp_path, synthetic_root):
    """tools/train.py run again into a work dir holding a checkpoint,
    without --resume: its warning that the run writes over it was line
    387 of MMEngine's 395. Said on stderr before the log's first line,
    and again after the finished line; the log file keeps it, the
    console's log does not repeat it."""
    nct = os.path.join(synthetic_root, 'NCT') + '/'
    cfg = small_config(FSP_DEMO, str(tmp_path / 'fsp.py'), nct, n_images=4,
                       batch=4, ann_file='meta/train_labeled.txt')
    work = tmp_path / 'work'
    args = ['tools/train.py', cfg, '--work-dir', str(work)]
    rc, out, err = run_tool(args, first=MODEL_STACK_IMPORT)
    assert rc == 0, err[-3000:]
    rc, out, err = run_tool(args, first=MODEL_STACK_IMPORT)
    assert rc == 0, err[-3000:]
    warning = (f'warning: {work} holds 1 checkpoint(s) of an earlier run '
               '(epoch_1.pth): this run writes over those of the same names '
               '(--resume continues that run; --work-dir keeps both)')
    lines = error_lines(err)
    # MMEngine's log on stdout; the warnings on stderr, the schedule's
    # (the tiny config's one epoch before its steps) beside it
    assert len(lines) == 5 and lines[0] == warning, lines
    assert lines[1].startswith('warning: param_scheduler.0.milestones'), lines
    assert lines[2:] == ["2 warning(s) before the run's log (repeated):",
                         warning, lines[1]], lines
    assert warning[9:] not in out and lines[1][9:] not in out, out[-3000:]
    assert out.splitlines()[-1].startswith('finished epoch 1'), out[-500:]
    log = sorted(work.glob('*/*.log'))[-1].read_text()
    assert log.count(warning[9:]) == 1, log[-3000:]
