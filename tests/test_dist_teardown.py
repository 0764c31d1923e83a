"""A run's process group ends with the run (``apis.train.train``,
``engine.runner.ends_its_process_group``): a process that exited with its
gloo group still up ended, now and then, in ``terminate called without an
active exception`` (SIGABRT) after its work was done."""
import os
import re
import time

import pytest
import torch
import torch.distributed as dist

from _foundation_helpers import (FSP_DEMO, MODEL_STACK_IMPORT, error_lines,
                                 forked_python_c, free_port, run_tool,
                                 small_config)

#: the variable torchrun's agent sets in its workers, whose ``env://``
#: groups join its store (``engine.runner._on_torchruns_store``)
AGENT_STORE = 'TORCHELASTIC_USE_AGENT_STORE'


def _nct(root):
    return os.path.join(root, 'NCT') + os.sep


def _start_group(store):
    """A one-process gloo group, as MMEngine's ``init_dist`` starts one in
    the runner's build (there on GPUs; here on the CPU)."""
    dist.init_process_group('gloo', init_method=f'file://{store}', rank=0,
                            world_size=1)


class _Runner:
    """An AtomicRunner's part: it joins the guards open at its build, its
    model a DDP wrapper (of the group up) that has run a backward."""

    def __init__(self):
        from openselfsup.engine.runner import _open_guards
        for runners in _open_guards():
            runners.append(self)
        self.model = torch.nn.parallel.DistributedDataParallel(
            torch.nn.Linear(4, 4))
        self.model(torch.ones(2, 4)).sum().backward()


@pytest.fixture
def no_group_left(monkeypatch):
    """No process group before the test, none left after it for the next
    one (the test's own assertions say whether the run ended it); the
    process's record of a run's group put back after it
    (``engine.runner._EARLIER_GROUP``: a later ``train()`` under torchrun
    in this process, that group ended, is refused, and one on that
    group's store); not under torchrun's
    store unless the test says so; where it does, of two processes
    (``WORLD_SIZE``: a torchrun run of one process is not refused)."""
    import openselfsup.engine.runner as runner_module
    monkeypatch.setattr(runner_module, '_EARLIER_GROUP', None)
    monkeypatch.delenv(AGENT_STORE, raising=False)
    monkeypatch.setenv('WORLD_SIZE', '2')
    assert not dist.is_initialized()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.fixture
def group_started_by_the_build(monkeypatch, tmp_path):
    """``train()``'s runner build starts a process group first, as a
    ``--launcher pytorch`` run's does (MMEngine's ``setup_env``), then
    builds the runner, or raises the refusal appended to the list
    returned."""
    import importlib
    # the module (openselfsup.apis.train is also the function's name)
    train_module = importlib.import_module('openselfsup.apis.train')
    built = train_module._built
    refusal = []

    def starting_a_group(*args, **kwargs):
        _start_group(tmp_path / 'store')
        if refusal:
            raise refusal[0]
        return built(*args, **kwargs)
    monkeypatch.setattr(train_module, '_built', starting_a_group)
    return refusal


@pytest.mark.slow
@pytest.mark.parametrize('evaluates', [(), ('val',)])
def test_a_run_ends_the_process_group_its_build_started(
        tmp_path, synthetic_root, no_group_left, group_started_by_the_build,
        monkeypatch, evaluates):
    """As tools/train.py trains (it evaluates nothing after): the group is
    gone once train() returns, the checkpoint written before. A caller
    that evaluates the runner after (train()'s default) keeps it up to
    the process's exit (its ``runner.val()`` runs collectives)."""
    import atexit

    from openselfsup.apis import train
    registered = []
    monkeypatch.setattr(atexit, 'register', registered.append)
    cfg = small_config(FSP_DEMO, str(tmp_path / 'cfg.py'),
                       _nct(synthetic_root), n_images=8, batch=4,
                       ann_file='meta/train_labeled.txt')
    runner = train(cfg, work_dir=str(tmp_path / 'w'), evaluates=evaluates)
    assert runner.iter == 2
    assert os.path.isfile(tmp_path / 'w' / 'epoch_1.pth')
    assert dist.is_initialized() is bool(evaluates)
    # functools.partial(_end_process_group, the runners built)
    ends = [f for f in registered if getattr(
        getattr(f, 'func', f), '__name__', '') == '_end_process_group']
    assert len(ends) == bool(evaluates)
    for end in ends:
        end()
    assert not dist.is_initialized()


def test_a_refused_run_ends_the_process_group_its_build_started(
        tmp_path, synthetic_root, no_group_left, group_started_by_the_build):
    """A refusal raised once the group is up (MMEngine's runner build
    starts it before it builds the model) still ends it, the refusal
    raised as it was."""
    from openselfsup.apis import train
    from openselfsup.utils import InputError
    cfg = small_config(FSP_DEMO, str(tmp_path / 'cfg.py'),
                       _nct(synthetic_root), n_images=8, batch=4,
                       ann_file='meta/train_labeled.txt')
    group_started_by_the_build.append(InputError('the refusal'))
    with pytest.raises(InputError, match='^the refusal$'):
        train(cfg, work_dir=str(tmp_path / 'w'), evaluates=())
    assert not dist.is_initialized()


@pytest.mark.parametrize('evaluated_after', [False, True])
def test_the_group_is_freed_from_the_model_wrapper_of_a_runner(
        tmp_path, monkeypatch, no_group_left, evaluated_after):
    """``destroy_process_group`` alone let the gloo group live on: the DDP
    wrapper of the runner built in the body (its reducer) held it, and
    its worker threads, to the process's exit, where gloo aborted now
    and then (a worker letting go of a work as the interpreter shut
    down). Once the group is ended (after the body, or at exit where the
    runner is evaluated after), the group object is freed, the runner's
    model unwrapped. The end at exit holds the runners weakly: one the
    caller let go of is collected before it (then passed over); where the
    group ends after the body, the body's runners are all alive then (the
    guard's list holds them) and each is unwrapped (review r172: the
    docstring claimed a runner collected meanwhile here too)."""
    import atexit
    import gc
    import weakref

    from openselfsup.engine.runner import ends_its_process_group
    registered = []
    monkeypatch.setattr(atexit, 'register', registered.append)
    with ends_its_process_group(evaluated_after):
        _start_group(tmp_path / 'store')
        runner, gone = _Runner(), _Runner()
        group = weakref.ref(dist.group.WORLD)
        gone_ref, gone_wrapper = weakref.ref(gone), weakref.ref(gone.model)
        del gone
    if not evaluated_after:  # unwrapped at the body's end, its wrapper freed
        assert gone_wrapper() is None
    gc.collect()
    assert gone_ref() is None  # not held by the end registered at exit
    for end in registered:
        end()
    assert len(registered) == evaluated_after
    assert not dist.is_initialized()
    assert group() is None
    assert type(runner.model) is torch.nn.Linear


#: the refusal of a second run under torchrun (``check_runs_once``)
SECOND_RUN = ("train(launcher='pytorch'): an earlier run in this process "
              "had a process group, now ended, and a second one on "
              "torchrun's store can fail or hang: start a new process for "
              'each distributed run (tools/dist_train.sh)')


def test_a_second_run_under_torchrun_after_its_group_ended_is_refused(
        tmp_path, synthetic_root, no_group_left, monkeypatch):
    """Review r172: a second ``train()`` under torchrun in a process
    whose first run ended its process group failed in gloo
    (``connectFullMesh``, connection reset: a new group on torchrun's
    store). It is refused in one line before anything is built (its work
    dir not made); before a group has ended, or without a launcher, the
    check lets the run go on (here to the refusal of a missing config).
    Review r173: under Slurm (MMEngine's ``env://``, rank 0's store) a
    second run, and one in a group the caller started itself, are not
    refused here (``check_runs_once`` passes them). Nor is a run of
    ``launcher='pytorch'`` whose variables the user set by hand, not
    torchrun's agent (``TORCHELASTIC_USE_AGENT_STORE`` unset or not
    ``'True'``): rank 0 starts a store of its own, and on a new port it
    trains (``test_a_second_run_on_stores_of_its_own_trains_on_a_new_port``;
    on the earlier run's port it is refused as its group starts:
    ``check_new_store``); it was refused as under torchrun."""
    from openselfsup.apis import train
    from openselfsup.engine.runner import (check_runs_once,
                                           ends_its_process_group)
    from openselfsup.utils import InputError
    monkeypatch.setenv(AGENT_STORE, 'True')  # as torchrun's agent sets it
    missing = str(tmp_path / 'missing.py')
    with pytest.raises(InputError, match='missing.py') as before:
        train(missing, work_dir=str(tmp_path / 'w0'), launcher='pytorch')
    assert 'earlier run' not in str(before.value)
    with ends_its_process_group():
        _start_group(tmp_path / 'store')
    assert not dist.is_initialized()
    cfg = small_config(FSP_DEMO, str(tmp_path / 'cfg.py'),
                       _nct(synthetic_root), n_images=8, batch=4,
                       ann_file='meta/train_labeled.txt')
    with pytest.raises(InputError) as refused:
        train(cfg, work_dir=str(tmp_path / 'w'), launcher='pytorch',
              evaluates=())
    assert str(refused.value) == SECOND_RUN
    assert not (tmp_path / 'w').exists()
    monkeypatch.setenv(AGENT_STORE, 'False')  # torchrun's, store not shared
    check_runs_once('pytorch')
    monkeypatch.setenv(AGENT_STORE, 'True')
    monkeypatch.setenv('WORLD_SIZE', '1')  # torchrun of one process: trains
    check_runs_once('pytorch')  # (review r176)
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.delenv(AGENT_STORE)  # MASTER_ADDR, RANK... set by hand
    with pytest.raises(InputError, match='missing.py') as by_hand:
        train(missing, work_dir=str(tmp_path / 'w0'), launcher='pytorch')
    assert 'earlier run' not in str(by_hand.value)
    monkeypatch.setenv(AGENT_STORE, 'True')
    check_runs_once('slurm')  # rank 0's store: check_new_store's to judge
    check_runs_once('none')
    with pytest.raises(InputError, match='missing.py') as none:
        train(missing, work_dir=str(tmp_path / 'w0'), launcher='none')
    assert 'earlier run' not in str(none.value)
    _start_group(tmp_path / 'store2')  # the caller's own group, up
    try:
        check_runs_once('pytorch')
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize('exported', [None, '23456'])
def test_a_second_group_on_the_earlier_runs_store_is_refused(
        tmp_path, monkeypatch, no_group_left, exported):
    """Where a run's group ended, a later group of more than one process
    on the same ``MASTER_ADDR`` and port (``MASTER_PORT``; under Slurm,
    the config's ``env_cfg.dist_cfg.port`` where given, else the job's
    port) is refused as it is about to start, naming the store and the
    setting to change; another port or address, one process (under Slurm,
    ``SLURM_NTASKS``) and a run with no earlier group pass. A refused
    Slurm build leaves ``MASTER_PORT`` as it found it."""
    import openselfsup.engine.runner as runner_module
    from openselfsup.engine.runner import (check_new_store,
                                           ends_its_process_group,
                                           launcher_rendezvous)
    from openselfsup.utils import InputError

    def refusal(port, setting='MASTER_PORT', launcher='pytorch'):
        return (f'train(launcher={launcher!r}): the process group of an '
                'earlier run in this process met on the store at '
                f"127.0.0.1:{port}, which can still be up at a peer's start,"
                f' and a second group there can hang: give this run a new '
                f'{setting} in every process, or start new processes for '
                'each distributed run')
    for name in [k for k in os.environ if k.startswith('SLURM_')]:
        monkeypatch.delenv(name)
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', '21566')
    check_new_store('pytorch')  # no earlier group
    with ends_its_process_group():
        # the store as the build meets it (under Slurm the job's port and
        # MMEngine's MASTER_ADDR are set there): recorded at the body's end
        monkeypatch.setenv('MASTER_PORT', '21567')
        _start_group(tmp_path / 'store')
    assert runner_module._EARLIER_GROUP == ('127.0.0.1', '21567')
    for launcher in ('pytorch', 'slurm'):
        with pytest.raises(InputError) as refused:
            with launcher_rendezvous(launcher):
                raise AssertionError('the group started')
        assert str(refused.value) == refusal(21567, launcher=launcher)
    monkeypatch.setenv('MASTER_PORT', '21568')
    check_new_store('pytorch')
    with pytest.raises(InputError) as refused:
        check_new_store('slurm', 21567)  # the config's port
    assert str(refused.value) == refusal(
        21567, 'env_cfg.dist_cfg.port', 'slurm')
    check_new_store('slurm', 21569)
    monkeypatch.setenv('MASTER_PORT', '21567')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.2')  # another host's store
    check_new_store('pytorch')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('WORLD_SIZE', '1')
    check_new_store('pytorch')  # no peer
    monkeypatch.setenv('SLURM_NTASKS', '1')
    check_new_store('slurm')
    monkeypatch.setenv('SLURM_NTASKS', '2')
    # under Slurm, MASTER_ADDR put back to unset by a caller: MMEngine
    # takes the job's first node again, the earlier run's store
    monkeypatch.delenv('MASTER_ADDR')
    with pytest.raises(InputError) as refused:
        check_new_store('slurm')
    assert str(refused.value) == refusal(21567, launcher='slurm')
    check_new_store('pytorch')  # env:// of its own: no store there
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    # the job's port (by hand: 1234567 + 2000 = 130 x 9500 + 1567) where
    # none is exported: refused, MASTER_PORT left as it was
    monkeypatch.setenv('SLURM_JOB_ID', '1234567')
    monkeypatch.setenv('SLURM_STEP_ID', '2')
    if exported is None:
        monkeypatch.delenv('MASTER_PORT')
    else:
        monkeypatch.setenv('MASTER_PORT', exported)
        monkeypatch.setattr(runner_module, '_EARLIER_GROUP',
                            ('127.0.0.1', exported))
    with pytest.raises(InputError) as refused:
        with launcher_rendezvous('slurm'):
            raise AssertionError('the group started')
    assert str(refused.value) == refusal(exported or 21567,
                                         launcher='slurm')
    assert os.environ.get('MASTER_PORT') == exported


def test_a_group_the_caller_destroyed_before_the_exit_is_freed(
        tmp_path, monkeypatch, no_group_left):
    """A caller that evaluates the runner after the run (its end at exit)
    and destroys the group itself before the exit: review r172, the end
    at exit found no group and returned, the runner's DDP wrapper holding
    the group to the exit (where gloo aborted now and then). The runner's
    model is unwrapped and the group freed all the same. A second run
    under torchrun meanwhile is refused, as after a group the run ended
    (it was not: its start hung without a word in 4 of 6 runs of two
    processes under torchrun, the first group's keys on the agent's
    store); while the group is up, it is used."""
    import atexit
    import weakref

    from openselfsup.engine.runner import (check_runs_once,
                                           ends_its_process_group)
    from openselfsup.utils import InputError
    registered = []
    monkeypatch.setattr(atexit, 'register', registered.append)
    monkeypatch.setenv(AGENT_STORE, 'True')
    with ends_its_process_group(evaluated_after=True):
        _start_group(tmp_path / 'store')
        runner = _Runner()
        group = weakref.ref(dist.group.WORLD)
    check_runs_once('pytorch')  # the group up: the run uses it
    dist.destroy_process_group()  # the caller's own, after its val()
    assert group() is not None  # the wrapper holds it
    with pytest.raises(InputError) as refused:
        check_runs_once('pytorch')
    assert str(refused.value) == SECOND_RUN
    assert len(registered) == 1
    registered[0]()
    assert type(runner.model) is torch.nn.Linear
    assert group() is None


def test_a_group_the_body_destroyed_is_freed(tmp_path, monkeypatch,
                                             no_group_left):
    """A library caller that destroys the group itself in the body: the
    end found no group and did nothing, the DDP wrappers of the runners
    built in the body holding the (destroyed) gloo group to the exit,
    where gloo aborted now and then. Each runner's model is unwrapped,
    the group freed; a second run under torchrun is then refused, as
    after a group the run ended."""
    import weakref

    import openselfsup.engine.runner as runner_module
    from openselfsup.engine.runner import (check_runs_once,
                                           ends_its_process_group)
    from openselfsup.utils import InputError
    with ends_its_process_group():
        monkeypatch.setenv('MASTER_ADDR', '127.0.0.3')
        monkeypatch.setenv('MASTER_PORT', '21570')
        _start_group(tmp_path / 'store')
        runners = [_Runner(), _Runner()]
        group = weakref.ref(dist.group.WORLD)
        dist.destroy_process_group()
    assert [type(r.model) for r in runners] == [torch.nn.Linear] * 2
    assert group() is None
    # its store recorded (check_new_store)
    assert runner_module._EARLIER_GROUP == ('127.0.0.3', '21570')
    check_runs_once('pytorch')  # not under torchrun's store
    monkeypatch.setenv(AGENT_STORE, 'True')
    with pytest.raises(InputError) as refused:
        check_runs_once('pytorch')
    assert str(refused.value) == SECOND_RUN


def test_a_group_the_caller_started_is_left_to_it(tmp_path, no_group_left):
    """A group that was up before (a caller's own) stays up, after the
    body's end and after its exception."""
    from openselfsup.engine.runner import ends_its_process_group
    _start_group(tmp_path / 'store')
    with ends_its_process_group():
        pass
    assert dist.is_initialized()
    with pytest.raises(KeyError):
        with ends_its_process_group():
            raise KeyError('x')
    assert dist.is_initialized()


@pytest.mark.parametrize('backend', ['nccl', 'cpu:gloo,cuda:nccl'])
@pytest.mark.parametrize('evaluated_after', [False, True])
def test_a_nccl_group_is_left_to_exit(tmp_path, monkeypatch, no_group_left,
                                      backend, evaluated_after):
    """A group with NCCL is not destroyed, after a failure or a run that
    ended, nor at exit (its destruction blocks: a rank that failed alone
    would wait in it for its peers; not measured on GPUs here), as before
    the gloo groups were ended. The backend's name stands in for NCCL's
    (no GPUs here); a gloo group in the same steps is destroyed."""
    import atexit

    import openselfsup.engine.runner as runner_module
    from openselfsup.engine.runner import ends_its_process_group
    registered = []
    monkeypatch.setattr(atexit, 'register', registered.append)
    for name, left in ((backend, True), ('gloo', False)):
        monkeypatch.setattr(runner_module, 'get_backend', lambda: name)
        with pytest.raises(KeyError):
            with ends_its_process_group(evaluated_after):
                _start_group(tmp_path / f'{name}_a')
                raise KeyError('x')
        assert dist.is_initialized() is left
        if left:
            dist.destroy_process_group()
        with ends_its_process_group(evaluated_after):
            _start_group(tmp_path / f'{name}_b')
        assert dist.is_initialized() is (left or evaluated_after)
        assert len(registered) == (not left and evaluated_after)
        for end in registered:
            end()
        registered.clear()
        if dist.is_initialized():
            dist.destroy_process_group()


def test_a_group_evaluated_after_the_run_ends_at_exit(tmp_path):
    """A caller that evaluates the runner after the run (collectives)
    keeps the group until the process exits, when it is destroyed
    (before the handlers registered earlier run: atexit runs them last in
    first out). The process: a fork of the tests' server that imported
    the model stack (``forked_python_c``), which ends as an interpreter
    does (its ``atexit`` handlers run), not a cold start."""
    code = (
        'import atexit\n'
        'import torch.distributed as dist\n'
        'from openselfsup.engine.runner import ends_its_process_group\n'
        'atexit.register(lambda: print("at exit:", dist.is_initialized()))\n'
        'with ends_its_process_group(evaluated_after=True):\n'
        '    dist.init_process_group("gloo", init_method="file://'
        f'{tmp_path / "store"}", rank=0, world_size=1)\n'
        'print("after the run:", dist.is_initialized())\n')
    rc, out, err = forked_python_c(MODEL_STACK_IMPORT, code, timeout=120)
    assert rc == 0, err[-2000:]
    assert out.splitlines() == ['after the run: True',
                                'at exit: False'], out


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.device_count() < 2,
                    reason='dist_train.sh runs 2 processes on 2 GPUs only')
@pytest.mark.parametrize('backend', ['gloo', 'nccl'])
def test_dist_train_of_two_processes_exits_cleanly(tmp_path, synthetic_root,
                                                   backend):
    """``dist_train.sh CONFIG 2``, a few times: exit status 0, no
    ``terminate called`` (gloo's abort at exit) nor torch's warning of a
    group left undestroyed (NCCL's), the checkpoint written."""
    cfg = small_config(FSP_DEMO, str(tmp_path / 'cfg.py'),
                       _nct(synthetic_root), n_images=8, batch=4,
                       ann_file='meta/train_labeled.txt')
    for run in range(3):
        work = tmp_path / f'w{run}'
        rc, out, err = run_tool(
            ['tools/dist_train.sh', cfg, '2', '--work-dir', str(work),
             '--cfg-options', f'env_cfg.dist_cfg.backend={backend}'],
            env_extra=dict(PORT=str(free_port())))
        assert rc == 0, err[-3000:]
        assert 'terminate called' not in err, err[-3000:]
        assert 'destroy_process_group' not in err, err[-3000:]
        assert os.path.isfile(work / 'epoch_1.pth')
        assert out.count('finished epoch 1, iteration 2') == 2, out


def _trains_twice(rank, ports, cfg, work, out):
    """One of two processes of ``launcher='pytorch'`` with MASTER_ADDR,
    MASTER_PORT, RANK, WORLD_SIZE set by hand (no torchrun: rank 0 starts
    the store of each group), training ``cfg`` twice (work dirs ``w1``,
    ``w2`` in ``work``), the first on ``ports[0]``, the second on
    ``ports[1]``; rank 0's end of its first group held back 3 s (as when
    it saves a large checkpoint the other rank does not write), so that
    the other rank starts its second run first. Its outcome into ``out``."""
    from test_dist_refusals import STAND_INS

    import openselfsup.engine.runner as runner_module
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(ports[0]),
                      RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2')
    exec(STAND_INS, {})  # a CPU stands in for each process's GPU
    from openselfsup.apis import train
    end = runner_module._end_process_group
    ended = []

    def held_back(*args, **kwargs):
        if rank == 0 and not ended:
            time.sleep(3)
        ended.append(True)
        return end(*args, **kwargs)
    runner_module._end_process_group = held_back
    try:
        for name, port in zip(('w1', 'w2'), ports):
            os.environ['MASTER_PORT'] = str(port)
            train(cfg, work_dir=os.path.join(work, name), launcher='pytorch',
                  evaluates=())
        out[rank] = 'trained twice'
    except Exception as exc:  # noqa: BLE001 (the outcome told)
        out[rank] = f'{type(exc).__name__}: {exc}'


@pytest.mark.slow
@pytest.mark.parametrize('new_port', [True, False])
def test_a_second_run_on_stores_of_its_own_trains_on_a_new_port(
        tmp_path, synthetic_root, no_group_left, new_port):
    """Two processes of ``launcher='pytorch'`` started by hand (the
    variables of MMEngine's ``env://`` set by the user, no torchrun), each
    training twice, rank 0 the last to end its first group: the second
    run's group, on a new ``MASTER_PORT``, trains; on the first run's, it
    is refused in one line in each process before its group starts
    (rank 1 met rank 0's first store, still up, and its gloo read failed
    or the run hung: every time in 1 of 1 runs with the hold-back, now
    and then in the CI without it)."""
    import torch.multiprocessing as mp

    from test_dist_refusals import two_process_config
    cfg = two_process_config(tmp_path, synthetic_root)
    first = free_port()
    ports = (first, free_port() if new_port else first)
    out = mp.Manager().dict()
    ctx = mp.start_processes(
        _trains_twice, args=(ports, cfg, str(tmp_path), out),
        nprocs=2, join=False, start_method='fork')
    for process in ctx.processes:
        process.join(240)
        if process.is_alive():  # not left to hang the test's exit
            process.kill()
    assert os.path.isfile(tmp_path / 'w1' / 'epoch_1.pth')
    if new_port:
        assert dict(out) == {0: 'trained twice', 1: 'trained twice'}
        assert os.path.isfile(tmp_path / 'w2' / 'epoch_1.pth')
        return
    refusal = (
        "InputError: train(launcher='pytorch'): the process group of an "
        f'earlier run in this process met on the store at 127.0.0.1:{first}'
        ", which can still be up at a peer's start, and a second group "
        'there can hang: give this run a new MASTER_PORT in every process, '
        'or start new processes for each distributed run')
    assert dict(out) == {0: refusal, 1: refusal}
    assert not (tmp_path / 'w2').exists()


#: a caller of the library training a config twice in one process, as a
#: command (``run_cli``): CONFIG WORK
TRAINS_TWICE = '''
import os, sys, time
from openselfsup.apis import train
from openselfsup.utils import run_cli


def main(argv):
    cfg, work = argv
    for name in ('w1', 'w2'):
        train(cfg, work_dir=os.path.join(work, name), launcher='pytorch',
              evaluates=())
        # one write: under PYTHONUNBUFFERED print writes each piece apart,
        # and the two ranks' pieces interleaved on the shared pipe (CI)
        sys.stdout.write(f'trained {name} rank {os.environ["RANK"]}\\n')
        sys.stdout.flush()
        # both ranks said so before either starts its second run (torchrun
        # ends a rank still on its way to print once the other has exited)
        open(os.path.join(work, name + '_' + os.environ['RANK']), 'w').close()
        end = time.monotonic() + 120
        while not all(os.path.exists(os.path.join(work, name + '_' + r))
                      for r in '01') and time.monotonic() < end:
            time.sleep(0.05)


sys.exit(run_cli(main, sys.argv[1:]))
'''


@pytest.mark.slow
def test_a_second_run_under_torchrun_is_refused_in_one_line(tmp_path,
                                                           synthetic_root):
    """Under torchrun (its agent's store) each of two processes trains,
    then its second run is refused in one line, nothing built (without
    the refusal, gloo's ``connectFullMesh`` failed after a traceback now
    and then, and both runs trained in the other runs: review r176, 1
    in 4)."""
    from test_dist_refusals import (TORCH_LOG, torchrun_script,
                                    two_process_config)
    script = tmp_path / 'trains_twice.py'
    script.write_text(TRAINS_TWICE)
    cfg = two_process_config(tmp_path, synthetic_root)
    rc, out, err = torchrun_script(tmp_path, script, cfg, str(tmp_path))
    assert rc == 2, err[-3000:]
    for rank in '01':
        assert out.count(f'trained w1 rank {rank}\n') == 1, out[-3000:]
    assert 'trained w2' not in out and not (tmp_path / 'w2').exists()
    lines = [ln for ln in error_lines(err) if not TORCH_LOG.match(ln)]
    # torchrun ends the other once one has exited: its line at times not
    # said (each refuses alone, with no group to wait for the other in)
    assert lines[:-1] in ([f'error: {SECOND_RUN}'] * 2,
                          [f'error: {SECOND_RUN}']), err[-3000:]
    assert re.fullmatch(
        r'error: training process [01] exited with status 2( \(1 more '
        r'failed after it\))?; its message is above', lines[-1]), lines
