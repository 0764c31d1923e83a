"""The seed of a run as the data sets it builds take it, alike on every
process: what a data set draws once for the whole run (the patients a
class-balanced ``HierarchicalPatientDataset`` repeats) follows it.

A data-set class that draws so names the argument that takes the run's
seed (:data:`RUN_SEEDED`); the runner's build of each data loader
(``engine.runner.AtomicRunner.build_dataloader``) gives that argument
rank 0's seed (:func:`shared_seed`) where the config leaves it unset.
Built anywhere else (a script, a notebook, ``knn_eval.py``, a test), the
class's own default holds. Torch-free.
"""
from typing import Optional

#: the class attribute by which a data-set class of the project's names
#: the argument that takes the run's seed where its config leaves it unset
#: or None: ``RUN_SEEDED = 'seed'`` on ``HierarchicalPatientDataset``.
#: Read by ``engine.runner.give_run_seed``; a class without it is not
#: given one
RUN_SEEDED = 'RUN_SEEDED'


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
