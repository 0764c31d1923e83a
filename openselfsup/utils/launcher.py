"""What the launcher told this process, read before any process group
exists (torch-free: the launchers' checks run before torch loads)."""
import os
from typing import Mapping, Optional, Tuple

#: the environment variables of this process's global rank and of the
#: number of processes, per launcher: torchrun's, srun's
_VARIABLES = {'pytorch': ('RANK', 'WORLD_SIZE'),
              'slurm': ('SLURM_PROCID', 'SLURM_NTASKS')}


def launcher_env(launcher: str) -> Tuple[int, int]:
    """``(rank, world size)`` as the launcher set them; ``(0, 1)`` without
    one (or a variable it did not set).

    Args:
        launcher (str): 'none', 'pytorch' or 'slurm' (as the config's
            ``launcher`` after ``apis.train.prepare_config``).
    """
    rank, world = _VARIABLES.get(launcher, (None, None))
    return (int(os.environ.get(rank, 0)) if rank else 0,
            int(os.environ.get(world, 1)) if world else 1)


#: the ports a Slurm job's rendezvous takes where ``MASTER_PORT`` is not
#: set: ``SLURM_PORT_BASE + (SLURM_JOB_ID + SLURM_STEP_STRIDE *
#: SLURM_STEP_ID) % SLURM_PORT_SPAN``, 20000 to 29499: below Linux's
#: default ephemeral ports (32768 to 60999; some sites widen
#: ``ip_local_port_range``) and below 29500, torch's and MMEngine's
#: default, and the 29501, 29502 ... that MMEngine-based tools' docs give
#: a second run on a machine (another program on the node may hold them).
#: Two jobs on one node (two 4-GPU jobs of an 8-GPU node) meet on ports of
#: their own, and so do two steps of one job running at once (srun sets
#: ``SLURM_STEP_ID`` in every task of a step, the same in each); the
#: stride keeps a job's next step off the next job's first
SLURM_PORT_BASE = 20000
SLURM_PORT_SPAN = 9500
SLURM_STEP_STRIDE = 1000

#: the ports a refusal of a taken Slurm port suggests (the next port up,
#: which the refusal named, is the next job's port at the same step):
#: outside the ports no job step derives (20000 to 29499), torch's and
#: MMEngine's 29500 and the ports just above it, Kubernetes' default
#: NodePort range (30000 to 32767: on a node that runs kube-proxy a
#: connection there may be sent to a service, and the rendezvous hangs
#: without a word; 30000 to 32767 were suggested until r152), Linux's
#: default ephemeral ports (32768 to 60999: an outgoing connection may
#: hold one; some sites widen ``ip_local_port_range``), the range Slurm's
#: documentation gives as its example ``SrunPortRange`` (60001 to 63000,
#: srun's own listening ports, on the batch step's node: rank 0's) and
#: the well-known services' ports below 20000 (kubelet 10250 to 10259,
#: memcached 11211, Slurm's example ``MpiParams=ports=12000-12999``);
#: IANA registers no service above 49151
SLURM_SPARE_PORTS = range(63001, 65536)


def _slurm_step(environ: Mapping[str, str]) -> Optional[int]:
    """The job step's ``SLURM_STEP_ID`` as a number; None where it is not
    one (``extern``, ``batch``) or unset, which :func:`slurm_job_port`
    counts as step 0 and :func:`slurm_port_source` leaves unnamed: the one
    rule of both."""
    step = environ.get('SLURM_STEP_ID', '')
    return int(step) if step.isdigit() else None


def slurm_job_port(environ: Optional[Mapping[str, str]] = None
                   ) -> Optional[int]:
    """The rendezvous port of a Slurm job step's tasks, derived from its
    ``SLURM_JOB_ID`` and ``SLURM_STEP_ID`` (:data:`SLURM_PORT_BASE`,
    :data:`SLURM_PORT_SPAN`, :data:`SLURM_STEP_STRIDE`; a step id that is
    not a number, or none, counts as 0): every task of the step computes
    the same one, from nothing that differs between tasks. None where
    ``MASTER_PORT`` is set (a port given wins: MMEngine's
    ``_init_dist_slurm`` takes it) or ``SLURM_JOB_ID`` is not a job number
    (not under Slurm).

    Args:
        environ (Mapping, optional): the environment (default
            ``os.environ``).
    """
    environ = os.environ if environ is None else environ
    job = environ.get('SLURM_JOB_ID', '')
    if environ.get('MASTER_PORT') or not job.isdigit():
        return None
    step = _slurm_step(environ) or 0
    return SLURM_PORT_BASE + (int(job) + SLURM_STEP_STRIDE * step) \
        % SLURM_PORT_SPAN


def slurm_port_source(environ: Optional[Mapping[str, str]] = None) -> str:
    """Where :func:`slurm_job_port` took its port from, as a refusal
    names it: ``'from SLURM_JOB_ID 1234, SLURM_STEP_ID 1'`` (the job's
    alone where the step id is not a number: counted as 0)."""
    environ = os.environ if environ is None else environ
    step = _slurm_step(environ)
    step = '' if step is None else f', SLURM_STEP_ID {step}'
    return f'from SLURM_JOB_ID {environ.get("SLURM_JOB_ID")}{step}'


def slurm_spare_port(port: int) -> int:
    """The port of :data:`SLURM_SPARE_PORTS` a refusal suggests where the
    Slurm job's ``port`` is taken: the next spare one where ``port`` is
    spare (the one suggested before, taken too), else
    ``start + (port - 20000) % len(SLURM_SPARE_PORTS)``: two taken ports
    less than ``len(SLURM_SPARE_PORTS)`` (2535) apart are sent to two
    spare ports, and two apart by a multiple of it to the same one (the
    spare ports are fewer than the derived ones)."""
    spare = SLURM_SPARE_PORTS
    if port in spare:
        return spare.start + (port + 1 - spare.start) % len(spare)
    return spare.start + (port - SLURM_PORT_BASE) % len(spare)


def slurm_port_sharer(environ: Optional[Mapping[str, str]] = None) -> str:
    """Another job step whose derived port (:func:`slurm_job_port`) is
    this step's, as a refusal names it: for step 0 (one ``srun`` in a job,
    the usual case) another job's step 0, the job 9500 before
    (``'job 2 step 0'`` for job 9502) where there is one (job ids are
    positive), else the job 9500 on; for step S above 0 the job 1000 on at
    step S - 1 (``'job 1235 step 0'`` for job 235 step 1: a job's next
    step takes the port of the job 1000 on at the step before); ``''``
    where there is no job number (not under Slurm)."""
    environ = os.environ if environ is None else environ
    if not environ.get('SLURM_JOB_ID', '').isdigit():
        return ''
    job, step = int(environ['SLURM_JOB_ID']), _slurm_step(environ) or 0
    if step:
        job, step = job + SLURM_STEP_STRIDE, step - 1
    elif job > SLURM_PORT_SPAN:
        job -= SLURM_PORT_SPAN
    else:
        job += SLURM_PORT_SPAN
    return f'job {job} step {step}'


def port_taken_line(port: str, where: str, setting: str, script: str,
                    source: str = '', option: bool = False,
                    slurm: bool = False, sharer: str = '') -> str:
    """The refusal of a rendezvous ``port`` (taken from ``source``, where
    given: ``'from SLURM_JOB_ID 1234'``) taken on ``where`` (``'this
    machine'``, or a node named; another run started there, or another
    program holds it), with the way out: the launcher ``script`` started
    with its port ``setting`` one up (one down from 65535), an environment
    variable, or, ``option`` True, a config key given by ``--cfg-options``
    (the config's port, which wins over the variable). ``slurm``: the
    port of a Slurm job, where one up is the next job's derived port: the
    way out is a port no job derives (:func:`slurm_spare_port`), and
    ``sharer`` (:func:`slurm_port_sharer`), where given, is named as a
    job step that derives the same port."""
    port = str(port)
    if port.isdigit() and slurm:
        other = slurm_spare_port(int(port))
    elif port.isdigit():
        other = int(port) + 1 if int(port) < 65535 else int(port) - 1
    else:
        other = SLURM_SPARE_PORTS.start if slurm else 29501
    there = 'here' if where == 'this machine' else 'there'
    source = f' ({source})' if source else ''
    sharer = f', such as Slurm {sharer}, whose port is this one too' \
        if sharer else ''
    spare = (f' no job derives ({SLURM_SPARE_PORTS.start} to '
             f'{SLURM_SPARE_PORTS.stop - 1})' if slurm else '')
    way = (f'bash {script} ... --cfg-options {setting}={other}' if option
           else f'{setting}={other} bash {script} ...')
    return (f'port {port}{source} of {where} is taken (another training run '
            f'started {there}{sharer}, or another program): start this one '
            f'on another port{spare}, {way}')
