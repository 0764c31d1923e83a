"""How a batch is cut into the published per-GPU groups (the arithmetic
of :mod:`openselfsup.models.groups`, without torch: the launchers check a
config against the GPU count with it before they start any process)."""
from typing import Optional

from .errors import InputError


def groups_of(batch: int, group_size: Optional[int], what: str) -> int:
    """Number of groups a batch of ``batch`` images is cut into.

    A batch of at most ``group_size`` images is one group (a short total
    batch, e.g. the demo's or a test's); a larger batch must be a multiple
    of ``group_size``.

    Args:
        batch (int): images in this process's batch.
        group_size (int | None): images per group; None: one group.
        what (str): the config key, for the error message.

    Raises:
        InputError: ``batch`` is larger than and not a multiple of
            ``group_size``.
    """
    if group_size is None or batch <= group_size:
        return 1
    if batch % group_size:
        raise InputError(
            f'{what}={group_size}: the per-process batch of {batch} images is '
            f'not a multiple of it; change total_batch_size, the GPU count or '
            f'{what}')
    return batch // group_size
