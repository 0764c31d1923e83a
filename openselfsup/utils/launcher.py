"""What the launcher told this process, read before any process group
exists (torch-free: the launchers' checks run before torch loads)."""
import os
from typing import Tuple

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
