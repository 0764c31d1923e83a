"""What a launch leaves to the run: the rendezvous port of a Slurm job
(``utils.launcher.slurm_job_port``, ``engine.runner.launcher_rendezvous``);
the partial checkpoints of a save killed mid-way, removed by the next run
in the work dir (``engine.runner.work_dir_lock``)."""
import os
import random
import socket
import subprocess
import sys
import time

import pytest

from _foundation_helpers import (FSP_DEMO, MODEL_STACK_IMPORT, REPO,
                                 error_lines, forked_popen, forked_python_c,
                                 free_port, held_port, keep_port,
                                 listening_socket,
                                 run_tool_here, small_config, stream_writes,
                                 tool_module)

#: a run of ``--launcher slurm`` as srun starts one task of a job, on the
#: CPU: MMEngine's ``_init_dist_slurm`` sets the task's GPU, which this
#: machine lacks, so that call is left out; the runner's build goes on past
#: the process group to the model's DDP wrapper, which refuses a CPU model
#: with MMEngine's device_ids, and the script then prints the port the
#: group met on
SLURM_TASK = '''
import os, sys
import torch
import torch.distributed as dist
torch.cuda.set_device = lambda device: None
from openselfsup.engine.runner import AtomicRunner
from openselfsup.utils import run_cli

def main(argv):
    try:
        AtomicRunner(model=torch.nn.Linear(1, 1), work_dir=argv[0],
                     launcher='slurm',
                     env_cfg=dict(dist_cfg=dict(backend='gloo')))
    except ValueError as exc:  # the CPU model's DDP wrapper, after the group
        assert 'DistributedDataParallel' in str(exc), exc
    print('port', os.environ['MASTER_PORT'], dist.get_world_size())
    dist.destroy_process_group()

sys.exit(run_cli(main, sys.argv[1:]))
'''


def _slurm_env(job_id, master_port=None, **task):
    """The environment of one task of Slurm job ``job_id`` (None: no
    SLURM_JOB_ID; ``MASTER_PORT`` as given, None: unset), none of this
    machine's Slurm or torchrun variables; ``task``: the task's own
    (default: the one task of one), ``SLURM_STEP_ID`` among them."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('SLURM_') and k not in (
               'MASTER_PORT', 'MASTER_ADDR', 'RANK', 'WORLD_SIZE',
               'LOCAL_RANK')}
    env.update(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0',
               SLURM_NODELIST='localhost', MASTER_ADDR='127.0.0.1',
               PYTHONPATH=REPO)
    env.update(task)
    if job_id is not None:
        env['SLURM_JOB_ID'] = str(job_id)
    if master_port is not None:
        env['MASTER_PORT'] = str(master_port)
    return env


def _one_task(code, argv, env, cwd, timeout=300):
    """``python -c code *argv`` as one task of a job, in a process of its
    own (its process group, its environment ``env``; a fork of an
    interpreter that imported ``MODEL_STACK_IMPORT``, no cold start:
    ``forked_python_c``) in the folder ``cwd``, killed after ``timeout``
    seconds; the completed process."""
    rc, out, err = forked_python_c(MODEL_STACK_IMPORT, code, argv, env, cwd,
                                   timeout)
    return subprocess.CompletedProcess(argv, rc, out, err)


def _slurm_task(tmp_path, job_id, master_port=None):
    """One task of Slurm job ``job_id`` (:func:`_slurm_env`) run to its
    process group; the completed process."""
    return _one_task(SLURM_TASK, [str(tmp_path / 'w')],
                     _slurm_env(job_id, master_port), tmp_path, 120)


def _spare_of_two_free_ports():
    from openselfsup.utils.launcher import slurm_spare_port
    return slurm_spare_port(_two_free_ports())


@pytest.mark.parametrize('pick', [
    free_port, lambda: _free_job_port()[1], lambda: _free_job_port(3)[1],
    lambda: _two_free_ports(), _spare_of_two_free_ports],
    ids=['free_port', 'job', 'job_step', 'two_free', 'two_free_spare'])
def test_a_port_free_port_gave_is_no_other_programs_before_the_rendezvous(
        pick):
    """The race of ``free_port``: it bound port 0 and let the port go, and
    another program (another xdist worker's gloo, its own ``free_port``)
    could take it before the test's rendezvous bound it, which then
    failed on EADDRINUSE. Here another process binds it in that moment
    and is refused (the proof: with the port let go it bound it every
    time), and torch's TCPStore (a rendezvous's) still listens on it.
    The same of the ports of a Slurm job's range the launcher tests pick
    (``_free_job_port``, ``_two_free_ports``: both ports), which let
    theirs go at once too. A sanity check beside them, not a proof (the
    old ``free_port``'s port was taken by 1,000 binds of port 0 in 6
    tries of 100, r183): this process's binds of port 0 do not get it
    either."""
    import datetime
    import errno

    import torch.distributed as dist
    port = pick()
    # every address, and one of another local address than 127.0.0.1
    # (which a hold of 127.0.0.1 alone let take the port, r184)
    other = subprocess.run(
        [sys.executable, '-c',
         'import socket\n'
         'for host in ("0.0.0.0", "127.0.0.2"):\n'
         '    sock = socket.socket()\n'
         '    try:\n'
         f'        sock.bind((host, {port}))\n'
         '    except OSError as exc:\n'
         '        print(host, exc.errno)\n'
         '    else:\n'
         '        sock.listen()\n'
         '        print(host, 0)\n'],
        capture_output=True, text=True, timeout=60)
    assert other.stdout.split() == [
        '0.0.0.0', str(errno.EADDRINUSE),
        '127.0.0.2', str(errno.EADDRINUSE)], other
    picked = []
    try:
        for _ in range(1000):
            picked.append(socket.socket())
            picked[-1].bind(('127.0.0.1', 0))
        assert port not in {sock.getsockname()[1] for sock in picked}
    finally:
        for sock in picked:
            sock.close()
    store = dist.TCPStore('127.0.0.1', port, 1, True,
                          timeout=datetime.timedelta(seconds=60))
    store.set('met', 'yes')
    assert store.get('met') == b'yes'


def _free_job_port(step: int = 0):
    """``(job id, port)``: a Slurm job id whose port (its step ``step``'s,
    20000 + (id + 1000 x step) % 9500, counted here by hand) no program of
    this machine holds, kept for this process (``free_port``)."""
    port = free_port(range(20000, 29500))
    job = (port - 20000 - 1000 * step) % 9500
    return 9500 * random.randrange(1, 500) + job, port


def test_a_slurm_job_port_is_its_job_steps():
    """A job step's port from SLURM_JOB_ID and SLURM_STEP_ID, 20000 +
    (job + 1000 x step) % 9500: every port of 20000..29499 is some job's,
    and none of 29500 on (torch's and MMEngine's default, and the ports
    just above it that MMEngine-based tools give a second run: review
    r141, job ids ending in 9500 took 29500); two steps of one job differ;
    a MASTER_PORT given wins (None: MMEngine reads it); no job id (not
    under Slurm): None, MMEngine's own default."""
    from openselfsup.utils.launcher import slurm_job_port
    # by hand: 1234567 + 2000 = 1236567 = 130 x 9500 + 1567
    for job, step, port in (('0', None, 20000), ('9499', None, 29499),
                            ('9500', None, 20000), ('9500', '0', 20000),
                            ('1234567', '2', 21567), ('41', 'extern', 20041),
                            ('8500', '1', 20000)):
        env = dict(SLURM_JOB_ID=job)
        if step is not None:
            env['SLURM_STEP_ID'] = step
        assert slurm_job_port(env) == port, (job, step)
        assert slurm_job_port(dict(env, MASTER_PORT='12345')) is None
    assert {slurm_job_port(dict(SLURM_JOB_ID=str(job)))
            for job in range(2 * 9500)} == set(range(20000, 29500))
    job = random.randrange(10 ** 9)
    steps = {slurm_job_port(dict(SLURM_JOB_ID=str(job), SLURM_STEP_ID=str(s)))
             for s in range(9)}
    assert len(steps) == 9 and max(steps) < 29500
    assert slurm_job_port({}) is None
    assert slurm_job_port(dict(SLURM_JOB_ID='')) is None


def test_every_task_of_a_step_meets_on_its_port(tmp_path):
    """Two tasks of one step, as srun starts them (each its own
    SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID, SLURM_TASK_PID, node name),
    each computing the port in its own process (a fork of one that
    imported the model stack, both at once): both meet on the step's
    port, counted here by hand, a group of two (a task that computed
    another port would wait for its peer until the store's timeout)."""
    step = 3
    job, port = _free_job_port(step)
    tasks = [forked_popen(
        MODEL_STACK_IMPORT, SLURM_TASK, [str(tmp_path / 'w')],
        _slurm_env(job, SLURM_PROCID=str(rank), SLURM_NTASKS='2',
                   SLURM_LOCALID=str(rank), SLURM_NODEID=str(rank),
                   SLURM_TASK_PID=str(4000 + rank),
                   SLURMD_NODENAME=f'node{rank}', SLURM_STEP_ID=str(step)),
        tmp_path) for rank in (0, 1)]
    try:
        for task in tasks:
            task.wait(180)
    finally:
        for task in tasks:
            task.kill()
    for task, (out, err) in zip(tasks, [task.output() for task in tasks]):
        assert task.returncode == 0, err[-3000:]
        assert f'port {port} 2' in out.splitlines(), out


def test_a_slurm_run_meets_on_its_jobs_port_or_the_one_given(tmp_path):
    """``--launcher slurm`` without MASTER_PORT: MMEngine's
    ``_init_dist_slurm`` took 29500 for every job, so a second job on the
    node (two 4-GPU jobs of an 8-GPU node) stopped on EADDRINUSE. The
    runner now meets on the job's own port; a MASTER_PORT given stays."""
    job, port = _free_job_port()
    p = _slurm_task(tmp_path, job)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f'port {port} 1' in p.stdout.splitlines(), p.stdout
    _, given = _free_job_port()
    p = _slurm_task(tmp_path, job, master_port=given)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f'port {given} 1' in p.stdout.splitlines(), p.stdout


@pytest.mark.parametrize('given', ['job', 'MASTER_PORT', 'none'])
def test_a_taken_slurm_port_is_one_line(tmp_path, given):
    """The job's port (or the MASTER_PORT given; without either, MMEngine's
    29500) taken on rank 0's node: torch's DistNetworkError traceback
    (EADDRINUSE); one line now, naming the port, where it came from and
    the MASTER_PORT to give."""
    job, port = _free_job_port()
    if given == 'none':
        job, port = None, 29500
    with held_port(port):
        p = _slurm_task(tmp_path, job, master_port=port
                        if given == 'MASTER_PORT' else None)
    source = dict(job=f'from SLURM_JOB_ID {job}', MASTER_PORT='MASTER_PORT',
                  none="MMEngine's default: no SLURM_JOB_ID")[given]
    # step 0: the job's port is that of job - 9500's step 0 (job + 9500's
    # where there is no job - 9500: ids are positive); the sharer is
    # named for a derived port only
    sharer = f', such as Slurm job {_single_step_sharer(job)} step 0, ' \
        'whose port is this one too' if given == 'job' else ''
    (line,) = error_lines(p.stderr)
    head, spare = line.rsplit('MASTER_PORT=', 1)
    assert (p.returncode, head) == (2, (
        f'error: port {port} ({source}) of 127.0.0.1 (rank 0\'s node) is '
        f'taken (another training run started there{sharer}, or another '
        'program): start this one on another port no job derives (63001 to '
        '65535), ')), p.stderr[-3000:]
    assert spare.endswith(' bash tools/slurm_train.sh ...'), line
    _no_jobs_port(int(spare.split()[0]))
    assert 'Traceback' not in p.stderr


def _single_step_sharer(job):
    """The job whose step 0 derives job ``job``'s step-0 port, counted by
    hand (20000 + job % 9500): job - 9500, where that is a job id (ids
    are positive), else job + 9500."""
    return job - 9500 if job - 9500 >= 1 else job + 9500


#: the ports a suggested spare port must avoid (r152), as named by hand:
#: the derived ports (20000 + (job + 1000 x step) % 9500), torch's 29500
#: and the ports just above it that MMEngine-based tools' docs give a
#: second run, Kubernetes' default NodePorts, Linux's default ephemeral
#: ports, Slurm's example SrunPortRange, and well-known services' ports
#: (kubelet, memcached, Slurm's example MpiParams ports, ActiveMQ)
_AVOIDED_PORTS = (range(20000, 29500), range(29500, 29511),
                  range(30000, 32768), range(32768, 61000),
                  range(60001, 63001), range(10250, 10260),
                  range(11211, 11212), range(12000, 13000),
                  range(61613, 61618))


def _no_jobs_port(port):
    """Assert that ``port`` is a port number that no range of
    :data:`_AVOIDED_PORTS` holds: no Slurm job step derives it, nor is it
    torch's, a Kubernetes NodePort, an ephemeral port of Linux's default
    or a well-known service's."""
    assert 1 <= port <= 65535, port
    assert not any(port in avoided for avoided in _AVOIDED_PORTS), port


def test_a_taken_job_port_is_named_with_a_job_step_that_shares_it():
    """Job J's step 1 derives job J + 1000's step-0 port: the refusal of
    a taken port names such a step (whose port is counted by hand here),
    and its way out was the port one up, which is job J + 1's at the same
    step (review of h238): a port no job derives now, and the next such
    port where that one is taken too. For step 0 (one srun in the job,
    the usual case) the sharer named is another single-step job's step
    0, job J - 9500 (J + 9500 where J - 9500 is no job id), where it was
    job J - 1000's step 1 (r152). The suggested ports avoid every range
    of _AVOIDED_PORTS, for every taken port (r152: 30000 to 32767 are
    Kubernetes' NodePorts); two taken ports less than the spare ports'
    count apart get two spare ports (the docstring said: less than the
    derived ports' span, and 20000 and 22768 both got 30000)."""
    from openselfsup.utils.launcher import (SLURM_SPARE_PORTS,
                                            port_taken_line,
                                            slurm_port_sharer,
                                            slurm_spare_port)

    def port(job, step):  # by hand
        return 20000 + (job + 1000 * step) % 9500

    for job in range(1, 20001):
        for step in range(3):
            sharer = slurm_port_sharer(dict(SLURM_JOB_ID=str(job),
                                            SLURM_STEP_ID=str(step)))
            _, other, _, other_step = sharer.split()
            other, other_step = int(other), int(other_step)
            assert other >= 1 and other_step >= 0, (job, step, sharer)
            assert (other, other_step) != (job, step), sharer
            assert port(other, other_step) == port(job, step), sharer
            if step == 0:
                assert (other, other_step) == (_single_step_sharer(job),
                                               0), (job, sharer)
    for taken in range(1, 65536):
        _no_jobs_port(slurm_spare_port(taken))
    count = len(SLURM_SPARE_PORTS)
    for first in (20000, 21000, 29500 - count):
        assert len({slurm_spare_port(p)
                    for p in range(first, first + count)}) == count

    for job, step in ((1234567, 1), (1234567, 0), (41, 0), (8500, 3)):
        env = dict(SLURM_JOB_ID=str(job), SLURM_STEP_ID=str(step))
        sharer = slurm_port_sharer(env)
        _, other, _, other_step = sharer.split()
        assert (int(other), int(other_step)) != (job, step), sharer
        assert port(int(other), int(other_step)) == port(job, step), sharer
        line = port_taken_line(
            str(port(job, step)), 'n1 (rank 0\'s node)', 'MASTER_PORT',
            'tools/slurm_train.sh', 'from ...', slurm=True, sharer=sharer)
        assert f'such as Slurm {sharer}, whose port is this one too' in line
        given = int(line.split('MASTER_PORT=')[1].split()[0])
        _no_jobs_port(given)
        assert given != port(job + 1, step)
        # that one taken too: the line of it gives another spare port
        again = port_taken_line(str(given), 'n1', 'MASTER_PORT',
                                'tools/slurm_train.sh', 'MASTER_PORT',
                                slurm=True)
        then = int(again.split('MASTER_PORT=')[-1].split()[0])
        _no_jobs_port(then)
        assert then != given
    assert slurm_port_sharer({}) == ''


@pytest.mark.parametrize('exported', [None, '23456'])
def test_a_refused_slurm_build_leaves_master_port_as_it_was(
        monkeypatch, exported):
    """A build refused inside the Slurm rendezvous (its port taken: the
    DistNetworkError torch raises, EADDRINUSE) left the job's derived port
    in MASTER_PORT (MMEngine's ``_init_dist_slurm`` too), so that a second
    build in the process took it for an exported one, and its line named
    MASTER_PORT; MASTER_PORT is as it was before the build now, and the
    second refusal names the job's port as the first did."""
    from torch.distributed import DistNetworkError

    from openselfsup.engine.runner import launcher_rendezvous
    from openselfsup.utils import InputError
    for name in [k for k in os.environ if k.startswith('SLURM_')]:
        monkeypatch.delenv(name)
    monkeypatch.setenv('SLURM_JOB_ID', '1234567')
    monkeypatch.setenv('SLURM_STEP_ID', '2')
    if exported is None:
        monkeypatch.delenv('MASTER_PORT', raising=False)
    else:
        monkeypatch.setenv('MASTER_PORT', exported)
    lines = []
    for _ in range(2):
        with pytest.raises(InputError) as refused:
            with launcher_rendezvous('slurm'):
                # by hand: 1234567 + 2000 = 130 x 9500 + 1567
                assert os.environ['MASTER_PORT'] == (exported or '21567')
                raise DistNetworkError('bind: EADDRINUSE')
        lines.append(str(refused.value))
        assert os.environ.get('MASTER_PORT') == exported
    source = 'MASTER_PORT' if exported else \
        'from SLURM_JOB_ID 1234567, SLURM_STEP_ID 2'
    assert lines[0] == lines[1] and f'({source})' in lines[0], lines


#: one task's runner built as ``tools/train.py --launcher slurm`` builds
#: it (``apis.train._built``, after the config is loaded with the
#: ``--cfg-options`` given, parsed as the script parses them), on the CPU:
#: ``torch.cuda.set_device``, which MMEngine's ``_init_dist_slurm`` calls,
#: left out (the script itself trains one CPU process without a group);
#: argv: the config, the work dir, then ``--cfg-options ...``. It prints
#: the port its group met on and the group's size
BUILD_TASK = '''
import os, sys
import torch
import torch.distributed as dist
torch.cuda.set_device = lambda device: None
from openselfsup.apis.train import _built
from openselfsup.config import load_config
from openselfsup.utils import run_cli
from openselfsup.utils.cfg_options import parse_cfg_options

def main(argv):
    config, work_dir, *options = argv
    cfg = load_config(config, parse_cfg_options(options[1:]))
    cfg.work_dir, cfg.launcher = work_dir, 'slurm'
    runner = _built(cfg, [], config)
    print('port', os.environ['MASTER_PORT'], dist.get_world_size(),
          type(runner).__name__)
    dist.destroy_process_group()

sys.exit(run_cli(main, sys.argv[1:]))
'''


def _slurm_config(tmp_path, synthetic_root, runner_type=True, **dist_cfg):
    """A one-epoch FSP config of 8 images that a task trains on the CPU
    under ``--launcher slurm`` (gloo, DDP without device ids), its
    ``env_cfg.dist_cfg`` given ``dist_cfg`` (a ``port``); without
    ``runner_type``: MMEngine's own Runner."""
    path = small_config(
        FSP_DEMO, str(tmp_path / 'cfg.py'),
        os.path.join(synthetic_root, 'NCT') + os.sep, n_images=8, batch=8,
        epochs=1, env_cfg=dict(dist_cfg=dict(backend='gloo', **dist_cfg)),
        model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                               device_ids=None))
    if not runner_type:
        with open(path) as f:
            text = [ln for ln in f if not ln.startswith('runner_type')]
        with open(path, 'w') as f:
            f.writelines(text)
    return path


def _slurm_build(tmp_path, config, *args, job_id=None, master_port=None):
    """:data:`BUILD_TASK` of ``config`` (``*args``: ``--cfg-options ...``)
    as the one task of Slurm job ``job_id`` (:func:`_slurm_env`), into
    ``tmp_path/w``; the completed process."""
    return _one_task(BUILD_TASK, [config, str(tmp_path / 'w'), *args],
                     _slurm_env(job_id, master_port), tmp_path)


def _two_free_ports():
    """A port P that no program holds, nor the spare port a refusal of P
    gives (``utils.launcher.slurm_spare_port``), both kept for this
    process (``free_port``)."""
    from openselfsup.utils.launcher import slurm_spare_port
    for _ in range(50):
        _, port = _free_job_port()
        if keep_port(slurm_spare_port(port)) is not None:
            return port
    pytest.skip('no two free ports in a row')


@pytest.mark.slow
def test_a_taken_config_port_names_the_option_that_moves_it(
        tmp_path, synthetic_root):
    """The config's ``env_cfg.dist_cfg.port`` taken: MMEngine's
    ``_init_dist_slurm`` sets MASTER_PORT to it, so the way out the line
    named, ``MASTER_PORT=<P+1> bash tools/slurm_train.sh ...``, was refused
    again (review r141). It names the ``--cfg-options`` now, and the run
    given them, the port still held, meets on the port they give (one no
    job derives: P + 1 was the next job's, h238)."""
    from openselfsup.utils.launcher import slurm_spare_port
    port = _two_free_ports()
    config = _slurm_config(tmp_path, synthetic_root, port=port)
    job, _ = _free_job_port()
    spare = slurm_spare_port(port)
    line = (f'error: port {port} (env_cfg.dist_cfg.port) of 127.0.0.1 '
            "(rank 0's node) is taken (another training run started there, "
            'or another program): start this one on another port no job '
            'derives (63001 to 65535), bash tools/slurm_train.sh ... '
            f'--cfg-options env_cfg.dist_cfg.port={spare}')
    with listening_socket(port):
        # a MASTER_PORT exported changes nothing: the config's port wins
        p = _slurm_build(tmp_path, config, job_id=job,
                         master_port=port + 1)
        assert (p.returncode, error_lines(p.stderr)) == (2, [line]), \
            p.stderr[-3000:]
        p = _slurm_build(tmp_path, config, *line.split(' ... ')[1].split(),
                         job_id=job)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f'port {spare} 1 AtomicRunner' in p.stdout.splitlines(), \
        p.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize('runner', ['Runner', 'AtomicRunner'])
def test_a_config_without_runner_type_meets_on_its_jobs_port(
        tmp_path, synthetic_root, runner):
    """MMEngine's own Runner (a config without ``runner_type``) took 29500
    for every job, the job's port being set by AtomicRunner alone (review
    r141, where INSTALL.md said it had); it meets on the job's port now,
    and that port taken is the one line. The AtomicRunner of every shipped
    config is built inside ``_built``'s rendezvous and opens its own in
    ``setup_env``: the inner one takes the port the outer one set as the
    job's, not as an exported MASTER_PORT (r147: without the guard the
    line said '(MASTER_PORT)' and told the user to change a variable they
    never set)."""
    from openselfsup.utils.launcher import slurm_spare_port
    job, port = _free_job_port()
    config = _slurm_config(tmp_path, synthetic_root,
                           runner_type=runner == 'AtomicRunner')
    with listening_socket(port):
        p = _slurm_build(tmp_path, config, job_id=job)
    assert (p.returncode, error_lines(p.stderr)) == (2, [
        f'error: port {port} (from SLURM_JOB_ID {job}) of 127.0.0.1 '
        "(rank 0's node) is taken (another training run started there, "
        f'such as Slurm job {_single_step_sharer(job)} step 0, whose port '
        'is this one too, or another program): start this one on another '
        f'port no job derives (63001 to 65535), '
        f'MASTER_PORT={slurm_spare_port(port)} '
        'bash tools/slurm_train.sh ...']), p.stderr[-3000:]
    p = _slurm_build(tmp_path, config, job_id=job)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f'port {port} 1 {runner}' in p.stdout.splitlines(), \
        p.stdout[-3000:]


def _dead_pid():
    """The pid of a process of this host that has ended (spawned and
    reaped)."""
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    return dead.pid


def _killed_saves(work, monkeypatch):
    """Partial checkpoints in ``work`` as killed saves leave them, the host
    named 'here': ``{name: removed by the next run?}``, 3 MiB each."""
    monkeypatch.setattr(socket, 'gethostname', lambda: 'here')
    dead, live = _dead_pid(), os.getppid()
    names = {f'.epoch_5.pth.{dead}@here.a1b2c3d4.tmp.pth': True,
             f'.best_acc_epoch_3.pth.{dead}@here.e5f6g7h8.tmp.pth': True,
             # a live process's (a writer now), another host's (its pid
             # means nothing here, however old), another file's
             f'.epoch_6.pth.{live}@here.i9j0k1l2.tmp.pth': False,
             f'.epoch_7.pth.{dead}@there.m3n4o5p6.tmp.pth': False,
             f'.sweep.json.{dead}@here.q7r8s9t0.tmp.json': False}
    work.mkdir(parents=True)
    for name in names:
        (work / name).write_bytes(b'PK' + bytes(3 * 2 ** 20 - 2))
    old = time.time() - 7200  # past the saves' hour for another host's
    os.utime(work / f'.epoch_7.pth.{dead}@there.m3n4o5p6.tmp.pth', (old, old))
    return names, dead


def _removal_line(work, dead):
    """The line of the removal of :func:`_killed_saves`'s two partial
    checkpoints of the dead writer ``dead`` from ``work``, 6 MiB."""
    return (f'{work}: removed 2 partial checkpoint(s) (6.0 MiB) of a save '
            'killed mid-way, written by a process of this host that is '
            f'gone (pid {dead}): '
            f'.best_acc_epoch_3.pth.{dead}@here.e5f6g7h8.tmp.pth, '
            f'.epoch_5.pth.{dead}@here.a1b2c3d4.tmp.pth')


def test_the_next_run_removes_a_killed_saves_partial_checkpoints(
        tmp_path, monkeypatch):
    """Rank 0 killed mid-save (SIGKILL, out of memory) left
    ``.epoch_N.pth.<pid>@<host>.*.tmp.pth``, hundreds of MB on the real
    model, until a later save of the run removed it. The next run's rank
    0, holding the work dir's lock (no other run writes there), removes
    those of this host whose writer is gone before anything else, and
    says so in one line; a live writer's and another host's stay. (The
    lock of the killed run, an flock, was released when it died:
    ``tests/test_foundation_bad_input.py::
    test_a_second_run_into_a_work_dir_in_use_is_refused``.)"""
    from openselfsup.engine.runner import work_dir_lock
    work = tmp_path / 'w'
    names, dead = _killed_saves(work, monkeypatch)
    with work_dir_lock(str(work)) as said:
        assert sorted(p.name for p in work.iterdir()
                      if p.name != '.train.lock') == sorted(
            n for n, removed in names.items() if not removed)
    assert said == [
        _removal_line(work, dead)]
    # nothing left to remove: no line; another rank takes no lock, removes
    # nothing (its rank 0 does)
    with work_dir_lock(str(work)) as said:
        assert said == []
    (work / f'.epoch_8.pth.{dead}@here.u1v2w3x4.tmp.pth').write_bytes(b'PK')
    with work_dir_lock(str(work), rank=1) as said:
        assert said == []
    assert (work / f'.epoch_8.pth.{dead}@here.u1v2w3x4.tmp.pth').exists()


def test_the_removal_line_is_one_write(tmp_path, monkeypatch):
    """Rank 0 says the removal before the process group forms, while the
    other ranks start and write to the launcher's one stderr: the line
    reaches stderr in one write, its newline in it (``print`` wrote them
    apart)."""
    from openselfsup.engine.runner import work_dir_lock
    work = tmp_path / 'w'
    _, dead = _killed_saves(work, monkeypatch)
    writes = stream_writes(monkeypatch)
    with work_dir_lock(str(work)):
        pass
    assert writes == [f'note: {_removal_line(work, dead)}\n']


def test_train_pys_finished_line_is_one_write(tmp_path, monkeypatch):
    """Every rank of a distributed run ends ``tools/train.py`` with its
    finished line on the launcher's one stdout: one write, its newline in
    it (``print`` wrote them apart, and two ranks' lines could run
    together under ``PYTHONUNBUFFERED``). ``train()`` a stand-in that
    returns a runner at epoch 3, iteration 12."""
    import types

    import openselfsup.apis
    tool = tool_module('tools/train.py')
    runner = types.SimpleNamespace(train_loop=None, epoch=3, iter=12,
                                   work_dir=str(tmp_path))
    monkeypatch.setattr(openselfsup.apis, 'train',
                        lambda *args, **kwargs: runner)
    writes = stream_writes(monkeypatch, 'stdout')
    tool.main([FSP_DEMO, '--work-dir', str(tmp_path)])
    assert writes == [f'finished epoch 3, iteration 12; outputs in '
                      f'{tmp_path}\n']


@pytest.mark.slow
def test_the_removal_is_said_in_the_runs_log(tmp_path, monkeypatch,
                                             synthetic_root, capfd):
    """Through ``train()``: the line of the partial checkpoints removed is
    in the run's log file, and on its console once."""
    from openselfsup.apis import train
    work = tmp_path / 'w'
    names, dead = _killed_saves(work, monkeypatch)
    cfg = small_config(FSP_DEMO, str(tmp_path / 'cfg.py'),
                       os.path.join(synthetic_root, 'NCT') + os.sep,
                       n_images=8, batch=8, epochs=1)
    train(cfg, work_dir=str(work))
    log = ''.join(p.read_text() for p in work.glob('*/*.log'))
    line = _removal_line(work, dead)
    assert log.count(line) == 1, log[-3000:]
    # said on the console once, on stderr (its note line), not again by
    # the log's console handler
    out, err = capfd.readouterr()
    assert err.count(line) == 1 and f'note: {line}' in err.splitlines()
    assert line not in out
    # (another host's, two hours old, went with the run's save, whose
    # rule judges it by age)
    left = {p.name for p in work.iterdir()}
    assert not left & {name for name, removed in names.items() if removed}
    assert f'.epoch_6.pth.{os.getppid()}@here.i9j0k1l2.tmp.pth' in left


def test_a_partial_checkpoint_of_this_runs_pid_goes_at_its_start(
        tmp_path, monkeypatch, capfd):
    """A partial checkpoint that records this process's pid (an earlier
    process of this host had it: pid 1 in a container of a fixed host
    name) was never removed: its pid is alive (review r141). At a run's
    start, holding the lock and before its first save, this process has
    written none, so it goes there; the saves' own rule, which runs while
    this process may be writing one, still leaves it. Said at once on
    stderr, naming the pid as this run's now; writers of several pids are
    named as such."""
    from openselfsup.engine.runner import work_dir_lock
    from openselfsup.utils.io import remove_stale_temporaries
    monkeypatch.setattr(socket, 'gethostname', lambda: 'here')
    work, me, dead = tmp_path / 'w', os.getpid(), _dead_pid()
    work.mkdir()
    mine = f'.epoch_5.pth.{me}@here.a1b2c3d4.tmp.pth'
    (work / mine).write_bytes(b'PK' + bytes(2 ** 20 - 2))
    assert remove_stale_temporaries(str(work / '*.pth')) == 0
    assert (work / mine).exists()
    capfd.readouterr()
    with work_dir_lock(str(work)) as said:
        assert not (work / mine).exists()
    line = (f'{work}: removed 1 partial checkpoint(s) (1.0 MiB) of a save '
            'killed mid-way, written by a process of this host that is gone '
            f"(pid {me}; {me} is this run's pid now, reused): {mine}")
    assert said == [line]
    assert capfd.readouterr().err.splitlines() == [f'note: {line}']
    # two writers: both pids, sorted
    names = [f'.epoch_{i}.pth.{pid}@here.a1b2c3d4.tmp.pth'
             for i, pid in ((6, me), (7, dead))]
    for name in names:
        (work / name).write_bytes(b'PK' + bytes(2 ** 20 - 2))
    with work_dir_lock(str(work)) as said:
        pass
    pids = ', '.join(map(str, sorted((me, dead))))
    assert said == [
        f'{work}: removed 2 partial checkpoint(s) (2.0 MiB) of a save killed '
        f'mid-way, written by processes of this host that are gone (pids '
        f"{pids}; {me} is this run's pid now, reused): {', '.join(names)}"]


@pytest.mark.slow
def test_a_failed_start_says_the_removal_on_stderr(tmp_path, monkeypatch,
                                                   synthetic_root, capfd):
    """A start refused after the removal (a setting the build refuses:
    ``--cfg-options model.backbone.depth=7``) discards the run's log, the
    only place the removal was said: the partial checkpoints went without
    a word (review r141). ``tools/train.py`` says it on stderr, one note
    line before its refusal."""
    work = tmp_path / 'w'
    names, dead = _killed_saves(work, monkeypatch)
    cfg = small_config(FSP_DEMO, str(tmp_path / 'cfg.py'),
                       os.path.join(synthetic_root, 'NCT') + os.sep,
                       n_images=8, batch=8, epochs=1)
    code, out, err = run_tool_here(
        ['tools/train.py', cfg, '--work-dir', str(work), '--cfg-options',
         'model.backbone.depth=7'], capfd)
    lines = error_lines(err)
    assert code == 2 and len(lines) == 2, err[-3000:]
    assert lines[0] == f'note: {_removal_line(work, dead)}'
    assert lines[1].startswith('error: ') and 'depth' in lines[1], lines
    left = {p.name for p in work.iterdir()}
    assert not left & {name for name, removed in names.items() if removed}
