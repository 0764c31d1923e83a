"""The project's CheckpointHook: a failure at any point of a save leaves a
complete checkpoint to resume from; the files kept, ``last_checkpoint`` and
the message hub are MMEngine's hook's; configs get it by its plain name."""
import glob
import itertools
import logging
import os
import re
import shutil
import sys

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel

from _foundation_helpers import REPO, save_two_ways, zip_members_sha1

_RUNS = itertools.count()
SCORES = [0.5, 0.7, 0.8, 0.6, 0.9]  # a new best after epochs 1, 2, 3, 5


class _Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.w(inputs)
        if mode == 'loss':
            return dict(loss=(out ** 2).mean())
        return [dict(score=float(o)) for o in out]


class _Scripted(BaseMetric):
    """Reports SCORES[k] at the k-th validation: best-checkpoint changes at
    known epochs."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        self.calls += 1
        # acc2: a second metric for save_best=['acc', 'acc2'] (one best
        # checkpoint per metric)
        return dict(acc=SCORES[self.calls - 1], acc2=SCORES[self.calls - 1])


def _train(work, hook='CheckpointHook', epochs=2, resume=False, run='train',
           custom_hooks=None, cfg=None, **ckpt):
    import openselfsup.engine  # noqa: F401  (AtomicRunner, the hook)
    from openselfsup.engine import AtomicRunner
    data = [dict(inputs=torch.full((2,), float(i))) for i in range(4)]
    loader = dict(dataset=data, batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='default_collate'))
    val = dict(val_dataloader=loader, val_cfg=dict(),
               val_evaluator=dict(type='Evaluator', metrics=_Scripted())) \
        if 'save_best' in ckpt or run == 'val' else {}
    runner = AtomicRunner(
        model=_Toy(), work_dir=str(work), train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs, val_interval=1),
        default_hooks=dict(checkpoint=dict(type=hook, **ckpt),
                           logger=dict(type='LoggerHook', interval=1)),
        default_scope='openselfsup', resume=resume, log_level='WARNING',
        experiment_name=f'ckpt_hook_test_{next(_RUNS)}',
        custom_hooks=custom_hooks, cfg=cfg, **val)
    getattr(runner, run)()
    return runner


def _kept(work):
    pointer = os.path.join(work, 'last_checkpoint')
    named = open(pointer).read() if os.path.exists(pointer) else None
    # a published file's name ends in its content's hash: the runs' times
    # differ
    return (sorted(re.sub(r'-[0-9a-f]{8}\.pth$', '-<sha>.pth',
                          os.path.basename(p))
                   for p in glob.glob(f'{work}/*.pth')),
            named and os.path.basename(named))


def _hook(runner):
    return next(h for h in runner.hooks if 'CheckpointHook' in
                type(h).__name__)


@pytest.mark.parametrize('ckpt', [
    dict(interval=1, max_keep_ckpts=1),
    dict(interval=1, max_keep_ckpts=3, published_keys=['meta', 'state_dict']),
    # a new best at epoch 3 also saves epoch_3 (removing epoch_2)
    dict(interval=2, max_keep_ckpts=1, save_best='acc'),
], ids=['keep1', 'keep3', 'keep1_best'])
def test_keeps_what_mmengines_hook_keeps(tmp_path, ckpt):
    from openselfsup.engine.checkpoint_hook import CheckpointHook
    from openselfsup.engine.runner import checkpoint_step
    epochs = 5
    ours = _train(tmp_path / 'ours', epochs=epochs, **ckpt)
    theirs = _train(tmp_path / 'theirs', 'mmengine.CheckpointHook',
                    epochs=epochs, **ckpt)
    assert type(_hook(ours)) is CheckpointHook
    assert type(_hook(theirs)).__module__ == 'mmengine.hooks.checkpoint_hook'
    kept, named = _kept(tmp_path / 'ours')
    assert (kept, named) == _kept(tmp_path / 'theirs')
    if 'published_keys' in ckpt:
        from openselfsup.engine import load_checkpoint_file
        published, = glob.glob(f'{tmp_path}/ours/epoch_{epochs}-*.pth')
        assert sorted(load_checkpoint_file(published)) == [
            'meta', 'state_dict']
    assert named == f'epoch_{epochs}.pth'
    assert len([k for k in kept if checkpoint_step(k)]) == \
        ckpt['max_keep_ckpts']
    for key in ('keep_ckpt_ids', 'last_ckpt', 'best_ckpt', 'best_score'):
        a, b = (r.message_hub.runtime_info.get(key) for r in (ours, theirs))
        if isinstance(a, str):  # paths: the work dirs differ
            a, b = os.path.basename(a), os.path.basename(b)
        assert a == b, key
    # resumed for more epochs, both trim and continue the same way
    more = epochs + 2
    _train(tmp_path / 'ours', epochs=more, resume=True, **ckpt)
    _train(tmp_path / 'theirs', 'mmengine.CheckpointHook', epochs=more,
           resume=True, **ckpt)
    assert _kept(tmp_path / 'ours') == _kept(tmp_path / 'theirs')


def _log_text(work):
    return ''.join(open(p).read() for p in glob.glob(f'{work}/*/*.log'))


def test_no_file_client_warnings_when_no_file_client_is_used(tmp_path,
                                                             monkeypatch):
    """MMEngine builds a FileClient it does not use without
    file_client_args (in the hook's before_train and at every save), which
    logged two deprecation warnings at every run; they are left out then,
    and kept when file_client_args are given (the FileClient is then what
    saves)."""
    from mmengine.fileio import FileClient

    from openselfsup.engine.checkpoint_hook import FILE_CLIENT_LINES
    runs = dict(theirs=dict(hook='mmengine.CheckpointHook'), ours={},
                args=dict(file_client_args=dict(backend='disk')))
    for name, kwargs in runs.items():
        # FileClient caches its backends: the backend's line comes once per
        # process; each run here as the first of its process
        monkeypatch.setattr(FileClient, '_instances', {})
        _train(tmp_path / name, epochs=1, interval=1, **kwargs)
    for line in FILE_CLIENT_LINES:
        assert line in _log_text(tmp_path / 'theirs')
        assert line not in _log_text(tmp_path / 'ours')
        assert line in _log_text(tmp_path / 'args')
    # other warnings still reach the log
    assert 'save_param_scheduler' in _log_text(tmp_path / 'ours')
    assert os.path.exists(tmp_path / 'ours' / 'epoch_1.pth')


def _dies_on(monkeypatch, target, name, file):
    """Make ``target.name`` raise when called on (or, for ``save_text``,
    with the content) ``file`` (any file: ``''``), after writing half a
    file where it writes one (``save_checkpoint``)."""
    real = getattr(target, name)

    def dying(*args, **kwargs):
        # a temporary (utils.io.atomic_path) stands for its target
        names = {re.sub(r'\.\d+@[\w-]+\.\w+\.tmp(\.\w+)?$', '',
                        os.path.basename(a)).lstrip('.')
                 for a in args if isinstance(a, str)}
        if file not in names and file:  # '': every call
            return real(*args, **kwargs)
        if name == 'save_checkpoint':
            with open(args[1], 'wb') as f:
                f.write(b'PK\x03\x04 half a checkpoint')
        raise KeyboardInterrupt

    monkeypatch.setattr(target, name, dying)


def _killed_in_epoch_2(monkeypatch, work, hook, where):
    """Train 2 epochs, max_keep_ckpts=1; the save of epoch 2 dies while
    torch writes the file, while last_checkpoint is replaced, while
    epoch_1 is removed, or (with save_best; epoch 2 is better) while torch
    writes best_acc_epoch_2.pth or while best_acc_epoch_1.pth is removed
    (after epoch_2.pth is saved again, naming the new best)."""
    import mmengine.fileio.backends.local_backend as local
    import mmengine.runner.runner as mm_runner

    import openselfsup.engine.checkpoint_hook as ours
    best = {}
    if where == 'torch_save':
        _dies_on(monkeypatch, mm_runner, 'save_checkpoint', 'epoch_2.pth')
    elif where == 'pointer':
        _dies_on(monkeypatch, ours, 'save_text', 'epoch_2.pth')
    elif where == 'removal':
        _dies_on(monkeypatch, local.LocalBackend, 'remove', 'epoch_1.pth')
    elif where == 'best_removal':
        best = dict(save_best='acc')
        _dies_on(monkeypatch, local.LocalBackend, 'remove',
                 'best_acc_epoch_1.pth')
    else:
        best = dict(save_best='acc')
        _dies_on(monkeypatch, mm_runner, 'save_checkpoint',
                 'best_acc_epoch_2.pth')
    with pytest.raises(KeyboardInterrupt):
        _train(work, hook, epochs=2, interval=1, max_keep_ckpts=1, **best)
    monkeypatch.undo()
    return best


@pytest.mark.parametrize('where', ['torch_save', 'pointer', 'removal', 'best',
                                   'best_removal'])
def test_a_save_killed_midway_leaves_a_checkpoint_to_resume(
        tmp_path, monkeypatch, where):
    """Whichever step of the saves of epoch 2 dies, a complete checkpoint
    is left and --resume continues from it: epoch_1 (kept until the pointer
    names epoch_2) or, if only the removal of epoch_1 died (or the best
    checkpoint's save, after epoch_2's), epoch_2, whose keep_ckpt_ids make
    the resumed run remove epoch_1; the previous best checkpoint stays
    until the new one is saved, and if only its removal died, the resumed
    run removes it. After the resumed run only the newest is kept, as
    always."""
    from openselfsup.engine import find_resumable_checkpoint
    from openselfsup.utils.checkpoint_files import is_complete_checkpoint
    work = str(tmp_path / 'work')
    best = _killed_in_epoch_2(monkeypatch, work, 'CheckpointHook', where)
    found = find_resumable_checkpoint(work)
    assert found is not None and is_complete_checkpoint(found)
    assert os.path.basename(found) == ('epoch_1.pth' if where in (
        'torch_save', 'pointer') else 'epoch_2.pth')
    new_best = ['best_acc_epoch_2.pth'] if where == 'best_removal' else []
    if best:
        assert _kept(work)[0] == ['best_acc_epoch_1.pth', *new_best,
                                  'epoch_2.pth']
        assert is_complete_checkpoint(f'{work}/best_acc_epoch_1.pth')
    assert not glob.glob(f'{work}/.*tmp*')
    runner = _train(work, epochs=3, resume=True, interval=1,
                    max_keep_ckpts=1, **best)
    assert runner.epoch == 3
    # the resumed run's first validation (0.5) is not better than either
    kept = ((new_best or ['best_acc_epoch_1.pth']) if best else []) + [
        'epoch_3.pth']
    assert _kept(work) == (kept, 'epoch_3.pth')


def test_a_previous_best_stays_while_its_replacement_is_missing(
        tmp_path, monkeypatch):
    """Killed before the previous best checkpoint was removed, the new best
    then deleted by hand: the resumed run keeps the previous one (a best
    checkpoint goes only once the one that replaced it is there)."""
    work = str(tmp_path / 'work')
    best = _killed_in_epoch_2(monkeypatch, work, 'CheckpointHook',
                              'best_removal')
    os.remove(f'{work}/best_acc_epoch_2.pth')
    _train(work, epochs=3, resume=True, interval=1, max_keep_ckpts=1, **best)
    assert _kept(work) == (['best_acc_epoch_1.pth', 'epoch_3.pth'],
                           'epoch_3.pth')


@pytest.mark.parametrize('where', ['torch_save', 'best'])
def test_mmengines_hook_killed_while_saving_leaves_nothing(
        tmp_path, monkeypatch, where):
    """The failures the project hook exists for (and that the test above
    would catch): MMEngine's hook removes epoch_1 before it saves epoch 2,
    and the previous best before it saves the new one."""
    from openselfsup.engine import find_resumable_checkpoint
    work = str(tmp_path / 'work')
    _killed_in_epoch_2(monkeypatch, work, 'mmengine.CheckpointHook', where)
    if where == 'best':
        assert _kept(work)[0] == ['epoch_2.pth']
    else:
        assert find_resumable_checkpoint(work) is None


def _killed_before_the_best_is_recorded(monkeypatch, work, epoch,
                                        save_best='acc'):
    """Train ``epoch`` epochs (save_best='acc', max_keep_ckpts=1), the
    last validation a new best: killed after best_acc_epoch_<epoch>.pth is
    saved, while epoch_<epoch>.pth is saved again to record it."""
    import mmengine.runner.runner as mm_runner
    real = mm_runner.save_checkpoint

    def dying(checkpoint, filename, *args, **kwargs):
        if os.path.basename(filename).startswith(f'.epoch_{epoch}.pth.') \
                and os.path.exists(f'{work}/best_acc_epoch_{epoch}.pth'):
            raise KeyboardInterrupt
        return real(checkpoint, filename, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(mm_runner, 'save_checkpoint', dying)
        with pytest.raises(KeyboardInterrupt):
            _train(work, epochs=epoch, interval=1, max_keep_ckpts=1,
                   save_best=save_best)


def _best(runner):
    hub = runner.message_hub
    return hub.get_info('best_score'), os.path.basename(
        hub.get_info('best_ckpt'))


@pytest.mark.parametrize('epoch, scores', [
    (1, [0.5, 0.4, 0.45]),  # the first best, then none better
    (2, [0.5, 0.7, 0.6]),  # 0.6 beats the previous best, not the lost one
])
def test_a_best_saved_but_not_recorded_is_taken_up_on_resume(
        tmp_path, monkeypatch, epoch, scores):
    """Killed after a new best checkpoint is saved but before the
    checkpoint of that epoch is saved again to record it: --resume (from
    that checkpoint, which names the previous best, and does not validate
    the epoch again) takes the new best file up with its score and removes
    the previous best. The run ends as an uninterrupted run with the same
    scores does: the same files, the same best. A copy of the new best
    under another name stays, and is not taken for it."""
    monkeypatch.setitem(globals(), 'SCORES', scores)
    ref = tmp_path / 'uninterrupted'
    expected = _train(ref, epochs=3, interval=1, max_keep_ckpts=1,
                      save_best='acc')
    work = str(tmp_path / 'work')
    _killed_before_the_best_is_recorded(monkeypatch, work, epoch)
    lost = f'best_acc_epoch_{epoch}.pth'
    assert _kept(work)[0] == sorted(
        {'best_acc_epoch_1.pth', lost, f'epoch_{epoch}.pth'})
    copy = os.path.join(work, 'best_acc_mine.pth')
    with open(f'{work}/{lost}', 'rb') as f, open(copy, 'wb') as out:
        out.write(f.read())
    monkeypatch.setitem(globals(), 'SCORES', scores[epoch:])
    runner = _train(work, epochs=3, resume=True, interval=1,
                    max_keep_ckpts=1, save_best='acc')
    assert _best(runner) == _best(expected) == (max(scores), lost)
    os.remove(copy)
    assert _kept(work) == _kept(ref)


def test_lost_bests_of_two_metrics_are_taken_up(tmp_path, monkeypatch):
    """save_best of two metrics (one best file each): a kill before the
    epoch's checkpoint records the two new bests leaves both; the resume
    takes up each as its metric's best and removes each previous best, as
    an uninterrupted run with the same scores ends."""
    scores, two = [0.5, 0.7, 0.6], ['acc', 'acc2']
    monkeypatch.setitem(globals(), 'SCORES', scores)
    ref = tmp_path / 'uninterrupted'
    expected = _train(ref, epochs=3, interval=1, max_keep_ckpts=1,
                      save_best=two)
    work = str(tmp_path / 'work')
    _killed_before_the_best_is_recorded(monkeypatch, work, 2, save_best=two)
    assert {'best_acc_epoch_2.pth', 'best_acc2_epoch_2.pth',
            'best_acc_epoch_1.pth', 'best_acc2_epoch_1.pth'} <= \
        set(os.listdir(work))
    monkeypatch.setitem(globals(), 'SCORES', scores[2:])
    runner = _train(work, epochs=3, resume=True, interval=1,
                    max_keep_ckpts=1, save_best=two)

    def named(bests):
        return [(k, v, os.path.basename(p)) for k, v, p in bests]
    assert named(_bests(runner)) == named(_bests(expected)) == [
        ('best_score_acc', 0.7, 'best_acc_epoch_2.pth'),
        ('best_score_acc2', 0.7, 'best_acc2_epoch_2.pth')]
    assert _kept(work) == _kept(ref)


def test_an_earlier_runs_best_is_not_taken_up(tmp_path, monkeypatch):
    """A best file of another run under the very name the lost best had
    (another run's, killed at the same point): it does not hold the id of
    the save resumed from, and is neither taken up nor removed; the
    recorded best stays the best until a better one."""
    work, other = str(tmp_path / 'work'), str(tmp_path / 'other')
    for folder in (other, work):
        _killed_before_the_best_is_recorded(monkeypatch, folder, 2)
    theirs = open(f'{other}/best_acc_epoch_2.pth', 'rb').read()
    with open(f'{work}/best_acc_epoch_2.pth', 'wb') as f:
        f.write(theirs)
    monkeypatch.setitem(globals(), 'SCORES', [0.55, 0.4])
    runner = _train(work, epochs=4, resume=True, interval=1,
                    max_keep_ckpts=1, save_best='acc')
    # 0.55 at epoch 3 beats the recorded best (0.5, epoch 1)
    assert _best(runner) == (0.55, 'best_acc_epoch_3.pth')
    assert _kept(work) == (['best_acc_epoch_2.pth', 'best_acc_epoch_3.pth',
                            'epoch_4.pth'], 'epoch_4.pth')
    assert open(f'{work}/best_acc_epoch_2.pth', 'rb').read() == theirs


def test_stray_best_files_do_not_stop_the_resume(tmp_path, monkeypatch):
    """``best_*.pth`` files that are no checkpoint this hook saved (a bare
    tensor, a dict whose message hub is not one, a file that is no
    checkpoint at all) are left alone: the resume goes on and keeps them,
    byte for byte."""
    work = str(tmp_path / 'work')
    _killed_before_the_best_is_recorded(monkeypatch, work, 2)
    os.remove(f'{work}/best_acc_epoch_2.pth')  # the lost best: not here
    torch.save(torch.zeros(3), f'{work}/best_tensor.pth')
    torch.save({'message_hub': [1, 2]}, f'{work}/best_list_hub.pth')
    torch.save({'message_hub': {'runtime_info': 'x'}},
               f'{work}/best_str_info.pth')
    with open(f'{work}/best_text.pth', 'w') as f:
        f.write('not a checkpoint')
    strays = {n: open(f'{work}/{n}', 'rb').read() for n in os.listdir(work)
              if n.startswith('best_') and n != 'best_acc_epoch_1.pth'}
    assert len(strays) == 4
    monkeypatch.setitem(globals(), 'SCORES', [0.4, 0.4])
    runner = _train(work, epochs=4, resume=True, interval=1,
                    max_keep_ckpts=1, save_best='acc')
    assert _best(runner) == (0.5, 'best_acc_epoch_1.pth')
    assert {n: open(f'{work}/{n}', 'rb').read() for n in strays} == strays


def test_lost_bests_are_taken_up_in_the_order_saved(tmp_path, monkeypatch):
    """Two best files holding the id of the save resumed from (one saved
    after the other before either was recorded; made here from the lost
    one, saved at a later step): taken up in the order saved, not by name
    (best_acc_epoch_10 sorts before best_acc_epoch_2), so the later one is
    the best and the earlier one is removed, as its save would have done."""
    work = str(tmp_path / 'work')
    _killed_before_the_best_is_recorded(monkeypatch, work, 2)
    lost = torch.load(f'{work}/best_acc_epoch_2.pth', weights_only=False)
    info = lost['message_hub']['runtime_info']
    info['best_ckpt'] = f'{work}/best_acc_epoch_10.pth'
    info['best_score'] = info['best_score'] + 0.1
    lost['meta']['iter'] += 1  # saved at a later step
    torch.save(lost, f'{work}/best_acc_epoch_10.pth')
    monkeypatch.setitem(globals(), 'SCORES', [0.4, 0.4])
    runner = _train(work, epochs=4, resume=True, interval=1,
                    max_keep_ckpts=1, save_best='acc')
    assert _best(runner) == (info['best_score'], 'best_acc_epoch_10.pth')
    assert sorted(n for n in os.listdir(work) if n.startswith('best_')) \
        == ['best_acc_epoch_10.pth']


def test_a_lost_best_is_taken_up_in_a_copy_that_kept_no_times(
        tmp_path, monkeypatch):
    """A work dir with a lost best (killed before it was recorded) copied
    by ``cp -r`` (no -p: each file's time is when it was copied, in the
    order cp met them, here the lost best before the checkpoint resumed
    from, and the later of two lost bests before the earlier) and resumed
    in the copy: the lost best is still taken up, the later one last (the
    id of the save resumed from proves a file saved after it; the step
    saved in it orders them), and the copy ends as the uninterrupted run."""
    scores = [0.5, 0.7, 0.6]
    monkeypatch.setitem(globals(), 'SCORES', scores)
    ref = tmp_path / 'uninterrupted'
    expected = _train(ref, epochs=3, interval=1, max_keep_ckpts=1,
                      save_best='acc')
    a, b = tmp_path / 'a', tmp_path / 'b'
    _killed_before_the_best_is_recorded(monkeypatch, str(a), 2)
    # an earlier lost best of the same save (as if best_acc_epoch_2 had
    # been saved before it, its removal still to come): made from the
    # lost one, with the step before
    lost = torch.load(f'{a}/best_acc_epoch_2.pth', weights_only=False)
    lost['message_hub']['runtime_info']['best_ckpt'] = \
        f'{a}/best_acc_epoch_10.pth'
    lost['message_hub']['runtime_info']['best_score'] = 0.6
    lost['meta']['iter'] -= 1
    torch.save(lost, f'{a}/best_acc_epoch_10.pth')
    shutil.copytree(a, b, copy_function=shutil.copyfile)
    t = os.path.getmtime(b / 'epoch_2.pth')
    os.utime(b / 'best_acc_epoch_2.pth', (t - 2, t - 2))
    os.utime(b / 'best_acc_epoch_10.pth', (t - 1, t - 1))
    monkeypatch.setitem(globals(), 'SCORES', scores[2:])
    runner = _train(b, epochs=3, resume=True, interval=1, max_keep_ckpts=1,
                    save_best='acc')
    assert _best(runner) == _best(expected) == (0.7, 'best_acc_epoch_2.pth')
    assert _kept(b) == _kept(ref)


def _files(folder):
    """Every file below ``folder``: its path there and its bytes."""
    return {os.path.relpath(p, folder): open(p, 'rb').read()
            for p in glob.glob(f'{folder}/**', recursive=True)
            if os.path.isfile(p)}


def _bests(runner):
    """(key, best score, best checkpoint's path) of every save_best
    metric, from the runner's message hub."""
    info = runner.message_hub.runtime_info
    return sorted((k, v, info[k.replace('score', 'ckpt')])
                  for k, v in info.items() if k.startswith('best_score'))


@pytest.mark.parametrize('how', ['copy', 'move'])
@pytest.mark.parametrize('save_best, later, published_keys', [
    ('acc', [0.9], None),  # a new best in the resumed run
    (['acc', 'acc2'], [0.9], None),  # one best per metric
    # no new best: the best recorded before the copy is published
    ('acc', [0.6], ['meta', 'state_dict']),
], ids=['new_best', 'two_metrics', 'publish'])
def test_a_resume_in_a_copied_work_dir_leaves_the_original_alone(
        tmp_path, monkeypatch, how, save_best, later, published_keys):
    """A work dir copied (cp -r a b) or moved (mv a b) and resumed there:
    the message hub names the best checkpoints by a's absolute paths. The
    resumed run takes them for the files of those names in b: the next
    new best removes b's previous best, not a's, and publishing writes in
    b. a is left as it was, byte for byte; b ends as an uninterrupted run
    with the same scores does."""
    keep = dict(interval=1, max_keep_ckpts=1, save_best=save_best)
    first = [0.5, 0.7]  # a's best: epoch 2
    monkeypatch.setitem(globals(), 'SCORES', first + later)
    ref = _train(tmp_path / 'uninterrupted', epochs=3, **keep,
                 published_keys=published_keys)
    a, b = tmp_path / 'a', tmp_path / 'b'
    monkeypatch.setitem(globals(), 'SCORES', first)
    logger = _train(a, epochs=2, **keep).logger
    # a's run has ended (in a real resume, its process): its log file is
    # closed, not the 'current' logger the next run's metric warns to
    for handler in logger.handlers[:]:
        if isinstance(handler, logging.FileHandler):
            handler.close()
            logger.removeHandler(handler)
    assert os.path.isfile(a / 'best_acc_epoch_2.pth')
    before = _files(a)
    (shutil.copytree if how == 'copy' else shutil.move)(a, b)
    monkeypatch.setitem(globals(), 'SCORES', later)
    runner = _train(b, epochs=3, resume=True, **keep,
                    published_keys=published_keys)
    if how == 'copy':
        assert _files(a) == before
    else:
        assert not a.exists()
    assert _kept(b) == _kept(tmp_path / 'uninterrupted')
    ours, theirs = _bests(runner), _bests(ref)
    assert len(ours) == len(theirs) == (
        1 if isinstance(save_best, str) else len(save_best))
    for (key, score, path), (key_, score_, path_) in zip(ours, theirs):
        assert (key, score, os.path.basename(path)) == (
            key_, score_, os.path.basename(path_))
        assert os.path.dirname(path) == str(b)
    assert os.path.dirname(runner.message_hub.get_info('last_ckpt')) == \
        str(b)


def test_a_resume_from_another_runs_checkpoint_leaves_it_alone(
        tmp_path, monkeypatch):
    """--resume a/epoch_2.pth into a new work dir b: the best recorded is
    a's file, which b has no file of. It stays a's: published into b when
    no better one comes (the rebased name, a file b lacks, stopped the run
    at its end with FileNotFoundError), never removed when one does; a is
    left as it was, byte for byte."""
    from openselfsup.engine import AtomicRunner
    keep = dict(interval=1, max_keep_ckpts=1, save_best='acc',
                published_keys=['meta', 'state_dict'])
    a = tmp_path / 'a'
    monkeypatch.setitem(globals(), 'SCORES', [0.5, 0.7])
    _train(a, epochs=2, **{k: v for k, v in keep.items()
                           if k != 'published_keys'})
    def checkpoints(folder):  # a's log is open still (its logger's)
        return {k: v for k, v in _files(folder).items()
                if not k.endswith('.log')}
    before = checkpoints(a)
    for later, run in (([0.6], 'b'), ([0.6, 0.9], 'c')):
        monkeypatch.setitem(globals(), 'SCORES', later)
        real = AtomicRunner.__init__

        def from_a(self, *args, **kwargs):
            real(self, *args, **dict(kwargs, load_from=str(
                a / 'epoch_2.pth')))
        with monkeypatch.context() as patch:
            patch.setattr(AtomicRunner, '__init__', from_a)
            runner = _train(tmp_path / run, epochs=2 + len(later),
                            resume=True, **keep)
        assert checkpoints(a) == before
        names = _kept(tmp_path / run)[0]
        if run == 'b':  # no better one: a's best published here
            assert _best(runner) == (0.7, 'best_acc_epoch_2.pth')
            assert 'best_acc_epoch_2-<sha>.pth' in names
        else:
            assert _best(runner) == (0.9, 'best_acc_epoch_4.pth')
            assert 'best_acc_epoch_4-<sha>.pth' in names


def test_no_removal_outside_the_checkpoint_folder(tmp_path):
    """Whatever path a removal is asked for (MMEngine's hook removes the
    previous best by the path the hub records), a file outside the
    checkpoint folder stays (also named through '..'); one inside goes."""
    from mmengine.fileio import get_file_backend

    from openselfsup.engine.checkpoint_hook import CheckpointHook
    name = 'best_acc_epoch_1.pth'
    out, other = tmp_path / 'b', tmp_path / 'a'
    for folder in (out, other):
        folder.mkdir()
        (folder / name).write_bytes(b'PK\x03\x04 a checkpoint')
    hook = CheckpointHook(interval=1)
    hook.out_dir, hook.file_backend = str(out), get_file_backend(str(out))
    with hook._removals_after_saves():
        for path in (other / name, out / '..' / 'a' / name, out / name):
            hook.file_backend.remove(str(path))
    assert (other / name).exists() and not (out / name).exists()


@pytest.mark.parametrize('hook', ['CheckpointHook', 'mmengine.CheckpointHook'])
def test_a_publish_killed_midway_leaves_no_half_file(tmp_path, monkeypatch,
                                                     hook):
    """published_keys: the file published after training is there whole or
    not at all (MMEngine's hook leaves half of it under the final name)."""
    import mmengine.runner
    _dies_on(monkeypatch, mmengine.runner, 'save_checkpoint', '')
    work = str(tmp_path / 'work')
    with pytest.raises(KeyboardInterrupt):
        _train(work, hook, epochs=1, interval=1, published_keys=['meta'])
    left = sorted(os.path.basename(p) for p in glob.glob(f'{work}/*-*.pth'))
    assert len(left) == (hook != 'CheckpointHook')
    assert not glob.glob(f'{work}/.*tmp*')


def test_validation_alone_saves_nothing(tmp_path):
    """runner.val() without training (a baseline evaluation): the hook's
    after_val_epoch runs before its before_train ever did, as MMEngine's."""
    _train(tmp_path / 'work', run='val', interval=1, max_keep_ckpts=1)
    assert _kept(tmp_path / 'work') == ([], None)


def test_configs_get_the_project_hook():
    """Every config's checkpoint hook, built as the Runner builds default
    hooks (MMEngine's HOOKS, the config's default scope), is this project's;
    ``mmengine.CheckpointHook`` is still MMEngine's."""
    from mmengine.config import Config
    from mmengine.hooks import CheckpointHook as Theirs
    from mmengine.registry import HOOKS, DefaultScope

    from openselfsup.engine.checkpoint_hook import CheckpointHook
    paths = sorted(glob.glob(os.path.join(REPO, 'configs', '**', '*.py'),
                             recursive=True))
    seen = 0
    for path in paths:
        cfg = Config.fromfile(path)
        spec = cfg.get('default_hooks', {}).get('checkpoint')
        if spec is None:
            continue
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            hook = HOOKS.build(spec.to_dict())
        assert type(hook) is CheckpointHook, path
        seen += 1
    assert seen >= 20
    with DefaultScope.overwrite_default_scope('openselfsup'):
        plain = HOOKS.build(dict(type='mmengine.CheckpointHook'))
    assert type(plain) is Theirs


def test_a_killed_saves_temporary_is_removed_by_the_next_save(tmp_path,
                                                              monkeypatch):
    """A SIGKILL while a checkpoint is written leaves its temporary (no
    ``finally`` runs); the next save of that name removes it once its
    writer is gone, and a live writer's is left alone, as is another
    host's (a work dir on a shared file system)."""
    import socket
    import subprocess
    import sys
    monkeypatch.setattr(socket, 'gethostname', lambda: 'here')
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    work = tmp_path / 'work'
    work.mkdir()
    stale = work / f'.epoch_1.pth.{dead.pid}@here.x1y2.tmp.pth'
    # a best checkpoint's name is not saved again: any save cleans it up
    stale_best = work / f'.best_acc_epoch_7.pth.{dead.pid}@here.x5y6.tmp.pth'
    live = work / f'.epoch_1.pth.{os.getppid()}@here.x3y4.tmp.pth'
    elsewhere = work / f'.epoch_1.pth.{dead.pid}@there.x7y8.tmp.pth'
    for leftover in (stale, stale_best, live, elsewhere):
        leftover.write_bytes(b'PK\x03\x04 half a checkpoint')
    _train(work, epochs=1, interval=1, max_keep_ckpts=1)
    assert not stale.exists() and not stale_best.exists()
    assert live.exists() and elsewhere.exists()
    assert _kept(work) == (['epoch_1.pth'], 'epoch_1.pth')


@pytest.mark.parametrize('free', [0, 1 << 40])
def test_a_checkpoint_on_a_full_disk_is_one_line(tmp_path, monkeypatch,
                                                 free):
    """torch.save on a full disk raises a RuntimeError naming a stream
    position ('unexpected pos 576 vs 534'): with the disk full it is one
    line naming the checkpoint, nothing left; any other failure is
    torch's own."""
    from collections import namedtuple

    import mmengine.runner.runner as mm_runner

    import openselfsup.engine.runner as ours
    from openselfsup.utils import InputError

    def full_disk(checkpoint, filepath, **kwargs):
        with open(filepath, 'wb') as f:
            f.write(b'PK\x03\x04 as much as fitted')
        raise RuntimeError('[enforce fail at inline_container.cc:672] . '
                           'unexpected pos 576 vs 534')

    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(mm_runner, 'save_checkpoint', full_disk)
    monkeypatch.setattr(ours.shutil, 'disk_usage',
                        lambda path: usage(free + 1, 1, free))
    work = tmp_path / 'work'
    if free:
        with pytest.raises(RuntimeError, match='unexpected pos'):
            _train(work, epochs=1, interval=1)
    else:
        with pytest.raises(InputError, match=r'epoch_1\.pth: cannot write '
                           r'the checkpoint \(the disk is full\)'):
            _train(work, epochs=1, interval=1)
    assert not glob.glob(f'{work}/*.pth') and not glob.glob(f'{work}/.*tmp*')


def test_resume_reads_the_newest_checkpoint_once(tmp_path, monkeypatch):
    """--resume reads the archive of the checkpoint it continues from once:
    the rule that picks a complete checkpoint checks it, and the loader
    after it (the model check) trusts that while the file is unchanged. A
    checkpoint found complete and then cut short is still refused, and
    skipped by the next resume."""
    import zipfile

    from openselfsup.engine import is_complete_checkpoint, load_checkpoint_file
    from openselfsup.utils import InputError
    work = tmp_path / 'work'
    keep = dict(interval=1, max_keep_ckpts=2)
    _train(work, epochs=2, **keep)
    read = []
    real = zipfile.ZipFile.testzip

    def counted(self):
        read.append(os.path.basename(self.filename))
        return real(self)

    monkeypatch.setattr(zipfile.ZipFile, 'testzip', counted)
    assert _train(work, epochs=3, resume=True, **keep).epoch == 3
    assert read == ['epoch_2.pth']
    newest = work / 'epoch_3.pth'
    assert is_complete_checkpoint(str(newest))
    assert is_complete_checkpoint(str(newest))  # found complete: not read
    assert read == ['epoch_2.pth', 'epoch_3.pth']
    with open(newest, 'r+b') as f:  # a plain write killed, in place
        f.truncate(os.path.getsize(newest) // 2)
    with pytest.raises(InputError, match='not a readable PyTorch checkpoint'):
        load_checkpoint_file(str(newest))
    read.clear()
    assert _train(work, epochs=4, resume=True, **keep).epoch == 4
    assert read.count('epoch_2.pth') == 1 and is_complete_checkpoint(
        str(newest))


def test_a_failure_after_the_first_checkpoint_keeps_the_runs_log(tmp_path):
    """An iteration-based run saves iter_1.pth in the first iteration's
    after_train_iter, before the iteration counts as ended; a failure
    later in that call (a SIGTERM, which raises until the run has started,
    or another hook's error) took the run for a failed start: its log
    folder was removed and iter_1.pth and last_checkpoint stayed, a
    checkpoint to resume from without the run's log or config dump. Saved
    work is a started run: the files are MMEngine's Runner's."""
    from mmengine.hooks import Hook

    from openselfsup.engine import AtomicRunner
    from openselfsup.registry import HOOKS

    class FailsAfterTheFirstSave(Hook):
        priority = 'LOWEST'  # after the CheckpointHook (VERY_LOW)

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            raise RuntimeError('failed after the first save')

    HOOKS.register_module(module=FailsAfterTheFirstSave, force=True)
    data = [dict(inputs=torch.full((2,), float(i))) for i in range(4)]
    loader = dict(dataset=data, batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='default_collate'))
    layouts = []
    for runner_type in ('AtomicRunner', 'Runner'):
        work = tmp_path / runner_type
        kind = AtomicRunner if runner_type == 'AtomicRunner' else \
            AtomicRunner.__mro__[1]
        runner = kind(
            model=_Toy(), work_dir=str(work), train_dataloader=loader,
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=False, max_iters=4),
            default_hooks=dict(checkpoint=dict(
                type='CheckpointHook', interval=1, by_epoch=False)),
            custom_hooks=[dict(type='FailsAfterTheFirstSave')],
            default_scope='openselfsup', log_level='WARNING',
            experiment_name=f'ckpt_hook_test_{next(_RUNS)}')
        with pytest.raises(RuntimeError, match='after the first save'):
            runner.train()
        layouts.append(sorted(
            re.sub(r'\d{8}_\d{6}', 'TS', os.path.relpath(p, work))
            for p in glob.glob(f'{work}/**', recursive=True)))
    assert 'iter_1.pth' in layouts[1] and 'TS/TS.log' in layouts[1]
    assert layouts[0] == layouts[1]


def test_a_baseline_validated_before_training_can_be_the_best(
        tmp_path, monkeypatch):
    """ValidateBeforeTrainHook (the balance configs) with save_best: the
    baseline's validation came before the checkpoint hook's before_train,
    and saving the best there failed with AttributeError (no file_backend
    yet). It is validated once every hook is set up; a baseline no epoch
    beats stays the best checkpoint (the model before training)."""
    from openselfsup.engine import load_checkpoint_file
    monkeypatch.setattr(sys.modules[__name__], 'SCORES', [0.9, 0.5, 0.7])
    work = tmp_path / 'work'
    runner = _train(work, epochs=2, interval=1, max_keep_ckpts=1,
                    save_best='acc',
                    custom_hooks=[dict(type='ValidateBeforeTrainHook')])
    assert runner.epoch == 2
    assert _kept(work) == (['best_acc_epoch_0.pth', 'epoch_2.pth'],
                           'epoch_2.pth')
    best = load_checkpoint_file(str(work / 'best_acc_epoch_0.pth'))
    assert (best['meta']['epoch'], best['meta']['iter']) == (0, 0)


def test_resuming_a_finished_run_says_nothing_is_left_to_train(tmp_path):
    """--resume from a checkpoint at the end of the schedule trains nothing
    (as MMEngine): the log says so, naming the key that trains longer; a
    resume with epochs left does not."""
    work = tmp_path / 'work'
    _train(work, epochs=2, interval=1)
    assert _train(work, epochs=2, resume=True, interval=1).epoch == 2
    said = 'is at epoch 2, the end of train_cfg.max_epochs = 2: nothing is'
    assert said in _log_text(work)
    shutil.rmtree(work)
    _train(work, epochs=1, interval=1)
    assert _train(work, epochs=2, resume=True, interval=1).epoch == 2
    assert 'nothing is left to train' not in _log_text(work)


def test_resuming_with_a_lower_end_says_where_the_checkpoint_stands(
        tmp_path):
    """A resume whose train_cfg.max_epochs is below the checkpoint's epoch
    said it was at 'the end of' that schedule and to raise max_epochs
    (raised to 2, still nothing trains): it says 'past' it, and above
    which epoch. A checkpoint of a run that had not ended (epoch 1 of 3),
    resumed with max_epochs = 1 to end it there, trains nothing and saves
    no checkpoint: the log now says that its work dir still reads as an
    interrupted run (the readers of a trained encoder refuse it), which
    resolve_trained_checkpoint confirms."""
    from mmengine.config import Config

    from openselfsup.utils import InputError
    from openselfsup.utils.checkpoint import resolve_trained_checkpoint

    def recorded(epochs):  # the config text MMEngine keeps in the meta
        return Config(dict(train_cfg=dict(by_epoch=True,
                                          max_epochs=epochs)))
    work = tmp_path / 'work'
    _train(work, epochs=3, interval=1, cfg=recorded(3))
    assert _train(work, epochs=1, resume=True, interval=1,
                  cfg=recorded(1)).epoch == 3
    log = _log_text(work)
    assert ('epoch_3.pth is at epoch 3, past train_cfg.max_epochs = 1: '
            'nothing is left to train (to train longer, raise '
            'train_cfg.max_epochs above 3, and the learning-rate '
            "schedule's end with it)") in log, log
    assert 'the end of' not in log and 'had not ended' not in log
    assert resolve_trained_checkpoint(str(work)).endswith('epoch_3.pth')
    shutil.rmtree(work)
    # an interrupted run (epoch 1 of 3) ended by a lower max_epochs
    _train(work, epochs=1, interval=1, cfg=recorded(3))
    assert _train(work, epochs=1, resume=True, interval=1,
                  cfg=recorded(1)).epoch == 1
    log = _log_text(work)
    assert ('epoch_1.pth is at epoch 1, the end of train_cfg.max_epochs = '
            '1: nothing is left to train (to train longer, raise '
            "train_cfg.max_epochs, and the learning-rate schedule's end "
            'with it); the run that wrote it had not ended (its '
            'train_cfg.max_epochs = 3) and this one saves no checkpoint: '
            'its work dir still reads as that interrupted run (feature '
            'extraction and backbone export refuse the folder: give them '
            'the checkpoint file)') in log, log
    with pytest.raises(InputError, match='its run has not ended'):
        resolve_trained_checkpoint(str(work))


def test_resuming_an_ended_run_saved_by_iteration_says_it_trains_again(
        tmp_path):
    """An epoch-based run that saves by iteration
    (default_hooks.checkpoint.by_epoch=False) ends with a checkpoint whose
    meta counts the epoch in progress (epoch 1 of 2, 0-based, at its last
    iteration): MMEngine's resume of that ended run trained its last epoch
    again (the reference: iteration 4 -> 6, iter_6.pth) without a word,
    where unfinished_run takes it for ended. The log now says so; so it
    does where an epoch not the last is repeated (a 1-epoch run resumed
    for 2: iteration 2 -> 6, epoch 1 trained twice)."""
    work = tmp_path / 'work'
    _train(work, epochs=2, interval=2, by_epoch=False)
    runner = _train(work, epochs=2, interval=2, by_epoch=False, resume=True)
    assert (runner.epoch, runner.iter) == (2, 6)  # MMEngine's behaviour
    log = _log_text(work)
    assert ('iter_4.pth was saved by iteration (default_hooks.checkpoint.'
            'by_epoch=False) at iteration 4, the last of epoch 2 = '
            'train_cfg.max_epochs (2 iterations an epoch), which its meta '
            'counts as epoch 1: its run had ended, and MMEngine\'s resume '
            'trains epoch 2 again (2 iterations past the schedule); to train '
            'longer, raise train_cfg.max_epochs, and the learning-rate '
            "schedule's end with it") in log, log
    shutil.rmtree(work)
    _train(work, epochs=1, interval=2, by_epoch=False)
    runner = _train(work, epochs=2, interval=2, by_epoch=False, resume=True)
    assert (runner.epoch, runner.iter) == (2, 6)  # MMEngine's behaviour
    log = _log_text(work)
    assert ('iter_2.pth was saved by iteration (default_hooks.checkpoint.'
            'by_epoch=False) at iteration 2, 2 of 2 iterations into epoch 1 '
            "(its meta counts 0 epochs done): MMEngine's resume trains "
            'epoch 1 from its first iteration, those 2 again') in log, log
    assert 'its run had ended' not in log
    # saved by epoch: nothing is repeated, nothing said
    shutil.rmtree(work)
    _train(work, epochs=1, interval=1)
    assert _train(work, epochs=2, interval=1, resume=True).iter == 4
    assert 'saved by iteration' not in _log_text(work)


def test_a_resume_saved_by_iteration_in_epoch_2_says_one_epoch_done(
        tmp_path):
    """The unchanged batch's line at epoch 1 done (by hand: 4 images in
    batches of 2, 2 iterations an epoch; saved by iteration at iteration
    3 alone, 1 into epoch 2): '(its meta counts 1 epoch done)', in the
    singular, and no share of another batch; MMEngine's resume trains
    that 1 iteration again (iteration 3 -> 3 + 2)."""
    work = tmp_path / 'work'
    _train(work, epochs=2, interval=3, by_epoch=False, save_last=False)
    assert _kept(work) == (['iter_3.pth'], 'iter_3.pth')
    runner = _train(work, epochs=2, interval=3, by_epoch=False,
                    save_last=False, resume=True)
    assert (runner.epoch, runner.iter, runner._trained_again) == (2, 5, 1)
    log = _log_text(work)
    assert ('iter_3.pth was saved by iteration (default_hooks.checkpoint.'
            'by_epoch=False) at iteration 3, 1 of 2 iterations into epoch 2 '
            "(its meta counts 1 epoch done): MMEngine's resume trains "
            'epoch 2 from its first iteration, those 1 again') in log, log


def test_a_work_dir_reached_by_another_path_is_not_taken_for_moved(
        tmp_path, monkeypatch):
    """A run trained in a work dir through a symlink and resumed through
    its real path: the hub's paths name the same files, so nothing is said
    about a copied or moved work dir (it is for one copied: the check
    itself)."""
    from mmengine.logging import MMLogger
    said = []
    real_info = MMLogger.info
    monkeypatch.setattr(MMLogger, 'info', lambda self, msg, *a, **k: (
        said.append(str(msg)), real_info(self, msg, *a, **k)))
    keep = dict(interval=1, max_keep_ckpts=1, save_best='acc')
    real, link = tmp_path / 'real', tmp_path / 'link'
    real.mkdir()
    link.symlink_to(real)
    monkeypatch.setitem(globals(), 'SCORES', [0.5, 0.7, 0.6, 0.8])
    _train(link, epochs=2, **keep)
    _train(real, epochs=3, resume=True, **keep)
    assert not [m for m in said if 'copied or moved' in m]
    shutil.copytree(real, tmp_path / 'copy')
    _train(tmp_path / 'copy', epochs=4, resume=True, **keep)
    assert [m for m in said if 'copied or moved' in m]



def test_a_config_text_is_formatted_once_and_as_yapf_formats_it(monkeypatch):
    """MMEngine formats the config with yapf at the runner's start, in the
    dump and in every checkpoint's meta; the project keeps the result per
    text (openselfsup.engine.runner): the text is yapf's own, and yapf runs
    once per distinct config text."""
    from mmengine.config import Config
    from mmengine.config import config as mm_config
    from yapf.yapflib.yapf_api import FormatCode

    from openselfsup.engine.runner import format_once_per_text
    assert mm_config.FormatCode.once_per_text  # installed on import
    calls = []

    def counted(text, **kwargs):
        calls.append(text)
        return FormatCode(text, **kwargs)

    cfg = Config(dict(model=dict(type='X', depth=18, widths=[1, 2, 3]),
                      work_dir=f'run{next(_RUNS)}', lr=0.1))
    monkeypatch.setattr(mm_config, 'FormatCode', counted)
    reference = cfg.pretty_text  # yapf, unkept
    assert len(calls) == 1 and "type='X'" in reference
    monkeypatch.setattr(mm_config, 'FormatCode', format_once_per_text(counted))
    calls.clear()
    assert [cfg.pretty_text for _ in range(3)] == [reference] * 3
    assert len(calls) == 1
    cfg.lr = 0.2  # another text: formatted again, then kept too
    assert "lr = 0.2" in cfg.pretty_text and len(calls) == 2
    assert cfg.pretty_text and len(calls) == 2
    cfg.lr = 0.1
    assert cfg.pretty_text == reference and len(calls) == 2


def test_a_checkpoint_saved_without_crcs_is_read(tmp_path, monkeypatch):
    """``torch.save`` with ``compute_crc32 = False`` writes every CRC as 0,
    which ``torch.load`` reads; the readers here tested every CRC and
    refused it as not readable. It is read now, to the tensors torch.load
    gives (the reference), and the same file cut short is still
    refused."""
    import torch
    import torch.utils.serialization as serialization

    from openselfsup.utils import InputError
    from openselfsup.utils.checkpoint import (check_checkpoint_file,
                                              load_checkpoint_file)
    from openselfsup.utils.checkpoint_files import checkpoint_meta
    monkeypatch.setattr(serialization.config.save, 'compute_crc32', False)
    path = str(tmp_path / 'nocrc.pth')
    torch.save({'w': torch.arange(1000.), 'meta': {'epoch': 3}}, path)
    monkeypatch.undo()
    # the launchers' torch-free meta reader too (MetaUnread: the resume's
    # meta checks were left to the run)
    assert checkpoint_meta(path) == {'epoch': 3}
    import zipfile
    with zipfile.ZipFile(path) as zf:  # what makes it this case
        assert {i.CRC for i in zf.infolist()} == {0}
    check_checkpoint_file(path)  # refused before
    assert torch.equal(load_checkpoint_file(path)['w'],
                       torch.load(path, weights_only=True)['w'])
    data = open(path, 'rb').read()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(InputError, match='not a readable PyTorch'):
        check_checkpoint_file(str(cut))


def _rezipped(path, compression=None, last=None, without_crcs=False):
    """The bytes of the ``torch.save`` zip ``path`` written again by
    Python's zipfile, as another tool writes it: each member
    ``compression`` (default stored), the member ending with ``last``
    moved to the end, with ``without_crcs`` every CRC set to 0 (local
    headers and directory: as torch's ``compute_crc32 = False``)."""
    import io
    import struct
    import zipfile
    with zipfile.ZipFile(path) as src:
        names = src.namelist()
        if last is not None:
            names = [n for n in names if not n.endswith(last)] + \
                [n for n in names if n.endswith(last)]
        out = io.BytesIO()
        with zipfile.ZipFile(out, 'w', compression or zipfile.ZIP_STORED
                             ) as dst:
            for name in names:
                dst.writestr(name, src.read(name))
    data = bytearray(out.getvalue())
    if without_crcs:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
            at = zf.start_dir
            for info in zf.infolist():  # the local headers' CRC
                data[info.header_offset + 14:info.header_offset + 18] = \
                    bytes(4)
        while data[at:at + 4] == b'PK\x01\x02':  # the directory's
            data[at + 16:at + 20] = bytes(4)
            n, m, k = struct.unpack('<HHH', data[at + 28:at + 34])
            at += 46 + n + m + k
    return bytes(data)


def test_a_damaged_deflated_member_is_not_a_complete_checkpoint(tmp_path):
    """A zip another tool wrote with deflated members (torch writes them
    stored; torch.load reads both: the reference) whose compressed data is
    damaged: zlib's error escaped is_complete_archive, a traceback from
    --resume and every reader testing a file, where a damaged stored
    member is the one-line refusal. It is that refusal now; the whole
    deflated file is read."""
    import io
    import zipfile
    import zlib

    from openselfsup.apis.train import resume_path
    from openselfsup.utils import InputError
    from openselfsup.utils.checkpoint import check_checkpoint_file
    from openselfsup.utils.checkpoint_files import is_complete_archive
    torch.save({'w': torch.arange(1000.)}, tmp_path / 't.pth')
    whole = _rezipped(tmp_path / 't.pth', zipfile.ZIP_DEFLATED)
    assert torch.equal(torch.load(io.BytesIO(whole), weights_only=True)['w'],
                       torch.arange(1000.))
    assert is_complete_archive(io.BytesIO(whole))
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        info = [i for i in zf.infolist() if i.filename.endswith('data/0')][0]
    at = info.header_offset + 30 + len(info.filename.encode()) + 8
    damaged = bytearray(whole)
    damaged[at:at + 32] = bytes(b ^ 0xFF for b in damaged[at:at + 32])
    path = tmp_path / 'damaged.pth'
    path.write_bytes(damaged)
    start = info.header_offset + 30 + len(info.filename.encode())
    with pytest.raises(zlib.error):  # the reference: the member's deflate
        zlib.decompressobj(-15).decompress(
            bytes(damaged[start:start + info.compress_size]))
    # torch.load reads it without an error: the damage goes unsaid. What
    # it returns is not compared: the tensor's memory is left unwritten
    # where the inflate stops, so it held, now and then, the bytes of the
    # torch.arange(1000.) just freed, and the test failed at random
    torch.load(str(path), weights_only=True)
    assert not is_complete_archive(io.BytesIO(bytes(damaged)))
    with pytest.raises(InputError, match=re.escape(
            f'--resume {path}: not a complete checkpoint (cut short')):
        resume_path(str(path))
    with pytest.raises(InputError, match='not a readable PyTorch'):
        check_checkpoint_file(str(path))

def test_a_member_without_crc_cut_short_behind_a_valid_directory(tmp_path):
    """A zip without CRCs (torch's compute_crc32 = False) is tested by
    reading each member to its recorded length: the test cut the end
    record, which the directory's read refuses first. Here a member's data
    is cut short behind a directory kept valid (the end record's offset
    moved): the member's recorded length runs past the file's end, and
    the file is not complete, as torch.load refuses it (the reference);
    whole, it is read to the tensors torch.load gives."""
    import io
    import struct
    import zipfile

    from openselfsup.utils.checkpoint_files import is_complete_archive
    torch.save({'w': torch.arange(1000.)}, tmp_path / 't.pth')
    whole = _rezipped(tmp_path / 't.pth', last='data/0', without_crcs=True)
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        assert {i.CRC for i in zf.infolist()} == {0}
        end = zf.start_dir
    assert is_complete_archive(io.BytesIO(whole))
    assert torch.equal(torch.load(io.BytesIO(whole), weights_only=True)['w'],
                       torch.arange(1000.))
    cut = 3000  # of the 4000 bytes of data/0, more than follow it
    data = bytearray(whole[:end - cut] + whole[end:])
    record = data.rindex(b'PK\x05\x06')
    start, = struct.unpack('<I', data[record + 16:record + 20])
    data[record + 16:record + 20] = struct.pack('<I', start - cut)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:  # the directory
        assert zf.getinfo(zf.namelist()[-1]).file_size == 4000
    with pytest.raises(RuntimeError):
        torch.load(io.BytesIO(bytes(data)), weights_only=True)
    assert not is_complete_archive(io.BytesIO(bytes(data)))


def test_a_trained_work_dirs_legacy_format_checkpoint_is_picked(tmp_path):
    """Extraction and the backbone export given a run's work dir
    (resolve_trained_checkpoint) picked zip checkpoints only: a newest
    checkpoint of torch's legacy format (last_checkpoint naming it) was
    passed over for an older zip, whose weights were used without a word,
    where the same file given by name is read. It is picked now (the
    reference: the loaders' rule, is_loadable_checkpoint, and torch.load
    reading it)."""
    from openselfsup.utils.checkpoint import resolve_trained_checkpoint
    from openselfsup.utils.checkpoint_files import is_loadable_checkpoint
    work = tmp_path / 'run'
    work.mkdir()
    old, new = str(work / 'iter_2.pth'), str(work / 'iter_4.pth')
    for it, path, zipped in ((2, old, True), (4, new, False)):
        torch.save({'state_dict': {'w': torch.full((2,), float(it))},
                    'meta': {'iter': it}}, path,
                   _use_new_zipfile_serialization=zipped)
    (work / 'last_checkpoint').write_text(new)
    assert is_loadable_checkpoint(new)
    assert torch.load(new, weights_only=True)['meta'] == {'iter': 4}
    assert resolve_trained_checkpoint(str(work)) == new



def test_a_work_dirs_cut_short_legacy_checkpoint_is_passed_over(tmp_path,
                                                             monkeypatch):
    """The readers of a run's work dir (extraction and the backbone
    export: resolve_trained_checkpoint; kNN evaluation:
    read_resolved_checkpoint) took a newest checkpoint of torch's legacy
    format cut short while it was written (last_checkpoint naming it)
    over an older complete zip: kNN evaluated it (its pickle has no CRC),
    extraction stopped on it. Both pass over it now, as over a zip cut
    short, naming it in the log, and take the older one (the reference:
    torch.load refuses the newer file and reads the older); a work dir of
    damaged files only is refused at once."""
    import io

    from openselfsup.utils import InputError
    from openselfsup.utils.checkpoint import resolve_trained_checkpoint
    from openselfsup.utils.checkpoint_files import read_resolved_checkpoint
    work = tmp_path / 'wd'
    work.mkdir()
    old, new = str(work / 'epoch_1.pth'), str(work / 'epoch_2.pth')
    torch.save({'meta': {'epoch': 1, 'iter': 3},
                'state_dict': {'a': torch.ones(1000)}}, old)
    whole = io.BytesIO()
    torch.save({'meta': {'epoch': 2, 'iter': 6},
                'state_dict': {'a': torch.ones(1000)}}, whole,
               _use_new_zipfile_serialization=False)
    open(new, 'wb').write(whole.getvalue()[:-100])
    (work / 'last_checkpoint').write_text(new)
    with pytest.raises(RuntimeError, match='unexpected EOF'):
        torch.load(new, weights_only=True)
    assert torch.load(old, weights_only=True)['meta']['epoch'] == 1

    class Log:
        def __init__(self):
            self.lines = []

        def warning(self, msg):
            self.lines.append(msg)
    for pick in (lambda log: read_resolved_checkpoint(str(work),
                                                      logger=log)[0],
                 lambda log: resolve_trained_checkpoint(str(work),
                                                        logger=log)):
        log = Log()
        assert pick(log) == old
        assert any(new in line and 'incomplete' in line
                   for line in log.lines), log.lines
    # knn_eval's logger: the warnings held (fetching MMEngine's current
    # logger imports torch), said on it when flushed: the same lines
    from mmengine.logging import MMLogger

    from openselfsup.utils.checkpoint_files import HeldWarnings
    current = Log()
    monkeypatch.setattr(MMLogger, 'get_current_instance',
                        classmethod(lambda cls: current))
    held = HeldWarnings()
    assert read_resolved_checkpoint(str(work), logger=held)[0] == old
    assert current.lines == []
    held.flush()
    assert current.lines == log.lines, current.lines
    os.remove(old)
    for pick in (read_resolved_checkpoint, resolve_trained_checkpoint):
        with pytest.raises(InputError, match='a folder without a complete '
                           'training checkpoint'):
            pick(str(work))


@pytest.mark.parametrize('protocol', [2, 4])
def test_a_legacy_file_is_whole_where_torch_reads_it(tmp_path, protocol):
    """is_whole_loadable, the work-dir pick's rule, tells a file of
    torch's legacy format cut short by walking its pickles and skipping
    its storages' bytes. Every prefix of a file of many storage kinds
    (a view, shared, empty, complex) is judged against
    torch.load itself (the reference): the whole file read, every shorter
    prefix refused by torch and by the rule. Pickle protocol 4 numbers
    its memo across the file's pickles unless each is read by a fresh
    unpickler, as torch reads them."""
    import io

    from openselfsup.utils.checkpoint_files import is_whole_loadable
    base = torch.arange(6, dtype=torch.int16)
    saved = {'f': torch.ones(3), 'view': base[1:4], 'same': base,
             'b': torch.tensor([True]),
             'd': torch.zeros(0, dtype=torch.float64),
             'c': torch.ones(1, dtype=torch.complex64), 'n': 7}
    buf = io.BytesIO()
    torch.save(saved, buf, _use_new_zipfile_serialization=False,
               pickle_protocol=protocol)
    data = buf.getvalue()
    path = tmp_path / 'whole.pth'
    path.write_bytes(data)
    # the file is the test's own: torch's weights-only reader does not
    # read protocol 4's frames, its full reader does
    assert torch.equal(torch.load(str(path), weights_only=False)['view'],
                       base[1:4])
    assert is_whole_loadable(str(path))
    assert is_whole_loadable(io.BytesIO(data))
    for end in range(len(data)):
        with pytest.raises(Exception):
            torch.load(io.BytesIO(data[:end]), weights_only=False)
        assert not is_whole_loadable(io.BytesIO(data[:end])), end


def test_the_legacy_element_sizes_are_torchs_for_every_dtype_it_saves():
    """Every dtype of torch (each ``torch.dtype`` it names), a tensor of it
    saved in the legacy format where torch saves it (int1..7 and uint1..7
    it refuses, KeyError): the storage type the pickle names is in
    _LEGACY_ELEMENT_BYTES, with torch's own element size of that type's
    dtype (an ``UntypedStorage``, which torch writes for the dtypes of no
    legacy type, uint16/32/64, float8, complex32, bits: its count is
    bytes, its element 1 byte, as ``torch.UntypedStorage.element_size``),
    and the table holds no other name. The file is whole by
    is_whole_legacy, and cut by one byte it is not: the untyped ones were
    missing, so a cut-short file of a uint16 tensor was judged whole."""
    import io

    from openselfsup.utils.checkpoint_files import (
        _LEGACY_ELEMENT_BYTES, _LegacyWalker, _OpaqueUnpickler,
        is_whole_legacy)
    dtypes = {v for v in vars(torch).values() if isinstance(v, torch.dtype)}
    named, refused = set(), set()
    for dtype in sorted(dtypes, key=str):
        tensor = torch.empty(4, dtype=dtype)
        if tensor.is_quantized:  # (of no quantizer: made by quantizing)
            tensor = torch.quantize_per_tensor(torch.ones(8), 0.5, 0, dtype)
        buf = io.BytesIO()
        try:
            torch.save(tensor, buf, _use_new_zipfile_serialization=False)
        except KeyError:  # 'dtype torch.int4 is not recognized'
            refused.add(dtype)
            continue
        data = buf.getvalue()
        f = io.BytesIO(data)
        for _ in range(3):  # magic number, protocol version, system info
            _OpaqueUnpickler(f).load()
        walker = _LegacyWalker(f)
        walker.load()
        (name, _), = walker.storages.values()
        kind = getattr(torch, name)
        width = torch.empty((), dtype=kind.dtype).element_size() \
            if hasattr(kind, 'dtype') else kind(1).element_size()
        assert _LEGACY_ELEMENT_BYTES.get(name) == width, (dtype, name)
        named.add(name)
        assert is_whole_legacy(io.BytesIO(data)), dtype
        assert not is_whole_legacy(io.BytesIO(data[:-1])), dtype
    assert named == set(_LEGACY_ELEMENT_BYTES), \
        set(_LEGACY_ELEMENT_BYTES) ^ named
    # the dtypes torch refuses to save so are its sub-byte integers
    assert all(d.itemsize == 1 and not d.is_floating_point
               for d in refused), refused


def test_the_file_last_checkpoint_names_is_not_called_an_earlier_runs(
        tmp_path):
    """last_checkpoint names iter_100.pth, cut short while it was saved,
    with iter_50.pth complete beside it: the resume goes back to iter_50
    and says why once; the named file itself was also walked as an
    ``iter_*`` file of no earlier step and called 'left by an earlier
    run'. (A later step of another run is still passed over so.)"""
    import torch

    from openselfsup.engine import find_resumable_checkpoint
    work = tmp_path / 'work'
    work.mkdir()
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'iter': 50}},
               str(work / 'iter_50.pth'))
    whole = (work / 'iter_50.pth').read_bytes()
    (work / 'iter_100.pth').write_bytes(whole[:len(whole) // 2])
    (work / 'iter_200.pth').write_bytes(whole)  # an earlier run's
    (work / 'last_checkpoint').write_text(str(work / 'iter_100.pth'))

    class Said:
        lines: list = []

        def warning(self, msg):
            self.lines.append(msg)
    said = Said()
    assert find_resumable_checkpoint(str(work), said) == \
        str(work / 'iter_50.pth')
    assert [m.split(':')[0] for m in said.lines] == [
        f'last_checkpoint names {work}/iter_100.pth, which is missing or '
        'incomplete; looking for an older checkpoint'.split(':')[0],
        f'skipping {work}/iter_200.pth'], said.lines


def test_the_zip_directory_digest_is_the_members_crcs(tmp_path):
    """``zip_directory_digest`` (what tells the ranks' files at one path
    apart on a resume) reads the CRC-32s the zip's directory records: the
    reference, each member read whole and its CRC-32 computed here with
    zlib. A byte copy gives the same digest, a file of one other value
    another, a legacy (pickle) file none."""
    from openselfsup.utils.checkpoint_files import zip_directory_digest
    reference = zip_members_sha1
    state = {'meta': {'iter': 3}, 'w': torch.arange(6.)}
    torch.save(state, tmp_path / 'a.pth')
    shutil.copy(tmp_path / 'a.pth', tmp_path / 'copy.pth')
    state['w'][0] = 1.
    torch.save(state, tmp_path / 'b.pth')
    torch.save(state, tmp_path / 'legacy.pth',
               _use_new_zipfile_serialization=False)

    a = zip_directory_digest(str(tmp_path / 'a.pth'))
    assert a == reference(tmp_path / 'a.pth')
    assert zip_directory_digest(str(tmp_path / 'copy.pth')) == a
    b = zip_directory_digest(str(tmp_path / 'b.pth'))
    assert b == reference(tmp_path / 'b.pth') and b != a
    assert zip_directory_digest(str(tmp_path / 'legacy.pth')) is None
    assert zip_directory_digest(str(tmp_path / 'missing.pth')) is None


def test_one_object_saved_to_a_path_and_through_a_buffer_digests_alike(
        tmp_path):
    """``torch.save(obj, path)`` names the folder inside the zip after the
    file (``iter_301/data.pkl``), MMEngine's saver, through a buffer,
    ``archive/``: the digest (review r169: of the members' full names)
    told one object saved both ways apart, and a resume of identical
    checkpoints was refused as other files. Equal members (the folder
    aside) digest alike; a changed value does not."""
    from openselfsup.utils.checkpoint_files import zip_directory_digest
    state = {'meta': {'iter': 301}, 'w': torch.arange(6.)}
    save_two_ways(state, tmp_path / 'iter_301.pth', tmp_path / 'buffered.pth')
    a = zip_directory_digest(str(tmp_path / 'iter_301.pth'))
    assert a is not None
    assert zip_directory_digest(str(tmp_path / 'buffered.pth')) == a
    state['w'][5] = 0.
    torch.save(state, tmp_path / 'other.pth')
    assert zip_directory_digest(str(tmp_path / 'other.pth')) not in (a, None)


def test_a_legacy_file_holding_a_zip_end_record_is_no_zip(tmp_path):
    """A legacy (pickle) checkpoint whose last bytes, a uint8 tensor's,
    happen to be a zip's end record and a directory entry flagged UTF-8
    whose name is not (byte 0xff): zipfile's ``UnicodeDecodeError`` (a
    ValueError) escaped the zip readers as a traceback (review r169). Each
    now reads it as no zip; torch still loads it."""
    import struct
    import zipfile

    from openselfsup.utils.checkpoint_files import (
        has_zip_directory, is_complete_checkpoint, is_legacy_format,
        is_torch_archive, zip_directory_digest)
    name = b'\xff'
    entry = struct.pack('<4s4B4HL2L5H2L', b'PK\x01\x02', 20, 0, 20, 0,
                        0x800, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0,
                        0) + name
    end = struct.pack('<4s4H2LH', b'PK\x05\x06', 0, 0, 1, 1, len(entry), 0,
                      0)
    tail = torch.frombuffer(bytearray(entry + end), dtype=torch.uint8)
    path = tmp_path / 'legacy.pth'
    torch.save(tail, path, _use_new_zipfile_serialization=False)
    assert path.read_bytes().endswith(entry + end)
    with pytest.raises(UnicodeDecodeError):  # the crafted case holds
        zipfile.ZipFile(path)
    assert torch.equal(torch.load(path), tail) and is_legacy_format(path)
    assert not has_zip_directory(str(path))
    assert zip_directory_digest(str(path)) is None
    assert not is_torch_archive(str(path))
    assert not is_complete_checkpoint(str(path))
