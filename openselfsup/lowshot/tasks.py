"""Vectorised task sampling and the task store.

Settings (``--task``; :data:`~openselfsup.lowshot.spec.SETTINGS`):

========  =====  ==============  =============  ===============================
task      ways   support from    queries from   notes
========  =====  ==============  =============  ===============================
near      9      NCT_train       NCT_test       ``--novel_class`` names the
                                                class(es) held out of
                                                pre-training; always present
mixture   5      LC              LC             support and queries from the
                                                same pool, never overlapping
out       3      PAIP_train      PAIP_test      support from any training slide
out_homo  3      PAIP_train      PAIP_test      all support of a task from one
                                                training slide
========  =====  ==============  =============  ===============================

Every task has ``shots`` support and 15 query samples per class, drawn
without replacement; support and queries never share an image (the published
code drew near-domain support and all queries with replacement and, on
LC25000, let queries repeat support images: docs/iclr22_protocol.md).

Task store (one ``.npz`` per setting, path from :meth:`TaskSpec.path`)::

    support_idx     int64 [T, ways*shots]    rows of the support feature set
    query_idx       int64 [T, ways*queries]  rows of the query feature set
    support_labels  int64 [T, ways*shots]    their labels (class-major order)
    query_labels    int64 [T, ways*queries]
    classes         int64 [ways]             labels of the task's classes
    seed, shots, queries, ways, novel_class (-1: none)   int64 scalars
    sampler                                              int64 scalar (3)
    task, mode, support_set, query_set, fingerprint       str scalars

``fingerprint`` is a SHA-1 of the label arrays (and, for ``homo``, the slide
ids) the tasks were drawn from, so a store made from other labels is refused;
a store is also refused when its shots, ways, novel class or seed are not the
ones asked for (say, a 5-shot store renamed as the 1-shot one).

Sampling draws the tasks in blocks of :data:`TASK_BLOCK` (1000), each block
at once from one ``numpy.random.Generator`` (PCG64, platform independent)
seeded with the seed and, for a near-domain store of a novel class, that
class as the ``SeedSequence`` spawn key (block ``b > 0``: that key and
``(_BLOCK_KEY, b)``): the stores of the nine novel classes (and the store
without one) are independent draws, as the published ones were, the same
seed gives the same tasks on any machine, and a store's first n tasks are
the same whatever count it is drawn for (the ablation's 300 are the first
300 of the near-domain 1000, whichever ran first). ``sampler`` 3 marks that
scheme. A store of sampler 2 (all its tasks drawn at once) is served: of
1000 tasks it equals sampler 3's, of another count it holds other first
tasks. A novel-class store of sampler 1 (an earlier version: one draw for
every novel class) is refused with the command that draws it again.
Stores are written only if absent, or replaced on request; a store asked
for more tasks than it holds is extended (drawn again with the rest, and
written only where its tasks are the new draw's first, bit for bit). The
store on disk is read again under its lock before it is written (two runs
drawing or extending one store at once: the second to end reuses the
first's store where it holds the tasks asked, extends it where it holds
the first of them, else says so and fails): a store is never replaced by
one of fewer tasks.
"""
import hashlib
import os
import zipfile
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..utils import InputError, array_sha1, save_npz
from . import paths
from .paths import from_root, read_from_root, script
from .spec import (TaskSetting, TaskSpec, check_novel_class,
                   generate_task_commands)


#: the sampling scheme of new stores (1: novel-class stores drawn from the
#: seed alone, the same tasks for every novel class; 2: all of a store's
#: tasks drawn at once, so its first n tasks depended on how many it was
#: drawn for; 3: whole blocks of :data:`TASK_BLOCK` tasks, each block its
#: own stream, block 0 being sampler 2's draw of 1000 tasks)
SAMPLER = 3

#: tasks drawn at once from one stream: a store of any size holds the
#: first tasks of every larger one (the ablation's 300 tasks are the first
#: 300 of the near-domain 1000 whichever ran first)
TASK_BLOCK = 1000

#: the spawn-key word that marks a block stream (after the novel class, if
#: any; novel classes are below it), followed by the block number
_BLOCK_KEY = 1 << 20


def _sampler(z) -> int:
    """The sampling scheme of a store's arrays (1 before the field)."""
    return int(z['sampler']) if 'sampler' in z else 1


def _stale(novel_class: Optional[int], sampler: int) -> bool:
    """A novel-class store of sampler 1 (the nine novel classes shared
    their tasks); -1 and None: no novel class. A store of sampler 2 is
    served: its tasks are a valid draw (of 1000 tasks: the same as
    sampler 3's), only its first tasks depend on its size."""
    return novel_class not in (None, -1) and sampler < 2


def _extendable(sampler: int, held: int) -> bool:
    """Whether a store of ``held`` tasks drawn by ``sampler`` holds the
    first tasks of a larger draw now: drawn in blocks (3), or all at once
    (2, 1) where it holds one whole block (:data:`TASK_BLOCK`), which is
    block 0's draw."""
    return sampler >= SAMPLER or held == TASK_BLOCK


#: why a store of :func:`_extendable` False serves no more tasks
_NOT_EXTENDABLE = ('drawn by an earlier version whose first tasks depend on '
                   'how many were drawn, so it cannot be extended')


#: the general form of the command that draws a store (its flags
#: unknown), the checkout's script, run from any folder
_DRAW_ANY = f"python {script('wsi_workdir', 'tools', 'generate_task.py')} ..."


def redraw_command(spec: Optional[TaskSpec] = None,
                   workdir: Optional[str] = None) -> str:
    """The command that draws a store again over the old one (the spec's
    own with ``workdir``, else its general form)."""
    return (spec.command(workdir) if spec is not None and workdir else
            _DRAW_ANY) + ' --overwrite'


def other_seed_way_out(spec: TaskSpec, path: str, held: int, workdir: str,
                       then: str = '') -> str:
    """What to do where the store at ``path`` holds tasks of seed ``held``
    and ``spec``, of another seed, is asked (its run refused, or a result
    of it left out of a report): an earlier version named every seed's
    store as seed 0's is named now, so ``generate_task.py --seed S
    --overwrite`` wrote seed S's tasks under seed 0's name; each seed has a
    store of its own now (:func:`~.paths.task_store_path`). A store in its
    own seed's place is never to be removed (a seed-1 result naming seed
    0's store, which holds seed 0's tasks again, was told to delete it);
    ``then``: what follows once the store is drawn (``run the command``).

    Returns:
        str: the words after a line's head (``<store>: this store has seed
        (--task_seed) 1 (asked: 0)``, ``its task store now holds tasks of
        seed 1``), from the comma.
    """
    from dataclasses import replace
    own = spec.seed
    mine, at = spec.path(workdir), os.path.abspath(path)
    theirs = replace(spec, seed=held).path(workdir)
    draw = spec.command(workdir)
    after = f', then {then}' if then else ''
    if at == os.path.abspath(mine):  # another seed's tasks in its place
        earlier = (' (written by an earlier version, whose store names did '
                   'not say the seed: each seed has a store of its own now)'
                   if own == 0 else '')
        if os.path.exists(theirs):
            return (f", under seed {own}'s name{earlier}: {theirs} holds "
                    f"seed {held}'s store; draw seed {own}'s over it with "
                    f"`{draw} --overwrite`{after}")
        return (f", under seed {own}'s name{earlier}: move it to {theirs} "
                f"to keep it for seed {held} and draw seed {own}'s with "
                f"`{draw}`, or draw seed {own}'s over it with `{draw} "
                f"--overwrite`{after}")
    # the result of seed `own` names the store of seed 0's name, where an
    # earlier version wrote every seed's
    where = (f"{at} is seed {held}'s store, keep it"
             if at == os.path.abspath(theirs) else
             f'move {at} to {theirs} to keep it for seed {held}'
             if not os.path.exists(theirs) else
             f"{theirs} holds seed {held}'s store")
    mine_now = f'its seed-{own} store is now {mine}'
    named = (", the store it names being seed 0's, where an earlier version "
             'wrote the store of every seed (each seed has a store of its own '
             'now)' if at == os.path.abspath(replace(spec, seed=0).path(
                 workdir)) else f', in {at}, not its seed\'s store')
    return (f'{named}: {where}; ' + (
                f'{mine_now}, there already' + (f': {then}' if then else '')
                if os.path.exists(mine) else
                f'{mine_now}: draw it with `{draw}`{after}'))


def check_samplers(workdir: str, specs: Sequence[TaskSpec]) -> None:
    """Refuse, all at once, the stores among ``specs`` of an earlier
    sampler that cannot serve them: novel-class stores of sampler 1 (the
    nine novel classes' stores held the same tasks), and stores of fewer
    tasks than asked whose first tasks depended on how many were drawn
    (sampler 2, not :data:`TASK_BLOCK` tasks: not extended, as a store
    drawn in blocks is), with the ``generate_task.py`` commands that draw
    them all again, and no other store (:func:`~.spec.
    generate_task_commands`; a sweep met them one store per run before).

    Raises:
        InputError: such stores exist (how many, and the commands).
    """
    stale, short = [], []
    for spec in dict.fromkeys(specs):
        path = spec.path(workdir)
        if not os.path.isfile(path):
            continue
        try:
            with np.load(path, allow_pickle=False) as z:
                sampler = _sampler(z)
                held = int(z['support_idx'].shape[0])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            continue  # the store's own checks name a broken file
        if _stale(spec.novel_class, sampler):
            stale.append(spec)
        elif spec.num_task > held and not _extendable(sampler, held):
            short.append(spec)

    for group, what in (
            (stale, f'near-domain task store(s) in {workdir}/tasks were '
             'drawn by an earlier version, whose stores held the same tasks '
             'for every novel class (the published draws, and the stores '
             'now, are independent per class)'),
            (short, f'task store(s) in {workdir}/tasks hold fewer tasks than '
             'asked and were drawn by an earlier version, whose first tasks '
             'depend on how many were drawn, so they cannot be extended')):
        if group:
            commands = ' ; '.join(
                f'{command} --overwrite'
                for command in generate_task_commands(group, workdir))
            raise InputError(f'{len(group)} {what}; '
                             f'draw them again with: {commands}')


def labels_fingerprint(*arrays: np.ndarray) -> str:
    """SHA-1 of integer label arrays (their values and lengths)."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.int64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def sample_rows(rng: np.random.Generator, n: int, k: int,
                num: int) -> np.ndarray:
    """``num`` independent uniform k-subsets of ``range(n)``: int64 [num, k].

    Rows are drawn at once: by rejection (redraw rows holding a repeat) when
    repeats are rare (``k * k <= n``), else by sorting random keys.
    Deterministic given the generator state.
    """
    if k > n:
        raise ValueError(f'cannot draw {k} of {n} without replacement')
    if k == 0:
        return np.zeros((num, 0), dtype=np.int64)
    if k * k <= n:
        out = rng.integers(0, n, size=(num, k), dtype=np.int64)
        bad = np.arange(num)
        while True:
            s = np.sort(out[bad], axis=1)
            bad = bad[(s[:, 1:] == s[:, :-1]).any(axis=1)]
            if bad.size == 0:
                return out
            out[bad] = rng.integers(0, n, size=(bad.size, k), dtype=np.int64)
    keys = rng.random((num, n))
    return np.argsort(keys, axis=1, kind='stable')[:, :k].astype(np.int64)


def _class_pool(labels: np.ndarray, c: int) -> np.ndarray:
    return np.flatnonzero(labels == c)


#: the flag of ``tools/prepare_data/make_synthetic.py`` that sets the
#: samples per class of each feature set's synthetic data (the quick start's)
SYNTHETIC_SIZE_FLAGS = {'NCT_train': '--nct-train', 'NCT_test': '--nct-test',
                        'LC': '--lc', 'PAIP_train': '--paip-per-class',
                        'PAIP_test': '--paip-per-class'}


def shots_way_out(setting: TaskSetting, at_most: int,
                  flags: Optional[str] = None) -> str:
    """The flags that run ``setting``'s tasks at fewer shots, at most
    ``at_most``: ``flags``, the caller's own (the ablation's), else the
    sweep's ``--<task>_shots``, the scripts' setting
    (:data:`~.script_settings.DOMAIN_SHOTS`), a single run's
    ``--num_shots``."""
    if flags is None:
        from .script_settings import DOMAIN_SHOTS
        flags = (f'sweep.py --{setting.task}_shots, '
                 f'{DOMAIN_SHOTS[setting.task]} in the scripts; --num_shots '
                 'of generate_task.py and distributed_meta_test.py')
    return f'run at most {at_most} shots ({flags})'


def more_samples_way_out(name: str, workdir: Optional[str] = None) -> str:
    """How feature set ``name`` of ``workdir`` gets more samples per
    class, from the folder its images were read from, as the provenance
    JSONs of its sets there record (:func:`~.features.images_folders`,
    read once):

    - the synthetic generator's data (the folder holds its marker,
      :data:`~openselfsup.utils.io.SYNTHETIC_MARKER`): the generator's flag
      of that set, its ``--out`` the folder above the set's (``/x`` for
      ``/x/NCT``, the generator's layout), then every set extracted into a
      new workdir (the workdir's shared labels and image lists are the old
      data's: a set of the new lists extracted into it is refused) by
      ``demo_lowshot.sh``, with ``DATA=<that folder>`` before it where it
      is not the checkout's ``data/`` (the script reads ``$DATA/<set>``:
      it named the checkout's ``data/`` whatever folder the set was read
      from, and the rerun read the old data again, reviews r142, r143);
    - a folder not known (no JSON records it, a relative one without its
      ``cwd``, the sets record different ones, one no longer there (not
      to be taken for real data), or a workdir not given):
      the same commands with ``DATA``, the folder the set was read from,
      for the user to fill in (never the checkout's by guess);
    - real data (no marker there): that the set has too few images of
      the class (fewer shots are the way out), no generator.

    Run from any folder: the generator named absolute with ``python``
    (review r111: it was named relative to the root without ``python``,
    and its default ``--out data`` is the current folder's); the
    script's arguments, read from the root after its ``cd``, said to be
    given absolute."""
    import shlex

    from ..utils.io import REPO_ROOT, SYNTHETIC_MARKER
    from .features import DATA_ROOTS, Where, images_folders
    domain = os.path.basename(DATA_ROOTS[name.lower()])
    folders = images_folders(workdir) if workdir is not None else {}
    where = folders.get(name, Where()) if workdir is not None else None
    if where is None:
        root, why = None, 'no workdir was read'
    elif where == Where():  # no set of the name has a JSON
        root, why = None, (f'no {name} set in {workdir} records where its '
                           'images were read')
    else:
        root, why = where
    if root is not None and not os.path.isdir(root):  # moved, or removed
        root, why = None, f'{root}, the folder it was read from, is gone'
    if root is not None and not os.path.isfile(
            os.path.join(root, SYNTHETIC_MARKER)):
        return (f"use more images of the class: {name}'s, read from "
                f'{root}, are real data (no {SYNTHETIC_MARKER} of '
                'make_synthetic.py there) with too few of it')
    if root is not None and os.path.basename(root) != domain:
        root, why = None, (f'{root}, the folder it was read from, is not '
                           f'named {domain}, as make_synthetic.py writes '
                           f'it and the scripts read $DATA/{domain}')
    data = os.path.dirname(root) if root else None
    if data:  # the demo reads every set from $DATA (review r149: only this
        # set's folder was looked up; the others', elsewhere, not there)
        from .features import _place
        others = {n: w for n, w in folders.items() if n != name}
        # a set without a JSON tells nothing; one whose folder is not
        # known (its models' disagree, a relative one without its cwd) is
        # no agreement (review r151); folders told apart as the printed
        # commands tell them (links resolved where they exist)
        unsure = sorted(n for n, w in others.items()
                        if w.root is None and w != Where())
        apart = sorted({os.path.dirname(w.root) for w in others.values()
                        if w.root and _place(os.path.dirname(w.root))
                        != _place(data)})
        if apart or unsure:
            root = data = None
            why = (f'{name} was read from {where.root}, the workdir\'s '
                   + (f'other sets from under {", ".join(apart)}' if apart
                      else f'{", ".join(unsure)} from a folder not known: '
                      + '; '.join(others[n].why for n in unsure))
                   + ': the demo reads every set from $DATA')
    if data == os.path.join(REPO_ROOT, 'data'):  # the checkout's: the default
        out, env, filled = script('data'), '', ('CKPT', 'NEW_WORKDIR')
    else:
        out = shlex.quote(data) if data else 'DATA'
        env = f'DATA={out} '
        filled = ('CKPT', 'NEW_WORKDIR') if data else \
            ('DATA', 'CKPT', 'NEW_WORKDIR')
    unknown = '' if data else (
        f'; DATA: the folder that holds the {domain} folder {name} was '
        f'read from ({why})')
    return ('give it more samples per class (the synthetic data: python '
            f"{script('tools', 'prepare_data', 'make_synthetic.py')} --out "
            f"{out} {SYNTHETIC_SIZE_FLAGS[name]} N, with the "
            "other flags it was made with (the quick start's --size 64), "
            'then extract every set into '
            "a new workdir, this one's shared labels being the old lists': "
            + from_root(f'{env}sh wsi_workdir/scripts/demo_lowshot.sh CKPT '
                        'NEW_WORKDIR')
            + ' extracts them all; ' + read_from_root(*filled) + unknown
            + ')')


def _too_few(setting: TaskSetting, name: str, c: int, have: int, need: int,
             what: str, shots_at_most: int,
             shots_flags: Optional[str] = None,
             workdir: Optional[str] = None) -> InputError:
    """Class ``c`` of feature set ``name`` has ``have`` samples, fewer
    than ``need`` (``what``): the line, with the way out (fewer shots,
    at most ``shots_at_most``, named by ``shots_flags``
    (:func:`shots_way_out`), where at least one is possible, else that no
    shot count works; more samples)."""
    return InputError(f'{name}: class {c} has {have} samples, fewer than '
                      f'{what} = {need}; '
                      + _ways_out(setting, name, shots_at_most, shots_flags,
                                  workdir))


def _ways_out(setting: TaskSetting, name: str, shots_at_most: int,
              shots_flags: Optional[str],
              workdir: Optional[str] = None) -> str:
    """The ways out of a too-few-samples line: at most ``shots_at_most``
    shots (:func:`shots_way_out`), where at least one is possible, else
    that no shot count works; more samples of set ``name`` of ``workdir``
    (:func:`more_samples_way_out`)."""
    more = more_samples_way_out(name, workdir)
    if shots_at_most < 1:
        return f'no shot count works: {more}'
    return f'{shots_way_out(setting, shots_at_most, shots_flags)}, or {more}'


def check_enough_samples(spec: TaskSpec, support_labels: np.ndarray,
                         query_labels: np.ndarray,
                         support_slides: Optional[np.ndarray] = None,
                         shots_flags: Optional[str] = None,
                         workdir: Optional[str] = None) -> None:
    """Refuse, before any task is drawn, a store the data cannot give:
    a class of the query set with fewer samples than the queries (no
    shot count helps), or more shots than the task's classes allow, the
    bound being the least over the classes, each class's queries counted
    (one pool: its samples less the queries; ``homo``: the most that one
    slide holds of every class). The line names the class that sets the
    bound and the bound (``shots_flags``: the caller's flags that set the
    shots, :func:`shots_way_out`), or says no shot count works.

    Args:
        spec (TaskSpec): the store asked for.
        support_labels, query_labels, support_slides: as
            :func:`sample_tasks`.
        shots_flags (str, optional): the caller's words for its shots
            flags (default: the sweep's, the scripts', a single run's).
        workdir (str, optional): the workdir of the labels, whose sets'
            provenance tells where their images were read from (the way
            to more samples, :func:`more_samples_way_out`).
    """
    setting = spec.setting
    shots, queries = spec.shots, spec.queries
    classes = np.unique(support_labels)
    count = {int(c): int((support_labels == c).sum()) for c in classes}
    if setting.same_pool:
        allows = {c: n - queries for c, n in count.items()}
        c = min(allows, key=allows.get)
        if shots > allows[c]:
            raise _too_few(setting, setting.support_set, c, count[c],
                           shots + queries,
                           f'shots + queries ({shots} + {queries})',
                           allows[c], shots_flags, workdir)
        return
    for c in count:  # the queries first: no shot count helps them
        have = int((query_labels == c).sum())
        if have < queries:
            raise _too_few(setting, setting.query_set, c, have, queries,
                           'queries', 0, workdir=workdir)
    if setting.homo:
        most = int(_slide_counts(support_labels, support_slides,
                                 classes).min(axis=1).max())
        if shots > most:
            name = setting.support_set
            raise InputError(f'{name}: no slide has {shots} samples of '
                             'every class (needed by homo tasks); '
                             + _ways_out(setting, name, most, shots_flags,
                                       workdir))
        return
    c = min(count, key=count.get)
    if shots > count[c]:
        raise _too_few(setting, setting.support_set, c, count[c], shots,
                       'shots', count[c], shots_flags, workdir)


@dataclass
class TaskStore:
    """Tasks as index arrays (see the module docstring for the fields)."""
    support_idx: np.ndarray
    query_idx: np.ndarray
    support_labels: np.ndarray
    query_labels: np.ndarray
    classes: np.ndarray
    seed: int
    shots: int
    queries: int
    task: str
    mode: str
    support_set: str
    query_set: str
    novel_class: int
    fingerprint: str
    path: Optional[str] = None
    sampler: int = SAMPLER

    @property
    def num_task(self) -> int:
        return int(self.support_idx.shape[0])

    @property
    def ways(self) -> int:
        return int(len(self.classes))

    @property
    def same_pool(self) -> bool:
        return self.support_set == self.query_set

    @property
    def sha1(self) -> str:
        """Digest of the tasks themselves (indices, labels, seed): results
        record it, and two results are paired only on equal digests."""
        return array_sha1(np.concatenate([
            self.support_idx.ravel(), self.query_idx.ravel(),
            self.support_labels.ravel(), self.query_labels.ravel(),
            self.classes, np.array([self.seed, self.shots, self.queries])]))

    def identity(self) -> dict:
        """What a result records of its tasks."""
        return {'path': os.path.abspath(self.path) if self.path else None,
                'sha1': self.sha1, 'seed': self.seed,
                'labels_fingerprint': self.fingerprint,
                'num_task_in_store': self.num_task}

    def save(self, path: str, exclusive: bool = True) -> None:
        """Write the store; with ``exclusive`` only if ``path`` is absent
        (FileExistsError otherwise)."""
        save_npz(path, exclusive=exclusive,
                 support_idx=self.support_idx, query_idx=self.query_idx,
                 support_labels=self.support_labels,
                 query_labels=self.query_labels, classes=self.classes,
                 seed=np.int64(self.seed), shots=np.int64(self.shots),
                 queries=np.int64(self.queries), ways=np.int64(self.ways),
                 novel_class=np.int64(self.novel_class),
                 task=np.str_(self.task), mode=np.str_(self.mode),
                 support_set=np.str_(self.support_set),
                 query_set=np.str_(self.query_set),
                 fingerprint=np.str_(self.fingerprint),
                 sampler=np.int64(self.sampler))
        self.path = path

    @classmethod
    def load(cls, path: str, remake: Optional[str] = None) -> 'TaskStore':
        """Read a store; a missing, truncated or foreign file is one line
        (``remake``: the command that draws it again, where known)."""
        remake = remake or redraw_command()
        if not os.path.isfile(path):
            raise InputError(f'task store not found: {path} (make it with: '
                             f'{_DRAW_ANY})')
        try:
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
            store = cls(
                support_idx=d['support_idx'].astype(np.int64),
                query_idx=d['query_idx'].astype(np.int64),
                support_labels=d['support_labels'].astype(np.int64),
                query_labels=d['query_labels'].astype(np.int64),
                classes=d['classes'].astype(np.int64), seed=int(d['seed']),
                shots=int(d['shots']), queries=int(d['queries']),
                task=str(d['task']), mode=str(d['mode']),
                support_set=str(d['support_set']),
                query_set=str(d['query_set']),
                novel_class=int(d['novel_class']),
                fingerprint=str(d['fingerprint']), path=path,
                sampler=_sampler(d))
        except (KeyError, ValueError, OSError, EOFError, TypeError,
                zipfile.BadZipFile) as exc:
            what = type(exc).__name__
            raise InputError(f'{path}: not a readable task store ({what}); '
                             f'make it again with: {remake}') from None
        T, ways = store.support_idx.shape[0], len(store.classes)
        if store.support_idx.shape != (T, ways * store.shots) or \
                store.query_idx.shape != (T, ways * store.queries) or \
                store.support_labels.shape != store.support_idx.shape or \
                store.query_labels.shape != store.query_idx.shape:
            raise InputError(f'{path}: task store arrays do not match its '
                             f'{ways}-way {store.shots}-shot header; make it '
                             f'again with: {remake}')
        return store

    def check_request(self, spec: TaskSpec,
                      workdir: Optional[str] = None) -> None:
        """Refuse a store that is not the one ``spec`` asks for (the
        message names the command that draws it, with ``workdir``)."""
        remake = redraw_command(spec, workdir)
        if _stale(self.novel_class, self.sampler):
            raise InputError(
                f'{self.path}: drawn by an earlier version, whose '
                'near-domain stores held the same tasks for every novel '
                'class '
                '(the published draws, and the stores now, are independent '
                f'per class); draw it again with: {remake}')
        setting = spec.setting
        want = {'task': setting.domain, 'mode': setting.store_mode,
                'shots (--num_shots)': spec.shots, 'ways': setting.ways,
                'queries': spec.queries,
                'novel class (--novel_class)': -1 if spec.novel_class is None
                else spec.novel_class, 'seed (--task_seed)': spec.seed}
        have = dict(zip(want, (self.task, self.mode, self.shots, self.ways,
                               self.queries, self.novel_class, self.seed)))
        def shown(key, value):  # a store's -1 is no novel class: 'none'
            return 'none' if key.startswith('novel') and value == -1 \
                else repr(value)
        diff = [f'{k} {shown(k, have[k])} (asked: {shown(k, want[k])})'
                for k in want if have[k] != want[k]]
        if len(diff) == 1 and self.seed != spec.seed and workdir:
            raise InputError(f'{self.path}: this store has {diff[0]}'
                             + other_seed_way_out(spec, self.path,
                                                  self.seed, workdir))
        if diff:
            raise InputError(f'{self.path}: this store has '
                             f'{"; ".join(diff)}; make it again with: '
                             f'{remake}')

    def check_labels(self, support_labels: np.ndarray,
                     query_labels: np.ndarray,
                     slides: Optional[np.ndarray] = None,
                     remake: Optional[str] = None) -> None:
        """Refuse a store drawn from other labels than those in hand
        (``remake``: the command that draws it again, where known)."""
        fp = _fingerprint(self.same_pool, support_labels, query_labels,
                          slides)
        if fp != self.fingerprint:
            raise InputError(
                f'{self.path}: task store was made from other labels than '
                f'{self.support_set}/{self.query_set} in hand; make it again '
                f'with: {remake or redraw_command()}')
        n_s, n_q = len(support_labels), len(query_labels)
        if self.support_idx.max(initial=-1) >= n_s or \
                self.query_idx.max(initial=-1) >= n_q:
            raise InputError(f'{self.path}: indices out of range of the '
                             'features')

    def head(self, num_task: int,
             more: Optional[str] = None) -> 'TaskStore':
        """The first ``num_task`` tasks (error if the store has fewer;
        ``more``: the command that draws the store's ``num_task`` tasks,
        named in it: the rest, or, a store that cannot be extended
        (:func:`_extendable`), all of them again with ``--overwrite``)."""
        if num_task > self.num_task:
            if more is None:
                way_out = ''
            elif _extendable(self.sampler, self.num_task):
                way_out = (f'; draw the rest with: {more} (its '
                           f'{self.num_task} tasks are kept as they are)')
            else:
                way_out = (f', {_NOT_EXTENDABLE}; draw it again with: '
                           f'{more} --overwrite')
            raise InputError(f'--num_task {num_task} is larger than the '
                             f'{self.num_task} tasks in {self.path}'
                             + way_out)
        if num_task < 1:
            raise InputError(f'--num_task must be positive, got {num_task}')
        out = TaskStore(**{**self.__dict__})
        for k in ('support_idx', 'query_idx', 'support_labels',
                  'query_labels'):
            setattr(out, k, getattr(self, k)[:num_task])
        return out


def _fingerprint(same_pool: bool, support_labels: np.ndarray,
                 query_labels: np.ndarray,
                 slides: Optional[np.ndarray]) -> str:
    arrays = [support_labels] if same_pool else [support_labels, query_labels]
    if slides is not None:
        arrays.append(slides)
    return labels_fingerprint(*arrays)


def sample_tasks(spec: TaskSpec, support_labels: np.ndarray,
                 query_labels: np.ndarray,
                 support_slides: Optional[np.ndarray] = None) -> TaskStore:
    """Draw the ``spec.num_task`` tasks of one store (whole blocks of
    :data:`TASK_BLOCK` tasks, cut to ``num_task``).

    Args:
        spec (TaskSpec): domain, shots, number of tasks, novel class, seed.
        support_labels (np.ndarray): int ``[N_s]`` labels of the support pool.
        query_labels (np.ndarray): int ``[N_q]`` labels of the query pool
            (the same array when the domain has one pool).
        support_slides (np.ndarray, optional): int ``[N_s]`` slide id per
            support row; required for ``out_homo``.

    Returns:
        TaskStore: the tasks (not yet saved).
    """
    setting = spec.setting
    shots, num_task, seed = spec.shots, spec.num_task, spec.seed
    novel_class = spec.novel_class
    mode = setting.store_mode
    classes = np.unique(support_labels)
    if len(classes) != setting.ways:
        raise InputError(
            f'{setting.support_set}: labels have {len(classes)} classes, '
            f'{setting.task} tasks are {setting.ways}-way')
    required = check_novel_class(novel_class)
    for c in required:
        if c not in classes:
            raise InputError(f'--novel_class {novel_class}: class {c} is not '
                             f'in {setting.support_set}')
    if setting.homo and support_slides is None:
        raise InputError('homo tasks need slide ids of the support set')
    check_enough_samples(spec, support_labels, query_labels, support_slides)
    # whole blocks of TASK_BLOCK tasks, each from its own stream, so that
    # the first n tasks are the same whatever count the store is drawn for;
    # the store's arrays first (a count beyond memory fails here, at once)
    ways = len(classes)
    s_idx = np.empty((num_task, ways, spec.shots), dtype=np.int64)
    q_idx = np.empty((num_task, ways, spec.queries), dtype=np.int64)
    for b in range(-(-num_task // TASK_BLOCK)):
        block = slice(b * TASK_BLOCK, min((b + 1) * TASK_BLOCK, num_task))
        s_b, q_b = _draw_block(_block_rng(seed, novel_class, b), spec,
                               classes, support_labels, query_labels,
                               support_slides)
        n = block.stop - block.start
        s_idx[block], q_idx[block] = s_b[:n], q_b[:n]
    homo = setting.homo
    s_lab = np.broadcast_to(classes[None, :, None], s_idx.shape)
    q_lab = np.broadcast_to(classes[None, :, None], q_idx.shape)
    fp = _fingerprint(setting.same_pool, support_labels, query_labels,
                      support_slides if homo else None)
    return TaskStore(
        support_idx=s_idx.reshape(num_task, -1),
        query_idx=q_idx.reshape(num_task, -1),
        support_labels=np.ascontiguousarray(s_lab).reshape(num_task, -1),
        query_labels=np.ascontiguousarray(q_lab).reshape(num_task, -1),
        classes=classes.astype(np.int64), seed=int(seed), shots=int(shots),
        queries=int(spec.queries), task=setting.domain, mode=mode,
        support_set=setting.support_set, query_set=setting.query_set,
        novel_class=-1 if novel_class is None else int(novel_class),
        fingerprint=fp)


def _block_rng(seed: int, novel_class: Optional[int],
               block: int) -> np.random.Generator:
    """The stream of block ``block`` of a store: block 0 is the seed
    (a near-domain store of a novel class: the class as the ``SeedSequence``
    spawn key, so the nine novel classes' stores are independent draws, as
    the published ones were; an entropy list ``[seed, 0]`` would equal the
    seed alone, SeedSequence pads entropy with zeros); block ``b > 0`` adds
    ``(_BLOCK_KEY, b)`` to that spawn key."""
    base = () if novel_class is None else (novel_class, )
    if block == 0:
        return np.random.default_rng(
            seed if novel_class is None else
            np.random.SeedSequence(seed, spawn_key=base))
    return np.random.default_rng(np.random.SeedSequence(
        seed, spawn_key=base + (_BLOCK_KEY, block)))


def _draw_block(rng: np.random.Generator, spec: TaskSpec,
                classes: np.ndarray, support_labels: np.ndarray,
                query_labels: np.ndarray,
                support_slides: Optional[np.ndarray]
                ) -> Tuple[np.ndarray, np.ndarray]:
    """:data:`TASK_BLOCK` tasks from ``rng``: support and query rows,
    ``[TASK_BLOCK, ways, shots]`` and ``[TASK_BLOCK, ways, queries]``
    (class by class over all the block's tasks at once)."""
    setting = spec.setting
    shots, queries, num_task = spec.shots, spec.queries, TASK_BLOCK
    ways = len(classes)
    s_idx = np.empty((num_task, ways, shots), dtype=np.int64)
    q_idx = np.empty((num_task, ways, queries), dtype=np.int64)
    homo = setting.homo
    if homo:
        slide_of_task = _pick_slides(rng, support_labels, support_slides,
                                     classes, shots, num_task)
    for w, c in enumerate(classes):
        s_pool = _class_pool(support_labels, c)
        if setting.same_pool:  # counts checked: check_enough_samples
            need = shots + queries
            rows = s_pool[sample_rows(rng, len(s_pool), need, num_task)]
            s_idx[:, w], q_idx[:, w] = rows[:, :shots], rows[:, shots:]
            continue
        q_pool = _class_pool(query_labels, c)
        if homo:
            for slide in np.unique(slide_of_task):
                tasks = np.flatnonzero(slide_of_task == slide)
                pool = s_pool[support_slides[s_pool] == slide]
                s_idx[tasks, w] = pool[sample_rows(rng, len(pool), shots,
                                                   len(tasks))]
        else:
            s_idx[:, w] = s_pool[sample_rows(rng, len(s_pool), shots,
                                             num_task)]
        q_idx[:, w] = q_pool[sample_rows(rng, len(q_pool), queries, num_task)]
    return s_idx, q_idx


def _slide_counts(labels: np.ndarray, slides: np.ndarray,
                  classes: np.ndarray) -> np.ndarray:
    """Samples of each class on each slide: ``[slides, len(classes)]``."""
    counts = np.zeros((slides.max() + 1, len(classes)), dtype=np.int64)
    for w, c in enumerate(classes):
        counts[:, w] = np.bincount(slides[labels == c],
                                   minlength=counts.shape[0])
    return counts


def _pick_slides(rng: np.random.Generator, labels: np.ndarray,
                 slides: np.ndarray, classes: np.ndarray, shots: int,
                 num_task: int) -> np.ndarray:
    """A slide per task, uniform over slides with >= shots of every class
    (one at least: :func:`check_enough_samples`)."""
    counts = _slide_counts(labels, slides, classes)
    eligible = np.flatnonzero((counts >= shots).all(axis=1))
    return eligible[rng.integers(0, eligible.size, size=num_task)]


def store_inputs(workdir: str, spec: TaskSpec
                 ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """The labels (and, for ``out_homo``, slide ids) a store is drawn from
    and checked against: ``(support_labels, query_labels, slides)``."""
    from .features import load_labels, slide_ids
    paths.check_workdir(workdir)
    setting = spec.setting
    s_lab = load_labels(workdir, setting.support_set)
    q_lab = s_lab if setting.same_pool else load_labels(workdir,
                                                        setting.query_set)
    slides = slide_ids(workdir, setting.support_set, len(s_lab)) \
        if setting.homo else None
    return s_lab, q_lab, slides


def generate_task_store(workdir: str, spec: TaskSpec, replace: bool = False,
                        inputs: Optional[Tuple] = None,
                        note: Optional[Callable[[str], None]] = None
                        ) -> Tuple[TaskStore, bool]:
    """Make (or reuse) the task store of one setting under ``workdir``.

    Without ``replace`` an existing store is reused if it is the one asked
    for (labels, shots, ways, novel class, seed) and holds at least
    ``spec.num_task`` tasks. One that holds fewer is extended: its tasks
    drawn again with the rest, and written only if the new draw's first
    tasks are the store's, bit for bit (stores are drawn in blocks, so
    they are: results on those tasks stay current); a store whose first
    tasks depended on its size (sampler 2, not 1000 tasks) is refused with
    the command that draws it again (``--overwrite``), as is one not the
    one asked for. Never replaced silently; if another run writes the
    store while this one draws it, this one reuses it where it holds the
    tasks asked (extends it where it holds the first of them), else fails
    and says so (:func:`_written`).

    Args:
        workdir (str): the low-shot work directory (labels are read from
            ``extracted_feats/<NAME>_labels.npy``).
        spec (TaskSpec): the store.
        replace (bool): draw anew even if a store exists.
        inputs (tuple, optional): :func:`store_inputs`, if already loaded.
        note (callable, optional): receives the line saying a store was
            extended.

    Returns:
        (TaskStore, bool): the store and whether it was newly written
        (drawn or extended).
    """
    return generate_task_stores(workdir, [spec], replace, inputs, note)[0]


def generate_task_stores(workdir: str, specs: Sequence[TaskSpec],
                         replace: bool = False,
                         inputs: Union[None, Tuple,
                                       Callable[[TaskSpec], Tuple]] = None,
                         note: Optional[Callable[[str], None]] = None,
                         shots_flags: Optional[str] = None
                         ) -> List[Tuple[TaskStore, bool]]:
    """:func:`generate_task_store` of each of ``specs``, every store
    checked or drawn before the first is written, so a setting that cannot
    be drawn (too few samples for its shots) leaves the workdir as it was
    (``generate_task.py --num_shots 1 5 10 50 100`` wrote the first four
    stores, then stopped at 100); and every spec's counts checked
    (:func:`check_enough_samples`, naming ``shots_flags``) before any
    task is drawn (``--task out --num_task 200000 --num_shots 1 5 10 30
    50`` drew every earlier store, 5.8 s, before it refused 50 shots).
    ``inputs`` serve every spec, or, a callable, give each spec's (specs
    of several domains: a sweep's); ``note`` receives a line per store
    extended."""
    given = {}
    for spec in specs:
        path = spec.path(workdir)
        if path not in given:
            given[path] = (inputs(spec) if callable(inputs) else inputs) \
                or store_inputs(workdir, spec)
            check_enough_samples(spec, *given[path], shots_flags=shots_flags,
                                 workdir=workdir)
    once = {}  # a store named twice (--num_shots 5 5): reused the second time
    drawn = []
    for spec in specs:
        path = spec.path(workdir)
        if path in once:
            drawn.append((once[path][0], False))
            continue
        drawn.append(_checked_or_drawn(workdir, spec, replace, given[path]))
        once[path] = drawn[-1]
    final = {}
    for i, (spec, (store, new)) in enumerate(zip(specs, drawn)):
        path = spec.path(workdir)
        if path in final:  # named twice: as written (or reused) the first
            drawn[i] = (final[path][0], False)
            continue
        if new:
            drawn[i] = _written(workdir, spec, store, replace, given[path],
                                note)
        final[path] = drawn[i]
    return drawn


def _written(workdir: str, spec: TaskSpec, store: TaskStore, replace: bool,
             inputs: Optional[Tuple],
             note: Optional[Callable[[str], None]]) -> Tuple[TaskStore, bool]:
    """Write a store drawn by :func:`_checked_or_drawn`, the store on disk
    checked again under its lock (:func:`~openselfsup.utils.io.locked`), as
    another run may have written it meanwhile: one that holds the tasks
    asked and is the one asked for is reused (``False``), never replaced by
    fewer tasks (two extensions at once, to 100 and 50 tasks: the second to
    end replaced the first's 100 with 50); one whose tasks are the draw's
    first, bit for bit, is extended (``True``, a ``note``); any other is
    replaced only on request (``replace``), else nothing is written and
    the line says so."""
    from ..utils import locked
    path = spec.path(workdir)
    with locked(path):
        if replace:
            store.save(path, exclusive=False)
            return store, True
        now = _store_on_disk(workdir, spec, inputs)
        if now is not None and now.num_task >= spec.num_task:
            return now, False  # drawn by another run meanwhile
        if now is not None and _same_tasks(store.head(now.num_task), now):
            held = now.num_task
            store.save(path, exclusive=False)
            if note:
                note(f'note: extended {path} from {held} to '
                     f'{store.num_task} tasks (its {held} tasks kept as they '
                     'were: results on them stay current)')
            return store, True
        try:
            store.save(path, exclusive=True)
        except FileExistsError:
            raise InputError(f'{path} was written by another run while this '
                             'one drew its tasks; nothing replaced (run '
                             'again to reuse it)') from None
        return store, True


def _store_on_disk(workdir: str, spec: TaskSpec,
                   inputs: Optional[Tuple]) -> Optional[TaskStore]:
    """The store at ``spec``'s path if it is the one asked for (labels,
    shots, ways, novel class, seed), else None (absent, unreadable, or
    another)."""
    path = spec.path(workdir)
    if not os.path.isfile(path):
        return None
    try:
        store = TaskStore.load(path)
        store.check_request(spec, workdir)
        store.check_labels(*(inputs or store_inputs(workdir, spec)))
    except InputError:
        return None
    return store


def _same_tasks(a: TaskStore, b: TaskStore) -> bool:
    """Whether two stores of one request (:meth:`TaskStore.check_request`)
    hold the same tasks, bit for bit: indices, labels, classes and the
    labels they were drawn from."""
    return a.fingerprint == b.fingerprint and all(
        np.array_equal(getattr(a, k), getattr(b, k))
        for k in ('support_idx', 'query_idx', 'support_labels',
                  'query_labels', 'classes'))


def _checked_or_drawn(workdir: str, spec: TaskSpec, replace: bool,
                      inputs: Optional[Tuple]
                      ) -> Tuple[TaskStore, bool]:
    """The existing store of ``spec``, checked (``False``), or its tasks
    drawn anew (all of them, where they extend it), not yet written
    (``True``: :func:`_written` writes them)."""
    path = spec.path(workdir)
    s_lab, q_lab, slides = inputs or store_inputs(workdir, spec)
    if os.path.exists(path) and not replace:
        remake = redraw_command(spec, workdir)
        store = TaskStore.load(path, remake)
        store.check_request(spec, workdir)
        store.check_labels(s_lab, q_lab, slides, remake)
        if store.num_task >= spec.num_task:
            return store, False
        from ..utils import check_writable
        check_writable(path)
        more = sample_tasks(spec, s_lab, q_lab, slides)
        if not _same_tasks(more.head(store.num_task), store):
            raise InputError(
                f'{path} holds {store.num_task} tasks (asked: '
                f'{spec.num_task}), {_NOT_EXTENDABLE}; draw it again with: '
                f'{remake}')
        return more, True
    from ..utils import check_writable
    check_writable(path)
    return sample_tasks(spec, s_lab, q_lab, slides), True


def load_task_store(workdir: str, spec: TaskSpec,
                    inputs: Optional[Tuple] = None) -> TaskStore:
    """Load the store ``spec`` names and check it (all its tasks, as
    :func:`generate_task_store` returns them; ``store.head(num_task)``
    keeps the first ones and refuses a store with fewer).

    Args:
        workdir (str): the low-shot work directory.
        spec (TaskSpec): the store asked for.
        inputs (tuple, optional): :func:`store_inputs`, if already loaded.
    """
    path = spec.path(workdir)
    if not os.path.isfile(path):
        raise InputError(f'task store not found: {path} (make it with: '
                         f'{spec.command(workdir)})')
    remake = redraw_command(spec, workdir)
    store = TaskStore.load(path, remake)
    store.check_request(spec, workdir)
    store.check_labels(*(inputs or store_inputs(workdir, spec)),
                       remake=remake)
    return store


def class_counts(labels: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """Samples per class of ``labels`` ``[T, n]`` -> ``[T, len(classes)]``."""
    return np.stack([(labels == c).sum(axis=1) for c in classes], axis=1)
