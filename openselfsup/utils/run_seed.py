"""The seed of a run as the data sets it builds take it, alike on every
process: what a data set draws once for the whole run (the patients a
class-balanced ``HierarchicalPatientDataset`` repeats) follows it.

A data-set class that draws so names the argument that takes the run's
seed (:data:`RUN_SEEDED`); the runner's build of each data loader
(``engine.runner.AtomicRunner.build_dataloader``) gives that argument
rank 0's seed (:func:`shared_seed`) where the config leaves it unset.
Built anywhere else (a script, a notebook, ``knn_eval.py``, a test), the
class's own default holds. The seed the training sets drew with is
recorded in the run's checkpoints (:data:`DRAWN_SEED_KEY`), which a resume
gives its training sets again (and its validation and test sets) and
``knn_eval.py`` reads them again with (:func:`drawn_seed`). Torch-free.
"""
from typing import Any, Optional

from .errors import is_int

#: the class attribute by which a data-set class of the project's names
#: the argument that takes the run's seed where its config leaves it unset
#: or None: ``RUN_SEEDED = 'seed'`` on ``HierarchicalPatientDataset``.
#: Read by ``engine.runner.give_run_seed``; a class without it is not
#: given one
RUN_SEEDED = 'RUN_SEEDED'

#: the class attribute by which a model part's class of the project's
#: names the argument that takes its own process's seed (MMEngine's
#: ``runner.seed``: ``randomness.seed``, or the seed MMEngine drew where
#: that is None, plus the rank where ``diff_rank_seed``; not rank 0's)
#: where its config leaves it unset or None: ``PROCESS_SEEDED = 'seed'``
#: on the batched-views data preprocessors, which read None as 0 outside
#: a run. Read by ``engine.runner.give_process_seed`` for the model's
#: ``data_preprocessor`` (the project's runner, at the model's build), and
#: by ``engine.runner.give_built_process_seed``, which sets the built
#: preprocessor's attribute of that name (MMEngine's Runner, once the
#: project's entry points have built it)
PROCESS_SEEDED = 'PROCESS_SEEDED'

#: the key of a checkpoint's ``meta`` that records the seed the run gave
#: its training sets (those that take the run's seed and leave it unset),
#: or where none took one its validation or test sets: set by
#: ``engine.runner.AtomicRunner`` when it builds the sets and saves a
#: checkpoint, where a set took the run's seed (none: no key), read by
#: :func:`drawn_seed` and :func:`recorded_seed` (a resume gives the
#: validation and test sets the seed it records)
DRAWN_SEED_KEY = 'dataset_seed'


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


def drawn_seed(meta: Any) -> int:
    """The seed the run that wrote a checkpoint gave its training sets
    that take the run's seed and leave it unset (a class-balanced
    ``HierarchicalPatientDataset``'s repeated patients), as its ``meta``
    records it (:data:`DRAWN_SEED_KEY`); 0 where it records none: a
    checkpoint written before the seed was recorded, whose sets drew with
    their own default, 0, whatever the run's seed (``meta['seed']`` is
    not read: the run's seed is not the training set's on a resume under
    another seed, and was not before review r161). A resume gives it to
    its training set again (the patients of the checkpoint's run kept),
    ``knn_eval.py``'s ``trained_patients`` reads the set again with it."""
    seed = recorded_seed(meta)
    return 0 if seed is None else seed


def recorded_seed(meta: Any) -> Optional[int]:
    """The seed a checkpoint's ``meta`` records its run's sets drew with
    (:data:`DRAWN_SEED_KEY`); None where it records none (:func:`drawn_seed`
    reads that as 0, as a training set of such a run drew)."""
    seed = meta.get(DRAWN_SEED_KEY) if isinstance(meta, dict) else None
    return seed if is_int(seed) else None
