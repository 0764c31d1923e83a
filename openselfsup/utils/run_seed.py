"""The seed of the run whose data sets are being built, alike on every
process: what a data set draws once for the whole run (the patients a
class-balanced ``HierarchicalPatientDataset`` repeats) follows it.

The runner's build of each data loader (``AtomicRunner.build_dataloader``)
gives it (:func:`run_seed_given`) as rank 0's seed of MMEngine's
``randomness`` (:func:`shared_seed`); a data set built outside it (a
script, a test) takes :func:`run_seed`'s fall-back, the seed torch was last
seeded with in the process. Torch-free until that fall-back is read.
"""
from contextlib import contextmanager
from typing import Iterator, List, Optional

#: the seeds :func:`run_seed_given` gives, innermost last
_GIVEN: List[Optional[int]] = []


def shared_seed(seed: Optional[int], diff_rank_seed: bool,
                rank: int) -> Optional[int]:
    """Rank 0's seed of a run, from the ``seed`` MMEngine's loops give
    ``Runner.build_dataloader`` on process ``rank`` (``runner.seed``:
    ``randomness.seed``, or the seed MMEngine drew and shared where that is
    None, plus the rank where ``randomness.diff_rank_seed``): the same on
    every process. None where no seed is given."""
    if seed is None:
        return None
    return seed - rank if diff_rank_seed else seed


@contextmanager
def run_seed_given(seed: Optional[int]) -> Iterator[None]:
    """Within it, :func:`run_seed` is ``seed`` (None: its fall-back)."""
    _GIVEN.append(seed)
    try:
        yield
    finally:
        _GIVEN.pop()


def run_seed() -> int:
    """The seed of the run building a data set now: the one
    :func:`run_seed_given` gives (the runner's data-loader build), else
    ``torch.initial_seed()``, the seed torch was last seeded with in this
    process (MMEngine's ``set_random_seed``'s, where a script seeds so)."""
    if _GIVEN and _GIVEN[-1] is not None:
        return int(_GIVEN[-1])
    import torch
    return int(torch.initial_seed())
