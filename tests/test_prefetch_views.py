"""``prefetch_views`` (issue 16): the next batch's views made on a side
thread while the current step runs give the serial path's training bit
for bit, raise its errors, leave no thread behind, and are refused where
there are no batched views to make ahead.

The GPU part (a side CUDA stream, its event and ``record_stream``) is
not run here; on the CPU the thread runs the same code without a stream.
"""
import copy
import os
import threading
import traceback

import numpy as np
import pytest
import torch
from mmengine.config import Config
from _foundation_helpers import (CLP_DEMO, FSP_DEMO, REPO,
                                 checkpoint_tensors, mixed_size_list,
                                 small_config)

CLP = os.path.join(REPO, 'configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py')
FSP = os.path.join(REPO, 'configs/classification/nct/r18_bs512_ep100_all.py')
THREAD = 'openselfsup-prefetch-views'


def _prefetch_threads() -> list:
    return [t for t in threading.enumerate() if t.name == THREAD]


def _views_threads(monkeypatch) -> list:
    """The names of the threads the batched views are made on, one per
    batch, in order (the preprocessor's ``_make_view`` of view 0)."""
    from openselfsup.models import data_preprocessors as dp
    seen, make = [], dp._BatchAugMixin._make_view

    def spy(self, rgb, v, repeats=1):
        if v == 0:
            seen.append(threading.current_thread().name)
        return make(self, rgb, v, repeats)
    monkeypatch.setattr(dp._BatchAugMixin, '_make_view', spy)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize('base, workers', [(CLP_DEMO, 0), (FSP_DEMO, 2)],
                         ids=['clp', 'fsp-persistent-workers'])
def test_prefetched_views_train_as_the_serial_path(base, workers,
                                                   synthetic_root, tmp_path,
                                                   monkeypatch):
    """Two epochs of three steps, the views made on the CPU
    (``augment_on='device'``), with and without ``prefetch_views``: the
    same losses and the same checkpoints, every tensor (weights, optimizer
    state, the random streams), also the one saved after step 2, while the
    views of step 3 were made ahead (its generator state is the one from
    before them). With the prefetch, the first batch of each epoch has its
    views made on the main thread, the others on the side thread; no
    thread is left after training (nor the persistent workers)."""
    from openselfsup.apis import train
    root = os.path.join(synthetic_root, 'NCT') + os.sep
    got = {}
    for prefetch in (False, True):
        seen = _views_threads(monkeypatch)
        work = tmp_path / f'w{prefetch}'
        cfg = small_config(base, str(tmp_path / f'c{prefetch}.py'), root,
                           n_images=24, batch=8, epochs=2, workers=workers,
                           augment_on='device', prefetch_views=prefetch)
        runner = train(cfg, work_dir=str(work), cfg_options={
            'default_hooks.checkpoint.by_epoch': False,
            'default_hooks.checkpoint.interval': 2})
        assert runner.iter == 6
        assert not _prefetch_threads()
        loader = runner.train_loop.dataloader
        assert getattr(getattr(loader, 'loader', loader), '_iterator',
                       None) is None  # persistent workers shut down
        losses = runner.message_hub.get_scalar('train/loss').data[0]
        saved = {name: dict(checkpoint_tensors(torch.load(
            work / name, map_location='cpu', weights_only=False)))
            for name in ('iter_2.pth', 'iter_6.pth')}
        got[prefetch] = losses, saved, list(seen)
        monkeypatch.undo()
    assert got[False][2] == ['MainThread'] * 6
    assert got[True][2] == ['MainThread', THREAD, THREAD] * 2
    np.testing.assert_array_equal(got[True][0], got[False][0])
    for name, serial in got[False][1].items():
        prefetched = got[True][1][name]
        assert serial.keys() == prefetched.keys()
        assert any('views' in key for key in serial)
        for key, value in serial.items():
            assert torch.equal(value, prefetched[key]), (name, key)


@pytest.mark.slow
def test_an_error_of_a_prefetched_batch_is_the_serial_paths_line(
        synthetic_root, tmp_path):
    """A batch of several image sizes, the second of the run, is refused
    by the collate on the side thread: the caller gets the same one-line
    InputError as on the serial path (raised where the loop asks for the
    batch), and no thread is left running."""
    from openselfsup.apis import train
    from openselfsup.utils import InputError
    root = os.path.join(synthetic_root, 'NCT')
    ann = Config.fromfile(CLP_DEMO).train_dataloader.dataset.ann_file
    listed, odd, _ = mixed_size_list(root, ann, 8, tmp_path)
    said = {}
    for prefetch in (False, True):
        cfg = small_config(CLP_DEMO, str(tmp_path / f'c{prefetch}.py'),
                           root + '/', n_images=8, batch=4,
                           ann_file=str(listed))
        cfg_text = Config.fromfile(cfg)
        cfg_text.train_dataloader.dataset.pop('indices')  # in list order
        cfg_text.train_dataloader.sampler.shuffle = False
        cfg_text.dump(cfg)
        with pytest.raises(InputError) as caught:
            train(cfg, work_dir=str(tmp_path / f'w{prefetch}'),
                  cfg_options={'augment_on': 'device',
                               'prefetch_views': prefetch})
        said[prefetch] = str(caught.value)
        assert not _prefetch_threads()
        # raised by the side thread where it took the batch (none on the
        # serial path)
        frames = traceback.extract_tb(caught.value.__traceback__)
        assert any(f.name == '_make' for f in frames) is prefetch
    assert said[True] == said[False]
    assert said[True].startswith(f'{odd}: 8x8 px, in a batch of ')
    assert '\n' not in said[True]


@pytest.mark.slow
def test_an_interruption_leaves_no_prefetch_thread(synthetic_root,
                                                    tmp_path, monkeypatch):
    """A KeyboardInterrupt in the main thread while the side thread makes
    the next views (raised just after it is launched) reaches the caller,
    and the side thread is ended."""
    from openselfsup.apis import train
    from openselfsup.models.view_prefetch import ViewPrefetcher
    launch = ViewPrefetcher._launch

    def interrupted(self, source):
        launch(self, source)
        assert _prefetch_threads()
        raise KeyboardInterrupt
    monkeypatch.setattr(ViewPrefetcher, '_launch', interrupted)
    cfg = small_config(CLP_DEMO, str(tmp_path / 'c.py'),
                       os.path.join(synthetic_root, 'NCT') + os.sep,
                       n_images=16, batch=8, augment_on='device',
                       prefetch_views=True)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, work_dir=str(tmp_path / 'w'))
    assert not _prefetch_threads()


def test_prefetch_views_is_refused_with_batch_augments():
    """``prefetch_views`` is refused in one line with batch augments
    (Mixup drew the next batch's global random numbers on the side thread
    before a checkpoint was saved: a resumed run diverged); its refusals
    where there are no batched views or no project runner, and of a value
    other than True / False, beside ``reuse_batch_memory``'s:
    ``test_pretrain_recipes.py``."""
    from openselfsup.apis.fast_path import apply_fast_path
    from openselfsup.utils import InputError
    fsp = Config.fromfile(FSP)
    mixup = [dict(type='Mixup', alpha=0.2)]
    for where in ('data_preprocessor', 'train_cfg'):
        cfg = copy.deepcopy(fsp)
        cfg.prefetch_views = True
        if where == 'train_cfg':
            cfg.model.train_cfg = dict(augments=mixup)
        else:
            cfg.model.data_preprocessor = dict(
                cfg.model.get('data_preprocessor') or {},
                batch_augments=dict(augments=mixup))
        with pytest.raises(InputError, match=r"^prefetch_views=True cannot "
                           r"make batch augments \(Mixup, CutMix: .* set "
                           r"prefetch_views=False \(--cfg-options "
                           r"prefetch_views=False\)$"):
            apply_fast_path(cfg, True)


@pytest.mark.slow
def test_an_iteration_based_run_resumed_with_prefetch_is_the_serial_run(
        synthetic_root, tmp_path, monkeypatch):
    """An ``IterBasedTrainLoop`` of 6 steps over epochs of 2 (MMEngine's
    infinite iterator, whose loader and pass are wrapped), checkpoints
    every 2 steps: with
    ``prefetch_views`` the run, and the run resumed from step 4 (the loop
    draws 4 batches only to skip them, which get no views, then the
    checkpoint's views state, saved while step 5's views were made ahead),
    end with the serial run's final checkpoint, every tensor."""
    from openselfsup.apis import train
    root = os.path.join(synthetic_root, 'NCT') + os.sep
    options = {'default_hooks.checkpoint.by_epoch': False,
               'default_hooks.checkpoint.interval': 2}
    final = {}
    for prefetch in (False, True):
        cfg = small_config(CLP_DEMO, str(tmp_path / f'c{prefetch}.py'), root,
                           n_images=16, batch=8, augment_on='device',
                           prefetch_views=prefetch)
        c = Config.fromfile(cfg)
        c.train_cfg = dict(type='IterBasedTrainLoop', max_iters=6)
        c.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                  by_epoch=False, begin=0, end=6)]
        c.dump(cfg)
        work = tmp_path / f'w{prefetch}'
        seen = _views_threads(monkeypatch)
        train(cfg, work_dir=str(work), cfg_options=options)
        # the first batch of each pass over the loader in the step, as
        # MMEngine's infinite iterator starts each pass on the main thread
        assert seen == ['MainThread', THREAD if prefetch else
                        'MainThread'] * 3
        final[prefetch] = dict(checkpoint_tensors(torch.load(
            work / 'iter_6.pth', map_location='cpu', weights_only=False)))
        if prefetch:
            again = tmp_path / 'resumed'
            seen.clear()
            train(cfg, work_dir=str(again), cfg_options=options,
                  resume=str(work / 'iter_4.pth'))
            final['resumed'] = dict(checkpoint_tensors(torch.load(
                again / 'iter_6.pth', map_location='cpu',
                weights_only=False)))
            assert seen == ['MainThread', THREAD]  # steps 5 and 6
            assert not _prefetch_threads()
        monkeypatch.undo()
    for run in (True, 'resumed'):
        assert final[run].keys() == final[False].keys()
        for key, value in final[False].items():
            assert torch.equal(value, final[run][key]), (run, key)


@pytest.mark.parametrize('device', [
    'cpu', pytest.param('cuda', marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason='needs CUDA'))])
def test_prefetched_views_equal_the_serial_views(device):
    """The CLP preprocessor's views of four batches, made in the step and
    made ahead (:class:`ViewPrefetcher` over the batches, the steps under
    bfloat16 autocast on a GPU, with other work queued on the main stream
    in between): equal bit for bit, and the generator left where the
    serial path leaves it once the prefetcher is closed. On a GPU the
    views are made on a side stream, which the main stream waits for."""
    from openselfsup.models.view_prefetch import ViewPrefetcher
    batches = _uint8_batches(4)
    if device == 'cuda':
        batches = [dict(b, inputs=b['inputs'].pin_memory()) for b in batches]
    autocast = torch.autocast(device, dtype=torch.bfloat16,
                              enabled=device == 'cuda')

    serial_pre = _clp_preprocessor().to(device)
    ahead_pre = _clp_preprocessor().to(device)
    with autocast:
        serial = [serial_pre(dict(b), True)['inputs'] for b in batches]
    prefetcher = ViewPrefetcher(ahead_pre)
    ahead, other = [], torch.ones(256, 256, device=device)
    with autocast:
        for batch in prefetcher.iterate(iter(batches)):
            ahead.append(ahead_pre(batch, True)['inputs'])
            for _ in range(20):  # main-stream work while the next is made
                other = other @ other / 256
    prefetcher.close()
    assert not _prefetch_threads()
    assert len(ahead) == len(serial) == 4
    for s, a in zip(serial, ahead):
        assert len(s) == len(a) == 2
        for sv, av in zip(s, a):
            assert av.device.type == device
            assert torch.equal(sv.cpu(), av.cpu())
    assert torch.equal(serial_pre.generator.get_state(),
                       ahead_pre.generator.get_state())


def _clp_preprocessor(seed: int = 3):
    """The CLP recipe's batched-views preprocessor, 32 px views."""
    from openselfsup.apis.fast_path import batched_views_config
    from openselfsup.registry import MODELS
    cfg = Config.fromfile(CLP)
    batched_views_config(cfg, [])
    settings = dict(cfg.model.data_preprocessor, seed=seed)
    settings['views'] = copy.deepcopy(settings['views'])
    settings['views'][0]['scale'] = 32
    return MODELS.build(settings)


def test_a_preprocessor_of_no_seed_draws_alike_in_every_process():
    """The batched views' generator of a preprocessor built without a
    ``seed`` outside a training run (a script, a benchmark) is seeded with
    0 in every process, as a data set's ``seed=None`` is: it read
    ``torch.initial_seed()``, which a process that never seeded torch
    draws at random, so two such processes made other views of one batch.
    Two processes that never seeded torch, forks of the tests' server
    (``forked_python_c``: each reseeds torch's global generator at
    random, as a fresh interpreter starts; a plain fork would share its
    parent's seed), against a preprocessor of seed 0 here."""
    from _foundation_helpers import MODEL_STACK_IMPORT, forked_python_c
    code = ('import sys, torch\n'
            'torch.set_num_threads(1)\n'
            'sys.path.insert(0, "tests")\n'
            'from test_prefetch_views import _clp_preprocessor, '
            '_uint8_batches\n'
            'pre = _clp_preprocessor(seed=None)\n'
            'views = pre(_uint8_batches(1)[0], True)["inputs"]\n'
            'print(pre.seed, float(sum(v.double().sum() for v in views)), '
            'torch.initial_seed())\n')
    runs = []
    for _ in range(2):
        rc, out, err = forked_python_c(MODEL_STACK_IMPORT, code, cwd=REPO)
        assert rc == 0, err[-3000:]
        runs.append(out.split())
    assert runs[0][-1] != runs[1][-1]  # torch's seeds differ
    pre = _clp_preprocessor(seed=0)
    views = pre(_uint8_batches(1)[0], True)['inputs']
    want = ['0', repr(float(sum(v.double().sum() for v in views)))]
    for run in runs:
        assert run[:-1] == want, run


@pytest.mark.parametrize('runner_type', ['AtomicRunner', 'Runner'])
@pytest.mark.parametrize('diff_rank_seed', [False, True])
def test_a_runs_preprocessor_of_no_seed_takes_the_processs_seed(
        tmp_path, monkeypatch, diff_rank_seed, runner_type):
    """In a training run the batched views' generator of a preprocessor
    given no ``seed`` is seeded with the process's seed (``runner.seed``:
    ``randomness.seed``, plus the rank where ``diff_rank_seed``), the
    value ``torch.initial_seed()`` gave it when MMEngine had seeded torch
    before building the model: a run's views are those they were; the
    config keeps its preprocessor as written. On rank 1 (a stand-in:
    MMEngine's rank read as 1) the seed is 1001 under ``diff_rank_seed``.
    A seed the config gives is kept. Built by the project's entry point
    (``build_runner``), under its runner and under MMEngine's Runner
    (``runner_type='Runner'``), whose model the entry point gives the
    seed once built (it drew seed 0's views under every seed and rank)."""
    import mmengine.runner.utils

    from openselfsup.apis.train import build_runner

    def runner(rank, **pre):
        cfg = Config.fromfile(CLP_DEMO)
        cfg.augment_on = 'device'
        cfg.runner_type = runner_type
        cfg.model.data_preprocessor.update(pre)
        cfg.randomness = dict(seed=1000, diff_rank_seed=diff_rank_seed)
        cfg.experiment_name = f'pre_{rank}{len(pre)}_{tmp_path.name}'
        with monkeypatch.context() as m:
            m.setattr(mmengine.runner.utils, 'get_rank', lambda *a: rank)
            built = build_runner(CLP_DEMO, loaded=cfg, work_dir=str(
                tmp_path / f'w{rank}{len(pre)}'))
        assert type(built).__name__ == runner_type
        assert 'seed' not in built.cfg.model.data_preprocessor or pre
        return built

    for rank in (0, 1):
        built = runner(rank)
        want = 1000 + (rank if diff_rank_seed else 0)
        assert built.seed == want
        assert built.model.data_preprocessor.seed == want
        assert built.model.data_preprocessor.generator.initial_seed() == want
        assert torch.initial_seed() == want
    assert runner(0, seed=5).model.data_preprocessor.seed == 5


def test_a_preprocessors_seed_is_set_before_its_generator_is_made():
    """The views generator is made at its first use from the seed then
    (a run gives its process's to a built preprocessor), normalised as
    the argument is; set after, it would be a seed the views never drew
    with: refused."""
    pre = _clp_preprocessor(seed=None)
    pre.seed = -1
    assert pre.seed == 2**63 - 1
    assert pre.generator.initial_seed() == 2**63 - 1
    with pytest.raises(RuntimeError, match='set before its first use'):
        pre.seed = 3
    assert pre.seed == 2**63 - 1


def _uint8_batches(n: int):
    gen = torch.Generator().manual_seed(0)
    return [dict(inputs=torch.randint(0, 256, (4, 3, 40, 40), generator=gen,
                                      dtype=torch.uint8), data_samples=None)
            for _ in range(n)]


def test_a_views_refusal_made_ahead_is_raised_where_the_step_takes_it():
    """The views' own refusal of a batch made ahead (a collate's list,
    not a stacked batch) is raised where the step takes the batch, as on
    the serial path, not where the loop draws it: the same exception,
    with the side thread's frames; no thread is left."""
    from openselfsup.models.view_prefetch import ViewPrefetcher
    from openselfsup.utils import InputError
    good, = _uint8_batches(1)
    listed = dict(good, inputs=list(good['inputs']))
    serial = _clp_preprocessor()
    with pytest.raises(InputError) as serial_caught:
        serial(dict(listed), True)
    pre = _clp_preprocessor()
    batches = ViewPrefetcher(pre).iterate(iter([good, listed]))
    pre(next(batches), True)
    taken = next(batches)  # drawn without a word
    with pytest.raises(InputError) as caught:
        pre(taken, True)
    assert str(caught.value) == str(serial_caught.value)
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert any(f.name == '_make' for f in frames)
    pre.prefetcher.close()
    assert not _prefetch_threads()


def test_views_made_ahead_follow_a_generator_state_set_since():
    """A generator state set while the next views are made ahead (a
    resume, a restore) is the one they are drawn from: they are made again
    when taken, as the serial path draws them after the state is set; the
    state a checkpoint reads meanwhile is the one set."""
    from openselfsup.models.view_prefetch import ViewPrefetcher
    first, second = _uint8_batches(2)
    serial = _clp_preprocessor()
    state = serial.generator.get_state()
    serial(dict(first), True)
    serial.generator.set_state(state)
    want = serial(dict(second), True)['inputs']
    pre = _clp_preprocessor()
    batches = ViewPrefetcher(pre).iterate(iter([first, second]))
    pre(next(batches), True)  # the second's views launched
    pre.set_generator_state(state)
    assert torch.equal(pre.generator_state(), state)
    got = pre(next(batches), True)['inputs']
    for w, g in zip(want, got):
        assert torch.equal(w, g)
    pre.prefetcher.close()
    assert not _prefetch_threads()


def test_a_call_outside_training_waits_for_the_views_made_ahead(
        monkeypatch):
    """A validation batch (an iteration-based loop validates between
    steps) waits for the views being made ahead (the side thread runs the
    preprocessor module itself), sets them aside, and gets the serial
    path's inputs (FSP's draw nothing from the views generator)."""
    import time

    from openselfsup.apis.fast_path import batched_views_config
    from openselfsup.models.view_prefetch import ViewPrefetcher
    from openselfsup.registry import MODELS
    cfg = Config.fromfile(FSP)
    batched_views_config(cfg, [])

    def preprocessor():
        return MODELS.build(copy.deepcopy(cfg.model.data_preprocessor))
    make = ViewPrefetcher._make

    def slow(self, *args):
        time.sleep(0.5)
        make(self, *args)
    monkeypatch.setattr(ViewPrefetcher, '_make', slow)
    first, second, val = _uint8_batches(3)
    want = preprocessor()(dict(val), False)['inputs']
    pre = preprocessor()
    batches = ViewPrefetcher(pre).iterate(iter([first, second]))
    pre(next(batches), True)
    assert _prefetch_threads()  # the second's views being made
    got = pre(dict(val), False)['inputs']
    assert not _prefetch_threads()
    assert torch.equal(want, got)
    pre.prefetcher.close()


def test_views_taken_are_freed_with_their_step_as_on_the_serial_path():
    """A step's views (and batch) are freed once the step lets go of
    them, without the cycle collector (disabled here, as between two of
    its runs): the prefetcher keeps no reference to a batch taken. A
    batch that referred to its job, which refers to it, kept every batch
    made ahead and its views alive until the collector ran."""
    import gc
    import weakref

    from openselfsup.models.view_prefetch import ViewPrefetcher
    batches = _uint8_batches(5)
    alive = {}
    gc.collect()
    gc.disable()
    try:
        for prefetch in (False, True):
            pre = _clp_preprocessor()
            # the batches' images copied: each step's own, as a loader's
            steps = (dict(b, inputs=b['inputs'].clone()) for b in batches)
            if prefetch:
                steps = ViewPrefetcher(pre).iterate(steps)
            made, counts = [], []
            for batch in steps:
                out = pre(batch, True)
                made += [weakref.ref(v) for v in out['inputs']]
                made.append(weakref.ref(batch['inputs']))
                del out, batch
                counts.append(sum(r() is not None for r in made))
            if prefetch:
                pre.prefetcher.close()
            alive[prefetch] = counts
    finally:
        gc.enable()
    assert alive[False] == [0] * 5
    assert alive[True] == alive[False]


def test_a_call_between_two_steps_draws_as_on_the_serial_path():
    """A preprocessor call with another batch between two steps (the CLP
    preprocessor draws views for a validation batch too) while the next
    views are made ahead: that call's views, the state a checkpoint reads
    after it, the next step's views and the generator once closed are the
    serial path's (the views made ahead were drawn first; they are set
    aside and made again after the call)."""
    from openselfsup.models.view_prefetch import ViewPrefetcher
    first, second, between = _uint8_batches(3)
    serial = _clp_preprocessor()
    serial(dict(first), True)
    want_between = serial(dict(between), False)['inputs']
    want_state = serial.generator.get_state()
    want_second = serial(dict(second), True)['inputs']
    pre = _clp_preprocessor()
    batches = ViewPrefetcher(pre).iterate(iter([first, second]))
    pre(next(batches), True)  # the second's views launched
    got_between = pre(dict(between), False)['inputs']
    assert torch.equal(pre.generator_state(), want_state)
    got_second = pre(next(batches), True)['inputs']
    pre.prefetcher.close()
    for want, got in ((want_between, got_between), (want_second, got_second)):
        assert len(want) == len(got) == 2
        for w, g in zip(want, got):
            assert torch.equal(w, g)
    assert torch.equal(pre.generator.get_state(), serial.generator.get_state())
    assert not _prefetch_threads()
