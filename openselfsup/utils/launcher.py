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
#: set: ``SLURM_PORT_BASE + SLURM_JOB_ID % SLURM_PORT_SPAN`` (20000 to
#: 29999, below Linux's ephemeral ports, 32768 on), so that two jobs on
#: one node (two 4-GPU jobs of an 8-GPU node) meet on ports of their own,
#: not both on MMEngine's 29500
SLURM_PORT_BASE = 20000
SLURM_PORT_SPAN = 10000


def slurm_job_port(environ: Optional[Mapping[str, str]] = None
                   ) -> Optional[int]:
    """The rendezvous port of a Slurm job's tasks, derived from its
    ``SLURM_JOB_ID`` (:data:`SLURM_PORT_BASE`, :data:`SLURM_PORT_SPAN`):
    every task of the job computes the same one. None where ``MASTER_PORT``
    is set (a port given wins: MMEngine's ``_init_dist_slurm`` takes it)
    or ``SLURM_JOB_ID`` is not a job number (not under Slurm).

    Args:
        environ (Mapping, optional): the environment (default
            ``os.environ``).
    """
    environ = os.environ if environ is None else environ
    job = environ.get('SLURM_JOB_ID', '')
    if environ.get('MASTER_PORT') or not job.isdigit():
        return None
    return SLURM_PORT_BASE + int(job) % SLURM_PORT_SPAN


def port_taken_line(port: str, where: str, setting: str, script: str,
                    source: str = '') -> str:
    """The refusal of a rendezvous ``port`` (taken from ``source``, where
    given: ``'from SLURM_JOB_ID 1234'``) taken on ``where`` (``'this
    machine'``, or a node named; another run started there, or another
    program holds it), with the way out: the launcher ``script`` started
    with its port ``setting`` one up (one down from 65535)."""
    port = str(port)
    if port.isdigit():
        other = int(port) + 1 if int(port) < 65535 else int(port) - 1
    else:
        other = 29501
    there = 'here' if where == 'this machine' else 'there'
    source = f' ({source})' if source else ''
    return (f'port {port}{source} of {where} is taken (another training run '
            f'started {there}, or another program): start this one on '
            f'another port, {setting}={other} bash {script} ...')
