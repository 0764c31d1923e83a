"""A Runner whose checkpoints survive a kill at any moment.

MMEngine writes ``epoch_N.pth`` in place and then ``last_checkpoint``; a
kill during the first write leaves a truncated file (and a kill during the
second an empty pointer) that ``--resume`` then trusts and fails on.
:class:`AtomicRunner` writes each checkpoint to a temporary name and renames
it (atomic on POSIX), and on resume checks that the checkpoint
``last_checkpoint`` names is complete, falling back to the newest complete
``epoch_*.pth`` / ``iter_*.pth`` of the same run in the work dir.

MMEngine's CheckpointHook also removes the oldest kept checkpoint
(``max_keep_ckpts``) and the previous best one before it saves the new one:
with ``max_keep_ckpts=1`` a kill while saving left nothing to resume from.
The project's ``CheckpointHook`` (:mod:`openselfsup.engine.checkpoint_hook`,
what ``type='CheckpointHook'`` names in the configs) saves first, then
replaces ``last_checkpoint`` atomically, then removes; with both, a kill at
any moment leaves a complete checkpoint that ``--resume`` continues from.

A run that fails before it has done any work leaves nothing behind: MMEngine
makes the timestamped log folder ``<work_dir>/<YYYYmmdd_HHMMSS>/`` and
writes the config dump ``<work_dir>/<config name>.py`` (over an earlier
run's) while the runner is built, before the data is read. AtomicRunner
writes the dump (atomically) only once the first training iteration or
validation has ended or a checkpoint is saved, and on an exception before
then removes the log folder it made
(:meth:`AtomicRunner.discard_failed_start`). Until then a SIGTERM
(torchrun's to the other processes when one fails, Slurm's on ``scancel``)
raises :class:`~openselfsup.utils.Terminated`, so that this
clean-up runs too; a SIGKILL cannot be caught.

Two runs training into one work dir at once would write over each other's
checkpoints, ``last_checkpoint`` and best-checkpoint records (and share a
log folder when started in the same second): :func:`work_dir_lock`, which
:func:`openselfsup.apis.train` holds around the whole run, refuses the
second one before it writes anything.
"""
import atexit
import copy
import functools
import gc
import logging
import math
import os
import pickle
import shutil
import signal
import sys
import threading
import weakref
from contextlib import ExitStack, contextmanager, nullcontext
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple)

from mmengine.config import config as mm_config
from mmengine.dist import barrier, get_backend, is_distributed, master_only
from mmengine.runner import Runner

from ..config import (UNSET, _code_keys,  # noqa: F401
                      check_resume_meta, check_same_held_out,
                      check_saved_model, flat_config, initial_weight_lists,
                      init_lists_meta, key_below, key_change, local_file,
                      saved_init_list_roots,
                      hyper_parameter_changes_said, saved_model_difference,
                      uneven_windows_refusal)
from ..config import MMENGINE_DEFAULT_HOOKS
from ..config import (accumulation_count, build_scope, built_model,
                      built_preprocessor,
                      config_text_section, dataset_parts, named_wrappers,
                      sampler_epoch_length, seeded_workers)
from ..registry import RUNNERS
from ..utils import (InputError, count_words, file_sha1, first_line,
                     is_int, is_number, settings_refused, terminate_raises)
from ..utils.errors import (AFTER_SAID, cleaned_up, interruption,
                             note_interruption, one_line, say, says_lines)
from ..utils.checkpoint import (damaged_pickle, load_legacy_checkpoint,
                                register_safe_globals, unpickling_refusal)
from ..utils.checkpoint_files import (checkpoint_folder,
                                      checkpoint_step,  # noqa: F401
                                      checkpoint_meta, checkpoints_in,
                                      find_resumable_checkpoint,
                                      is_legacy_format, is_url_download,
                                      remove_url_download,
                                      resolve_checkpoint, saved_meta,
                                      url_named, zip_directory_digest,
                                      MetaUnread)
from ..utils.io import (atomic_path, lock_file, locked,
                        remove_stale_temporaries, signals_held,
                        stale_temporaries_removed)
from ..utils.launcher import (launcher_env, port_taken_line, slurm_job_port,
                              slurm_port_sharer, slurm_port_source)
from ..utils.log_filters import warnings_left_out
from ..utils.run_seed import (DRAWN_SEED_KEY, PROCESS_SEEDED,
                              RUN_SEEDED, drawn_seed, recorded_seed,
                              shared_seed)
from .agreed_refusals import (agreed_as, is_agreed_refusal,
                              refusals_agreed)
from .checkpoint_hook import without_file_client_warnings
from ..utils.console import short_label, shorten, to_log_file
from .console import EpochLineHook


def format_once_per_text(format_code):
    """``format_code`` (yapf's ``FormatCode``) that formats each text once.

    ``Config.pretty_text`` runs yapf over the whole config every time it is
    read: at the runner's start (the log), in the config dump and in every
    checkpoint's ``meta`` (about 0.3 s each for a demo config on one core;
    half the time of a two-epoch test run). ``FormatCode`` is a function of
    its text and options alone, so the results for the last few texts are
    kept; MMEngine writes the same text byte for byte."""
    @functools.lru_cache(maxsize=16)
    def formatted(text, style, options):
        return format_code(text, style_config=dict(style), **dict(options))

    @functools.wraps(format_code)
    def once(text, style_config=None, **kwargs):
        try:
            style = tuple(sorted((style_config or {}).items()))
            options = tuple(sorted(kwargs.items()))
            hash((style, options))
        except TypeError:  # options that cannot be a key: not kept
            return format_code(text, style_config=style_config, **kwargs)
        return formatted(text, style, options)

    once.once_per_text = True
    return once


if not getattr(mm_config.FormatCode, 'once_per_text', False):
    mm_config.FormatCode = format_once_per_text(mm_config.FormatCode)


def saved_checkpoint(path: str) -> dict:
    """A checkpoint read for its ``meta`` and its keys: the weights are
    mapped, not read."""
    from ..utils.checkpoint import load_checkpoint_file
    return load_checkpoint_file(path, tensors_only=True, mmap=True)


#: the ``meta`` entries that :func:`resumed_file_facts` names a
#: checkpoint by, as its line names them
_RESUMED_META = (('iter', 'iteration'), ('epoch', 'epoch'),
                 ('experiment_name', 'run'), ('time', 'saved'),
                 ('seed', 'seed'), (DRAWN_SEED_KEY, 'training set seed'))


#: the types of a meta value that :func:`resumed_file_facts` keeps (their
#: ``repr`` the same in every process): exactly these, not a subclass
#: (numpy's ``float64`` is a ``float`` whose ``repr`` names numpy)
_PLAIN_FACTS = (int, float, str, bool, type(None))


def resumed_file_facts(path: str, saved: Any = None
                       ) -> Tuple[Tuple[str, Any], ...]:
    """What tells the checkpoint file ``path`` that a rank resumes from,
    or a new run's ``load_from`` that it loads, from another file at the
    same path on another node, each ``(its name in words, its value)``:
    its contents' digest (its first 12 hex digits) and its meta's
    iteration, epoch, run (MMEngine's experiment name), save time and
    seeds (``saved``: its contents as :func:`saved_checkpoint` read them,
    a resume's; None: its meta read without torch,
    :func:`~openselfsup.utils.checkpoint_files.checkpoint_meta`, none
    where that does not read it, a legacy file, whose contents' digest
    tells it all the same). The same on every rank for copies of one
    file (no modification time: a copy's is its own), and for one object
    saved by ``torch.save(obj, path)`` and through a buffer (MMEngine's
    saver). A meta value that is not a plain number, string or None is
    compared as :func:`_fact_value` gives it: a numpy scalar read with
    torch (a resume's) as its number; read without torch (a
    ``load_from``'s, :func:`checkpoint_meta`: a placeholder whose
    ``repr`` named its memory address, other in each process, review
    r172) as ``'an object'``, so that two such files are told apart by
    their contents' digest alone (which covers each zip member's CRC-32:
    not where a zip was written without them, ``compute_crc32=False``).

    The digest of a zip is its directory's (each member's CRC-32:
    :func:`~openselfsup.utils.checkpoint_files.zip_directory_digest`, a
    few kB read, 1.6 ms for a 205 MB ResNet-50 checkpoint with its
    optimizer state), without the file's size, which follows the length
    of the folder name inside (the file's name, or ``archive``: review
    r169, one object saved both ways was refused as two files). A file of
    the legacy format (no zip directory; rare) is hashed whole
    (:func:`~openselfsup.utils.file_sha1`: 134 ms for such a 205 MB
    file from the page cache, on the 2-core CPU; r169: two of one meta
    and tensor shapes, other values, agreed), its size kept."""
    local = local_file(path) or path
    if saved is None:
        try:
            meta = checkpoint_meta(local)
        except MetaUnread:
            meta = None
    else:
        meta = saved_meta(saved)
    meta = meta if isinstance(meta, dict) else {}
    digest = zip_directory_digest(local)
    facts: Tuple[Tuple[str, Any], ...] = ()
    if digest is None:
        digest = file_sha1(local)
        facts = (('size', os.path.getsize(local)),)
    return facts + (('contents', digest[:12]),) + tuple(
        (words, _fact_value(meta.get(key))) for key, words in _RESUMED_META)


def _fact_value(value: Any) -> Any:
    """A meta value as :func:`resumed_file_facts` compares and says it,
    its ``repr`` the same in every process: a plain one (:data:`
    _PLAIN_FACTS`) as it is; a numpy number or bool, or a one-element
    array or tensor (read with torch: a resume's) as its number
    (``.item()``); any other (read without torch, a placeholder whose
    ``repr`` named its memory address, review r172) as ``'an object'``,
    named, not left out (a missing name read as None, review r173)."""
    if type(value) in _PLAIN_FACTS:
        return value
    item = getattr(value, 'item', None)
    if callable(item):
        try:
            number = item()
        except Exception:  # noqa: BLE001 (not one element)
            number = None
        if type(number) in _PLAIN_FACTS and number is not None:
            return number
    return 'an object'


#: ``text`` not given: read from the checkpoint (:func:`saved_checkpoint`)
_UNREAD = object()


def model_difference(path: str, cfg, text=_UNREAD) -> Optional[str]:
    """How the model a checkpoint was trained with differs from ``cfg``'s:
    :func:`~openselfsup.config.saved_model_difference` of its config text
    (``text``: already read; not given: read here)."""
    from ..utils.checkpoint import checkpoint_config
    if text is _UNREAD:
        text = checkpoint_config(saved_checkpoint(path))
    return saved_model_difference(text, cfg)


def check_same_model(path: str, cfg, text=_UNREAD) -> None:
    """:func:`~openselfsup.config.check_saved_model` of the checkpoint
    ``path`` (``text``: its config text, when read already).

    Raises:
        InputError: the models differ (naming the first differing key).
    """
    from ..utils.checkpoint import checkpoint_config
    if text is _UNREAD:
        text = checkpoint_config(saved_checkpoint(path))
    check_saved_model(path, cfg, text)


def resume_notes(path: str, cfg, world: int = 1) -> List[str]:
    """Check the checkpoint a run resumes from, from one read of it
    (:func:`saved_checkpoint`): the refusals its meta decides
    (:func:`~openselfsup.config.check_resume_meta`, which the launchers'
    ``--check-config`` runs too): a training checkpoint (its meta holds
    the epoch and iteration) of ``cfg``'s model, of a run on a list that
    holds out the same classes, whose seed MMEngine's resume can seed
    numpy with on ``world`` processes.

    Returns:
        list[str]: warnings for the run's log: the model
        hyper-parameters this config changes (one line naming each, old
        and new: :func:`~openselfsup.config.
        saved_hyper_parameter_changes`; the rest of the model is refused
        where it differs), the training state the
        checkpoint lacks (a best checkpoint is saved without the optimizer
        and the schedulers, which MMEngine's resume then silently starts
        afresh; with the optimizer's state and not the schedulers', the
        restored values the schedule starts again on,
        :func:`_restarted_on`), the schedule changes
        (:func:`schedule_changes`; schedulers compared with the saved ones
        whose states they take, or without states those of their class,
        :func:`_compared_without_states`, a list only reordered said to
        start again in this config's order; the key
        ``total_batch_size`` set or unset at the total the checkpoint's
        meta records is none): those used, and those the checkpoint's
        optimizer or scheduler state overrides
        (:func:`_restored_by_resume`), what a scheduler removed
        (:func:`removed_scheduler_effect`) or of a class swapped in
        (:func:`swapped_scheduler_effect`) leaves the schedule to go on
        from, with the way to train with this
        config's values (a new run from the checkpoint's weights,
        ``load_from``), a total batch other than the checkpoint's run's
        where ``world`` (this run's process count) differs from its and the
        config has no ``total_batch_size`` (:func:`batch_change`), and for
        a checkpoint given (``cfg.load_from``) in the work dir the run
        continues in, that run's later checkpoints (by the checkpoint's
        epoch or iteration), which it writes over.

    Raises:
        InputError: not a training checkpoint, of another model, of a
            run on a list that holds out other classes
            (:func:`check_same_held_out`), or a seed out of numpy's reach.
    """
    from ..utils.checkpoint import checkpoint_config, read_resumed
    from ..utils.checkpoint_files import saved_meta
    saved = read_resumed(path)  # (the launchers' check reads it so too)
    meta = saved_meta(saved)  # as the launchers' check reads it
    # the refusals its meta decides: those of the launchers' check too
    from ..datasets.prepare import nct_list_reader
    check_resume_meta(path, cfg, world, meta, reader=nct_list_reader)
    text = checkpoint_config(saved)
    notes = []
    # a hyper-parameter changed (check_saved_model refuses the rest): the
    # same weights, trained on another way, as a fine-tune does
    changed = hyper_parameter_changes_said(text, cfg)
    if changed:
        notes.append(
            f'warning: --resume from {path}: {changed}; the run continues '
            'with this config\'s (resume with the old values to continue the '
            'run as it was)')
    # what this config builds for each param group, the checkpoint's
    # config read for it once for the resume's warnings
    built = _built_values_of(saved, cfg, world)
    # the schedule starts again on the optimizer's restored values
    restarted = '; '.join(_restarted_on(saved, cfg, world, built))
    said = {'optimizer': 'no optimizer state (the optimizer starts '
            'afresh)', 'param_schedulers': 'no learning-rate scheduler '
            'state (the schedule starts again from its first step'
            f'{", on " + restarted if restarted else ""})'}
    lacks = [said[key] for key in
             state_lacked(saved, cfg.get('param_scheduler'))]
    if lacks:
        notes.append(f'warning: --resume from {path}: it holds '
                     f'{" and ".join(lacks)}, as a best checkpoint is '
                     'saved; resume from an epoch_N.pth / iter_N.pth to '
                     'continue the run as it was')
    # the key total_batch_size set or unset where the total is the one
    # the checkpoint's meta records (run_meta: set as batch_change
    # advises, or the per-process batch over another count) is no change
    total = meta.get('total_batch_size')
    kept_total = isinstance(total, int) and \
        total == run_meta(cfg, world).get('total_batch_size')
    # MMEngine's resume loads the optimizer's state (torch takes its
    # param_groups whole: lr, momentum, weight_decay, eta...) and each
    # scheduler's (its __dict__: end, milestones, T_max, ...) over the
    # config's
    schedulers = (cfg.get('param_scheduler'),
                  saved_scheduler_section(saved))
    # the saved scheduler state each of this config's takes (the match
    # AtomicRunner._match_scheduler_states loads them by; an ambiguous
    # match is refused before the runner is built): each scheduler
    # compared with the saved one whose state it takes
    found, _, states, section = resume_scheduler_match(
        saved, schedulers[0], schedulers[1], path)
    matched = {**saved, 'param_schedulers': states} if found else saved
    # no scheduler states (a best checkpoint's): none is loaded, and each
    # scheduler is compared with the saved one of its class all the same
    compared = _compared_without_states(saved, *schedulers, text)
    removed, moved = [], []
    if compared:
        found, section, removed, moved = compared
    how = (' (param_scheduler compared by place: the schedulers of a class '
           'left on both sides, of other settings, do not match by class '
           'one to one)' if moved is None else
           f' (param_scheduler compared by class: {"; ".join(moved)})'
           if moved else '')
    restored = {line: (key, _restored_by_resume(key, matched, schedulers[0],
                                                section))
                for key, line in schedule_changes(
                    text, cfg, saved_sections={'param_scheduler': section})
                if not (key == 'total_batch_size' and kept_total)}
    used = [line for line, (_, state) in restored.items()
            if not state] + removed
    # to train with this config's values
    anew = ('a new run from its weights, without --resume: --cfg-options '
            f'load_from={path} --work-dir NEW_DIR; its epochs and schedule '
            'count from 0')
    # a scheduler removed: by the keys' places, or the saved ones none of
    # this config's takes
    # each optimizer's schedule replayed once for both
    replays = _schedule_replays(saved, cfg, found)
    left = removed_scheduler_effect(
        [key for key, state in restored.values() if not state], saved,
        cfg, schedulers[1], found, replays, world, built) \
        if used or found else None
    swapped = swapped_scheduler_effect(saved, cfg, schedulers[1], found,
                                       replays) if used else None
    left = '; '.join(x for x in (left, swapped) if x) or None
    if used:
        left = f' (but {left}; to train with this config\'s: {anew})' \
            if left else ''
        notes.append(
            f'warning: --resume from {path}: this config\'s training '
            'schedule differs from that of the run that wrote it: '
            f'{", ".join(used)}{how if used else ""}; the run continues '
            f'with this config\'s{left}')
    elif left:
        notes.append(f'warning: --resume from {path}: {left} (to train with '
                     f'this config\'s: {anew})')
    if moved and not used:
        # the same schedulers in another order: none is loaded (a resume
        # with states says which state each takes, in the runner's log)
        params = ' and '.join(dict.fromkeys(
            _scheduled_param(s) or 'value' for name in found
            for s in _optimizer_schedulers(schedulers[0], name)))
        notes.append(
            f'warning: --resume from {path}: this config\'s param_scheduler '
            'holds the schedulers of the run that wrote it in another order '
            f'({"; ".join(moved)}), and the checkpoint holds no scheduler '
            'state to load into them: they start again from their first '
            f'step, in this config\'s order, on the {params} the '
            f'{"optimizers resume" if len(found) > 1 else "optimizer resumes"}'
            ' with')
    kept = [line for line, (_, state) in restored.items() if state]
    # of the keys the resume restores, those this config leaves unset (the
    # line 'key: saved -> unset'): said as this config's and not used,
    # they read as settings of this config that the run ignores
    unset = [line for line in kept
             if not _config_sets(cfg, restored[line][0])]
    kept = [line for line in kept if line not in unset]
    if kept:
        notes.append(
            f'warning: --resume from {path}: this config\'s '
            f'{", ".join(kept)} are not used: the resume restores the '
            f'{_states_of(kept, restored)} state the checkpoint holds, with '
            'the values of the run that wrote it (to train with this '
            f'config\'s: {anew})')
    # a saved setting of a scheduler whose state one of another class
    # takes, one that has no such setting: loaded into it, never read
    unread = {}
    for line in unset:
        where = _unread_saved_setting(restored[line][0],
                                      cfg.get('param_scheduler'), section)
        if where:
            unread.setdefault(where, []).append(line)
    unset = [line for line in unset
             if not any(line in lines for lines in unread.values())]
    if unset:
        notes.append(
            f'warning: --resume from {path}: the checkpoint\'s '
            f'{", ".join(map(_saved_side, unset))}, which this config leaves '
            f'unset, {"are" if len(unset) > 1 else "is"} restored with the '
            f'{_states_of(unset, restored)} state it holds: the run goes on '
            'with the values of the run that wrote it, not the defaults '
            f'this config would take (to train with this config\'s: {anew})')
    for (place, mine, theirs), lines in unread.items():
        they = ('settings', 'have', 'them', 'they have') \
            if len(lines) > 1 else ('a setting', 'has', 'it', 'it has')
        notes.append(
            f'warning: --resume from {path}: the checkpoint\'s '
            f'{", ".join(map(_saved_side, lines))} ({they[0]} of its '
            f'{theirs}) {they[1]} no place in this config, whose {place} '
            f'({mine}) takes that saved state and has no such setting: the '
            f'resume loads {they[2]} into it, which never reads '
            f'{they[2]}, and {they[3]} no effect')
    change = batch_change(meta, cfg, world)
    if change:
        notes.append(f'warning: --resume from {path}: {change}')
    change = amp_change(text, cfg)
    if change:
        notes.append(f'warning: --resume from {path}: {change}')
    scales = loss_scale_changes(saved, text, cfg)
    if scales:
        notes.append(
            f'warning: --resume from {path}: this config\'s '
            f'{"; ".join(scales)} are not used: the resume restores the '
            'loss scaler state the checkpoint holds (MMEngine\'s '
            'AmpOptimWrapper.load_state_dict), with the values of the run '
            f'that wrote it (to train with this config\'s: {anew})')
    # the paths compared where they lead (a folder written another way
    # is no change; one read from another directory is)
    moves, spelled = data_path_changes(text, cfg, meta.get('cwd'))
    data = [(key, line) for key, line in [
        *data_changes(text, cfg), *moves] if key not in spelled]
    # the lists' contents, where the same files are read
    data += data_file_changes(meta.get(DATA_FILES_KEY), cfg,
                              [key for key, _ in data])
    data = [line for _, line in data]
    if data:
        notes.append(
            f'warning: --resume from {path}: this config\'s training data '
            'differ from those of the run that wrote it: '
            f'{", ".join(data[:3])}{", ..." if len(data) > 3 else ""}; the '
            'run continues with this config\'s')
    change = seed_change(meta, cfg, world)
    if change:
        notes.append(f'warning: --resume from {path}: {change}')
    # a checkpoint given in the work dir the run continues in, older than
    # that run's newest (--resume work_dirs/a/epoch_1.pth): check_new_run_dir
    # is not asked (it is the same run), yet its later checkpoints go
    if cfg.get('load_from') and checkpoint_folder(
            path) == os.path.realpath(cfg.work_dir):
        steps = ((p, *checkpoint_step(p))
                 for p in reversed(checkpoints_in(cfg.work_dir)))
        past = [os.path.basename(p) for p, unit, n in steps
                if n > meta[unit]]
        if past:
            notes.append(
                f'warning: --resume from {path}: {cfg.work_dir} holds '
                f'checkpoint(s) past it ({", ".join(past[:3])}'
                f'{", ..." if len(past) > 3 else ""}): this run writes '
                'over those of the same names as it reaches them '
                '(--work-dir keeps them)')
    return notes


def seed_change(meta: dict, cfg, world: int = 1) -> Optional[str]:
    """What a resume on ``world`` processes whose config's
    ``randomness.seed`` is not the seed the checkpoint's run recorded
    (``meta['seed']``) trains with: MMEngine builds the training data
    loader from the config's seed before the resume (its sampler's
    shuffle, its workers' seeds), then only warns of the seeds on the
    console and seeds the random streams with the checkpoint's seed,
    which this project's resume of one process then sets to the state the
    checkpoint holds (:func:`continue_random_streams`): the run trains
    neither seed's run. The per-image pipeline's views, drawn in the
    loader's workers (``num_workers > 0``, ``augment_on`` not
    ``'device'``), come from the config's seed (``worker_init_fn`` bound
    when the loader is built), or from a ``worker_init_fn`` the loader
    names itself; batched views and a loader without
    workers draw in the main process. A class-balanced training,
    validation or test set (``class_balance=True``) of a class that takes
    the run's seed (:func:`run_seeded_parts`) repeats the patients of the
    checkpoint's run, given the seed that run drew them with
    (:meth:`AtomicRunner._training_set_seed`,
    :meth:`AtomicRunner._evaluation_set_seed`), which the line says for
    the sets the config has (:func:`_balanced_patients_said`); one whose
    config sets its own seed, that seed. None
    where the seeds agree or the checkpoint records none."""
    saved = meta.get('seed') if isinstance(meta, dict) else None
    randomness = cfg.get('randomness') or {}
    seed = randomness.get('seed')
    if saved is None or seed == saved:
        return None
    mine = ('a seed drawn for this run (the config sets none)'
            if seed is None else f"this config's seed {seed}")
    # the per-image pipeline's views are drawn in the loader's workers,
    # which MMEngine's worker_init_fn seeds with the seed the loader was
    # built with (before the resume); batched views (augment_on='device')
    # and a loader without workers draw in this process
    loader = cfg.get('train_dataloader')
    workers = loader.get('num_workers') if isinstance(loader, dict) \
        else None
    in_workers = is_int(workers) and workers > 0 and \
        cfg.get('augment_on') != 'device'
    restored = ("the model's draws" if in_workers else
                'the random views (drawn in this process) and the '
                "model's draws")
    streams = (f"{restored} continue the checkpoint's run of seed {saved} "
               '(their state restored)' if world == 1 else
               "the main process's random streams start again from the "
               f"checkpoint's seed {saved} (MMEngine's resume)")
    preprocessor = (cfg.get('model') or {}).get('data_preprocessor') or {}
    if world != 1 and cfg.get('augment_on') == 'device' and \
            preprocessor.get('seed') is None:
        # not restored on several processes: the generator keeps the seed
        # it took when the model was built, before the resume
        streams += (", the batched views' generator from "
                    f'{mine} (seeded when the model is built)')
    if in_workers:
        # a loader's own worker_init_fn seeds its workers as it will
        seeded = (f'seeded from {mine} (MMEngine binds it before the '
                  'resume)' if seeded_workers(loader) else
                  "seeded by the loader's own worker_init_fn")
        streams = (f'the random views come from the {workers} data-loader '
                   f'workers, {seeded}, {streams}')
    return (f"this config's randomness.seed differs from that of the run "
            f'that wrote it: {saved} -> {seed}; the data order (the '
            f"sampler's shuffle) comes from {mine}, {streams}, so the run "
            "continues neither seed's run (to "
            f'continue it as it was: --cfg-options randomness.seed={saved})'
            f'{_balanced_patients_said(meta, cfg, mine)}')


#: the loaders of a run whose class-balanced sets :func:`seed_change`
#: names, with the words it names them by
_SEEDED_LOADERS = (('train_dataloader', 'training'),
                   ('val_dataloader', 'validation'),
                   ('test_dataloader', 'test'))


def _balanced_patients_said(meta: dict, cfg, mine: str) -> str:
    """:func:`seed_change`'s clauses of the patients the class-balanced
    sets of ``cfg`` that take a seed (:func:`run_seeded_parts`) repeat on
    a resume from a checkpoint of ``meta``, for the training, validation
    and test loaders the config has: those left to the run keep the
    checkpoint's run's (the training set given the seed it records,
    :meth:`AtomicRunner._training_set_seed`; the validation and test sets
    the training set's, else the one it records,
    :meth:`AtomicRunner._evaluation_set_seed`; drawn with ``mine``, this
    run's seed, where the training set takes none and the checkpoint
    records none), those of their own seed draw with it whatever the
    run's; under MMEngine's own Runner, which gives a data set no run
    seed, those left to the run draw with the data set's default, 0.
    '' where there is none."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        parts = {}
        for key, name in _SEEDED_LOADERS:
            loader = cfg.get(key)
            dataset = loader.get('dataset') if isinstance(loader, dict) \
                else None
            parts[name] = [(at, part.get(arg)) for at, part, arg in
                           run_seeded_parts(dataset, f'{key}.dataset',
                                            own=True)
                           if part.get('class_balance') is True]
        loader = cfg.get('train_dataloader')
        trained = bool(run_seeded_parts(
            loader.get('dataset') if isinstance(loader, dict) else None))
    left = [name for name, balanced in parts.items()
            if any(own is None for _, own in balanced)]
    recorded = drawn_seed(meta) if trained else recorded_seed(meta)
    said = ''
    if left:
        from ..config import builds_plain_runner
        names = (f'{left[0]} set repeats' if len(left) == 1 else
                 f'{", ".join(left[:-1])} and {left[-1]} sets repeat')
        said = (f'; the patients the class-balanced {names} are ' + (
            # only the project's runner gives a data set the run's seed
            "drawn with the data set's default seed 0 (MMEngine's own "
            'Runner gives them no run seed)' if builds_plain_runner(cfg)
            else
            f"kept from the checkpoint's run (drawn with seed {recorded})"
            if recorded is not None else
            f'drawn with {mine}, as the checkpoint records none its sets '
            'drew with'))
    for name, balanced in parts.items():
        for at, own in balanced:
            if own is not None:
                said += (f'; the patients the class-balanced {name} set '
                         f'{at} repeats are drawn with its own seed {own}')
    return said


def _states_of(lines: Sequence[str], restored: dict) -> str:
    """The states (``'optimizer and learning-rate scheduler'``) that
    restore the changed keys of ``lines`` (:func:`resume_notes`'
    ``restored``: line -> (key, state))."""
    return ' and '.join(dict.fromkeys(restored[line][1] for line in lines))


def _saved_side(line: str) -> str:
    """A schedule change of a key this config leaves unset
    (``param_scheduler.0.gamma: 0.1 -> unset``, :func:`schedule_changes`)
    as the checkpoint's setting: ``param_scheduler.0.gamma: 0.1``."""
    return line[:-len(' -> unset')] if line.endswith(' -> unset') else line


def _config_sets(cfg, key: str) -> bool:
    """Whether ``cfg`` sets the flattened key ``key``
    (``optim_wrapper.optimizer.momentum``, ``param_scheduler.0.gamma``)."""
    top = key.split('.')[0]
    return key in _flat_at(cfg.get(top), [], top)


def state_lacked(checkpoint: dict, schedulers: Any) -> List[str]:
    """The training state a checkpoint lacks, which MMEngine's resume
    starts afresh (a best checkpoint is saved without it): ``'optimizer'``,
    and ``'param_schedulers'`` where the run has ``schedulers``."""
    return [key for key in ('optimizer', 'param_schedulers')
            if key not in checkpoint and (key == 'optimizer' or schedulers)]


def _restarted_on(saved: dict, cfg, world: int = 1,
                  built: Optional[Callable] = None) -> List[str]:
    """The values this config's (``cfg``'s) schedulers start again on where
    the checkpoint ``saved`` holds the optimizer's state and no scheduler
    states (a best checkpoint's optimizer kept): MMEngine's resume
    restores the param groups, the schedulers are built afresh and take
    their first step on them (:func:`start_unloaded_schedulers`), and the
    schedule counts its steps from the resume. One phrase per optimizer
    and setting its schedulers schedule whose groups resume with another
    value than the one this config builds for each
    (:func:`_built_values`: its ``paramwise_cfg`` and ``auto_scale_lr``
    counted, on ``world`` processes; it compared every group with the
    one optimizer value, and said a run of ``lr_mult`` groups, or one
    scaled by ``--auto-scale-lr``, resumed with 'not this config's' lr
    where it resumed with exactly that) (``the lr the optimizer resumes
    with, 0.01875, not this config's optim_wrapper.optimizer.lr 0.05``;
    where this config's value for each group is not known, without the
    contrast); empty otherwise. ``built``: the resume's
    :func:`_built_values_of` (None: made here)."""
    states = saved.get('optimizer')
    if not isinstance(states, dict) or \
            saved.get('param_schedulers') is not None:
        return []
    built_for = built or _built_values_of(saved, cfg, world)
    said = []
    for name in [None] if 'param_groups' in states else list(states):
        held = _optimizer_state(states, cfg, name)
        if held is None:
            continue
        groups, optimizer = held
        for param in dict.fromkeys(map(_scheduled_param, _optimizer_schedulers(
                cfg.get('param_scheduler'), name))):
            values = [g.get(param) for g in groups]
            here = optimizer.get(param)
            if not param or not values or \
                    not all(map(is_number, values)):
                continue
            built = built_for(name, param, len(groups))
            if _as_built(values, built):
                continue
            config = _config_value(name, param, here, built)
            config = f', not {config}' if config else ''
            said.append(f'the {param} {_optimizer_who(name)} resumes with, '
                        f'{_shown_values(values)}{config}')
    return said


def run_meta(cfg, world: int) -> dict:
    """What a checkpoint's ``meta`` records of the run beside MMEngine's
    keys (:meth:`AtomicRunner.save_checkpoint`): its process count
    (``world_size``) and total batch (``total_batch_size``: the per-process
    ``train_dataloader.batch_size`` times the processes), which the config
    text in the meta does not hold (:func:`batch_change`), and its current
    directory (``cwd``: the config's relative paths, a split file say,
    were read from there; :func:`~openselfsup.apis.knn.trained_patients`
    reads them from there too)."""
    meta = {'world_size': int(world)}
    try:
        meta['cwd'] = os.getcwd()
    except OSError:  # the directory removed while the run went on
        pass
    batch = (cfg.get('train_dataloader') or {}).get('batch_size')
    if is_int(batch):
        meta['total_batch_size'] = batch * int(world)
    return meta


def built_groups(optim_wrapper) -> dict:
    """What a run's config built for each param group of each optimizer
    of ``optim_wrapper`` (built, its lr scaled: :meth:`AtomicRunner.
    scale_lr`, before any state is loaded), as a checkpoint's meta
    records it (``built_groups``): ``{name: {setting: [value per
    group]}}``, the name ``''`` for the one optimizer, each numeric
    setting the groups all hold (``lr``, ``momentum``, ...). A resume
    restores the param groups (their ``initial_lr`` too) of the run that
    first built them, so only this record tells what a resumed run's
    config built (:func:`_built_values`)."""
    record = {}
    for name, wrapper in _each_wrapper(optim_wrapper).items():
        groups = wrapper.optimizer.param_groups
        record[name or ''] = {
            key: [float(g[key]) for g in groups] for key in groups[0]
            if all(is_number(g.get(key)) for g in groups)}
    return record


def batch_change(meta: dict, cfg, world: int) -> Optional[str]:
    """How a resumed run's total batch differs from that of the run that
    wrote the checkpoint (its ``meta``: :func:`run_meta`) when the process
    count changed and the config has no ``total_batch_size`` (the
    per-process batch times another count: MMEngine's meaning); None
    when the totals agree, the config keeps its total (a change of it is
    one of :func:`schedule_changes`), or the checkpoint does not record
    them (saved before they were)."""
    there_world = meta.get('world_size')
    there_total = meta.get('total_batch_size')
    here = run_meta(cfg, world)
    if 'total_batch_size' in cfg or not isinstance(there_world, int) or \
            not isinstance(there_total, int) or there_world == world or \
            here.get('total_batch_size') in (None, there_total):
        return None
    return (f'checkpoint trained with total batch {there_total} on '
            f'{there_world} process(es); this run has '
            f'{here["total_batch_size"]} on {world} (set total_batch_size='
            f'{there_total} to keep it: --cfg-options total_batch_size='
            f'{there_total})')


def amp_change(text: Optional[str], cfg) -> Optional[str]:
    """What a resume says where ``cfg`` trains in another precision than
    the run whose config text (``meta['cfg']``) is ``text``: its ``amp``
    as resolved there (``'float16'`` from ``--amp``, ``'bfloat16'`` from
    ``'auto'`` on a GPU) against this run's (resolved:
    :func:`~openselfsup.apis.fast_path.apply_fast_path`). MMEngine's resume
    went on in the new precision without a word (a float16 run's loss
    scale dropped, or a fresh one). None where they agree, or ``text``
    records no ``amp`` (older code, or another tool's config)."""
    from ..config import config_text_section
    there = config_text_section(text, 'amp') if text else None
    here = cfg.get('amp', 'off')
    if not isinstance(there, str) or there == here:
        return None
    return (f"the run that wrote it trained with amp={there!r}, this one "
            f"trains with amp={here!r} from here on (resume with the same "
            "--amp / amp to continue the run as it was)")


def _scaler_settings(loss_scale: Any) -> Optional[dict]:
    """The settings of the ``GradScaler`` MMEngine's ``AmpOptimWrapper``
    builds from its ``loss_scale``: ``'dynamic'`` torch's defaults, a
    float a static scale (``init_scale``; each step sets it again,
    ``static``), a dict the scaler's arguments; keyed as the scaler's
    ``state_dict`` (``scale`` for ``init_scale``) with ``enabled`` and
    ``static``. None for another value (MMEngine refuses it)."""
    import inspect

    import torch
    params = inspect.signature(torch.amp.GradScaler).parameters
    made = {name: p.default for name, p in params.items()
            if name != 'device' and p.default is not inspect.Parameter.empty}
    if isinstance(loss_scale, dict):
        made.update(loss_scale)
    elif isinstance(loss_scale, float):
        made['init_scale'] = loss_scale
    elif loss_scale != 'dynamic':
        return None
    made['scale'] = made.pop('init_scale')
    made['static'] = isinstance(loss_scale, float)
    return made


def loss_scale_changes(saved: dict, text: Optional[str], cfg) -> List[str]:
    """What of ``cfg``'s ``optim_wrapper.loss_scale`` (an
    ``AmpOptimWrapper``'s: float16, or one set in the config) the resume
    from the checkpoint ``saved`` overwrites: MMEngine's
    ``AmpOptimWrapper.load_state_dict`` loads the ``loss_scaler`` state of
    the checkpoint's ``optimizer`` into the scaler the config built, its
    ``growth_factor``, ``backoff_factor``, ``growth_interval`` and its
    ``scale``, said nowhere. One phrase per wrapper (each of several, an
    ``OptimWrapperDict``'s, by its name) whose config makes settings other
    than the saved ones: ``growth_interval 2000 for this config's 100``;
    the scale where the config's ``init_scale`` differs from the one of
    the checkpoint's run's config (config text ``text``; under dynamic
    scaling the saved scale differs from its start by design), with a
    static scale (a float) until the first optimizer step, which sets the
    config's again (the growth settings do not apply to it). Nothing for
    a scaler that is disabled (bfloat16's: it loads nothing) or a
    checkpoint without a scaler's state."""
    from ..config import config_text_section
    here_section = cfg.get('optim_wrapper') or {}
    there_section = config_text_section(text, 'optim_wrapper') \
        if text else None
    states = saved.get('optimizer') if isinstance(saved, dict) else None
    names = _wrapper_names(here_section) or [None]
    changes = []
    for name in names:
        here = here_section.get(name) if name else here_section
        there = there_section.get(name) if name and isinstance(
            there_section, dict) else there_section
        state = states.get(name) if name and isinstance(states, dict) \
            else states
        scaler = state.get('loss_scaler') if isinstance(state, dict) \
            else None
        if not isinstance(here, dict) or \
                here.get('type') != 'AmpOptimWrapper' or \
                not isinstance(scaler, dict) or not scaler:
            continue
        made = _scaler_settings(here.get('loss_scale', 'dynamic'))
        if made is None or not made.get('enabled', True):
            continue
        was = _scaler_settings(there.get('loss_scale', 'dynamic')) \
            if isinstance(there, dict) else None
        said = []
        if was is not None and was['scale'] != made['scale'] and \
                'scale' in scaler and scaler['scale'] != made['scale']:
            until = ' until the first optimizer step (this static scale ' \
                'from then on)' if made['static'] else ''
            said.append(f'scale {scaler["scale"]:g} for this config\'s '
                        f'init_scale {made["scale"]:g}{until}')
        if not made['static']:
            said += [f'{key} {scaler[key]:g} for this config\'s '
                     f'{made[key]:g}' for key in
                     ('growth_factor', 'backoff_factor', 'growth_interval')
                     if key in scaler and scaler[key] != made[key]]
        if said:
            key = f'optim_wrapper.{name}.loss_scale' if name \
                else 'optim_wrapper.loss_scale'
            changes.append(
                f'{key}={here.get("loss_scale", "dynamic")!r}: '
                f'{", ".join(said)}')
    return changes


def _restored_by_resume(key: str, saved: dict, schedulers: Any,
                        saved_schedulers: Any = None) -> Optional[str]:
    """The state in the checkpoint ``saved`` that MMEngine's resume loads
    over the config's value of the schedule key ``key``
    (:data:`SCHEDULE_KEYS`), or None where the config's value is used:
    ``'optimizer'`` for the optimizer's settings, every key of
    ``optim_wrapper.optimizer`` but its ``type`` (torch's
    ``Optimizer.load_state_dict`` takes the saved ``param_groups``, each
    whole: ``lr``, ``momentum``, ``weight_decay``, LARS's ``eta``,
    ``nesterov``, Adam's ``betas``...; the class is the config's) and
    every key of ``optim_wrapper.paramwise_cfg`` (the per-parameter
    settings it makes, ``lr_mult`` and ``decay_mult`` applied, a custom
    key such as ``lars_exclude``, are those groups' values: the saved
    ones replace them; a change of the group count, ``paramwise_cfg``
    added or removed, is refused when the state is loaded) and
    ``optim_wrapper.constructor`` (the groups' settings it makes are
    replaced by the saved ones alike; another group count is refused),
    ``'learning-rate scheduler'`` for those of a scheduler the checkpoint
    holds the state of (``Runner.resume`` loads the saved states into the
    config's schedulers in order, each its whole ``__dict__``, the order
    of ``saved`` and ``saved_schedulers`` where the resume matches them
    by class, :func:`matched_schedulers`; a
    scheduler beyond them starts as the config says) that this config
    has too (``schedulers``: its ``param_scheduler``; one it removed is
    not built, its saved state not loaded: it was said restored), but
    its ``type`` (the class is the config's, as the optimizer's: another
    one was said not used) and a setting the saved state has no
    attribute of (another class's, a ``T_max`` where a ``MultiStepLR``
    was saved: ``__dict__.update`` keeps the config's), unless the
    scheduler saved there is of the config's class (its
    ``saved_schedulers``, the checkpoint's config's ``param_scheduler``):
    its state holds all its settings make, some under other names
    (``OneCycleLR``'s ``pct_start``, ``three_phase`` in its
    ``_schedule_phases``, ``anneal_strategy`` as its ``anneal_func``,
    ``ReduceOnPlateauLR``'s ``min_value`` as ``min_values``: the saved
    ones are loaded, and these were said used); a
    ``convert_to_iter_based`` is restored where the state holds the
    ``by_epoch`` it sets (with ``begin`` and ``end``). The same for the
    keys of each wrapper of several (an ``OptimWrapperDict``:
    ``optim_wrapper.<name>.optimizer.lr``, :func:`_one_wrapper_key`),
    whose schedulers the checkpoint holds by the optimizer's name, each
    built from the config's ``param_scheduler.<name>``, or from its one
    list (or scheduler) for every optimizer (MMEngine's
    ``build_param_scheduler``)."""
    one = _one_wrapper_key(key)
    if (one.startswith('optim_wrapper.optimizer.') and
            one != 'optim_wrapper.optimizer.type') or \
            one.startswith('optim_wrapper.paramwise_cfg.') or \
            one == 'optim_wrapper.constructor':
        state = saved.get('optimizer')
        if one != key:  # one wrapper of several: its state, by its name
            held = isinstance(state, dict) and key.split('.')[1] in state
        else:
            held = 'optimizer' in saved
        return 'optimizer' if held else None
    states = saved.get('param_schedulers')
    if not key.startswith('param_scheduler.') or states is None:
        return None
    parts = key.split('.')[1:]
    if isinstance(states, dict):  # one list per optimizer, by its name
        if parts[0] in states:  # param_scheduler.<name>: that optimizer's
            states, parts = states[parts[0]], parts[1:]
        else:  # the config's list (or one scheduler) for each optimizer
            states = max(states.values(), key=len, default=[])
    # a list, or the config's one scheduler (param_scheduler.end)
    index = int(parts.pop(0)) if parts and parts[0].isdigit() else 0
    state = states[index] if isinstance(states, (list, tuple)) and \
        index < len(states) else None
    here = _scheduler_config(schedulers, key)
    if state is None or not parts or parts[0] == 'type' or here is None:
        return None
    there = _scheduler_config(saved_schedulers, key)
    if isinstance(there, dict) and there.get('type') == here.get('type'):
        return 'learning-rate scheduler'  # its state: all it sets
    held = not isinstance(state, dict) or _scheduler_attr(parts[0]) in state
    return 'learning-rate scheduler' if held else None


def _scheduler_attr(setting: str) -> str:
    """The scheduler setting ``setting`` (a key of a scheduler's config)
    as the built scheduler holds it (an attribute, a key of its state) and
    its class takes it (an argument of its ``__init__``): its own name, but
    ``convert_to_iter_based`` (an argument of ``build_iter_from_epoch``,
    which MMEngine's builder calls) is the ``by_epoch`` it sets."""
    return 'by_epoch' if setting == 'convert_to_iter_based' else setting


def _scheduled_param(scheduler: dict) -> Optional[str]:
    """The optimizer setting a scheduler's config ``scheduler`` schedules,
    as MMEngine's class of its ``type`` does: ``'lr'`` for a learning-rate
    scheduler, ``'momentum'`` for a momentum one, its ``param_name`` for
    a ``...ParamScheduler``; None for a class not registered."""
    from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
    from mmengine.optim.scheduler.momentum_scheduler import \
        MomentumSchedulerMixin

    from ..registry import PARAM_SCHEDULERS
    kind = scheduler.get('type')
    cls = kind if isinstance(kind, type) else \
        PARAM_SCHEDULERS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return None
    if issubclass(cls, LRSchedulerMixin):
        return 'lr'
    if issubclass(cls, MomentumSchedulerMixin):
        return 'momentum'
    name = scheduler.get('param_name')
    return name if isinstance(name, str) else None


def _saved_epoch_length(saved: dict) -> Optional[int]:
    """The iterations of an epoch of the epoch-based run that wrote the
    checkpoint ``saved``: its message hub's ``max_iters`` over its
    ``max_epochs`` (MMEngine's ``RuntimeInfoHook`` records both when
    training starts, an epoch loop's ``max_iters`` being ``max_epochs``
    times its loader's length). Not its meta's iteration over its epoch
    (the estimate this replaced): a run once resumed from a checkpoint
    saved mid-epoch trained those iterations of the epoch again, and
    counts them, so 22 iterations in 2 epochs of 10 read as epochs of 11.
    None where the checkpoint does not tell (no such values, or a run of
    another loop than MMEngine's epoch loop, by its config's
    ``train_cfg``), and where its progress record says the epochs trained
    before it, by earlier runs it resumed, were of another length or of a
    length not known (its ``epoch_length``:
    :meth:`AtomicRunner._even_epoch_length`; epochs of 5, then 15
    iterations, then 10 count 30 in 3 epochs and read as epochs of 10)."""
    length = _saved_run_epoch_length(saved)
    if length is None:
        return None
    progress = saved.get(EPOCH_PROGRESS)
    if isinstance(progress, dict) and 'epoch_length' in progress and \
            progress['epoch_length'] != length:
        return None  # earlier epochs of another length, or not known
    return length


def _saved_run_epoch_length(saved: dict) -> Optional[int]:
    """The iterations of an epoch of the last run that trained the
    checkpoint ``saved`` (an epoch-based run's, by its config text's
    ``train_cfg``): its message hub's (:func:`_hub_epoch_length`); None
    where the checkpoint does not tell. Earlier runs it resumed may have
    trained epochs of another length (:func:`_saved_epoch_length` asks
    that all were of this one)."""
    from ..utils.checkpoint import checkpoint_config
    hub = saved.get('message_hub')
    length = _hub_epoch_length(hub.get('runtime_info')
                               if isinstance(hub, dict) else None)
    text = checkpoint_config(saved)
    if length is None or not text or \
            _saved_loop_kind(text) != 'EpochBasedTrainLoop':
        return None
    return length


def iterations_again(done: int, length: int, per: int,
                     saved_total: Optional[int] = None,
                     total: Optional[int] = None,
                     samples: Optional[int] = None) -> int:
    """The iterations of an epoch of ``per`` that train again the images
    of ``done`` iterations of an epoch of ``length`` that a checkpoint
    saved by iteration had trained: MMEngine's ``DefaultSampler`` orders
    an epoch's ``samples`` images the same whatever the batch (rank ``r``
    of ``w`` takes places ``r, r + w, ...`` of the order, padded by its
    start: ``k`` iterations of a total batch ``b`` hold its first ``k x
    b`` places), so the ``min(done x saved_total, samples)`` images done
    are this run's first ``ceil(images / total)`` iterations (at most
    ``per``: ``drop_last`` leaves the rest out of the epoch). Where the
    checkpoint records no total batch (``saved_total`` None), the share
    of the epoch, ``ceil(done x per / length)`` (exact where both batches
    divide the images: 10 images in batches of 3 with ``drop_last``, 2
    done, are 3 batches of 2 and the share counted 4)."""
    if saved_total and total and samples:
        again = -(-min(done * saved_total, samples) // total)
    else:
        again = -(-done * per // length)
    return min(again, per)


def _epoch_iterations(loop) -> Optional[int]:
    """The iterations of an epoch of the training ``loop`` (an
    ``EpochBasedTrainLoop``): its loader's length; None for a loader
    without one."""
    try:
        return len(loop.dataloader)
    except TypeError:  # a loader without a length
        return None


def _sampled(loader) -> Optional[Tuple[int, bool]]:
    """The samples and ``drop_last`` of a training ``loader`` drawn by
    MMEngine's ``DefaultSampler`` in batches of its ``batch_size``, whose
    epoch length :func:`~openselfsup.config.sampler_epoch_length` counts;
    None for another sampler or a batch sampler of its own."""
    from mmengine.dataset import DefaultSampler
    sampler = getattr(loader, 'sampler', None)
    if not isinstance(sampler, DefaultSampler) or \
            getattr(loader, 'batch_size', None) is None:
        return None
    try:
        return len(sampler.dataset), bool(loader.drop_last)
    except TypeError:  # a dataset without a length
        return None


def _process_count_cause(loader, meta: dict, total: int, before: int,
                         world: int) -> Optional[str]:
    """Why a resumed run's epochs of ``loader`` (on ``world`` processes)
    hold another number of iterations than ``before``, those of the run
    that saved the checkpoint of ``meta``, where both have the total
    batch ``total``, if the process count alone explains it: the same
    samples on that run's process count (its meta's ``world_size``; not
    recorded, the first count that divides ``total`` and gives
    ``before``) give ``before`` (:func:`~openselfsup.config.
    sampler_epoch_length`). None where they do not (data of another
    size) or the loader's epochs are not counted so (:func:`_sampled`)."""
    sampled = _sampled(loader)
    if sampled is None:
        return None
    samples, drop = sampled
    ran = meta.get('world_size')
    recorded = is_int(ran) and ran > 0
    counts = [ran] if recorded else range(1, total + 1)
    found = next((w for w in counts if w != world and total % w == 0 and
                  sampler_epoch_length(samples, w, total // w, drop)
                  == before), None)
    if found is None:
        return None
    how = '' if recorded else \
        ' (not recorded: the fewest that give its length)'
    dropped = ', the short batch dropped' if drop else ''
    # (the checkpoint does not record its sample count: this run's samples
    # give its length there, which a list grown or shrunk by a few may too)
    return (f'the same total batch {total}, and this run\'s {samples} '
            f'samples give its length on {found} process(es){how}, this '
            f'one\'s on {world}: MMEngine\'s '
            f'DefaultSampler gives each process ceil({samples} / processes) '
            f'of them{dropped}, so the epoch length depends on the process '
            'count')


def _schedule_shift(meta: dict, length: int, epochs: int) -> str:
    """How far a schedule counted in iterations (:func:`
    step_counted_schedules`) is off after a resume from a checkpoint of
    ``meta`` (its ``epoch`` and ``iter``) into epochs of ``length``
    iterations, ``epochs`` of them: the checkpoint's iteration against
    the one where this run's next epoch begins (``': N iteration(s)
    behind the start of its epoch E here (x% of max_iters)'``); ``''``
    where the meta does not say."""
    epoch, it = meta.get('epoch'), meta.get('iter')
    if not (is_int(epoch) and is_int(it)) or epochs * length < 1:
        return ''
    off = epoch * length - it
    side = 'behind' if off > 0 else 'ahead of'
    return (f': {abs(off)} iteration(s) {side} the start of its epoch '
            f'{epoch + 1} here ({100 * abs(off) / (epochs * length):.2g}% '
            'of max_iters)')


def _other_data(loader, meta: dict, total: int) -> str:
    """The cause of epochs of another length at the same total batch
    ``total`` where the process count does not explain it
    (:func:`_process_count_cause`): training data of another size, with
    what this run's samples would give on the checkpoint's run's process
    count (its ``meta``'s ``world_size``) where both are known."""
    why = f'the same total batch {total}: training data of another size'
    sampled, ran = _sampled(loader), meta.get('world_size')
    if sampled is None or not is_int(ran) or ran < 1 or total % ran:
        return why
    samples, drop = sampled
    return (f'{why}: the {samples} samples here would give '
            f'{sampler_epoch_length(samples, ran, total // ran, drop)} '
            f'iterations an epoch on its {ran} process(es) too')


def _unrecorded_batch(text: str, loader, before: int) -> Tuple[str, str]:
    """The cause of epochs of another length, and the setting that keeps
    the checkpoint's run's (``''`` where not found), for a checkpoint
    that records no total batch (saved before its meta recorded it; its
    config text ``text`` has no ``total_batch_size``): its config's
    per-process ``train_dataloader.batch_size``, and the one total batch
    of that per-process batch that gives ``before`` iterations of this
    loader's samples on some process count, where there is one."""
    why = ('the checkpoint does not record its total batch (saved before '
           'it was recorded)')
    section = config_text_section(text, 'train_dataloader') if text else None
    batch = section.get('batch_size') if isinstance(section, dict) else None
    if not is_int(batch) or batch < 1:
        return why, ''
    why += f', its config\'s train_dataloader.batch_size was {batch}'
    sampled = _sampled(loader)
    if sampled is None:
        return why, ''
    samples, drop = sampled
    worlds = [w for w in range(1, samples + 1)
              if sampler_epoch_length(samples, w, batch, drop) == before]
    if len(worlds) != 1:
        return why, ''
    return why, (f' (--cfg-options total_batch_size={batch * worlds[0]}: '
                 f'{batch} on the {worlds[0]} process(es) that give '
                 f'{before} iterations of these {samples} samples)')


def step_counted_schedules(cfg, model, hooks: Sequence = ()) -> List[str]:
    """What of a run counts its schedule in training iterations of the
    epoch length (in an epoch loop, MMEngine's ``max_iters`` is
    ``max_epochs`` times the epoch's iterations), one phrase each: a
    ``CosineEMA`` of ``model`` or of an ``EMAHook`` of ``hooks``
    (mmpretrain's, the MoCo-v3 key encoder's: its momentum from
    ``pi x steps / max_iters``, the steps its buffer counts), and each
    scheduler of ``cfg``'s ``param_scheduler`` whose iterations come from
    the epoch length when it is built: ``convert_to_iter_based`` (its
    ``begin`` / ``end`` turned into iterations) and one stepped each
    iteration without an ``end`` (``max_iters`` by default); a resume
    loads the saved ones over them. A resume whose epochs are of another
    length than the checkpoint's run's continues them from the
    checkpoint's iteration against another count
    (:meth:`AtomicRunner._check_epoch_length`). A scheduler of
    ``by_epoch=False`` with its own ``end`` counts iterations as its
    config gives them, whatever the epoch length: not named."""
    from mmpretrain.models.utils import CosineEMA

    from ..config import config_dicts, type_name
    averaged = {'model': getattr(model, 'module', model)}
    averaged.update((f'custom_hooks {type(h).__name__}.ema_model',
                     h.ema_model) for h in hooks
                    if isinstance(getattr(h, 'ema_model', None), CosineEMA))
    said = [f'{where}.{name}'.rstrip('.') +
            f' ({type(m).__name__}: its momentum from iteration / max_iters)'
            for where, module in averaged.items()
            for name, m in module.named_modules()
            if isinstance(m, CosineEMA)]
    for key, s in config_dicts(cfg.get('param_scheduler'),
                               'param_scheduler'):
        if 'type' not in s:
            continue
        # read as MMEngine's schedulers read them: by truth value
        # (by_epoch=0 is stepped each iteration)
        if s.get('by_epoch', True) and s.get('convert_to_iter_based'):
            said.append(f'{key} ({type_name(s["type"])}, '
                        'convert_to_iter_based)')
        elif not s.get('by_epoch', True) and 'end' not in s:
            said.append(f'{key} ({type_name(s["type"])}, stepped each '
                        'iteration to max_iters)')
    return said


def _hub_epoch_length(info: Any) -> Optional[int]:
    """The iterations of an epoch of the run whose message hub's runtime
    info is ``info``: its ``max_iters`` over its ``max_epochs``, which
    MMEngine's ``RuntimeInfoHook`` records when training starts; None
    where it holds no such values, or ones that do not divide."""
    if not isinstance(info, dict):
        return None
    epochs, iters = info.get('max_epochs'), info.get('max_iters')
    if not all(is_int(n) and n > 0 for n in (epochs, iters)) or \
            iters % epochs:
        return None
    return iters // epochs


def _saved_loop_kind(text: str) -> Optional[str]:
    """The training loop class of a checkpoint's config text (its
    ``train_cfg`` read as data; the text is parsed once,
    :func:`~openselfsup.config.config_text_section`)."""
    from ..config import config_text_section, train_loop_kind
    return train_loop_kind(config_text_section(text, 'train_cfg'))


def _replayed_schedule(schedulers: Sequence[dict], param: str,
                       groups: Sequence[dict], start: Any, cfg,
                       saved: dict, name: Optional[str], found: dict
                       ) -> Optional[List[float]]:
    """The ``param`` values that ``cfg``'s schedulers ``schedulers`` (one
    optimizer's: :func:`_optimizer_schedulers`) alone give each of the
    param groups ``groups`` (a checkpoint's optimizer state's) at the step
    of the checkpoint ``saved`` (its meta's ``epoch`` and ``iter``), as
    MMEngine's runner builds and steps them: each from the group's
    ``initial_<param>`` (what the run's first scheduler recorded; else
    ``start``, the config's optimizer value), ``end`` by default the
    loop's ``max_epochs`` (``max_iters`` where not ``by_epoch``),
    ``convert_to_iter_based`` over the epoch length, the iter-based ones
    stepped after each iteration and the epoch-based ones after each
    epoch (``ParamSchedulerHook``), on a throwaway optimizer. None where
    that cannot be done reliably: a scheduler of a class not MMEngine's,
    a ``ReduceOnPlateau...`` one (its steps follow the metrics), a train
    loop not MMEngine's two, no step in the meta, or an epoch length
    needed (iteration- and epoch-based schedulers both, the order of
    their steps; one converted to iterations; an iteration-based one
    whose ``end`` is the loop's ``max_iters``) and not known (an
    iteration-based loop's; a checkpoint that does not tell its run's,
    :func:`_saved_epoch_length`); epoch-based schedulers alone need none,
    nor do iteration-based ones alone, stepped as many times as the
    meta's iterations (epochs of several lengths, each run resumed with
    another batch, replay too);
    or a scheduler whose settings the checkpoint's state
    of it, which the resume loads into it, replaces (:func:`_resumes_as_built`:
    a ``max_epochs`` raised moves a default ``end`` that the resumed
    scheduler does not take); or iteration- and epoch-based schedulers
    both, and a checkpoint whose iteration is not its epochs' plus those
    of the current epoch its progress record counts (:func:`_iterations_into`;
    none recorded: 0): iterations trained again after a resume mid-epoch,
    or epochs of another length before a resume with another batch, in
    epochs not known, so the order of the two kinds' steps is not known
    (and a cosine of ``eta_min`` above 0 beside an iteration warmup gives
    another value in another order). ``name``: the optimizer's (None: the one);
    ``found``: :func:`scheduler_state_places`'s match of the checkpoint's
    states (made once per resume, by the caller). A scheduler without a
    saved state (:func:`_added_schedulers`) is left out: the resumed run
    builds it at the resume and counts its steps from there, so it has
    moved nothing at the checkpoint's step (replayed from step 0, a
    ``LinearLR`` added beside a removed ``ConstantLR`` gave a value the
    resumed run never had)."""
    import warnings

    import torch
    from mmengine.optim.scheduler import ReduceOnPlateauParamScheduler

    from ..config import train_loop_kind
    from ..registry import PARAM_SCHEDULERS
    # a scheduler without a saved state (added) starts at the resume
    # (start_unloaded_schedulers), its steps counted from it: it has no
    # step before the checkpoint's, so it is not replayed (it was, from
    # step 0)
    added = _added_schedulers(schedulers, saved, name, found)
    places = [i for i, s in enumerate(schedulers)
              if _scheduled_param(s) == param and i not in added]
    mine = [schedulers[i] for i in places]
    for scheduler in mine:
        kind = scheduler.get('type')
        cls = kind if isinstance(kind, type) else PARAM_SCHEDULERS.get(kind)
        if not cls.__module__.startswith('mmengine.optim.scheduler') or \
                issubclass(cls, ReduceOnPlateauParamScheduler):
            return None
    meta = saved.get('meta') if isinstance(saved.get('meta'), dict) else {}
    epoch, it = meta.get('epoch'), meta.get('iter')
    loop = cfg.get('train_cfg')
    kind = train_loop_kind(loop)
    if not all(is_int(n) and n >= 0 for n in (epoch, it)) or kind not in (
            'EpochBasedTrainLoop', 'IterBasedTrainLoop'):
        return None
    by_epoch = kind == 'EpochBasedTrainLoop'
    length = _saved_epoch_length(saved) if by_epoch else None
    if length and it < epoch * length:
        return None  # another length than that of the epochs it counts
    epochs = loop.get('max_epochs') if by_epoch else 1
    iters = loop.get('max_iters') if not by_epoch else \
        epochs * length if isinstance(epochs, int) and length else None
    starts = [g.get(f'initial_{param}', start) for g in groups]
    if not all(map(is_number, starts)):
        return None
    built = []
    optimizer = torch.optim.Optimizer([
        {**{k: v for k, v in g.items()
            if k != 'params' and not k.startswith('initial_')},
         param: value, 'params': [torch.zeros(1, requires_grad=True)]}
        for g, value in zip(groups, starts)], {})
    for place, scheduler in zip(places, mine):
        made = dict(scheduler)
        stepped_by_epoch = made.get('by_epoch', True)
        if 'end' not in made:
            made['end'] = epochs if stepped_by_epoch else iters
        if made['end'] is None or (stepped_by_epoch and made.get(
                'convert_to_iter_based') and not length):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                built.append(PARAM_SCHEDULERS.build(made, default_args=dict(
                    optimizer=optimizer, epoch_length=length or 1)))
        except Exception:  # a config the run itself refuses
            return None
        if not _resumes_as_built(built[-1], _saved_scheduler_state(
                saved, name, place, found)):
            return None
    per_iter = [s for s in built if not s.by_epoch]
    per_epoch = [s for s in built if s.by_epoch] if by_epoch else []
    # iteration schedulers alone need the iteration count alone; beside
    # epoch ones, the iterations of each epoch (the order of their steps)
    if per_iter and per_epoch and epoch and not length:
        return None  # the iterations of each epoch are not known
    done = epoch * length if per_iter and per_epoch and epoch else 0
    if per_iter and per_epoch and it != done + (
            _iterations_into(saved.get(EPOCH_PROGRESS), epoch) or 0):
        # iterations past the epochs' and the current one's: trained again
        # after a resume mid-epoch, or epochs of another batch before an
        # earlier resume; in which epochs is not known, and the order of
        # the two kinds' steps is the value where they do not commute
        return None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the optimizer is never stepped
        for _ in range(epoch if per_epoch else 0):
            _step_schedulers(per_iter, length or 0)
            _step_schedulers(per_epoch, 1)
        if per_iter:
            _step_schedulers(per_iter, it - done)
    return [g[param] for g in optimizer.param_groups]


#: a scheduler state's entries that its steps move (or its optimizer's
#: values set): the others are its settings
_SCHEDULER_STEPS = ('last_step', '_global_step', '_last_value',
                    'base_values', 'verbose')


def _added_schedulers(schedulers: Sequence[dict], saved: dict,
                      name: Optional[str], found: dict) -> List[int]:
    """The places in ``schedulers`` (one optimizer's of the resumed
    config, :func:`_optimizer_schedulers`) of those the checkpoint
    ``saved`` holds no state for (:func:`_saved_scheduler_state`): added
    since (by class, or beyond the saved ones by place), they start as
    built at the resume, their steps counted from it. Empty for a
    checkpoint that holds no scheduler states at all (a best checkpoint,
    whose lack :func:`resume_notes` warns of: not judged here)."""
    if saved.get('param_schedulers') is None:
        return []
    return [i for i in range(len(schedulers))
            if _saved_scheduler_state(saved, name, i, found) is None]


def _added_note(schedulers: Any, param: str, saved: dict,
                name: Optional[str], found: dict) -> str:
    """The words, inside the brackets of :func:`_at_checkpoint_step`, for
    the schedulers of ``param`` that the replay to the checkpoint's step
    leaves out (:func:`_added_schedulers`; ``schedulers``: the config's
    ``param_scheduler``); empty where none is."""
    mine = _optimizer_schedulers(schedulers, name)
    added = [f'{_scheduler_place(schedulers, name, i)} '
             f'({_scheduler_kind(mine[i])[0]})'
             for i in _added_schedulers(mine, saved, name, found)
             if _scheduled_param(mine[i]) == param]
    if not added:
        return ''
    return (f'; {" and ".join(added)}, without a saved state, not in it: '
            f'{"they start" if len(added) > 1 else "it starts"} at this '
            'resume, steps counted from it')


def _iterations_into(progress: Any, epoch: int) -> Optional[int]:
    """The iterations of the epoch after the ``epoch`` done (a
    checkpoint's meta's ``epoch``) that a checkpoint's progress record
    ``progress`` (its :data:`EPOCH_PROGRESS`) counts as trained: 0 where
    it records another epoch (one saved at an epoch's end records the
    epoch it ended, all its iterations), None where it records none (a
    checkpoint of older code)."""
    if not isinstance(progress, dict) or 'epoch' not in progress:
        return None
    return progress.get('iterations', 0) if progress['epoch'] == epoch \
        else 0


def _saved_scheduler_state(saved: dict, name: Optional[str],
                           index: int, found: dict) -> Any:
    """The checkpoint ``saved``'s state of the scheduler that the resume
    loads into the ``index``-th scheduler of the optimizer ``name``
    (None: the one optimizer) of the config: the state
    :func:`scheduler_state_places` gives it (``Runner.resume`` pairs them
    by place, :meth:`AtomicRunner._match_scheduler_states` by class where
    that differs); None where there is none. ``found``: that match (made
    once per resume, by the caller)."""
    states = saved.get('param_schedulers')
    if name in found:
        index = found[name][index]
        if index is None:
            return None
    if isinstance(states, dict):
        states = states.get(name)
    return states[index] if isinstance(states, (list, tuple)) and \
        index < len(states) else None


def _scheduler_kind(scheduler: Any) -> Tuple[Any, Optional[str]]:
    """A scheduler config's class (its ``type``, a class by its name) and
    the optimizer setting it schedules (:func:`_scheduled_param`): what
    :func:`scheduler_state_places` matches a saved state by."""
    if not isinstance(scheduler, dict):
        return None, None
    kind = scheduler.get('type')
    return (kind.__name__ if isinstance(kind, type) else kind,
            _scheduled_param(scheduler))


def _scheduler_settings(scheduler: dict) -> dict:
    """A scheduler config's settings, its class by name (a config file's
    ``type=CosineAnnealingLR`` and a checkpoint's text ``'...'`` alike)."""
    return {**scheduler, 'type': _scheduler_kind(scheduler)[0]}


def _by_optimizer_name(schedulers: Any) -> bool:
    """Whether a config's ``param_scheduler`` is given by optimizer name
    (a dict of lists, MMEngine's form for several optimizers), not one
    scheduler or a list of them."""
    return isinstance(schedulers, dict) and 'type' not in schedulers


def _scheduler_place(schedulers: Any, name: Optional[str], i: int) -> str:
    """The key of the ``i``-th scheduler of the optimizer ``name`` in a
    config's ``param_scheduler`` ``schedulers``: ``param_scheduler.<name>.
    <i>`` in one by optimizer name, else ``param_scheduler.<i>``."""
    named = name and _by_optimizer_name(schedulers)
    return f'param_scheduler.{name}.{i}' if named else \
        f'param_scheduler.{i}'


def _places_of(configs: List[dict], saved: List[dict], path: str,
               where: Callable[[str, int], str]) -> Optional[list]:
    """:func:`scheduler_state_places` for one optimizer: ``configs`` the
    config's schedulers, ``saved`` those of the checkpoint's config (one
    per saved state); ``where(side, i)`` names one of them."""
    kinds = [_scheduler_kind(s) for s in configs]
    theirs = [_scheduler_kind(s) for s in saved]
    places: List[Optional[int]] = [None] * len(configs)
    for kind in dict.fromkeys(kinds):
        mine = [i for i, k in enumerate(kinds) if k == kind]
        held = [j for j, t in enumerate(theirs) if t == kind]
        # each the saved one of its class and settings first, in order
        for i in mine:
            places[i] = next((j for j in held if j not in places and
                              _scheduler_settings(saved[j]) ==
                              _scheduler_settings(configs[i])), None)
        # then those left, in order, where as many are left on each side
        # (settings changed in place); a side with none left: added or
        # removed ones
        rest = [i for i in mine if places[i] is None]
        left = [j for j in held if j not in places]
        if rest and left and len(rest) != len(left):
            raise InputError(
                f'--resume from {path}: which saved scheduler state '
                f'{where("here", rest[0])} ({kind[0]}) resumes from is '
                'ambiguous: the checkpoint holds '
                f'{len(held)} of its class '
                f'({", ".join(where("saved", j) for j in held)}) and '
                f'this config {len(mine)}, of other settings, and '
                'MMEngine\'s resume would load them by place, each '
                'into whichever scheduler is there; resume with the '
                'param_scheduler list of the run that wrote it, or '
                'start a new run from its weights without --resume: '
                f'--cfg-options load_from={path} --work-dir NEW_DIR')
        for i, j in zip(rest, left):
            places[i] = j
    # by place, as MMEngine loads them: each state to the scheduler of
    # its place (the same list, schedulers added or removed at its end),
    # or a class replaced at its place, the count kept
    replaced = len(configs) == len(saved)
    if all(j == (i if i < len(saved) else None) or (
            replaced and kinds[i] not in theirs and theirs[i] not in kinds)
           for i, j in enumerate(places)):
        return None
    return places


def scheduler_state_places(schedulers: Any, saved_schedulers: Any,
                           states: Any, path: str, loaded: bool = True
                           ) -> Tuple[dict, List[str], List[str]]:
    """Which saved scheduler state each of a resumed config's schedulers
    takes. MMEngine's resume loads the checkpoint's states (``states``:
    its ``param_schedulers``, a list, or one per optimizer by name) into
    the config's schedulers (``schedulers``: its ``param_scheduler``) by
    place, each its whole ``__dict__``: a scheduler removed before the
    last one (a warmup of ``[LinearLR, CosineAnnealingLR]``) gave the
    next one its state (the cosine resumed with the warmup's ``end``,
    ``last_step``, ``base_values``, and rested). Here the states are
    matched by the checkpoint's config (``saved_schedulers``, its
    ``param_scheduler``, one per state): each to the config's scheduler
    of its class and scheduled setting, first the one of equal settings
    (in order among equals), then those left in order where as many are
    left on each side (settings changed in place); one side with none
    left: schedulers added (started at the resume) or removed (not loaded;
    from a saved list shared by the optimizers, where this config has one
    per optimizer, said with the optimizers it is removed for).
    The settings decide among those of one class: a ``[LinearLR warmup,
    LinearLR cool-down]`` run resumed with the cool-down alone gave it
    the warmup's state by place. By place, as MMEngine does, where the
    match is that (the same list, schedulers added or removed at its
    end) or where a class is replaced at its place (the count kept: the
    warnings of :func:`resume_notes` say which of its settings are
    used), and where the checkpoint's config does not tell (not
    readable as data, or not one scheduler per state). ``loaded``: False
    where no state is loaded, the match only says which saved scheduler
    each of the config's is compared with (a checkpoint without
    scheduler states, :func:`_compared_without_states`): the lines name
    the pairs that moved and the saved schedulers removed, not states.

    Returns:
        tuple: ``{name: places}`` (name None for the one optimizer) of
        the optimizers whose states do not go by place, ``places`` the
        saved state's place for each of the config's schedulers (None:
        none, it starts at the resume), the lines that say so, and those
        of them that name a saved scheduler removed (each line is
        recorded as one or not when it is made; a caller told them apart
        by their wording).

    Raises:
        InputError: a match that is ambiguous: a class of which, those
            of equal settings matched, both sides hold some left, in
            other counts (a kept one of new settings, and which saved one
            it continues is not known).
    """
    lists = states if isinstance(states, dict) else {None: states}
    # each line with whether it names a saved scheduler removed
    found, lines = {}, []
    # a saved list shared by the optimizers, this config's by optimizer
    # name: a removal is said with the optimizers it is removed for (the
    # saved place does not name them, and another may keep it)
    removed_for = {} if _by_optimizer_name(schedulers) and \
        not _by_optimizer_name(saved_schedulers) else None
    for name, held in lists.items():
        if not isinstance(held, (list, tuple)):
            continue
        configs = _optimizer_schedulers(schedulers, name)
        saved = _optimizer_schedulers(saved_schedulers, name)
        if len(saved) != len(held) or not all(
                isinstance(_scheduler_kind(s)[0], str) for s in saved):
            continue  # the checkpoint's config does not tell

        def where(side: str, i: int, name=name) -> str:
            return _scheduler_place(
                schedulers if side == 'here' else saved_schedulers, name, i)
        places = _places_of(configs, saved, path, where)
        if places is None:
            continue
        found[name] = places
        for i, j in enumerate(places):
            kind = _scheduler_kind(configs[i])[0]
            if j is None and loaded:
                param = _scheduled_param(configs[i]) or 'value'
                lines.append((f'{where("here", i)} ({kind}) has no saved '
                              'state of its class and starts at this '
                              f'resume, on the {param} the optimizer resumes '
                              'with, its steps counted from here', False))
            elif j is not None and j != i:
                takes = 'takes the state of' if loaded else 'with'
                lines.append((f'{where("here", i)} ({kind}) {takes} the '
                              f'saved {where("saved", j)}', False))
        for j in sorted(set(range(len(saved))) - set(places)):
            line = (f'the saved {where("saved", j)} '
                    f'({_scheduler_kind(saved[j])[0]}), which this '
                    'config removed')
            lines.append((line, True))
            if removed_for is not None and name is not None:
                removed_for.setdefault(line, []).append(name)
    for i, (line, removed) in enumerate(lines):
        if not removed:
            continue
        names = (removed_for or {}).get(line)
        if names:
            line += f' for optimizer{"s" * (len(names) > 1)} ' + \
                ' and '.join(map(repr, names))
        lines[i] = (line + ', is not loaded' * loaded, removed)
    # (a list for every optimizer: each one's lines alike, said once)
    lines = list(dict.fromkeys(lines))
    return (found, [line for line, _ in lines],
            [line for line, removed in lines if removed])


def saved_scheduler_section(saved: dict) -> Any:
    """The ``param_scheduler`` of the config text the checkpoint ``saved``
    records (read as data), or None."""
    from ..config import config_text_section
    from ..utils.checkpoint import checkpoint_config
    text = checkpoint_config(saved)
    return config_text_section(text, 'param_scheduler') if text else None


def resume_scheduler_match(saved: dict, schedulers: Any,
                           saved_schedulers: Any, path: str
                           ) -> Tuple[dict, List[str], Any, Any]:
    """The match of a resume's scheduler states, as both the resume's
    warnings (:func:`resume_notes`) and the runner's load
    (:meth:`AtomicRunner._match_scheduler_states`) take it:
    :func:`scheduler_state_places` of the config's ``schedulers`` (its
    ``param_scheduler``) with the checkpoint ``saved``'s states and their
    configs ``saved_schedulers`` (:func:`saved_scheduler_section`), and
    :func:`matched_schedulers` of them.

    Returns:
        tuple: ``found`` and the lines of :func:`scheduler_state_places`,
        the saved states and their configs in the config's order.

    Raises:
        InputError: an ambiguous match (:func:`scheduler_state_places`).
    """
    states = saved.get('param_schedulers')
    found, lines, _ = scheduler_state_places(schedulers, saved_schedulers,
                                             states, path)
    return (found, lines, *matched_schedulers(states, saved_schedulers,
                                              found, schedulers))


def _compared_without_states(saved: dict, schedulers: Any,
                             saved_schedulers: Any, text: Optional[str]
                             ) -> Optional[Tuple[dict, Any, List[str], str]]:
    """For the checkpoint ``saved`` that holds no scheduler states (a best
    checkpoint's ``param_schedulers`` left out): which saved scheduler
    (of its config's ``param_scheduler``, ``saved_schedulers``; ``text``
    its config text) each of this config's schedulers (``schedulers``) is
    compared with. None is loaded, yet the match is that of a resume
    with states (:func:`scheduler_state_places`, on one empty state per
    saved scheduler): by place, a scheduler kept after one removed before
    it was said changed (``param_scheduler.0.type: 'ConstantLR' ->
    'CosineAnnealingLR'``, then each setting of the saved one after it
    ``-> unset``), and a removed one was named by the place past this
    config's list (the cosine kept), where with states they are matched
    by class. Where that match is ambiguous (the resume with states
    refuses it), by place, and said so.

    Returns:
        tuple or None: None where the checkpoint holds scheduler states
        or its config does not tell its schedulers; else ``found``
        (:func:`scheduler_state_places`'s match), the saved
        ``param_scheduler`` in this config's order
        (:func:`matched_schedulers`) and, for the resume's warnings, the
        lines of the saved schedulers removed and of this config's
        compared with a saved one of another place (empty: by place;
        None: by place where the match by class is ambiguous)."""
    from ..config import config_text_section
    if saved.get('param_schedulers') is not None or \
            saved_schedulers is None or text is None:
        return None
    # one empty state per saved scheduler, shaped as the run saved them:
    # by optimizer name for one of several wrappers
    names = _wrapper_names(config_text_section(text, 'optim_wrapper'))
    held = {name: [{}] * len(_optimizer_schedulers(saved_schedulers, name))
            for name in names} if names else \
        [{}] * len(_optimizer_schedulers(saved_schedulers, None))
    try:
        found, lines, removed = scheduler_state_places(
            schedulers, saved_schedulers, held, '', loaded=False)
    except InputError:
        return {}, saved_schedulers, [], None
    section = matched_schedulers(held, saved_schedulers, found,
                                 schedulers)[1]
    return found, section, removed, [line for line in lines
                                     if line not in removed]


def foreign_scheduler_states(schedulers: Any, states: Any,
                             section: Any) -> List[str]:
    """The built schedulers ``schedulers`` (a runner's
    ``param_schedulers``: a list, or one per optimizer by name) that
    MMEngine's resume, pairing them with the checkpoint's ``states`` by
    place, gives a state of another class: one holding settings the
    scheduler has none of (a ``LinearLR``'s ``start_factor`` in a
    ``CosineAnnealingLR``), or scheduling another setting (its
    ``param_name``). For a checkpoint whose config does not tell its
    schedulers (:func:`scheduler_state_places` cannot match them): a
    scheduler removed before the last one gave its state to the next,
    unsaid. ``section``: the config's ``param_scheduler``, to name them.
    Schedulers not built yet (configs) are not judged.

    Returns:
        list[str]: one line per such scheduler, naming the state's
        settings it lacks."""
    built = schedulers if isinstance(schedulers, dict) else \
        {None: schedulers}
    lines = []
    for name, mine in built.items():
        held = states.get(name) if isinstance(states, dict) else states
        if not isinstance(mine, (list, tuple)) or \
                not isinstance(held, (list, tuple)):
            continue
        for i, (scheduler, state) in enumerate(zip(mine, held)):
            if not hasattr(scheduler, 'state_dict') or \
                    not isinstance(state, dict) or not state:
                continue
            own = scheduler.state_dict()
            other = [k for k in state if k not in own]
            param = state.get('param_name', own.get('param_name'))
            if not other and param == own.get('param_name'):
                continue
            what = f'settings it has none of: {", ".join(other)}' \
                if other else f'it schedules {param}'
            lines.append(f'{_scheduler_place(section, name, i)} '
                         f'({type(scheduler).__name__}) takes the saved '
                         f'state of its place, of another class ({what})')
    return list(dict.fromkeys(lines))


def matched_schedulers(states: Any, section: Any, found: dict,
                       schedulers: Any = None) -> Tuple[Any, Any]:
    """A checkpoint's saved scheduler states (its ``param_schedulers``)
    and their configs (its config's ``param_scheduler``, ``section``) in
    the order of a resumed config's schedulers, as
    :func:`scheduler_state_places` matched them (``found``): per
    optimizer matched, the state and the config each of the config's
    schedulers takes, ``{}`` for one that takes none (MMEngine's
    ``load_state_dict`` of ``{}`` leaves it as built); the others as they
    are. New lists: ``states`` and ``section`` are left as they were.
    ``schedulers``: the resumed config's ``param_scheduler``, whose shape
    the section takes, to be compared key by key: one list for every
    optimizer saved, resumed with one per optimizer by name, is that list
    under each name (it was compared as ``param_scheduler.0...`` against
    ``param_scheduler.<name>.0...``, every setting said changed), and
    one per name, each the same once matched, resumed with one list for
    every optimizer, is that list."""
    def aligned(held, places):
        return [{} if j is None else held[j] for j in places]

    if section is not None and not _by_optimizer_name(section):
        if _by_optimizer_name(schedulers):
            section = {name: section for name in schedulers}
        elif any(name is not None for name in found):
            # one list for every optimizer, each matched: aligned per
            # optimizer (the second was aligned again from the first's
            # aligned list, an IndexError), one list again below
            section = {name: section for name in states}
    for name, places in found.items():
        configs = _optimizer_schedulers(section, name)
        # (a section not given: None; found, it has one per state)
        mine = aligned(configs, places) if configs else None
        if name is None:
            states, section = aligned(states, places), mine
            continue
        states = {**states, name: aligned(states[name], places)}
        section = {**section, name: mine} \
            if _by_optimizer_name(section) else mine
    if _by_optimizer_name(section) and schedulers is not None and \
            not _by_optimizer_name(schedulers) and section and all(
                v == next(iter(section.values()))
                for v in section.values()):
        section = next(iter(section.values()))
    return states, section


def _resumes_as_built(scheduler: Any, state: Any) -> bool:
    """Whether the MMEngine scheduler ``scheduler``, built from this
    config, keeps its settings when a resume loads the checkpoint's
    ``state`` into it (``load_state_dict`` takes them all: its ``end``,
    ``T_max``, milestones): no state, or one of the same settings. A
    resume that raised ``max_epochs`` builds a cosine of the default
    ``end`` over the new length, yet it goes on over the saved one. A
    setting it has no attribute of (another class's state, a
    ``MultiStepLR``'s milestones loaded into a cosine) it never reads."""
    if state is None:
        return True
    if not isinstance(state, dict):
        return False
    mine = vars(scheduler)
    return all(mine[k] == v for k, v in state.items()
               if k not in _SCHEDULER_STEPS and k in mine)


def start_unloaded_schedulers(schedulers: Any, states: Any, section: Any,
                              path: str, left: Optional[dict] = None
                              ) -> List[str]:
    """Take again, on the values the optimizer resumes with, the first
    step of each built scheduler that a resume gave no saved state (added
    since: ``{}`` from :func:`matched_schedulers`, or beyond the saved
    states by place; every one where the checkpoint holds none), after
    the optimizer's state is loaded. MMEngine builds a scheduler with a
    first step at its building (``ConstantLR`` times ``factor``,
    ``LinearLR`` times ``start_factor``, ``MultiStepLR`` times ``gamma``
    for a milestone 0, ``CosineRestartLR`` its first period's value),
    and the optimizer state loaded after it replaced the value that step
    set, while its later steps, chained on the value they find, still
    came: an added ``ConstantLR(factor=0.5, end=2)`` never halved the lr
    yet doubled it at its end, an added warmup left it ``1 /
    start_factor`` times too high for the rest of the run, said nowhere.
    Now it is taken on the restored values (as a scheduler built after
    the load would): the ``ConstantLR`` halves the lr for its steps from
    the resume and its end restores it. A scheduler whose first step
    was not at its building (its ``begin`` above 0, or a
    ``ReduceOnPlateau...`` one) is left as it is: it takes that step at
    its begin, on the values it finds then; what its steps read of its
    building's is looked for now (the value of its first step computed,
    not set). ``schedulers``: the
    runner's built ones (a list, or one per optimizer by name);
    ``states``: the checkpoint's ``param_schedulers`` as loaded (None:
    none); ``section``: the config's ``param_scheduler``, to name them;
    ``path``: the checkpoint, for the refusal; ``left``: the steps the
    resumed run has left, ``{'epoch': ..., 'iter': ...}`` (None: not
    known), so that one whose ``begin`` the run never reaches is not
    judged (it never steps: it was refused, a run that trained to its
    end).

    Returns:
        list[str]: one line per scheduler whose step changed a value:
        its place, class and the values before and after.

    Raises:
        InputError: a scheduler whose step reads a setting its building
            put in the optimizer's param groups, which the loaded state
            replaced (``OneCycleLR``'s ``max_lr``: a ``KeyError``
            traceback after the first epoch trained, or, of one whose
            ``begin`` is above 0, after the epoch before its begin).
    """
    from mmengine.optim.scheduler import ReduceOnPlateauParamScheduler
    built = schedulers if isinstance(schedulers, dict) else \
        {None: schedulers}
    lines = []

    def refused(name, i, scheduler, exc, when):
        place = _scheduler_place(section, name, i)
        return InputError(
            f'--resume from {path}: {place} ({type(scheduler).__name__}), '
            f'without a saved state, cannot start {when}: its steps read '
            f'{exc}, which its building put in the param groups of '
            f'{_optimizer_who(name)} and the optimizer state the resume '
            'loads replaced; resume with the param_scheduler list of the '
            'run that wrote it, or start a new run from its weights '
            f'without --resume: --cfg-options load_from={path} '
            '--work-dir NEW_DIR')

    for name, mine in built.items():
        held = states.get(name) if isinstance(states, dict) else states
        held = held if isinstance(held, (list, tuple)) else ()
        for i, scheduler in enumerate(mine or ()):
            if i < len(held) and held[i] or \
                    getattr(scheduler, '_global_step', None) != 0:
                continue
            groups = scheduler.optimizer.param_groups
            # the optimizer's own groups, as the warning says them: an
            # OptimWrapper of several adds MMEngine's base_param_settings
            # (one scalar parameter, its base lr logged), counted among
            # them ('in its 63 param groups' of an optimizer's 62)
            own = getattr(scheduler.optimizer, 'optimizer',
                          scheduler.optimizer).param_groups
            param = scheduler.param_name
            if getattr(scheduler, 'use_betas', False):
                # a momentum scheduler of Adam's betas reads the momentum
                # its building put in the groups, which the load dropped
                for group in groups:
                    group.setdefault(param, group['betas'][0])
            begin = getattr(scheduler, 'begin', 0)
            steps_left = (left or {}).get(
                'epoch' if getattr(scheduler, 'by_epoch', True) else 'iter')
            if getattr(scheduler, 'last_step', None) == -1 and begin > 0 \
                    and not isinstance(scheduler,
                                       ReduceOnPlateauParamScheduler):
                if steps_left is not None and begin > steps_left:
                    continue  # its begin is after the run's end
                # its first step comes at its begin: computed now, not
                # set, for what it reads (it was a KeyError traceback at
                # its begin, the epochs before it trained)
                scheduler.last_step = 0
                try:
                    scheduler._get_value()
                except KeyError as exc:
                    raise refused(name, i, scheduler, exc,
                                  'at its begin after this resume') from None
                finally:
                    scheduler.last_step = -1
                continue
            if getattr(scheduler, 'last_step', None) != 0:
                continue
            before = [group[param] for group in own]
            scheduler._global_step = scheduler.last_step = -1
            try:
                scheduler.step()
            except KeyError as exc:
                raise refused(name, i, scheduler, exc,
                              'at this resume') from None
            after = [group[param] for group in own]
            if after != before:
                lines.append(
                    f'{_scheduler_place(section, name, i)} '
                    f'({type(scheduler).__name__}) takes its first step '
                    f'on the {param} {_optimizer_who(name)} resumes with: '
                    f'{_shown_values(before)} -> {_shown_values(after)}')
    return lines


def _step_schedulers(schedulers: Sequence[Any], n: int) -> None:
    """``n`` steps of the MMEngine schedulers ``schedulers``, built and
    stepped together (their step counts agree), in their order: a step
    outside a scheduler's ``[begin, end)`` only counts (MMEngine's
    ``_ParamScheduler.step``), so the steps where it rests are counted at
    once and only those where it sets a value are taken (a warmup over
    the first 500 of 78000 iterations: 500 steps, not 78000)."""
    at = schedulers[0]._global_step if schedulers else 0
    stop = at + n
    while at < stop:
        # the steps up to the next begin or end: the same ones active
        # (a step's count g sets a value where begin <= g < end)
        ahead = [edge - 1 for s in schedulers for edge in (s.begin, s.end)
                 if at + 1 < edge <= stop]
        until = min(ahead, default=stop)
        active = [s for s in schedulers if s.begin <= at + 1 < s.end]
        for _ in range(until - at if active else 0):
            for scheduler in active:
                scheduler.step()
        for scheduler in schedulers:
            if scheduler not in active:
                scheduler._global_step += until - at
        at = until


def removed_scheduler_effect(keys: Sequence[str], saved: dict, cfg,
                             saved_schedulers: Any,
                             found: Optional[dict] = None,
                             replays: Optional[Callable] = None,
                             world: int = 1,
                             built: Optional[Callable] = None
                             ) -> Optional[str]:
    """What a scheduler the resuming ``cfg`` removed (one of the changed
    schedule ``keys`` is its ``<...>.type``, set in the checkpoint's
    config's ``param_scheduler``, ``saved_schedulers``, and not in
    ``cfg``'s) left in the optimizer state of the checkpoint ``saved``:
    the setting it scheduled (``lr``: a ``ConstantLR`` of factor 0.5
    removed mid-way leaves 0.025 for the config's 0.05) as the optimizer
    resumes with it, each of its param groups' values where they differ,
    beside the config's ``optim_wrapper.optimizer`` value. MMEngine's
    resume restores the optimizer's param groups whole and each scheduler
    kept goes on from the lr it finds there: no scheduler brings the
    config's back (a ``ConstantLR`` would have at its ``end``). Where a
    kept scheduler schedules that setting too (a ``MultiStepLR`` past its
    milestone gives 0.01 of 0.1 by itself), this config's schedulers are
    replayed to the checkpoint's step (:func:`_replayed_schedule`): the
    value they alone give is no claim (nothing of the removed one is
    left), another is said to carry the removed one's effect, beside the
    value of this config's schedule alone; where they cannot be replayed
    reliably, only that the kept schedulers go on from it. None where no
    scheduler was removed, the checkpoint holds no optimizer state, or
    every group resumes with the config's value (or, with a kept
    scheduler of it, the one this config's schedule alone gives). A
    setting that this config schedules too, where the checkpoint holds no
    scheduler states (a best checkpoint): no scheduler of its run is
    loaded, removed or kept, and this config's start again from their
    first step on the value the optimizer resumes with, which the
    warning of that lack says (:func:`_restarted_on`); it was replayed
    as if the kept schedulers went on from the checkpoint's step.
    ``found``: :func:`scheduler_state_places`'s match of ``cfg``'s
    schedulers with ``saved_schedulers``, when made already (the resume
    notes make it once; None: made here); ``replays``: the resume's
    :func:`_schedule_replays` (None: made here). The config's value of
    each group is the one this config builds for it on ``world``
    processes (:func:`_built_values`; it was the one optimizer value,
    and a run of ``lr_mult`` groups, or one scaled by ``--auto-scale-lr``,
    was said to carry a removed scheduler's effect where it resumed with
    exactly the config's lr); ``built``: the resume's
    :func:`_built_values_of` (None: made here)."""
    removed = {}
    for key in keys:
        if not (key.startswith('param_scheduler.') and
                key.endswith('.type')):
            continue
        there = _scheduler_config(saved_schedulers, key)
        if isinstance(there, dict) and \
                _scheduler_config(cfg.get('param_scheduler'), key) is None:
            removed[key[:-len('.type')]] = there
    # where the resume loads the saved states by class, not by place
    # (scheduler_state_places), the removed ones are the saved ones none
    # of this config's takes: not those the keys' places name
    if found is None:
        found = scheduler_state_places(cfg.get('param_scheduler'),
                                       saved_schedulers,
                                       saved.get('param_schedulers'), '')[0]
    for name, places in found.items():
        head = _scheduler_place(saved_schedulers, name, 0)[:-1]
        for prefix in [p for p in removed if p.startswith(head) and
                       p[len(head):].isdigit()]:
            del removed[prefix]
        theirs = _optimizer_schedulers(saved_schedulers, name)
        removed.update({_scheduler_place(saved_schedulers, name, j):
                        theirs[j] for j in range(len(theirs))
                        if j not in places})
    states = saved.get('optimizer')
    if not removed or not isinstance(states, dict):
        return None
    replays = replays or _schedule_replays(saved, cfg, found)
    built_for = built or _built_values_of(saved, cfg, world)
    several = 'param_groups' not in states  # an OptimWrapperDict's
    # one sentence per optimizer and setting: the value its groups resume
    # with is what the last steps of all its removed schedulers left
    gone = {}
    for prefix, there in removed.items():
        param = _scheduled_param(there)
        name = prefix.split('.')[1] if prefix.count('.') else None
        # param_scheduler.<name>...: that optimizer's; else each one's
        names = ([name] if name in states else list(states)) if several \
            else [None]
        for name in names:
            gone.setdefault((name, param), []).append(
                f'{prefix} ({there.get("type")})')
    said = []
    for (name, param), which in gone.items():
        held = _optimizer_state(states, cfg, name)
        if not param or held is None:
            continue
        groups, optimizer = held
        here = optimizer.get(param)
        values = [g.get(param) for g in groups]
        kept = _optimizer_schedulers(cfg.get('param_scheduler'), name)
        also = any(_scheduled_param(s) == param for s in kept)
        if also and saved.get('param_schedulers') is None:
            # no scheduler state: this config's schedulers of it do not go
            # on, they start again on that value (the warning of the lack
            # says it, _restarted_on); replayed, they were said to go on
            continue
        built = built_for(name, param, len(groups))
        if not values or _as_built(values, built):
            continue
        # the saved run's places: this config's may hold another
        what = 'the saved ' + ' and '.join(which)
        are, its, whose = ('are', 'their last steps', 'schedulers\' last '
                           'steps are') if len(which) > 1 else \
            ('is', 'its last step', 'scheduler\'s last step is')
        held = _shown_values(values)
        who = _optimizer_who(name)
        setting = f'{_optimizer_key(name)}.{param}: {_shown(here)}' + (
            f', giving {_shown_values(built[0])} with its '
            f'{" and ".join(built[1])}' if built and built[1] else '')
        alone, same = replays(name, param) if also else (None, False)
        if same:
            continue  # this config's schedule alone gives it
        if alone is not None:
            gives = _shown(alone[0]) if len(set(alone)) == 1 else \
                ', '.join(map(_shown, alone))
            # the replay starts where the checkpoint's run started (its
            # initial_<param>, the resumed schedulers' base)
            starts = {g.get(f'initial_{param}', here) for g in groups}
            start = '' if starts == {here} else (
                f'; replayed from the initial {param} '
                f'{", ".join(map(_shown, sorted(starts)))} of the run '
                'that wrote it, where the resumed schedulers start')
            start += _added_note(cfg.get('param_scheduler'), param, saved,
                                 name, found)
            said.append(
                f'{what} {are} removed, yet {who} resumes with the {param} '
                f'{its} left, {held}, where this config\'s schedule alone '
                f'gives {gives} {_at_checkpoint_step(saved, start)}, and '
                f'this config\'s schedulers of {param} go on from it (this '
                f'config\'s {setting})')
        elif also:
            # the kept schedulers move it too, and their schedule cannot
            # be replayed reliably (a custom or plateau scheduler, an
            # epoch length not known)
            said.append(
                f'{what} {are} removed; {who} resumes with the {param} the '
                f'checkpoint\'s last step left, {held}, and this config\'s '
                f'schedulers of {param} go on from it (this config\'s '
                f'{setting}; whether the removed {whose} in it is not '
                'worked out here)')
        else:
            said.append(
                f'{what} {are} removed, yet {who} resumes with the {param} '
                f'{its} left, {held} (this config\'s {setting}, which no '
                'scheduler of this config brings back)')
    if not said:
        return None
    return ('; '.join(said) + ': MMEngine\'s resume restores the '
            'optimizer\'s param groups as the checkpoint holds them')


def swapped_scheduler_effect(saved: dict, cfg, saved_schedulers: Any,
                             found: dict, replays: Optional[Callable] = None
                             ) -> Optional[str]:
    """What a scheduler of another class than the saved one whose state it
    takes (a class replaced at its place, the count kept: saved
    ``[MultiStepLR]``, config ``[CosineAnnealingLR]``) goes on from.
    MMEngine's schedulers are chained (each step updates the value it
    finds in the optimizer), and the resume restores the optimizer's
    param groups whole: the swapped-in scheduler continues from the
    checkpoint's value, not from where this config's schedule would be (a
    cosine over 3 epochs of lr 0.05 resumed at epoch 1 from a MultiStepLR
    run's 0.05 gives 0.0167 at epoch 2, a cosine of the config 0.0125).
    Said with that value and, where this config's schedulers can be
    replayed to the checkpoint's step (:func:`_replayed_schedule`), the
    value they alone give there, one sentence per optimizer and setting
    naming every scheduler swapped in of it (two swapped at once said the
    same pair of values twice, once per scheduler); None where no
    scheduler takes a state of another class, the checkpoint holds no
    optimizer state, or the replayed value is the checkpoint's. ``found``:
    :func:`scheduler_state_places`'s match (optimizers not in it go by
    place), made once per resume by the caller; ``replays``: the
    resume's :func:`_schedule_replays`, each optimizer's schedule
    replayed once for the schedulers swapped in and those removed (None:
    made here, once for this call's)."""
    states = saved.get('param_schedulers')
    optimizers = saved.get('optimizer')
    if not isinstance(optimizers, dict) or states is None:
        return None
    replays = replays or _schedule_replays(saved, cfg, found)
    lists = states if isinstance(states, dict) else {None: states}
    said = []
    for name, held in lists.items():
        mine = _optimizer_schedulers(cfg.get('param_scheduler'), name)
        theirs = _optimizer_schedulers(saved_schedulers, name)
        places = found.get(name, list(range(len(held or ()))))
        state = _optimizer_state(optimizers, cfg, name)
        if state is None:
            continue
        groups, optimizer = state
        # one sentence per setting of this optimizer: the schedulers
        # swapped in go on from one value (it was said once per scheduler)
        swaps = {}
        for i, j in enumerate(places):
            if j is None or i >= len(mine) or j >= len(theirs):
                continue
            here, there = _scheduler_kind(mine[i]), \
                _scheduler_kind(theirs[j])
            param = here[1]
            if here[0] == there[0] or not param or not groups:
                continue
            swaps.setdefault(param, []).append(
                f'{_scheduler_place(cfg.get("param_scheduler"), name, i)}'
                f' ({here[0]}) takes the state of the saved '
                f'{_scheduler_place(saved_schedulers, name, j)} '
                f'({there[0]})')
        for param, which in swaps.items():
            values = [g.get(param) for g in groups]
            if not all(map(is_number, values)):
                continue
            alone, same = replays(name, param)
            if same:
                continue  # they go on from this config's own value
            they = 'they go' if len(which) > 1 else 'it goes'
            line = (f'{" and ".join(which)}, and MMEngine\'s schedulers are '
                    f'chained (each step updates the {param} it finds): '
                    f'{they} on from the {param} {_optimizer_who(name)} '
                    f'resumes with, {_shown_values(values)}')
            if alone is not None:
                added = _added_note(cfg.get('param_scheduler'), param,
                                    saved, name, found)
                line += (f', where this config\'s schedule alone gives '
                         f'{_shown_values(alone)} '
                         f'{_at_checkpoint_step(saved, added)}')
            else:
                line += (', not from this config\'s schedule at the '
                         'checkpoint\'s step (not worked out here)')
            said.append(line)
    return '; '.join(said) or None


def _shown(value: Any) -> str:
    """A value as a warning shows it: a float to 6 significant digits."""
    return f'{value:g}' if isinstance(value, float) else repr(value)


def _shown_values(values: Sequence[Any]) -> str:
    """Param groups' values as a warning shows them: one where all agree,
    else each."""
    if len(set(map(repr, values))) == 1:
        return _shown(values[0])
    return f'{", ".join(map(_shown, values))} in its {len(values)} ' \
        'param groups'


def _optimizer_state(optimizers: dict, cfg, name: Optional[str]
                     ) -> Optional[Tuple[List[dict], dict]]:
    """The param groups (those that are dicts) of the optimizer ``name``
    (None: the one) in a checkpoint's optimizer state ``optimizers`` (one
    optimizer's, or an ``OptimWrapperDict``'s by name), and that
    optimizer's config in ``cfg``'s ``optim_wrapper`` (``{}`` where it has
    none); None where the checkpoint holds no groups of it or the config
    no wrapper of it."""
    several = 'param_groups' not in optimizers
    state = optimizers.get(name) if several else optimizers
    groups = state.get('param_groups') if isinstance(state, dict) else None
    wrapper = cfg.get('optim_wrapper') or {}
    section = wrapper.get(name) if several else wrapper
    if not isinstance(groups, list) or not isinstance(section, dict):
        return None
    return ([g for g in groups if isinstance(g, dict)],
            section.get('optimizer') or {})


def _optimizer_who(name: Optional[str]) -> str:
    """The optimizer ``name`` (None: the one) as a warning names it."""
    return f'optimizer {name!r}' if name else 'the optimizer'


def _optimizer_key(name: Optional[str]) -> str:
    """The config key of the optimizer ``name`` (None: the one)."""
    return f'optim_wrapper.{name}.optimizer' if name \
        else 'optim_wrapper.optimizer'


def _built_values_of(saved: dict, cfg, world: int = 1
                     ) -> Callable[[Optional[str], str, int],
                                   Optional[Tuple[List[float], List[str]]]]:
    """:func:`_built_values` of the checkpoint ``saved`` and ``cfg`` on
    ``world`` processes for one resume, as a function of the optimizer's
    name (None: the one), the setting (``'lr'``) and its number of param
    groups, each worked out once, and the checkpoint's config text read
    once for all of them (the resume's warnings, :func:`_restarted_on`
    and :func:`removed_scheduler_effect`, each read it again for every
    optimizer and setting). Made per resume: nothing is kept past it."""
    @functools.lru_cache(maxsize=None)
    def saved_run() -> Optional[Tuple[Any, dict]]:
        # the checkpoint's optim_wrapper and what its lr scaling read
        # (auto_scale_lr, train_dataloader), where that run's config has
        # this config's paramwise_cfg and constructor; None else
        from ..config import config_text_section
        from ..utils.checkpoint import checkpoint_config
        text = checkpoint_config(saved)
        if text is None or schedule_changes(
                text, cfg, ('optim_wrapper.paramwise_cfg',
                            'optim_wrapper.constructor'), batch=False):
            return None
        return (config_text_section(text, 'optim_wrapper'),
                {key: config_text_section(text, key)
                 for key in ('auto_scale_lr', 'train_dataloader')})

    @functools.lru_cache(maxsize=None)
    def built(name: Optional[str], param: str, count: int):
        return _built_values(saved, cfg, name, param, count, world,
                             saved_run)
    return built


def _built_values(saved: dict, cfg, name: Optional[str], param: str,
                  count: int, world: int, saved_run: Callable
                  ) -> Optional[Tuple[List[float], List[str]]]:
    """The ``param`` value (``'lr'``) this config (``cfg``) builds for
    each of the ``count`` param groups of the optimizer ``name`` (None:
    the one) in the checkpoint ``saved``, and what beside that optimizer's
    value makes them (``['paramwise_cfg']``, ``['auto_scale_lr']``; empty
    where each is that value): the optimizer's value, the lr times
    ``--auto-scale-lr``'s ratio on ``world`` processes
    (:func:`auto_scale_ratio`), and where the wrapper has a
    ``paramwise_cfg`` or a ``constructor`` (they make groups of their own
    values, ``lr_mult``), each group's factor in the run that wrote the
    checkpoint: the value that run's config built for it (its meta's
    ``built_groups``: :func:`built_groups`) over that run's optimizer
    value (its lr scaled as that run scaled it: the ratio its meta
    records, ``auto_scale_ratio`` of :meth:`AtomicRunner.scale_lr`; for a
    checkpoint saved before that was recorded, the ratio worked out from
    its config, ``meta['cfg']``, and its ``meta['world_size']``), taken
    where that config has this config's ``paramwise_cfg`` and
    ``constructor``. The groups' ``initial_<param>`` does not tell it: a
    resume restores the one the first run built, so after a resume of
    another lr the factor was that lr over the later run's (a false built
    lr was said, or a differing one matched). None where that is not
    known: the config sets no such value, the checkpoint has no config or
    no record of what its run built (saved before it was recorded), its
    run had another ``paramwise_cfg`` or, without a recorded ratio,
    scaled the lr by a batch its config does not tell. ``saved_run``:
    the checkpoint's config as :func:`_built_values_of` reads it, once
    per resume."""
    wrapper = cfg.get('optim_wrapper') or {}
    section = wrapper.get(name) if name is not None else wrapper
    if not isinstance(section, dict):
        return None
    here = _dict_at(section, 'optimizer').get(param)
    scale = auto_scale_ratio(cfg, world, section) if param == 'lr' else 1.
    if not is_number(here) or scale is None:
        return None
    makers = [key for key in ('paramwise_cfg', 'constructor')
              if section.get(key) or wrapper.get(key)]
    factors = [1.] * count
    if makers:
        read = saved_run()
        if read is None:
            return None
        there, ran = read
        there = there.get(name) if isinstance(there, dict) and name \
            else there
        # that run's lr scaling: as it recorded it (auto_scale_ratio:
        # AtomicRunner.scale_lr), else (saved before it was recorded) by
        # its config and process count
        meta = saved.get('meta') or {}
        ratio = meta.get('auto_scale_ratio')
        if param != 'lr':
            ratio = 1.
        elif not (is_number(ratio) and ratio > 0):
            ratio = auto_scale_ratio(ran, meta.get('world_size'), there) \
                if isinstance(there, dict) else 1.
        there = _dict_at(there, 'optimizer').get(param)
        record = _dict_at(meta.get('built_groups'), name or '').get(param)
        if not is_number(there) or not there or ratio is None or \
                not isinstance(record, list) or len(record) != count or \
                not all(map(is_number, record)):
            return None
        factors = [value / (there * ratio) for value in record]
    if all(math.isclose(f, 1.) for f in factors):
        makers = []
    return ([here * f * scale for f in factors],
            makers + (['auto_scale_lr'] if scale != 1. else []))


def _dict_at(section: Any, key: str) -> dict:
    """``section[key]`` where both are dicts (a config's, or a part of a
    checkpoint's config text read as data, where code is
    :data:`~openselfsup.config.UNREADABLE`), else ``{}``."""
    value = section.get(key) if isinstance(section, dict) else None
    return value if isinstance(value, dict) else {}


def _as_built(values: Sequence[Any],
              built: Optional[Tuple[List[float], List[str]]]) -> bool:
    """Whether param groups' ``values`` are those this config builds for
    them (``built``: :func:`_built_values`; None, not known: no)."""
    return built is not None and all(
        is_number(v) and math.isclose(v, b, rel_tol=1e-9, abs_tol=1e-12)
        for v, b in zip(values, built[0]))


def _config_value(name: Optional[str], param: str, here: Any,
                  built: Optional[Tuple[List[float], List[str]]]
                  ) -> Optional[str]:
    """This config's value of ``param`` for the groups of the optimizer
    ``name`` as a warning says it: its optimizer's value ``here``
    (``this config's optim_wrapper.optimizer.lr 0.05``), or the values it
    builds (``built``: :func:`_built_values`) where they differ (``the
    0.1 that this config's optim_wrapper.optimizer.lr 0.05 and
    auto_scale_lr give``); None where they are not known."""
    if built is None:
        return None
    setting = f'this config\'s {_optimizer_key(name)}.{param} {_shown(here)}'
    if not built[1]:
        return setting
    return (f'the {_shown_values(built[0])} that {setting} and '
            f'{" and ".join(built[1])} give')


def auto_scale_ratio(cfg, world: int, wrapper: dict) -> Optional[float]:
    """The factor ``--auto-scale-lr`` (``auto_scale_lr.enable``) scales
    the lr of the optimizer of ``wrapper`` (its config in ``cfg``) by on
    ``world`` processes (:func:`scaled_batch`, the runner's rule,
    :meth:`AtomicRunner.scale_lr`); 1 where it is not enabled, None where
    the config does not tell (no base or per-process batch)."""
    scale = cfg.get('auto_scale_lr')
    if not isinstance(scale, dict) or not scale.get('enable'):
        return 1.
    base = scale.get('base_batch_size')
    loader = cfg.get('train_dataloader')
    batch = loader.get('batch_size') if isinstance(loader, dict) else None
    every = accumulation_count(wrapper.get('accumulative_counts', 1))
    if not (is_number(base) and base > 0 and is_int(batch) and every and
            is_int(world)):
        return None
    return scaled_batch(world, batch, every, base)[1]


def scaled_batch(world: int, batch: int, every: int, base: Any
                 ) -> Tuple[int, float]:
    """``--auto-scale-lr``'s linear rule: the total batch of an optimizer
    step (``world`` processes x ``batch`` x ``every`` accumulated) and the
    factor the lr is scaled by, that total over ``base_batch_size``."""
    total = world * batch * every
    return total, total / base


def _schedule_replays(saved: dict, cfg, found: dict
                      ) -> Callable[[Optional[str], str],
                                    Tuple[Optional[Tuple[float, ...]], bool]]:
    """What this config's (``cfg``'s) schedulers alone give the param
    groups of the checkpoint ``saved``'s optimizer state at its step
    (:func:`_replayed_schedule`), and whether the groups resume with just
    that (their value: nothing to say), as a function of the optimizer's
    name (None: the one) and the setting (``'lr'``) that replays each
    once: the warnings of one resume (:func:`removed_scheduler_effect`,
    :func:`swapped_scheduler_effect`) ask it of one optimizer's setting
    for each scheduler they name, and each asked for a replay of the run
    so far (per-iteration steps). None (and False) where the checkpoint
    or ``cfg`` holds no such optimizer, the groups' values are not all
    numbers, or the schedule cannot be replayed reliably. ``found``:
    :func:`scheduler_state_places`'s match, made once per resume."""
    @functools.lru_cache(maxsize=None)
    def alone(name: Optional[str], param: str):
        states = saved.get('optimizer')
        held = _optimizer_state(states, cfg, name) \
            if isinstance(states, dict) else None
        if held is None:
            return None, False
        groups, optimizer = held
        values = [g.get(param) for g in groups]
        if not all(map(is_number, values)):
            return None, False
        replayed = _replayed_schedule(
            _optimizer_schedulers(cfg.get('param_scheduler'), name), param,
            groups, optimizer.get(param), cfg, saved, name, found)
        if replayed is None:
            return None, False
        return tuple(replayed), all(
            math.isclose(v, a, rel_tol=1e-9, abs_tol=1e-12)
            for v, a in zip(values, replayed))
    return alone


def _at_checkpoint_step(saved: dict, more: str = '') -> str:
    """'at the checkpoint's step (epoch N, iter M)' of the checkpoint
    ``saved`` (its meta), ``more`` added inside the brackets."""
    meta = saved['meta']
    return (f'at the checkpoint\'s step (epoch {meta["epoch"]}, '
            f'iter {meta["iter"]}{more})')


def _optimizer_schedulers(schedulers: Any, name: Optional[str]) -> list:
    """The scheduler configs of a config's ``param_scheduler`` (a list,
    one scheduler, or either by optimizer name) that MMEngine builds for
    the optimizer ``name`` (None: the one optimizer; a list not by name
    schedules every optimizer, as MMEngine builds it)."""
    if _by_optimizer_name(schedulers):
        schedulers = schedulers.get(name) if name is not None else \
            [s for v in schedulers.values()
             for s in (v if isinstance(v, (list, tuple)) else [v])]
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    return [s for s in schedulers or () if isinstance(s, dict)]


def _scheduler_config(schedulers: Any, key: str) -> Optional[dict]:
    """The scheduler's config in ``schedulers`` (a config's
    ``param_scheduler``: a list, one scheduler, or either by optimizer
    name) that the flattened key ``key`` (``param_scheduler.1.end``,
    ``param_scheduler.head.0.end``) is a setting of; None where that
    config has no such scheduler."""
    return _scheduler_at(schedulers, key)[0]


def _scheduler_at(schedulers: Any, key: str
                  ) -> Tuple[Optional[dict], List[str]]:
    """:func:`_scheduler_config`, and the rest of ``key`` below that
    scheduler (``['milestones', '0']`` of ``param_scheduler.1.milestones.
    0``)."""
    node, parts = schedulers, key.split('.')[1:]
    while not (isinstance(node, dict) and 'type' in node):
        part = parts.pop(0) if parts else None
        if isinstance(node, (list, tuple)) and part is not None and \
                part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None, []
    return node, parts


def _unread_saved_setting(key: str, schedulers: Any,
                          saved_schedulers: Any
                          ) -> Optional[Tuple[str, str, str]]:
    """Where the schedule key ``key`` is a setting of the saved scheduler
    (``saved_schedulers``: the checkpoint's config's ``param_scheduler``
    in the order the resume matched its states, :func:`matched_schedulers`)
    whose state a scheduler of ``schedulers`` (this config's) of another
    class takes, and that class has no such setting (no argument of that
    name to the ``__init__`` of any class it is made of: a
    ``MultiStepLR``'s ``gamma`` or ``milestones`` for a
    ``CosineAnnealingLR``): the key of that scheduler of this config
    (``param_scheduler.0``), which the resume loads the saved value into
    (``__dict__.update``) and never reads, with the two classes' names
    (this config's, the saved one's). Else None (a setting it takes, or a
    class not registered)."""
    import inspect

    from ..registry import PARAM_SCHEDULERS
    here, rest = _scheduler_at(schedulers, key)
    there = _scheduler_config(saved_schedulers, key)
    if not (isinstance(here, dict) and isinstance(there, dict) and rest):
        return None
    kind, theirs = _scheduler_kind(here)[0], _scheduler_kind(there)[0]
    if kind == theirs:
        return None
    cls = here['type'] if isinstance(here['type'], type) else \
        PARAM_SCHEDULERS.get(kind)
    if cls is None:
        return None
    named = set()
    for base in cls.__mro__:
        try:
            params = inspect.signature(base.__init__).parameters.values()
        except (TypeError, ValueError):
            return None
        named.update(p.name for p in params if p.kind not in (
            p.VAR_POSITIONAL, p.VAR_KEYWORD))
    if _scheduler_attr(rest[0]) in named:
        return None
    return key[:-len('.'.join(rest)) - 1], kind, theirs


def _one_wrapper_key(key: str) -> str:
    """A flattened key of one wrapper of several
    (``optim_wrapper.<name>.optimizer.lr``: :func:`_wrapper_names`) as
    the key of a config of one wrapper (``optim_wrapper.optimizer.lr``);
    any other key unchanged."""
    parts = key.split('.')
    if parts[0] == 'optim_wrapper' and len(parts) > 2 and \
            parts[1] not in _WRAPPER_KEYS:
        return '.'.join([parts[0], *parts[2:]])
    return key


def _wrapper_names(section) -> List[str]:
    """The names of the wrappers an ``optim_wrapper`` config of several
    holds (:func:`~openselfsup.config.named_wrappers`, the launchers'
    walk: an ``OptimWrapperDict``, which its ``constructor`` builds): its
    keys whose value is a wrapper's config, one with an ``optimizer``.
    Empty for a config of one wrapper, or of named wrappers without a
    ``constructor``, which MMEngine's ``Runner.build_optim_wrapper``
    refuses."""
    return [name for name, value in (named_wrappers(section) or {}).items()
            if isinstance(value, dict) and 'optimizer' in value]


#: the config keys that make a run's training schedule, compared on
#: ``--resume`` (:func:`schedule_changes`); the batch is
#: ``total_batch_size`` where either config has it, else the per-process
#: ``train_dataloader.batch_size`` (the process count is not in the
#: checkpoint); every key of the optimizer's config, as the resume restores
#: each of its param groups' settings (LARS's ``eta`` was not compared, and
#: a resume with another one trained on with the checkpoint's, unsaid), and
#: of ``paramwise_cfg``, whose per-parameter settings are in those groups
#: (another ``lr_mult`` was dropped without a word), and of the
#: ``constructor`` that makes those groups (another one of the same group
#: count had its settings replaced by the saved ones, unsaid); and the
#: optimizer wrapper's ``accumulative_counts`` and ``clip_grad``, which the
#: checkpoint's state does not hold: the resume steps with the config's
#: (another one was said nowhere)
SCHEDULE_KEYS = ('train_cfg', 'param_scheduler', 'optim_wrapper.optimizer',
                 'optim_wrapper.paramwise_cfg',
                 'optim_wrapper.constructor',
                 'optim_wrapper.accumulative_counts',
                 'optim_wrapper.clip_grad')

#: the keys of one wrapper's config among :data:`SCHEDULE_KEYS`, compared
#: in each wrapper of a config of several too
#: (``optim_wrapper.<name>.optimizer``: :func:`_wrapper_names`; their
#: changes were said nowhere, a learning rate the resume restores as
#: those of a config of one)
_WRAPPER_KEYS = tuple(k.split('.', 1)[1] for k in SCHEDULE_KEYS
                      if k.startswith('optim_wrapper.'))


#: the training data keys whose change a ``--resume`` warns of (the
#: list, its subset and the views, also those the batched views of
#: ``augment_on`` make: :func:`data_changes`); the data preprocessor's
#: where the config sets the one its run builds
DATA_KEYS = ('train_dataloader.dataset', 'model.data_preprocessor')


def data_changes(text: Optional[str], cfg) -> List[Tuple[str, str]]:
    """:func:`schedule_changes` of :data:`DATA_KEYS` between ``cfg`` and
    the run whose config text is ``text``, the data preprocessors compared
    as each run builds them (:func:`~openselfsup.config
    .built_preprocessor`: the model's, else the top-level one, which
    MMEngine's Runner merges into a model without one; a change of a
    top-level-only one was not said) and named where ``cfg`` sets its
    own."""
    if not isinstance(text, str):
        return []
    where, _ = built_preprocessor(cfg)
    there, trained = built_preprocessor(text)
    # where both set it alike, read there as the text holds it (a model
    # section of code is not compared)
    saved = {} if there == where else \
        {'model': {'data_preprocessor': trained}} \
        if where == DATA_KEYS[1] else {where: trained}
    return schedule_changes(text, cfg, (DATA_KEYS[0], where), batch=False,
                            saved_sections=saved)

#: the key of a checkpoint's meta that records the contents of the files
#: its run's training datasets read (the lists: :func:`data_file_changes`)
DATA_FILES_KEY = 'data_files'


def train_data_files(cfg) -> dict:
    """The record of the files ``cfg``'s training datasets read
    (:func:`~openselfsup.datasets.data_files.data_file_records` of
    ``train_dataloader.dataset``), read now from the current directory:
    what a checkpoint's meta holds under :data:`DATA_FILES_KEY`."""
    from ..datasets.data_files import data_file_records
    return data_file_records(*_train_datasets(cfg))


def _train_datasets(cfg) -> Tuple[Any, str]:
    """``cfg``'s training dataset section and its dotted key."""
    return ((cfg.get('train_dataloader') or {}).get('dataset'),
            'train_dataloader.dataset')


def data_file_changes(saved: Any, cfg, said: Sequence[str]
                      ) -> List[Tuple[str, str]]:
    """``(key, line)`` of each file ``cfg``'s training datasets read whose
    contents differ from those the checkpoint's run read (``saved``, its
    meta's :data:`DATA_FILES_KEY` record; :func:`train_data_files` now):
    a list that gained or lost images at the same path, which a resume
    trained on without a word where the epoch length stayed. A list is
    compared by the entries the dataset reads (a ``.gz`` list gzipped
    again, its line ends or blank lines changed, is the same list), and
    named with the images it lists then and now; a JSON file a dataset
    of this project reads by the value it holds (re-indented, the same
    file); another file by its bytes
    (:func:`~openselfsup.datasets.data_files.same_contents`). Not said
    for a file whose setting or dataset ``data_root`` is
    among ``said`` (the keys already named as changed or moved: another
    file is read); none where the checkpoint holds no record, or one of
    another kind (older code: the SHA-1 of a list's bytes, which
    another gzip time stamp or line end changes; older code's record of
    a JSON file, its bytes, is compared with its bytes now)."""
    from ..datasets.data_files import LIST_ENTRIES, same_contents
    if not isinstance(saved, dict):
        return []
    out = []
    for name, now in train_data_files(cfg).items():
        before = saved.get(name)
        if same_contents(before, now) is not False:
            continue
        setting = name.split('/')[0]
        if setting in said or \
                f'{setting.rsplit(".", 1)[0]}.data_root' in said:
            continue
        count = 'other contents'
        if now.get('sha1_of') == LIST_ENTRIES:
            was, listed = before.get('entries'), now['entries']
            count = (f'{was} -> {count_words(listed, "image")} listed'
                     if was != listed else
                     f'{count_words(listed, "image")} listed, with other '
                     'paths, labels or order')
        out.append((setting, f'{name}: {now["path"]} is not the file the '
                    f'run read ({count})'))
    return out


def data_path_changes(text: Optional[str], cfg, there: Any,
                      here: Optional[str] = None
                      ) -> Tuple[List[Tuple[str, str]], List[str]]:
    """How the files and folders ``cfg``'s training datasets read differ
    from those of the run whose config text (``meta['cfg']``) is
    ``text``, each resolved as the dataset resolves it
    (:func:`~openselfsup.datasets.data_files.dataset_paths`: ``data_root``,
    ``ann_file``, and the files and folders of this project's datasets)
    and a relative one from the run's current directory (``there``: its
    meta's ``cwd``, :func:`run_meta`) and this one's (``here``, default
    :func:`os.getcwd`), compared as real paths (a link to the same images
    is no difference), in each dataset config of the same type on both
    sides.

    Returns:
        tuple: the moves, ``(key, line)`` of each path setting given
        alike on both sides that names another place (``data/NCT/`` read
        from another folder holding its own ``data/NCT``, which
        ``--resume`` trained on without a word;
        ``train_dataloader.dataset.data_root: /a/data/NCT -> /b/data/NCT
        ('data/NCT/' read from another directory)``; a path under a
        ``data_root`` that moved is the ``data_root``'s line), and the
        keys of path settings written otherwise that name the same place
        (``'data/NCT/'``, ``'./data/NCT'`` and its absolute path: no
        change of :data:`DATA_KEYS`). Where ``there`` is not recorded (a
        checkpoint of older code) no move is known, and the paths are
        the same place where written alike but for
        :func:`os.path.normpath` (``'data/NCT/'`` and ``'./data/NCT'``;
        not a relative path and an absolute one, which depends on the
        run's directory). Both empty where ``text`` holds no dataset read
        as data. Other
        settings (``split_name``, ``layout``, ``img_suffix``) are
        compared as written, never as paths.
    """
    from ..config import config_dicts, trained_dataset, type_name
    from ..datasets.data_files import dataset_paths
    here = os.getcwd() if here is None else here
    saved = trained_dataset(text) if text is not None else None
    mine = (cfg.get('train_dataloader') or {}).get('dataset')
    if saved is None or mine is None:
        return [], []
    # the run's directory not recorded (older code): where a relative
    # path led is not known, and one folder written two ways
    # (os.path.normpath) alone is no change
    recorded = isinstance(there, str) and os.path.isabs(there)
    old = dict(config_dicts(saved, 'train_dataloader.dataset'))
    moves, spelled = [], []
    for key, node in config_dicts(mine, 'train_dataloader.dataset'):
        before = old.get(key)
        if not isinstance(before, dict) or 'type' not in node or \
                type_name(node.get('type')) != type_name(before.get('type')):
            continue
        # {setting: (real path, path as the dataset joins it)}
        places = [{name: (os.path.realpath(os.path.join(cwd, path))
                          if recorded else os.path.normpath(path), path)
                   for name, path, _, how in dataset_paths(side) if not how}
                  for side, cwd in ((before, there), (node, here))]
        root = node.get('data_root')
        moved_root = places[0].get('data_root', (None,))[0] != \
            places[1].get('data_root', (None,))[0]
        for name, (place, path) in places[1].items():
            if name not in places[0]:
                continue
            raws = [_setting(side, name) for side in (before, node)]
            if places[0][name][0] == place:
                if raws[0] != raws[1]:
                    spelled.append(f'{key}.{name}')
                continue
            # a path joined to a data_root that moved: the root's line
            under_root = name != 'data_root' and isinstance(root, str) and \
                path != os.path.expanduser(raws[1])
            if recorded and raws[0] == raws[1] and \
                    not (moved_root and under_root):
                where = f'{key}.{name}'
                moves.append((where, f'{where}: {places[0][name][0]} -> '
                               f'{place} ({raws[1]!r} read from another '
                               'directory)'))
    return moves, spelled


def _setting(node: dict, name: str) -> Any:
    """The value of a dataset config ``node`` at the dotted ``name``
    (``data_prefix.img_path``), None where it has none."""
    for part in name.split('.'):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def schedule_changes(text: Optional[str], cfg,
                     keys: Sequence[str] = SCHEDULE_KEYS,
                     batch: bool = True,
                     saved_sections: Optional[dict] = None
                     ) -> List[Tuple[str, str]]:
    """How ``cfg``'s training schedule differs from that of the run whose
    config text (``meta['cfg']``) is ``text``: one
    ``(key, '<key>: <there> -> <here>')`` per differing key (flattened,
    ``param_scheduler.0.end``) of :data:`SCHEDULE_KEYS` and the batch
    (``train_cfg.max_epochs: 2 -> 4``; ``unset`` for a key one side lacks:
    :func:`~openselfsup.config.key_change`; one side's value of a key the
    other leaves unset is no change where it is MMEngine's default,
    :func:`_trained_value`),
    in key order. The text is read as data, never executed; a part of it
    that is code is not compared. ``saved_sections``: top-level sections
    of the text to compare as given instead (the ``param_scheduler`` in
    the order the resume matched its states to ``cfg``'s:
    :func:`matched_schedulers`).

    Returns:
        list[tuple[str, str]]: the key and the line for the log; empty
        when the schedules agree or ``text`` is None.
    """
    from ..config import UNREADABLE, config_text_section
    if text is None:
        return []
    keys = list(keys)
    saved_total = config_text_section(text, 'total_batch_size')
    if batch:
        keys.append('total_batch_size' if 'total_batch_size' in cfg or
                    saved_total is not None else
                    'train_dataloader.batch_size')
    # the same keys in each wrapper of a config of several (either side's)
    wrapper = config_text_section(text, 'optim_wrapper')
    names = dict.fromkeys([*_wrapper_names(wrapper),
                           *_wrapper_names(cfg.get('optim_wrapper'))])
    keys += [f'optim_wrapper.{name}.{sub}' for name in names
             for sub in _WRAPPER_KEYS
             if f'optim_wrapper.{sub}' in keys]
    sections = dict(saved_sections or {})
    old, new = {}, {}
    for key in keys:
        top, *rest = key.split('.')
        if top not in sections:
            sections[top] = config_text_section(text, top)
        old.update(_flat_at(sections[top], rest, key))
        new.update(_flat_at(cfg.get(top), rest, key))
    code = _code_keys(old, UNREADABLE)
    changes = []
    for key in dict.fromkeys([*old, *new]):  # the configs' order
        there, here = old.get(key, UNSET), new.get(key, UNSET)
        # a value spelled out as MMEngine's default is no change (the
        # line names them as written)
        if there != here and not key_below(key, code) and \
                _trained_value(key, there, old) != \
                _trained_value(key, here, new):
            changes.append((key, key_change(key, there, here)))
    return changes


def _trained_value(key: str, value: Any, flat: dict) -> Any:
    """The value a run trains with for the flattened schedule key ``key``
    whose config value (``flat``: that config's keys, flattened) is
    ``value``: where it is :data:`UNSET`, MMEngine's default:
    ``OptimWrapper``'s ``accumulative_counts`` (1), the
    ``DefaultOptimWrapperConstructor``, and, in a ``clip_grad`` that is
    set, its ``type`` ``'norm'`` and the arguments of the clipping function
    it names (torch's ``clip_grad_norm_``: ``norm_type`` 2.0,
    ``error_if_nonfinite`` False, ...); ``accumulative_counts=1`` was
    warned of as ``unset -> 1``; each wrapper's of several alike
    (``optim_wrapper.<name>.clip_grad.type``: :func:`_one_wrapper_key`).
    Else ``value``."""
    if value is not UNSET:
        return value
    import inspect
    one = _one_wrapper_key(key)  # each wrapper of several as one
    if one == 'optim_wrapper.accumulative_counts':
        from mmengine.optim import OptimWrapper
        return inspect.signature(OptimWrapper).parameters[
            'accumulative_counts'].default
    if one == 'optim_wrapper.constructor':
        # MMEngine's build_optim_wrapper
        return 'DefaultOptimWrapperConstructor'
    clip = 'optim_wrapper.clip_grad.' if one == key else \
        f'optim_wrapper.{key.split(".")[1]}.clip_grad.'
    if not key.startswith(clip) or not any(k.startswith(clip) for k in flat):
        return value
    kind = flat.get(f'{clip}type', 'norm')  # OptimWrapper's default
    if key == f'{clip}type':
        return kind
    import torch
    func = dict(norm=torch.nn.utils.clip_grad_norm_,
                value=torch.nn.utils.clip_grad_value_).get(kind)
    arg = key[len(clip):]
    params = inspect.signature(func).parameters if func else {}
    if arg in params and \
            params[arg].default is not inspect.Parameter.empty:
        return params[arg].default
    return value


def _flat_at(node, path: List[str], key: str) -> dict:
    """``{key.sub: value}`` of the values at ``path`` inside ``node`` (a
    config section, a dict or list), flattened
    (:func:`~openselfsup.config.flat_config`); empty where there is
    nothing."""
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return {} if node is None else flat_config(node, f'{key}.')


def check_new_run_dir(work_dir: str, cfg, resumed: Optional[str] = None,
                      ways_out: Optional[str] = None) -> List[str]:
    """The checkpoints a new (not resumed) run in ``work_dir`` writes over,
    or a run resumed from ``resumed``, another run's checkpoint.

    Returns:
        list[str]: the file names of the earlier run's checkpoints (empty
        when there are none), for the run's warning.

    Raises:
        InputError: they are of another model (:func:`model_difference`
            on the one ``--resume`` would read: the first key that
            differs), or of the same model trained with other
            hyper-parameters (``model.balance: 0.3 -> 0.5``, each named
            old and new in the words of the resume's warning,
            :func:`~openselfsup.config.hyper_parameter_changes_said`): a
            ``--work-dir`` naming another run, whose checkpoints this run
            would replace under the same names. The ways out of the
            latter are the caller's (:func:`_other_run_ways`).
    """
    from ..utils.checkpoint import checkpoint_config
    earlier = [os.path.basename(p) for p in checkpoints_in(work_dir)]
    newest = find_resumable_checkpoint(work_dir) if earlier else None
    if not newest:
        return earlier
    saved = saved_checkpoint(newest)
    text = checkpoint_config(saved)
    diff = model_difference(newest, cfg, text)
    if diff:
        raise InputError(
            f'{work_dir} holds the run of another model ({newest}, {diff}); '
            'training here would write over its checkpoints: give another '
            '--work-dir (or remove that run\'s checkpoints)')
    # the same model, trained with other hyper-parameters: the resume's
    # words, and the caller's ways out
    changed = hyper_parameter_changes_said(text, cfg)
    if changed:
        raise InputError(
            f'{work_dir} holds the checkpoints of another run ({newest}): '
            f'{changed}; {_other_run_ways(saved, cfg, resumed, ways_out)}')
    return earlier


def _other_run_ways(saved, cfg, resumed: Optional[str],
                    ways_out: Optional[str]) -> str:
    """The end of :func:`check_new_run_dir`'s refusal of a run into the
    work dir of a run of other hyper-parameters (whose newest checkpoint
    is ``saved``): what would write over its checkpoints and the ways out
    its caller has. A caller's own, ``ways_out`` (the lambda sweep's: its
    ``--resume`` is another thing); a resume of another run's checkpoint,
    ``resumed``: another ``--work-dir`` alone (``--resume`` is given, and
    goes on with that checkpoint's run, not this work dir's); else a new
    ``tools/train.py`` run's: ``--resume``, which goes on with that run
    with the changed values, or another ``--work-dir``. A ``--resume`` of a
    run at the end of this config's schedule trains nothing
    (:func:`~openselfsup.utils.checkpoint.run_position`): the line says to
    raise the schedule's end with it."""
    from ..utils.checkpoint import run_position
    undo = ' (or remove that run\'s checkpoints)'
    if ways_out:
        return f'this run would write over them: {ways_out}'
    if resumed:
        return (f'resuming {resumed} here would write over them: give '
                f'another --work-dir to go on with it{undo}')
    where = run_position(saved, cfg.get('train_cfg'),
                         cfg.get('default_hooks'))
    if where is not None and where[1] >= where[3]:
        unit, done, key, end, _ = where
        resume = (f'that run finished ({unit} {done}, train_cfg.{key} = '
                  f'{end} here), so --resume alone trains nothing: raise '
                  f'train_cfg.{key} and give --resume to go on with it with '
                  'the changed values')
    else:
        resume = ('give --resume to go on with that run with the changed '
                  'values')
    return (f'a new run here would write over them: {resume}, or another '
            f'--work-dir for a new run{undo}')


def _by_ranks(values: Sequence[Any]) -> str:
    """Each rank's value (``values``, by rank), the ranks of one value
    together, three named at most: ``rank 0: a; ranks 1, 2, 3 ...: b``."""
    ranks: Dict[str, List[int]] = {}
    for rank, value in enumerate(values):
        ranks.setdefault(str(value), []).append(rank)
    return '; '.join(
        f'rank{"s" if len(r) > 1 else ""} '
        f'{", ".join(map(str, r[:3]))}{" ..." if len(r) > 3 else ""}: '
        f'{value}' for value, r in ranks.items())


def missing_dirs(path: str) -> List[str]:
    """The folders on the way to ``path`` that do not exist yet (``path``
    itself first, then its parents): what making it makes, for
    :func:`remove_empty_dirs` after a failed start."""
    path = os.path.abspath(path)
    missing = []
    while not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def remove_empty_dirs(dirs: List[str]) -> None:
    """Remove the folders ``dirs`` (:func:`missing_dirs`' order, deepest
    first) while they are empty; the first that is not stops it (one
    removed already is passed)."""
    for path in dirs:
        try:
            os.rmdir(path)  # only if empty
        except FileNotFoundError:
            continue
        except OSError:
            break


@contextmanager
def removed_if_left_empty(path: str) -> Iterator[None]:
    """At the body's end, success or failure, remove the folders it made on
    the way to ``path`` (:func:`missing_dirs`, taken before it) while they
    are empty (:func:`remove_empty_dirs`): a failed start, or a lock
    released over nothing else, leaves no empty work dir behind."""
    made = missing_dirs(path)
    try:
        yield
    finally:
        remove_empty_dirs(made)


#: the file :func:`work_dir_lock` stands for in a work dir: its lock file
#: is ``<work_dir>/.train.lock`` (hidden: no ``*.pth`` or ``*`` glob, no
#: checkpoint or log listing takes it)
_TRAIN_LOCK = 'train'


@contextmanager
def work_dir_lock(work_dir: str, rank: int = 0) -> Iterator[List[str]]:
    """One training run at a time in ``work_dir``: the body (the run's
    build, training and last checkpoint save) holds the lock
    ``<work_dir>/.train.lock`` (:func:`~openselfsup.utils.io.locked`,
    released at the end or when the process dies, a SIGKILL included); a
    second run (a Slurm script submitted twice, a requeue while the old
    job runs) is refused at once, before it writes anything. Ranks other
    than 0 take no lock: their rank 0 holds it for the run.

    Holding it, rank 0 removes the partial checkpoints that a save killed
    mid-way (rank 0 SIGKILLed, out of memory) left in ``work_dir``
    (``.epoch_N.pth.<pid>@<host>.*.tmp.pth``, hundreds of MB each on the
    real model; the next save removed them, not a run that failed or
    stopped before it), those whose writer is gone, a process of this
    host no longer alive, or one that had this process's pid (reused:
    pid 1 in a container of a fixed host name), as this process has
    written none there yet: no other run writes there while the lock is
    held. Another host's, or a live process's, are left (the saves'
    own rule judges another host's by age:
    :func:`~openselfsup.utils.io.remove_stale_temporaries`). What was
    removed is said at once on stderr, one ``note:`` line in one write
    (:func:`killed_saves_note`, :func:`~openselfsup.utils.errors.say`:
    the other ranks start meanwhile), which a start that then fails (a
    setting the build refuses) keeps (review r141: the line went only to
    the run's log, which a failed start removes, and the checkpoints went
    without a word); the body gets the line (a list of one line, or
    none) for the run's log file.

    The work dir and parents the lock made are removed again if empty at
    the end (a failed start leaves none: :meth:`AtomicRunner.
    discard_failed_start` no longer sees them as made for the run).

    Raises:
        InputError: another run holds the lock, naming it (pid@host and
            when it started, from the lock file).
    """
    if rank != 0:
        yield []
        return

    def busy(holder: str) -> str:
        return (f'{work_dir}: another training run is writing there '
                f'({holder}); wait for it to end (then --resume continues '
                'it) or give another --work-dir (if it died with its node '
                'and NFS still holds its lock, remove '
                f'{lock_file(os.path.join(work_dir, _TRAIN_LOCK))})')
    with removed_if_left_empty(work_dir), locked(
            os.path.join(work_dir, _TRAIN_LOCK), busy=busy):
        removed = stale_temporaries_removed(os.path.join(work_dir, '*.pth'),
                                            elsewhere=False, own=True)
        said = [killed_saves_note(work_dir, removed)] if removed else []
        for line in said:  # one write: the other ranks start meanwhile
            say(f'note: {line}')
        yield said


def killed_saves_note(work_dir: str,
                      removed: Sequence[Tuple[str, int, int]]) -> str:
    """The line of :func:`work_dir_lock`'s removal of the partial
    checkpoints ``removed`` (``(path, writer's pid, bytes)``, of
    :func:`~openselfsup.utils.io.stale_temporaries_removed`) from
    ``work_dir``: their writers' pids, and which of them is this
    process's own now (reused)."""
    pids = sorted({pid for _, pid, _ in removed})
    mine = f'; {os.getpid()} is this run\'s pid now, reused' \
        if os.getpid() in pids else ''
    writers = (f'a process of this host that is gone (pid {pids[0]}'
               if len(pids) == 1 else
               'processes of this host that are gone (pids '
               + ', '.join(map(str, pids)))
    size = sum(b for _, _, b in removed) / 2 ** 20
    names = ', '.join(sorted(os.path.basename(p) for p, _, _ in removed))
    return (f'{work_dir}: removed {len(removed)} partial checkpoint(s) '
            f'({size:.1f} MiB) of a save killed mid-way, written by '
            f'{writers}{mine}): {names}')


#: set while a :func:`launcher_rendezvous` is open: one opened inside it
#: (the AtomicRunner's, in a build that ``apis.train`` wraps for every
#: kind of runner) leaves the port and its refusal to the outer one
_RENDEZVOUS_OPEN: List[bool] = []


@contextmanager
def launcher_rendezvous(launcher: str, dist_cfg: Optional[dict] = None
                        ) -> Iterator[None]:
    """Around MMEngine's ``init_dist`` of a ``--launcher pytorch`` or
    ``slurm`` run (the runner's ``setup_env``, and ``apis.train``'s build
    of any runner, MMEngine's own of a config without ``runner_type``
    too). A second group in this process on the store of the earlier
    run's group is refused first (:func:`check_new_store`). Under Slurm, a
    job whose environment sets no ``MASTER_PORT`` meets on a port of its
    own, derived from its ``SLURM_JOB_ID`` and ``SLURM_STEP_ID``
    (:func:`~openselfsup.utils.launcher.slurm_job_port`, the same in every
    task of the step; MMEngine's ``_init_dist_slurm`` reads
    ``MASTER_PORT``, else takes 29500, so two jobs on one node collided);
    a ``MASTER_PORT`` given, or the config's ``env_cfg.dist_cfg.port``
    (which MMEngine sets over ``MASTER_PORT``), is used as it is. A port
    taken on the node of rank 0 (torch's ``DistNetworkError``,
    EADDRINUSE, a traceback) is one line naming it and the way out: the
    ``MASTER_PORT`` to give, or, where the config gave the port, the
    ``--cfg-options env_cfg.dist_cfg.port`` (a ``MASTER_PORT`` given
    then changed nothing). A build that fails inside it leaves
    ``MASTER_PORT`` as it found it (the derived port, or the config's,
    which MMEngine sets, stayed for a later build in the process, read as
    exported: its refusal named ``MASTER_PORT``). Nothing is done under
    another launcher, where
    a process group is already up (``init_dist`` is skipped there) or
    inside another :func:`launcher_rendezvous`.

    Args:
        launcher (str): the runner's launcher.
        dist_cfg (dict, optional): the config's ``env_cfg.dist_cfg``.

    Raises:
        InputError: the rendezvous port is taken, or is the earlier
            run's (:func:`check_new_store`).
    """
    if launcher not in ('pytorch', 'slurm') or is_distributed() \
            or _RENDEZVOUS_OPEN:
        yield
        return
    from torch.distributed import DistNetworkError
    given = (dist_cfg or {}).get('port')
    slurm = launcher == 'slurm'
    exported = os.environ.get('MASTER_PORT')
    derived = None if given is not None or not slurm else slurm_job_port()
    if derived is not None:
        os.environ['MASTER_PORT'] = str(derived)
    _RENDEZVOUS_OPEN.append(True)
    met = False
    try:
        check_new_store(launcher, given)
        yield
        met = True
    except DistNetworkError as exc:
        if not slurm or 'EADDRINUSE' not in str(exc):
            raise
        port = str(given) if given is not None else \
            os.environ.get('MASTER_PORT', '29500')
        source = ('env_cfg.dist_cfg.port' if given is not None else
                  slurm_port_source() if derived is not None else
                  'MASTER_PORT' if exported
                  else "MMEngine's default: no SLURM_JOB_ID")
        where = os.environ.get('MASTER_ADDR') or "the job's first node"
        raise InputError(port_taken_line(
            port, f'{where} (rank 0\'s node)',
            'env_cfg.dist_cfg.port' if given is not None else 'MASTER_PORT',
            'tools/slurm_train.sh', source, option=given is not None,
            slurm=True, sharer=slurm_port_sharer() if derived is not None
            else '')) from None
    finally:
        _RENDEZVOUS_OPEN.pop()
        if slurm and not met:
            # the port set here (or MMEngine's) no later build's
            if exported is None:
                os.environ.pop('MASTER_PORT', None)
            else:
                os.environ['MASTER_PORT'] = exported


#: where a run of this process had a process group that its
#: :func:`ends_its_process_group` body started (up at the body's end, or
#: destroyed in the body: a runner built there was wrapped), the last
#: such group's store as MMEngine's ``env://`` met there:
#: ``(MASTER_ADDR, MASTER_PORT)`` of the environment at the body's end
#: (either None where it named none); None where no run had one. With no
#: group up now, that group has ended, where this module ended it or
#: its caller did (:func:`check_runs_once`, :func:`check_new_store`)
_EARLIER_GROUP: Optional[Tuple[Optional[str], Optional[str]]] = None


def _store_of_group() -> Tuple[Optional[str], Optional[str]]:
    """``(MASTER_ADDR, MASTER_PORT)`` of the environment now: where
    ``env://`` (MMEngine's ``init_dist`` under ``pytorch`` and ``slurm``,
    which sets both under Slurm) meets the group's store."""
    return os.environ.get('MASTER_ADDR'), os.environ.get('MASTER_PORT')


def check_new_store(launcher: str, port_option: Optional[Any] = None
                    ) -> None:
    """Refuse a run's group, as it is about to start (in
    :func:`launcher_rendezvous`), on the store where the group of an
    earlier run of this process met (:data:`_EARLIER_GROUP`: the same
    ``MASTER_ADDR`` and port; the port ``port_option``, the config's
    ``env_cfg.dist_cfg.port``, where given, else ``MASTER_PORT``) in a
    process of more than one (``WORLD_SIZE``; under Slurm,
    ``SLURM_NTASKS``). Rank 0 starts that store with its group and ends it
    with its group, which it does after the others: the last checkpoint
    is rank 0's. A rank that left its first run earlier and started its
    second one met rank 0's first store, still up, and the second run
    failed or hung: rank 0 starting its new store waited for a peer that
    had joined the old one (in the CI now and then, where the second run
    of a two-process test hung; every time with rank 0's end of the group
    held back 3 or 4 s: the peer's gloo read failed, rank 0 waited; with
    a new ``MASTER_PORT`` for the second run, both trained). A new port is
    safe: a peer early at it waits for rank 0's new store there. One
    process (no peer) and a store elsewhere pass. Under Slurm without
    ``MASTER_ADDR`` (a caller that put the environment back), the store is
    on the job's first node, as the earlier run's was: the port alone
    decides. Torchrun's workers whose rank 0 starts the store (its agent's
    not shared: ``TORCHELASTIC_USE_AGENT_STORE`` not ``'True'``) are
    judged so too; a second run on torchrun's agent store is refused
    earlier, whatever its port (:func:`check_runs_once`).

    Raises:
        InputError: the earlier run's store, naming it and the setting
            to change (``MASTER_PORT``, or ``env_cfg.dist_cfg.port``
            where the config gave the port).
    """
    if _EARLIER_GROUP is None or _EARLIER_GROUP[1] is None:
        return
    size = os.environ.get('SLURM_NTASKS' if launcher == 'slurm'
                          else 'WORLD_SIZE')
    addr, port = _store_of_group()
    if addr is None and launcher == 'slurm':
        # MMEngine's _init_dist_slurm takes the job's first node, as the
        # earlier run of this job's process did (it set MASTER_ADDR then;
        # a caller may have put the environment back since)
        addr = _EARLIER_GROUP[0]
    if port_option is not None:
        port = str(port_option)
    if size == '1' or (addr, port) != _EARLIER_GROUP:
        return
    setting = ('env_cfg.dist_cfg.port' if port_option is not None
               else 'MASTER_PORT')
    raise InputError(
        f'train(launcher={launcher!r}): the process group of an earlier '
        f'run in this process met on the store at {addr}:{port}, which '
        "can still be up at a peer's start, and a second group there can "
        f'hang: give this run a new {setting} in every process, or start '
        'new processes for each distributed run')


def _on_torchruns_store() -> bool:
    """Whether this process is a worker of torchrun's elastic agent whose
    store its ``env://`` rendezvous joins: ``TORCHELASTIC_USE_AGENT_STORE``
    is ``'True'``, as torch reads it
    (``torch/distributed/rendezvous.py``, ``_torchelastic_use_agent_store``:
    every rank, rank 0 too, then a client of the agent's store at
    ``MASTER_ADDR:MASTER_PORT``). The agent sets it in each worker's
    environment (``torch/distributed/elastic/agent/server/
    local_elastic_agent.py``: ``str(rdzv_handler.use_agent_store)``,
    True for torchrun's static rendezvous, ``--master_addr`` /
    ``--master_port``, and for its c10d one, ``--standalone``, unless
    ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1``, where it is ``'False'``:
    rank 0 starts the store, as set by hand; a second run of two
    processes trained, measured once, and on the same port is refused
    now, :func:`check_new_store`). Unset where
    the user sets ``MASTER_ADDR``, ``RANK``... by hand or under Slurm:
    rank 0 starts a store of its own with each group. (torch also asks
    that the rendezvous's endpoint be the agent's own, ``MASTER_ADDR:
    MASTER_PORT``; MMEngine's ``env://`` reads both from the environment
    torchrun set, so they are, unless a caller changes them between
    runs.)"""
    return os.environ.get('TORCHELASTIC_USE_AGENT_STORE') == str(True)


def check_runs_once(launcher: Optional[str]) -> None:
    """Refuse a run under torchrun (``launcher='pytorch'``, torchrun's
    agent store: :func:`_on_torchruns_store`) in a process where an
    earlier run had a process group (:data:`_EARLIER_GROUP`) and none is
    up now, before anything is built. The earlier group was ended by
    this module (:func:`ends_its_process_group`) or by the caller
    (``dist.destroy_process_group()`` after its ``runner.val()``, or in
    the body): torch names a new default group as it named the first
    (its count of groups reset by the destroy), on the agent's store,
    which outlives the group and keeps the first group's keys. What
    follows is a race, not a certainty: after a group this module
    ended, gloo's ``connectFullMesh`` failed (connection reset, review
    r172) in some runs of two processes and both runs trained in others
    (review r176: 1 failure in 4 with the check taken out); after the
    caller's own destroy, its runner's DDP wrapper still holding the old
    group, the second run's start hung without a word in 4 of 6 runs
    (ended by a 300 s timeout; the other 2 trained). Where rank 0
    starts a store of its own with each group (``env://`` with
    ``MASTER_ADDR``, ``RANK``... set by hand; Slurm's path, MMEngine's
    ``env://``), a second run is let through here, and refused as its
    group starts where it would meet on the earlier run's port
    (:func:`check_new_store`: the hang that plain torch's second group
    on such stores met now and then, review r176, and this project's in
    the CI); on a new port it trains. A run without a launcher, one in
    a group that is up (the caller's own) and a torchrun run of one
    process (``WORLD_SIZE`` 1: no peer to connect to; its second run
    trained) pass too.

    Raises:
        InputError: a second torchrun run in this process.
    """
    if launcher == 'pytorch' and _EARLIER_GROUP is not None \
            and not is_distributed() \
            and _on_torchruns_store() \
            and os.environ.get('WORLD_SIZE') != '1':
        raise InputError(
            f'train(launcher={launcher!r}): an earlier run in this process '
            "had a process group, now ended, and a second one on "
            "torchrun's store can fail or hang: start a new process for "
            'each distributed run (tools/dist_train.sh)')


def _end_process_group(runners: Sequence[Callable[[], Any]] = ()) -> bool:
    """Destroy this process's default process group, if it has one, and
    free it while the interpreter is up. ``destroy_process_group`` drops
    torch's own references to the group alone: the model wrapper (DDP,
    its reducer) of a runner built in the run kept the gloo group, and
    its worker threads, up to the process's exit, where a worker that
    let go of its last collective's work while the interpreter shut down
    (the work's thread-local state holds a Python object, whose release
    takes the GIL there: ``pthread_exit`` through a ``noexcept``
    destructor) ended the process in ``terminate called without an
    active exception``, SIGABRT. Each runner of ``runners`` (weak
    references; one collected is passed over) gets its model back
    unwrapped (``runner.model`` the wrapper's ``module``: the group is
    gone, the wrapper's collectives no longer run); a wrapper left in
    reference cycles is collected (``gc.collect``). The group's Python
    object is let go last, so that its destruction, which joins gloo's
    worker threads, runs with the GIL released (torch's holder of it
    releases it), a worker that still holds a work taking it to let go.
    A group that something else still holds (a runner that is not an
    :class:`AtomicRunner`, a caller's wrapper; ``torch.distributed.nn``'s
    functions, where that module is imported once the group is up: their
    default argument, ``group.WORLD``; ``mmengine.runner``, which this
    module imports, imports it before) stays up to the exit, as before.
    A group the caller destroyed itself (after its ``runner.val()``,
    before the exit's call, or in the body of
    :func:`ends_its_process_group`) is not destroyed again, but the
    runners are unwrapped all the same (review r172: the wrapper held the
    group to the exit). Returns whether a runner's model was unwrapped
    (it was built in a process group)."""
    group = None  # its last reference, dropped last
    if is_distributed():  # (not where the caller destroyed it already)
        import torch.distributed as dist
        group = dist.group.WORLD
        dist.destroy_process_group()
    wrappers = [_unwrapped_model(ref()) for ref in runners]
    if any(w is not None and w() is not None for w in wrappers):
        gc.collect()  # a wrapper in reference cycles
    del group  # the GIL released while gloo joins its worker threads
    return any(w is not None for w in wrappers)


def _unwrapped_model(runner) -> Optional[Callable[[], Any]]:
    """Set ``runner.model`` to the model inside its wrapper (DDP's
    ``module``); a weak reference to the wrapper, or None where there is
    no runner or its model is not wrapped."""
    from mmengine.model import is_model_wrapper
    wrapper = getattr(runner, 'model', None)
    if not is_model_wrapper(wrapper):
        return None
    runner.model = wrapper.module
    return weakref.ref(wrapper)


def _wait_for_peers() -> None:
    """Wait at a barrier for every rank of the process group; where it
    fails (a peer died meanwhile) go on: this rank's line stays its own."""
    try:
        barrier()
    except Exception:  # noqa: BLE001 (a peer gone meanwhile)
        pass


def _exit_with_peers(code: int) -> None:
    """End this process with ``code`` once every rank has printed its
    line (:func:`_wait_for_peers`), the process group left up: the exit
    (``os._exit``) skips the C++ teardown of the group and the
    interpreter's, where a rank aborted now and then after its line
    (``terminate called without an active exception``, SIGABRT, reported
    by torchrun in place of the refusal's status 2). The caller has
    flushed stdout and stderr; the run's clean-up (its lock, its log
    folder) is done."""
    _wait_for_peers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@contextmanager
def ends_its_process_group(evaluated_after: bool = False) -> Iterator[None]:
    """Destroy the gloo process group that the body started (MMEngine's
    ``init_dist``, as a runner of ``--launcher pytorch`` or ``slurm`` is
    built) when the body ends, with or without an exception, and free
    it while the interpreter is up (:func:`_end_process_group`): each
    :class:`AtomicRunner` built in the body (it joins as its build
    begins) gets its model back unwrapped, its DDP wrapper let go, whose
    reducer held the group. A process whose gloo group lived on to its
    exit ended, now and then, in ``terminate called without an active
    exception`` and SIGABRT after its work was done, which torchrun
    reported as a failed training process (exit status 134 from
    ``tools/dist_train.sh``), ending the others: rank 0, which saves the
    last checkpoint after the other ranks are done, lost it where it was
    still writing it. The group destroyed alone, as before, did not
    prevent it (about 1 run in 130 still aborted): the DDP wrapper held
    it to the exit (:func:`_end_process_group` says how it aborted; the
    figures measured: docs/pretraining.md). Gloo's destruction is this
    process's own (a peer's later collective fails at once). A
    group that was up before the body is its caller's, left as it is;
    without a group (one process) nothing is done. A body that destroys
    its group itself (a library caller's ``dist.destroy_process_group()``
    in it) has its runners unwrapped all the same, by the same call,
    the group freed (their wrappers held it to the exit). That a run
    here had a group, and its store, is recorded at the body's end
    (:data:`_EARLIER_GROUP`) for :func:`check_runs_once` (a second run
    under torchrun, once that group has ended) and
    :func:`check_new_store` (a second group on that store). A group with
    NCCL (a GPU run's) is left to the process's exit, as before, with or
    without an exception: torch's ``destroy_process_group`` of NCCL
    finalizes and destroys its communicators (``ncclCommDestroy``), which
    blocks, and a rank that failed alone would wait in it for peers that
    never come; the abort was seen with gloo only, and NCCL's teardown is
    not measured here (no GPUs). A refusal every rank knows of
    (:func:`~openselfsup.engine.agreed_refusals.refusals_agreed`) waits
    for every rank at a barrier, so that each says its line; where the
    barrier fails (a peer died meanwhile) the refusal is still raised.
    Under :func:`~openselfsup.utils.run_cli` (a command) that barrier
    comes after the line is printed and flushed, and the process then
    exits with the refusal's status, its group left up
    (:func:`_exit_with_peers`): a barrier before the line let a rank exit
    while its peer was still on its way to print, which torchrun then
    ended (one line of two), and a rank's exit after its line, the group
    destroyed, ended now and then in gloo's SIGABRT (status 134); without
    ``run_cli`` (a caller of the library) the barrier comes before the
    refusal is raised and the group is destroyed, as for any exception.

    Args:
        evaluated_after (bool): the caller runs collectives on the runner
            after the body ends (``runner.val()``): where the body ended
            without an exception, the group is destroyed and freed when
            the process exits (``atexit``, before the interpreter shuts
            down) instead.
    """
    global _EARLIER_GROUP
    if is_distributed():
        yield
        return
    ended = left_up = False
    runners: List[Any] = []  # the runners built in the body
    try:
        with _joined_by_runners(runners):
            yield
        ended = True
    except BaseException as exc:
        if is_agreed_refusal(exc) and is_distributed():
            # every rank refuses, its clean-up done: none exits before the
            # others have said their lines (torchrun ends the others with
            # SIGTERM once one process has exited, and a line not yet
            # printed became 'terminated (SIGTERM)')
            if says_lines():
                # the barrier after the line is printed (one before it
                # let a rank exit while its peer was still on its way to
                # print: only one line, now and then), then the exit
                setattr(exc, AFTER_SAID, _exit_with_peers)
                left_up = True
            else:
                _wait_for_peers()
        raise
    finally:
        built = [weakref.ref(each) for each in runners]
        if is_distributed():
            _EARLIER_GROUP = _store_of_group()
            # the default group's backend: 'gloo', 'nccl', or one per
            # device type ('cpu:gloo,cuda:nccl')
            if not left_up and 'nccl' not in str(get_backend()):
                if ended and evaluated_after:
                    atexit.register(
                        functools.partial(_end_process_group, built))
                else:
                    _end_process_group(built)
        elif _end_process_group(built):
            # the body destroyed its group itself (a caller of the
            # library): its runners' wrappers held it to the exit
            _EARLIER_GROUP = _store_of_group()


#: per thread, the runner lists of the :func:`discard_on_failure` guards
#: open without a runner and of :func:`ends_its_process_group`, each of
#: which an :class:`AtomicRunner` built meanwhile joins
_OPEN_GUARDS = threading.local()


def _open_guards() -> List[List[Any]]:
    """This thread's open guards' runner lists (:data:`_OPEN_GUARDS`)."""
    if not hasattr(_OPEN_GUARDS, 'lists'):
        _OPEN_GUARDS.lists = []
    return _OPEN_GUARDS.lists


@contextmanager
def discard_on_failure(runner=None) -> Iterator[None]:
    """On any exception in the body, a SIGTERM's
    :class:`~openselfsup.utils.Terminated` included, remove what the runner
    made (:meth:`AtomicRunner.discard_failed_start`, where the runner has
    it: a no-op once the run has started), then raise. Around the
    runner's build, its runs, and what a caller does between the two. A
    refusal naming the file a URL checkpoint was downloaded to names the
    URL (:func:`~openselfsup.utils.checkpoint_files.url_named`).

    Without ``runner``: the runners built in the body, each taken as its
    build begins (:class:`AtomicRunner` joins the guards open in its
    thread), so that the guard can cover a build and what follows it
    with no gap: a Ctrl-C or Terminated between a build's return and a
    guard entered with the runner left its SIGTERM handler set while the
    traceback held it, and its log folder (r135)."""
    runners = [] if runner is None else [runner]
    try:
        with _joined_by_runners(runners) if runner is None \
                else nullcontext():
            yield
    except BaseException as exc:
        for each in runners:
            discard = getattr(each, 'discard_failed_start', None)
            if discard is not None:
                discard()
        named = next((each._url_named for each in runners
                      if getattr(each, '_url_named', None)), None)
        if isinstance(exc, InputError) and named:
            # a URL's download, named in the line: the URL the user gave
            said = url_named(str(exc), *named)
            if said != str(exc):
                raise agreed_as(InputError(said), exc) from None
        raise


@contextmanager
def _joined_by_runners(runners: List[Any]) -> Iterator[None]:
    """While the body runs, each :class:`AtomicRunner` whose build begins
    in this thread appends itself to ``runners`` (:func:`_open_guards`)."""
    guards = _open_guards()
    guards.append(runners)
    try:
        yield
    finally:
        for i, each in enumerate(guards):
            if each is runners:
                del guards[i]
                break


#: held back during the failed-start clean-up (none where there is no
#: SIGCHLD: Windows)
_CHILD_SIGNALS = tuple(getattr(signal, n) for n in ('SIGCHLD',)
                       if hasattr(signal, n))

#: free bytes below which a failed checkpoint write is taken for a full disk
_FULL_DISK_BYTES = 1 << 20


def _looks_up_first(optim_wrapper: dict, scope: str) -> bool:
    """Whether the constructor MMEngine's ``build_optim_wrapper`` builds
    for ``optim_wrapper`` (its ``constructor``, else
    ``DefaultOptimWrapperConstructor``; looked up as the build looks it
    up under the default scope ``scope``: :func:`~openselfsup.config.
    built_class`) looks the optimizer's type up in ``scope`` before it
    builds it: ``DefaultOptimWrapperConstructor`` and a subclass that
    keeps its ``__call__`` (:func:`~openselfsup.config.runs_as`); a
    constructor of its own ``__call__``, or of no class found, is not
    taken to."""
    from mmengine.optim import DefaultOptimWrapperConstructor

    from ..config import built_class, runs_as
    maker = dict(type=optim_wrapper.get(
        'constructor', 'DefaultOptimWrapperConstructor'))
    return runs_as(built_class(maker, 'OPTIM_WRAPPER_CONSTRUCTORS', scope),
                   (DefaultOptimWrapperConstructor,),
                   ('__call__',)) is not None


def _check_optimizer_type(cfg, optimizer: dict, config: str,
                          scope: str, first_lookup: bool = True) -> None:
    """Refuse ``optim_wrapper.optimizer`` of a ``type`` the run's build
    does not find: looked up where MMEngine's constructor looks it up.
    ``DefaultOptimWrapperConstructor.__call__`` (``first_lookup``: the
    constructor is it or a subclass that keeps its ``__call__``,
    mmpretrain's ``LearningRateDecayOptimWrapperConstructor``) looks the
    type up first in ``scope``, the default scope current when the runner
    builds it (``''``: none, MMEngine's root;
    :func:`~openselfsup.config.scope_registry`), the optimizer's
    ``_scope_`` aside (``switch_scope_and_registry(None)``, for the name
    of its first argument: a miss is ``None is not a callable object``),
    then builds it in its own ``_scope_`` or ``scope``, as
    :func:`~openselfsup.config.build_scope` takes it (``_scope_=None`` is
    none of its own, which the build pops: it was judged as one, the
    project's optimizer out of the run's scope named as no known
    optimizer ``in its _scope_``, not given the scope check's line). The
    first lookup was not judged (r191: ``LARS`` of ``_scope_=
    'mmpretrain'`` under ``'mmengine'`` passed, and the build stopped on
    that TypeError). It was looked up in the project's registry whatever
    the scope: ``OpenSelfSupLARS`` under ``'mmpretrain'`` with a
    constructor named passed, and stopped the build on KeyError, while a
    type only the run's scope holds, a user's scope's or
    ``'mmengine.SGD'`` under ``'mmengine'``, was refused as no known
    optimizer; then in the scope the config tells (r155: an
    ``AtomicRunner`` built through MMEngine's Python API,
    ``default_scope='openselfsup'`` and no config, was refused as looking
    up in ``'mmengine'``). A type of the project's that the scope does
    not reach, as given or with its scope (``'openselfsup.OpenSelfSupLARS'``
    under ``'mmengine'``), is the scope check's line
    (:func:`~openselfsup.config.scope_refusal`); another, the closest
    names there and the ways out (a known optimizer under the project's
    scope, which the line does not name; else one that scope's registry
    holds)."""
    from ..config import (PROJECT_SCOPE, _scope_said, build_scope,
                          scope_refusal, scope_registry)
    from ..registry import OPTIMIZERS, known_names
    kind = optimizer['type']
    # the optimizer's own scope (None: it sets none, _scope_=None
    # included, which the build pops and switches nothing by), else the
    # runner's
    own_scope = build_scope(optimizer, None)
    # the scopes looked in, in the constructor's order: the current one,
    # its _scope_ aside, then the build's
    looked = list(dict.fromkeys(
        ([scope] if first_lookup else []) + [build_scope(optimizer, scope)]))
    missed = [s for s in looked
              if scope_registry('OPTIMIZERS', s).get(kind) is None]
    if not missed:
        return
    # missed where the constructor looks first, its _scope_ aside
    aside = own_scope is not None and missed[0] != own_scope
    scope = missed[0]
    there = scope_registry('OPTIMIZERS', scope)
    key = 'optim_wrapper.optimizer'
    if cfg.get('default_scope', 'mmengine') != (scope or None):
        # the runner's scope is not the config's (built through the
        # Python API, no config): named as it is
        cfg = dict(default_scope=scope or None)
    OPTIMIZERS.import_from_location()
    scoped = kind.startswith(f'{PROJECT_SCOPE}.')
    own = kind[len(PROJECT_SCOPE) + 1:] if scoped else kind
    if own in OPTIMIZERS.module_dict and (own_scope is None or aside):
        # the project's own, out of the run's scope: the scope check's
        # line, its scoped type offered where every lookup finds it
        raise InputError(scope_refusal(
            cfg, config, scope, key, kind, not scoped and all(
                scope_registry('OPTIMIZERS', s).get(
                    f'{PROJECT_SCOPE}.{kind}') is not None
                for s in looked)))
    if aside:
        said = (f"{_scope_said(cfg, scope)[0]}, where MMEngine's "
                'DefaultOptimWrapperConstructor looks it up first, its '
                f'_scope_ {own_scope!r} aside')
    elif own_scope is not None:
        said = f'its _scope_ {scope!r}'
    else:
        said = _scope_said(cfg, scope)[0]
    # its _scope_'s name for it, where every lookup finds it so
    named = f'{own_scope}.{kind}' if aside and '.' not in kind else None
    if named and any(scope_registry('OPTIMIZERS', s).get(named) is None
                     for s in looked):
        named = None
    _, near = known_names(there, kind)
    raise InputError(
        f'{config}: {key}.type={kind!r} is no known optimizer'
        + ('' if scope == PROJECT_SCOPE and not aside else f' in {said}')
        + (f' (did you mean {" or ".join(near)}?)' if near else '')
        # the project's scope is not named: "that registry" had no referent
        + (f'; give it as {named!r}, its _scope_\'s name, which both '
           'lookups find, or an optimizer that scope\'s registry holds'
           if named else '; give a known optimizer'
           if scope == PROJECT_SCOPE else
           "; give an optimizer that scope's registry holds")
        + ", or import the module registering yours (custom_imports = "
        "dict(imports=['<module>']))")


#: the checkpoint key of the saving process's random streams
RANDOM_STREAMS = 'random_streams'


def _views_generator(model):
    """The CPU generator of ``model``'s batched views (its data
    preprocessor's, :mod:`openselfsup.models.data_preprocessors`), or
    None."""
    import torch
    gen = getattr(getattr(getattr(model, 'module', model),
                          'data_preprocessor', None), 'generator', None)
    return gen if isinstance(gen, torch.Generator) else None


def _views_preprocessor(model):
    """``model``'s batched-views data preprocessor, whose generator
    :func:`random_streams` saves and :func:`continue_random_streams` sets
    through it (with views made ahead, ``prefetch_views``, the state from
    before them), or None."""
    if _views_generator(model) is None:
        return None
    return getattr(model, 'module', model).data_preprocessor


def _model_generator(model):
    """The CPU generator ``model`` draws from in its training step (its
    own ``generator``: the captions and triplet negatives of
    :class:`~openselfsup.models.algorithms.BalancedCrossModal`), or
    None."""
    import torch
    gen = getattr(getattr(model, 'module', model), 'generator', None)
    return gen if isinstance(gen, torch.Generator) and \
        gen.device.type == 'cpu' else None


#: the checkpoint key of the gradient accumulated over the iterations of
#: an unfinished accumulation window (:func:`window_gradient`)
WINDOW_GRADIENT = 'window_gradient'

#: the checkpoint key of where in its epoch the run was when it was
#: saved: ``{'epoch': e, 'iterations': n, 'epoch_length': l}``, ``n``
#: iterations of the epoch the training loop counts ``e`` (0-based)
#: trained; an epoch-based resume whose meta counts ``e`` epochs done
#: trains those ``n`` again (:meth:`AtomicRunner._repeats_an_epoch`);
#: ``l`` the iterations of every epoch it counts, 0 where they were of
#: several lengths or of one not known, None where this run's is not known
#: (:meth:`AtomicRunner._even_epoch_length`)
EPOCH_PROGRESS = 'epoch_progress'


def _accumulation(optim_wrapper) -> Tuple[int, int]:
    """``(iterations counted, accumulative_counts)`` of MMEngine's
    ``optim_wrapper`` (``(0, 1)`` for one that does not accumulate: an
    ``OptimWrapperDict``), the count as MMEngine accumulates over it
    (:func:`~openselfsup.config.accumulation_count`: ``2.0`` is 2; it was
    read as 1, and ``--auto-scale-lr`` scaled the lr for half the batch
    each step takes).

    Raises:
        InputError: a count MMEngine misreads (``2.5``), on a wrapper built
            without the launchers' check (``check_run_values``), which
            refuses it in the config.
    """
    counts = getattr(optim_wrapper, '_accumulative_counts', 1)
    every = accumulation_count(counts)
    if every is None:
        raise InputError(
            f'optimizer wrapper accumulative_counts = {counts!r}: expected '
            'a positive integer (MMEngine steps where the iteration count '
            'is a multiple of it, and divides each loss by it)')
    return getattr(optim_wrapper, '_inner_count', 0), every


def _loss_scale(optim_wrapper) -> float:
    """The factor MMEngine's ``optim_wrapper`` multiplies the loss by
    before the backward (an ``AmpOptimWrapper``'s ``GradScaler``: 2**16 at
    first in float16; 1.0 where it has none or it is disabled, as in
    bfloat16 or float32), which every accumulated gradient carries until
    the window's step unscales it."""
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    get = getattr(scaler, 'get_scale', None)
    return float(get()) if callable(get) else 1.0


def drop_disabled_scaler_states(states: Any, optim_wrapper) -> List[str]:
    """Remove, from the optimizer state ``states`` of a checkpoint a run
    resumes from (one wrapper's, or an ``OptimWrapperDict``'s by name),
    each empty ``loss_scaler`` state (a disabled ``GradScaler``'s: a
    bfloat16 run's) that MMEngine's ``AmpOptimWrapper.load_state_dict``
    would load into an enabled scaler of ``optim_wrapper`` (float16,
    ``--amp``): torch's ``GradScaler.load_state_dict`` raises on it ('The
    source state dict is empty'), and the resume was refused as a
    checkpoint that does not fit, while a float32 run's checkpoint, which
    holds no scaler state, resumes in float16 with the config's scaler as
    built; so does this one now. Returns the scales the scalers start
    from, as ``'scale 65536'``, each of several prefixed by its
    optimizer's name."""
    if not isinstance(states, dict):
        return []
    fresh = []
    for name, wrapper in _each_wrapper(optim_wrapper).items():
        state = states if name is None else states.get(name)
        scaler = getattr(wrapper, 'loss_scaler', None)
        if not isinstance(state, dict) or state.get('loss_scaler') != {} \
                or not getattr(scaler, 'is_enabled', lambda: False)():
            continue
        del state['loss_scaler']
        said = f'scale {_loss_scale(wrapper):g}'
        fresh.append(f'optimizer {name!r}: {said}' if name else said)
    return fresh


def _loss_factor(optim_wrapper, count: int) -> int:
    """What MMEngine's ``optim_wrapper`` divides the loss of the iteration
    counted ``count`` (its ``_inner_count`` before that backward) by
    (``OptimWrapper.scale_loss``): ``accumulative_counts``, except in the
    run's last window, short where the run's iterations are no multiple
    of it, scaled by its own length."""
    _, every = _accumulation(optim_wrapper)
    most = getattr(optim_wrapper, '_max_counts', -1)
    left = getattr(optim_wrapper, '_remainder_counts', 0)
    if every == 1 or most == -1 or count < most - left:
        return every
    return left


def count_trained_again(optim_wrapper, trained_again: int) -> None:
    """Count in MMEngine's ``optim_wrapper`` the ``trained_again``
    iterations of an epoch done that a resumed epoch-based run trains
    again (:meth:`AtomicRunner._repeats_an_epoch`: MMEngine's resume
    starts that epoch from its first batch), with those an earlier such
    resume of the run trained again (:meth:`AtomicRunner._count_past`),
    so that its accumulation
    windows run to the run's real end: MMEngine counts ``max_iters``
    (``_max_counts``), the run trains ``trained_again`` more, and those
    past the count were divided by the count's remainder (0 where
    ``accumulative_counts`` divides it: the run stopped on MMEngine's
    'loss_factor should be larger than zero!' at the first of them),
    and a last window left unfinished there never stepped. Negative
    where the run ends short of the count (resumed from a run of shorter
    epochs: an FSP run with half its batch): its last window, unfinished
    at the count's remainder, never stepped (its gradient left in the
    weights' ``.grad``, unapplied); it now ends, divided by its length, at
    the run's end. In an
    ``OptimWrapperDict`` (several optimizers), each wrapper's own count,
    by its own ``accumulative_counts`` (before, the dict was skipped: a
    wrapper whose count was set, as MMEngine's ``OptimWrapperDict.
    initialize_count_status`` asks each to be, stopped as one wrapper
    did); one MMEngine's dict leaves uncounted (``_max_counts`` -1) has
    no end to move."""
    if trained_again == 0:
        return
    for wrapper in _each_wrapper(optim_wrapper).values():
        most = getattr(wrapper, '_max_counts', -1)
        if most == -1 or not hasattr(wrapper, '_remainder_counts'):
            continue
        _, every = _accumulation(wrapper)
        wrapper._max_counts = most + trained_again
        wrapper._remainder_counts = wrapper._max_counts % every


def _several_wrappers(optim_wrapper) -> Optional[dict]:
    """``{name: wrapper}`` of an MMEngine ``OptimWrapperDict`` (several
    optimizers, each wrapper accumulating over its own windows); None for
    one wrapper."""
    from mmengine.optim import OptimWrapperDict
    return dict(optim_wrapper.items()) \
        if isinstance(optim_wrapper, OptimWrapperDict) else None


def _each_wrapper(optim_wrapper) -> dict:
    """``{name: wrapper}`` of an MMEngine ``OptimWrapperDict``
    (:func:`_several_wrappers`), or ``{None: optim_wrapper}``: one."""
    wrappers = _several_wrappers(optim_wrapper)
    return {None: optim_wrapper} if wrappers is None else wrappers


def window_gradient(model, optim_wrapper, world_size: int) -> Optional[dict]:
    """:func:`one_window_gradient` of ``optim_wrapper``; of an
    ``OptimWrapperDict`` (several optimizers), ``{'wrappers': {name:
    window}}`` of each wrapper inside an unfinished window, each holding
    the gradients of its own optimizer's parameters (MMEngine's
    ``OptimWrapperDict`` counts no window itself: before, no gradient was
    saved, and a resume inside the wrappers' windows lost it, other
    weights than the uninterrupted run's); on several processes, whose
    gradients are each their own and not saved, a wrapper's count alone
    (``{'inner_count', 'accumulative_counts', 'world_size'}``), which the
    resume sets (it was left at 0: windows shifted); None where none is
    open."""
    wrappers = _several_wrappers(optim_wrapper)
    if wrappers is None:
        return one_window_gradient(model, optim_wrapper, world_size)
    windows = {}
    for name, wrapper in wrappers.items():
        own = {id(p) for group in wrapper.optimizer.param_groups
               for p in group['params']}
        window = one_window_gradient(model, wrapper, world_size, own)
        count, every = _accumulation(wrapper)
        if window is None and world_size != 1 and count % every:
            # each process holds its own gradient, not saved (lost, as
            # MMEngine's one wrapper's); the count, which the resume does
            # not set either (before: counted from 0, windows shifted)
            window = dict(inner_count=int(count),
                          accumulative_counts=int(every),
                          world_size=int(world_size))
        if window is not None:
            windows[name] = window
    return {'wrappers': windows} if windows else None


def one_window_gradient(model, optim_wrapper, world_size: int,
                        own: Optional[set] = None) -> Optional[dict]:
    """The gradient a single-process run has accumulated over the
    iterations of an unfinished accumulation window
    (``optim_wrapper.accumulative_counts``; MMEngine's windows run over
    the whole run, so an epoch of another length than a multiple of it
    ends inside one): ``{'inner_count': n, 'accumulative_counts': k,
    'loss_scale': s, 'loss_factor': f, 'grads': {name: tensor}}`` for
    the checkpoint (the gradients as accumulated: each iteration's loss
    divided by ``f``, :func:`_loss_factor`, times the loss scale ``s`` of
    a float16 run, :func:`_loss_scale`; copied to the CPU, as MMEngine's
    ``state_dict``: a copy on the GPU held another model's worth of GPU
    memory while the checkpoint was written), or None where no window is
    open (or on several processes: each holds its own until the window's
    last backward sums them). MMEngine's checkpoint held none, and its resume
    went on with the window's remaining iterations alone ('the gradient
    of some iterations is lost'); :func:`restore_window_gradient` puts it
    back. ``own``: the ``id`` of the parameters whose gradients are saved
    (those of one optimizer of several); all where None."""
    count, every = _accumulation(optim_wrapper)
    if world_size != 1 or count % every == 0 or \
            count == getattr(optim_wrapper, '_max_counts', -1):
        return None  # (the run's last, short window has stepped)
    model = getattr(model, 'module', model)
    return dict(inner_count=int(count), accumulative_counts=int(every),
                loss_scale=_loss_scale(optim_wrapper),
                loss_factor=int(_loss_factor(optim_wrapper, count - 1)),
                grads={  # a copy on the CPU, as MMEngine's state_dict
                    name: p.grad.detach().to('cpu', copy=True)
                    for name, p in model.named_parameters()
                    if p.grad is not None and (own is None or
                                               id(p) in own)})


def restore_window_gradient(window: dict, model, optim_wrapper,
                            world_size: int, trained_again: int = 0,
                            restarted: Sequence[str] = ()
                            ) -> Tuple[bool, str]:
    """:func:`restore_one_window_gradient`; a window of several optimizers
    (:func:`window_gradient`: ``{'wrappers': {name: window}}``) into each
    wrapper of the ``OptimWrapperDict`` by its name, each said (``optimizer
    'name': ...``), each wrapper's count set to the one it was saved at
    first (MMEngine's ``OptimWrapperDict.initialize_count_status`` does
    nothing: resumed, each wrapper counted from 0, its windows shifted
    from the uninterrupted run's); a window saved by several processes
    (a count, no gradient) sets the count, its gradient said lost.
    Returns whether every one was put back, and the log's words."""
    windows = window.get('wrappers')
    wrappers = _several_wrappers(optim_wrapper)
    if windows is None and wrappers is None:
        return restore_one_window_gradient(
            window, model, optim_wrapper, world_size, trained_again,
            restarted)
    if windows is None or wrappers is None:
        saved, here = ('one optimizer', 'several') if windows is None \
            else ('several optimizers', 'one')
        return False, (
            'the gradient it holds of an unfinished accumulation window is '
            f'not restored: it was saved with {saved}, this run has {here}')
    for name, sub in windows.items():
        wrapper = wrappers.get(name)
        # MMEngine's OptimWrapperDict.initialize_count_status does nothing:
        # each wrapper counts from 0 again, its windows shifted from the
        # uninterrupted run's; it goes on from the count it was saved at
        # (on any number of processes, as MMEngine sets one wrapper's)
        if wrapper is not None and \
                getattr(wrapper, '_inner_count', None) == 0 and \
                _accumulation(wrapper)[1] == sub.get('accumulative_counts'):
            wrapper._inner_count = int(sub.get('inner_count', 0))
    def restored(name: str, sub: dict) -> Tuple[bool, str]:
        if name not in wrappers:
            return False, (
                'the gradient it holds of an unfinished accumulation window '
                'is not restored: this config has no such optimizer')
        if 'grads' not in sub:  # saved by several processes: a count only
            return False, lost_window(
                int(sub.get('inner_count', 0)),
                int(sub.get('accumulative_counts', 1)),
                f'each of the {sub.get("world_size")} processes that saved '
                'it held its own', 'the count it was saved at')
        return restore_one_window_gradient(
            sub, model, wrappers[name], world_size, trained_again,
            restarted, lost='')

    results = [restored(name, sub) for name, sub in windows.items()]
    return all(ok for ok, _ in results), '; '.join(
        f'optimizer {name!r}: {said}'
        for name, (_, said) in zip(windows, results))


def lost_window(count: int, every: int, why: str, counted: str,
                most: int = -1) -> str:
    """The log's words for the gradient of an unfinished accumulation
    window that a resume at iteration ``count`` (windows of ``every``)
    cannot put back: the window's iterations it held, lost (``why``),
    the iteration its step comes after (the run's last, ``most``, where
    the window is cut short there), where its count comes from
    (``counted``), and how a run keeps it: checkpoints at window
    boundaries."""
    held = count % every
    first, last = count - held + 1, count - held + every
    if -1 < most < last:
        last = most
    span = f'iteration {first}' if held == 1 else \
        f'iterations {first}-{count}'
    return (f'the gradient of {span} of the unfinished accumulation window '
            f'(accumulative_counts={every}) is lost ({why}): the window goes '
            f'on from {counted}, {count}, and steps after iteration {last} '
            f'with its last {last - count} iteration(s) alone; to keep it, '
            'save checkpoints at window boundaries (an interval that is a '
            f'multiple of {every})')


def unsaved_window(optim_wrapper, iteration: int,
                   saved_world: Optional[int], older: bool) -> Optional[str]:
    """The log's warning, at the start of a run resumed at ``iteration``
    from a checkpoint that holds no accumulation window
    (:func:`window_gradient`: one of older code, or, of one optimizer,
    saved by ``saved_world`` > 1 processes, each holding its own
    gradient), for each wrapper of ``optim_wrapper`` inside a window
    there: its gradient is lost (:func:`lost_window`; MMEngine's own
    warning says only that 'some iterations' are). The count of each
    wrapper of an ``OptimWrapperDict`` that nothing set (MMEngine's
    ``OptimWrapperDict.initialize_count_status`` does nothing: each
    wrapper counted from 0, its windows shifted without a word) is set
    to ``iteration``, as MMEngine's ``initialize_count_status`` sets one
    wrapper's (one update per iteration). ``older``: the checkpoint is
    of code older than the saved windows (it lacks :data:`EPOCH_PROGRESS`,
    saved since); one optimizer's single-process checkpoint of newer code
    without a window was saved where its run's last, short window had
    stepped, and holds nothing lost. None where nothing is lost."""
    wrappers = _several_wrappers(optim_wrapper)
    several = isinstance(saved_world, int) and saved_world > 1
    if wrappers is None and not (several or older):
        return None
    why = (f'each of the {saved_world} processes that saved the checkpoint '
           'held its own') if several else \
        'the checkpoint holds none: older code'
    said = []
    for name, wrapper in _each_wrapper(optim_wrapper).items():
        count, every = _accumulation(wrapper)
        counted = 'the resumed iteration'
        if wrappers is not None and count == 0 and every > 1:
            wrapper._inner_count = count = int(iteration)
            counted = ('the resumed iteration (as MMEngine counts one '
                       'optimizer; its OptimWrapperDict counted each from '
                       '0, windows shifted)')
        if count % every:
            line = lost_window(count, every, why, counted,
                               getattr(wrapper, '_max_counts', -1))
            said.append(f'optimizer {name!r}: {line}' if name else line)
    return '; '.join(said) or None


def restore_one_window_gradient(window: dict, model, optim_wrapper,
                                world_size: int, trained_again: int = 0,
                                restarted: Sequence[str] = (),
                                lost: str = ' (the warning above that it '
                                'is lost does not apply)'
                                ) -> Tuple[bool, str]:
    """Put the gradient of an unfinished accumulation window
    (:func:`window_gradient`, from the checkpoint a run resumes from)
    back into ``model``, once MMEngine has set ``optim_wrapper``'s count
    to the resumed iteration: only into the same window (one process, the
    same iteration and ``accumulative_counts``: in windows of another
    length the gradient belongs to no window of this run, and its
    iterations were scaled by another count), rescaled to this run's loss
    scale where it differs (a float16 run's gradients carry its scale,
    2**16 at first: resumed in bfloat16 or float32, which scale by 1,
    they were put back 2**16 times too large) and to this run's loss
    factor for the window (:func:`_loss_factor`: saved in the short last
    window of a run resumed with more epochs, where the window is a whole
    one, whose losses MMEngine divides by ``accumulative_counts``, the
    saved iterations counted ``accumulative_counts / remainder`` times
    more than the window's others: 7 / 3 in windows of 7 over 10
    iterations resumed for 20). Not where nothing is left to train, nor
    where the resume trains again ``trained_again`` iterations of an
    epoch done before it (an epoch-based run resumed from a checkpoint
    saved by iteration: MMEngine's resume starts that epoch from its
    first batch, :meth:`AtomicRunner._repeats_an_epoch`) and some of them
    are the window's saved ones: put back, the window counted those
    batches twice. Nor where a saved gradient is of no parameter of
    ``model``, or of another shape (none is put back). ``restarted``: the
    training state the checkpoint lacks, started afresh by the resume
    (``'optimizer'``, ``'learning-rate schedule'``: a best checkpoint's);
    the gradient is put back all the same, and the log says that the
    window's step is then not the uninterrupted run's (it said it was,
    beside the warning that the optimizer starts afresh). ``lost``: the
    words that end the log's line where it is put back (of MMEngine's
    warning that the gradient is lost, which one wrapper of several does
    not give).

    Returns:
        tuple[bool, str]: whether it was put back, and the log's words
        (the iterations restored, or why not).
    """
    count, every = _accumulation(optim_wrapper)
    saved_count = window.get('inner_count')
    saved_every = window.get('accumulative_counts')
    most = getattr(optim_wrapper, '_max_counts', -1)
    head = 'the gradient it holds of an unfinished accumulation window ' \
        'is not restored'
    if world_size != 1 or saved_count != count or saved_every != every:
        return False, (
            f'{head} (saved by one process at iteration {saved_count} '
            f'with accumulative_counts={saved_every}, resumed on '
            f'{world_size} at iteration {count} with accumulative_counts='
            f'{every}): this run\'s window steps without it')
    if -1 < most <= count:
        return False, f'{head}: nothing is left to train'
    if trained_again > 0:
        held = count % every
        again = f'the {held}' if trained_again >= held else \
            f'{trained_again} of the {held}'
        return False, (
            f'{head}: this resume trains {again} iteration(s) it holds '
            'again (above), which the window would count twice: it steps '
            'without them')
    model = getattr(model, 'module', model)
    grads = window.get('grads') or {}
    # a saved gradient of no parameter of this model, or of another
    # shape (module names changed with the code, a file edited): the
    # first was skipped while the log said the window was restored, the
    # second stopped the run on torch's RuntimeError; none is put back
    params = dict(model.named_parameters())
    unfit = [name for name, grad in grads.items()
             if name not in params or
             tuple(grad.shape) != tuple(params[name].shape)]
    if unfit:
        name = unfit[0]
        why = 'which this model has not' if name not in params else (
            f'of shape {tuple(grads[name].shape)}, the parameter\'s '
            f'{tuple(params[name].shape)}')
        more = f' (and {len(unfit) - 1} more)' if len(unfit) > 1 else ''
        return False, (
            f'{head}: it holds a gradient of {name!r}, {why}{more}: this '
            'run\'s window steps without it')
    scale = _loss_scale(optim_wrapper)
    saved_scale = window.get('loss_scale', 1.0)
    factor = _loss_factor(optim_wrapper, count - 1)
    saved_factor = window.get('loss_factor', factor)
    times = (scale / saved_scale) * (saved_factor / factor)
    for name, p in params.items():
        if name in grads:
            grad = grads[name].to(device=p.device)
            if times != 1:
                grad = grad * times
            p.grad = grad.to(dtype=p.dtype)
    rescaled = [f'from its loss scale {saved_scale:g} to this run\'s '
                f'{scale:g}'] if scale != saved_scale else []
    if factor != saved_factor:
        rescaled.append(f'from its losses divided by {saved_factor} to '
                        f'this run\'s {factor} (a short last window)')
    rescaled = f', rescaled {" and ".join(rescaled)}' if rescaled else ''
    if restarted:  # a best checkpoint's: no optimizer state (said above)
        steps = (f'that window holds its iterations, but steps with the '
                 f'{" and ".join(restarted)} started afresh (above): not '
                 'as in the uninterrupted run')
    else:
        steps = 'that window steps as in the uninterrupted run'
    return True, (
        f'the gradient of the {count % every} iteration(s) of the '
        f'accumulation window it was saved in (accumulative_counts={every}) '
        f'is restored from it{rescaled}: {steps}{lost}')


def seed_model_generator_per_rank(model, runner) -> None:
    """Seed ``model``'s own generator (:func:`_model_generator`: a
    balanced run's captions and triplet negatives) with its seed plus
    ``runner``'s rank where its ``randomness.diff_rank_seed`` is True, as
    MMEngine seeds torch, numpy and the batched views' generator
    (``randomness.seed`` plus the rank): built from ``model.seed`` alike
    on every process, it drew the same caption and negative positions on
    every rank. Rank 0 (a single-process run) keeps its seed. The sum
    wraps at 2**64, torch's seed range (``model.seed=-1`` is 2**64 - 1 to
    torch: plus the rank, rank 1 stopped on 'Overflow when unpacking long
    long' as the model was built, after the launch; one process trains
    with it). Called on a model not yet drawn from: by
    ``AtomicRunner.build_model``, and by :func:`give_built_process_seed`
    for MMEngine's Runner's built model (the generator draws in the
    training step only). A second call seeds it as the first did (the seed
    before the rank's is kept on the model: added to the seed it had
    given, rank 1's was 8, 9, 10 at each call, r185)."""
    own = _model_generator(model)
    randomness = getattr(runner, '_randomness_cfg', None) or {}
    rank = int(runner.rank)
    if own is not None and randomness.get('diff_rank_seed') is True and rank:
        target = getattr(model, 'module', model)
        base = target.__dict__.setdefault('_seed_before_rank',
                                          own.initial_seed())
        own.manual_seed((base + rank) % 2 ** 64)


def random_streams(world_size: int, model=None) -> dict:
    """This process's random streams (torch's CPU generator, numpy's
    global one, Python's ``random``, the generator of ``model``'s
    batched views and ``model``'s own generator) as tensors and plain
    containers, which ``torch.load(weights_only=True)`` reads;
    ``world_size`` says which run it is one process of (only rank 0 saves
    the checkpoint)."""
    import random

    import numpy as np
    import torch
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    views = _views_preprocessor(model)
    own = _model_generator(model)
    return dict(world_size=int(world_size),
                torch=torch.random.get_rng_state(),
                numpy=[kind, torch.from_numpy(keys.astype(np.int64)),
                       int(pos), int(has_gauss), float(gauss)],
                python=[version, torch.tensor(internal, dtype=torch.int64),
                        gauss_next],
                views=None if views is None else views.generator_state(),
                model=None if own is None else own.get_state())


def continue_random_streams(saved: Optional[dict], world_size: int,
                            model=None) -> Optional[str]:
    """Set the random streams to ``saved`` (:func:`random_streams`) on a
    single-process run resumed from a single-process run's checkpoint.
    Returns what a resume that cannot do so says instead: the streams
    start from the seed (a checkpoint of older code, or processes whose
    own streams the checkpoint does not hold), None where they continue.
    """
    if saved is None:
        return ('the checkpoint holds no random streams (older code): '
                'they start again from the seed, and the random views '
                'differ from those of the uninterrupted run')
    if world_size != 1 or saved.get('world_size') != 1:
        return ('the checkpoint holds the random streams of one process '
                f'of {saved.get("world_size")}, not of each of this run\'s '
                f'{world_size}: they start again from the seed, and the '
                'random views differ from those of the uninterrupted run')
    import random

    import numpy as np
    import torch
    torch.random.set_rng_state(saved['torch'])
    kind, keys, pos, has_gauss, gauss = saved['numpy']
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos,
                         has_gauss, gauss))
    version, internal, gauss_next = saved['python']
    random.setstate((version, tuple(internal.tolist()), gauss_next))
    views = _views_preprocessor(model)
    if views is not None and saved.get('views') is not None:
        views.set_generator_state(saved['views'])
    own = _model_generator(model)
    if own is not None:
        if saved.get('model') is None:
            # saved by older code: the model's draws (a balanced run's
            # captions and triplet negatives) start from its seed again
            return ('the checkpoint holds no state of the model\'s '
                    'generator (older code): it starts again from its seed, '
                    'and the model\'s draws (captions, triplet negatives) '
                    'differ from those of the uninterrupted run')
        own.set_state(saved['model'])
    return None


def workers_restart_note(cfg, loop, model=None) -> Optional[str]:
    """What a resume says where the data-loader workers' random streams
    start again from their seeds: persistent workers (``num_workers > 0``)
    of an epoch-based loop drawing the per-image pipeline's views
    (``model`` without batched views). Their streams went on over the
    epochs of the uninterrupted run. Not said for an
    ``IterBasedTrainLoop``: its workers draw the batches trained already
    again to skip them, which brings them where the run stood."""
    from mmengine.runner import IterBasedTrainLoop
    loader = cfg.get('train_dataloader') or {}
    workers = loader.get('num_workers') or 0
    if (workers == 0 or not loader.get('persistent_workers')
            or isinstance(loop, IterBasedTrainLoop)
            or _views_generator(model) is not None):
        return None
    return ("the data-loader workers' random streams (persistent_workers, "
            f'num_workers={workers}) start again from their seeds, so the '
            'random views differ from those of the uninterrupted run '
            "(augment_on='device' or num_workers=0 continue them)")


def shut_down_workers(loader) -> None:
    """End now the worker processes of ``loader``'s iterator that torch
    keeps between epochs (a ``DataLoader`` of ``persistent_workers=True``
    and ``num_workers`` > 0; any other loader keeps none): each worker is
    told to stop and exits at once. The next iteration of ``loader`` makes
    a new iterator, with new workers. A loader whose views are made ahead
    (``prefetch_views``) first ends its side thread."""
    from ..models.view_prefetch import PrefetchedLoader
    if isinstance(loader, PrefetchedLoader):  # prefetch_views: its thread
        loader.prefetcher.close()
        loader = loader.loader
    made = getattr(loader, '_iterator', None)
    if made is None:
        return
    loader._iterator = None
    if hasattr(made, '_shutdown_workers'):
        made._shutdown_workers()


def shut_down_when_collected(owner, loaders: list) -> None:
    """Shut down the persistent workers of each DataLoader in ``loaders``
    (:func:`shut_down_workers`) when ``owner`` (a runner) is collected.

    Left to the garbage collector with the runner's reference cycles, each
    worker took torch's 5 s join timeout and was then killed: the
    collector runs the weakref finalisers of the iterator's queues (which
    stop the threads that feed them) before the iterator's ``__del__``,
    whose stop message then never reached the workers. The list, held by
    this finaliser, keeps the loaders (their iterators and queues) out of
    the collection that frees ``owner``, which calls the finaliser while
    the queues still deliver. ``loaders`` must not refer to ``owner`` (a
    loader does not: its dataset, sampler and functions know no runner),
    else ``owner`` is never collected."""
    def shut_down(kept: list) -> None:
        for loader in kept:
            shut_down_workers(loader)
        kept.clear()
    weakref.finalize(owner, shut_down, loaders)


def validates_after(loop, runner) -> bool:
    """Whether an epoch-based ``loop`` validates after its current epoch
    (the epoch a checkpoint it resumed from was written at: MMEngine's
    ``CheckpointHook`` saves in ``after_train_epoch``, before that
    validation), by the rule of MMEngine's ``EpochBasedTrainLoop.run``."""
    from mmengine.runner import EpochBasedTrainLoop
    if not isinstance(loop, EpochBasedTrainLoop) or loop.epoch == 0 or \
            runner.val_loop is None:
        return False
    loop._decide_current_val_interval()
    return loop.epoch >= loop.val_begin and (
        loop.epoch % loop.val_interval == 0
        or loop.epoch == loop.max_epochs)


class _AfterBatches:
    """``iterator`` that calls ``fn`` once ``n`` batches have been drawn,
    before the next one; anything else is ``iterator``'s."""

    def __init__(self, iterator, n: int, fn: Callable[[], None]):
        self._it, self._left, self._fn = iterator, n, fn

    def __iter__(self):
        return self

    def __next__(self):
        if self._left == 0 and self._fn is not None:
            fn, self._fn = self._fn, None
            fn()
        self._left -= 1
        return next(self._it)

    def __getattr__(self, name):
        return getattr(self._it, name)


class _BuiltDataset(dict):
    """A loader's settings that hold its dataset built
    (:meth:`AtomicRunner._training_set_agreed`): MMEngine's
    ``build_dataloader`` deep-copies the settings, which copies everything
    but the dataset, used as built (not a copy of its lists)."""

    def __deepcopy__(self, memo):
        return {key: value if key == 'dataset' else
                copy.deepcopy(value, memo) for key, value in self.items()}


def give_run_seed(dataset: dict, seed: Optional[int]) -> List[str]:
    """Set ``seed``, in place, as the argument each data set of the config
    ``dataset`` names to take the run's seed by its class's
    :data:`~openselfsup.utils.run_seed.RUN_SEEDED` (``seed`` of a
    ``HierarchicalPatientDataset``, class-balanced or not: its slides' and
    patches' draws follow it too, in a validation or test loader as in
    training, as the published code draws them from the global ``random``
    that ``seed_everything`` seeds), where its config leaves it unset or
    None: the parts :func:`run_seeded_parts` finds. ``seed`` None: nothing
    set. Returns the dotted keys of the parts it set."""
    if seed is None:
        return []
    parts = run_seeded_parts(dataset)
    for _, part, arg in parts:
        part[arg] = seed
    return [key for key, _, _ in parts]


def process_seeded_arg(model: Any) -> Optional[str]:
    """The argument of the model config ``model``'s ``data_preprocessor``
    that takes the run's process's seed, named by its class's
    :data:`~openselfsup.utils.run_seed.PROCESS_SEEDED` (``seed`` of the
    batched-views preprocessors), where its config leaves it unset or
    None; else None. The class is looked up as MMEngine builds it
    (``MODELS``, in the preprocessor's ``_scope_``, else the model's, else
    the default scope)."""
    from mmengine.registry import MODELS
    pre = model.get('data_preprocessor') if isinstance(model, dict) \
        else None
    if not isinstance(pre, dict):
        return None
    cls = kind = pre.get('type')
    if isinstance(kind, str):
        scope = build_scope(pre, build_scope(model, None))
        with MODELS.switch_scope_and_registry(scope) as registry:
            cls = registry.get(kind)
    arg = getattr(cls, PROCESS_SEEDED, None) if isinstance(cls, type) \
        else None
    return arg if isinstance(arg, str) and pre.get(arg) is None else None


def give_process_seed(model: Any, seed: Optional[int]) -> Any:
    """The model config ``model`` with ``seed`` (the run's process's,
    ``runner.seed``) set, on a copy, as the argument its
    ``data_preprocessor`` takes it by (:func:`process_seeded_arg`: where
    its config leaves it unset); else ``model`` as given."""
    arg = process_seeded_arg(model)
    if seed is None or arg is None:
        return model
    model = copy.copy(model)  # the config's section: kept as written
    model['data_preprocessor'] = dict(model['data_preprocessor'],
                                      **{arg: seed})
    return model


def give_built_process_seed(runner) -> None:
    """Give ``runner``'s built model (unwrapped from DDP) the per-process
    seeds ``AtomicRunner.build_model`` gives it at its build: its data
    preprocessor the process's seed (``runner.seed``: ``randomness.seed``,
    plus the rank under ``diff_rank_seed``) where its config leaves it
    unset (:func:`process_seeded_arg`), as the attribute of that name,
    and its own generator its seed plus the rank under ``diff_rank_seed``
    (:func:`seed_model_generator_per_rank`): for a runner that builds its
    model without them (MMEngine's Runner, ``runner_type='Runner'`` or
    none), which the project's entry points call once it is built
    (``apis.train.build_runner``, ``train``). Both generators first draw
    in training: the batched views' one is made at its first use, seeded
    with this seed (before, MMEngine's Runner gave it 0: the same views
    under every ``randomness.seed`` and on every rank); the model's own
    (a balanced run's captions and negatives) drew alike on every rank
    before. Nothing for an :class:`AtomicRunner`, which gave them at its
    build. The preprocessor's config is the one the model was built
    with: ``runner.cfg`` is a copy taken before ``Runner.__init__`` merged
    a top-level ``data_preprocessor`` into a model that has none
    (:func:`~openselfsup.config.built_model`; such a batched one
    took 0 before, under every seed)."""
    from .knn_hook import _unwrapped
    if isinstance(runner, AtomicRunner):
        return
    model = _unwrapped(runner.model)
    seed_model_generator_per_rank(model, runner)
    seed = getattr(runner, 'seed', None)
    cfg = getattr(runner, 'cfg', None) or {}
    # the model as Runner.__init__ built it
    arg = process_seeded_arg(built_model(cfg))
    if seed is None or arg is None:
        return
    pre = getattr(model, 'data_preprocessor', None)
    if pre is not None:
        setattr(pre, arg, seed)


def _seed_refusal(checkpoint: Any, kind: str, keys: Sequence[str],
                 recorded: int, seed: int) -> InputError:
    """The refusal of a resume from ``checkpoint`` whose class-balanced
    ``kind`` set (``'training'``: ``AtomicRunner._check_drawn_seed``;
    ``'evaluation'``: ``AtomicRunner._check_evaluation_seed``) of the
    dotted ``keys`` was built with ``seed``, where the checkpoint records
    ``recorded`` (the look-ahead could not read it): one line naming both
    seeds, the sets' keys and the ways on."""
    keys = ', '.join(keys)
    training = kind == 'training'
    drawn = f'{kind} set ({keys}) repeats' if training else 'sets repeat'
    built = 'the set' if training else \
        f'its class-balanced {kind} set ({keys})'
    return InputError(
        f'--resume from {checkpoint}: its run drew the patients its '
        f'class-balanced {drawn} with seed {recorded} '
        f'(meta[{DRAWN_SEED_KEY!r}]), this run built {built} with seed '
        f'{seed}, as the checkpoint could not be read before the set was '
        f'built: it would {"train" if training else "evaluate"} on other '
        'patients than the run it continues; resume from a local copy of '
        'the checkpoint that reads, or under the seed it records: '
        f'--cfg-options randomness.seed={recorded}')


def run_seeded_parts(dataset: Any, key: str = 'train_dataloader.dataset',
                     own: bool = False) -> List[Tuple[str, dict, str]]:
    """``(dotted key, config, argument)`` of each data set of the config
    ``dataset`` (at ``key``) whose class names an argument to take the
    run's seed (:data:`~openselfsup.utils.run_seed.RUN_SEEDED`) that its
    config leaves unset or None, which :func:`give_run_seed` sets; through
    MMEngine's dataset wrappers (the dataset a ``RepeatDataset`` or
    ``ClassBalancedDataset`` wraps, every part of a ``ConcatDataset``:
    :func:`~openselfsup.config.dataset_parts`), as ``knn_eval.py``'s
    ``trained_patients`` reads them again. A wrapper of another kind is a
    data set of its own here: mmpretrain's ``KFoldDataset`` names no such
    argument, and what it wraps is given no seed (it draws with its own
    default, 0). Classes are looked up as MMEngine's ``build_from_cfg``
    does (its ``DATASETS``, switched to the part's ``_scope_``, else the
    nearest wrapper's around it, else the default scope: ``build_from_cfg``
    builds a wrapper, and so what it wraps, inside the wrapper's scope); a
    type it does not hold, or a part that is no dict, is left for the
    build to name. ``own``: those whose config sets the argument too (a
    class-balanced set of its own seed, which :func:`seed_change` names)."""
    from mmengine.registry import DATASETS

    # each part with its key and the dicts whose builds it is built in:
    # itself, then each wrapper around it outwards
    parts = dataset_parts(
        dataset, key, leaf=lambda at, part: [(at, part, [part])],
        wrapper=lambda config, inner: [
            (at, part, nested + [config])
            for results in inner for at, part, nested in results])
    seeded = []
    for at, part, nested in parts:
        # its own _scope_, else its nearest wrapper's (config.build_scope
        # from the outermost in), else the default scope (None)
        part_scope = None
        for config in reversed(nested):
            part_scope = build_scope(config, part_scope)
        kind = part.get('type') if isinstance(part, dict) else None
        cls = kind
        if isinstance(kind, str):  # as MMEngine's build_from_cfg finds it
            with DATASETS.switch_scope_and_registry(part_scope) as registry:
                cls = registry.get(kind)
        arg = getattr(cls, RUN_SEEDED, None) if isinstance(cls, type) \
            else None
        if isinstance(arg, str) and (own or part.get(arg) is None):
            seeded.append((at, part, arg))
    return seeded


@RUNNERS.register_module()
class AtomicRunner(Runner):
    """:class:`mmengine.runner.Runner` with atomic checkpoints and a resume
    that skips missing or corrupt checkpoints.

    Select it with ``runner_type = 'AtomicRunner'`` in a config (set in
    ``configs/_base_/default_runtime.py``). Arguments are the Runner's.
    """

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        """As the Runner's; a data set it builds whose class takes the
        run's seed (:func:`give_run_seed`) and whose config leaves it unset
        is given rank 0's (:func:`~openselfsup.utils.run_seed.shared_seed`:
        ``seed`` less the rank that ``diff_rank_seed`` adds): a
        class-balanced ``HierarchicalPatientDataset`` repeats the patients
        that ``randomness.seed`` draws, the same on every rank (the sampler
        then splits that one list between the ranks). A loader whose
        settings hold ``reuse_batch_memory=True`` (the top-level key, set
        there by :func:`~openselfsup.apis.fast_path.apply_fast_path`)
        collates into reused shared memory (:func:`~openselfsup.datasets.
        batch_ring.reuse_batch_memory`). ``dataloader`` itself, the run's
        ``cfg``, is left as the user wrote it."""
        from mmengine.dist import get_rank
        reuse = False
        seeded = isinstance(dataloader, dict) and \
            isinstance(dataloader.get('dataset'), dict)
        if seeded or isinstance(dataloader, dict) and \
                'reuse_batch_memory' in dataloader:
            # one deep copy for both changes (the key popped, the seed set
            # inside the dataset's dict), this call's own: the dict given
            # is the config's section itself (Runner.from_cfg hands over
            # cfg.train_dataloader, which its caller keeps and reads
            # again), and MMEngine's build deep-copies what it is given in
            # turn, so no one else holds the copy
            dataloader = copy.deepcopy(dataloader)
            # set by apply_fast_path (the top-level key): no DataLoader
            # argument
            reuse = dataloader.pop('reuse_batch_memory', False)
        if seeded:
            give_run_seed(dataloader['dataset'],
                          shared_seed(seed, diff_rank_seed, get_rank()))
        loader = Runner.build_dataloader(dataloader, seed=seed,
                                         diff_rank_seed=diff_rank_seed)
        if reuse:
            from ..datasets.batch_ring import reuse_batch_memory
            reuse_batch_memory(loader)
        return loader

    def register_default_hooks(self, hooks=None) -> None:
        """MMEngine's, with a hook of any key set to None dropped (MMEngine
        drops its own, :data:`MMENGINE_DEFAULT_HOOKS`, and asserts on any
        other): a hook a config inherits under ``default_hooks`` (a
        ``KNNEvalHook`` under ``knn``) is dropped as MMEngine's are, by
        ``--cfg-options default_hooks.knn=None`` or ``default_hooks =
        dict(knn=None)`` (review r105: the run stopped on a bare
        ``AssertionError`` from ``Runner.register_default_hooks``)."""
        if hooks:
            hooks = {key: hook for key, hook in hooks.items()
                     if hook is not None or key in MMENGINE_DEFAULT_HOOKS}
        Runner.register_default_hooks(self, hooks)

    def scale_lr(self, optim_wrapper, auto_scale_lr=None) -> None:
        """MMEngine's linear rule (``--auto-scale-lr``: lr x processes x
        batch / ``base_batch_size``) with the batches one optimizer step
        accumulates counted (``accumulative_counts``): MMEngine's rule
        counts one batch per step, so the published slide setting (batch
        1 x 16 accumulated, base 16) had its lr scaled by 1/16 on the one
        GPU it was published for. The log line names the config's base
        and that total (MMEngine's, given the base divided by the count,
        read 'based on batch size of 1.0 and the current batch size is
        1' for base 16 and batch 1 x 16). Several optimizers (an
        ``OptimWrapperDict``) are scaled alike, each by the same ratio, as
        MMEngine's rule scales them, the count theirs (before, theirs was
        left out there while one wrapper's was counted). Called, as
        MMEngine's, before the schedules are built (``Runner.train``; a
        runner resumed by itself: :meth:`_build_as_train`), once per
        wrapper: ``train`` after such a resume scaled the restored lr
        again, or MMEngine's check refused the schedules built.
        What it built, before any state is loaded, is kept for the
        checkpoints' meta (:func:`built_groups`), with the ratio it scaled
        the lr by (1: not enabled; ``auto_scale_ratio``), which a resume
        reads rather than working it out again from the checkpoint's
        config (:func:`_built_values`).

        Raises:
            InputError: several optimizers accumulating over windows of
                different lengths: the total batch, which the one
                ``base_batch_size`` goes with, is not one number.
        """
        if optim_wrapper is getattr(self, '_scaled_wrapper', None):
            return None
        self._scaled_wrapper = optim_wrapper
        wrappers = _each_wrapper(optim_wrapper)
        counts = {name: _accumulation(wrapper)[1]
                  for name, wrapper in wrappers.items()}
        enabled = bool(auto_scale_lr and auto_scale_lr.get('enable'))
        if enabled and len(set(counts.values())) > 1:
            raise InputError(uneven_windows_refusal(self._config_name(),
                                                    counts))
        ratio, every = 1., 1
        if enabled:
            loader = self._train_dataloader
            batch = loader['batch_size'] if isinstance(loader, dict) \
                else loader.batch_size
            base = auto_scale_lr['base_batch_size']
            (every,) = set(counts.values())
            total, ratio = scaled_batch(self.world_size, batch, every, base)
        if every == 1:  # MMEngine's rule (and log line) is this one
            Runner.scale_lr(self, optim_wrapper, auto_scale_lr)
        else:
            for wrapper in wrappers.values():
                for group in wrapper.optimizer.param_groups:
                    group['lr'] = group['lr'] * ratio
            self.logger.info(
                f'LR is set based on batch size of {base} and the current '
                f'batch size is {total} ({self.world_size} process(es) x '
                f'{batch} x {every} accumulated). Scaling the original LR '
                f'by {ratio}.')
        self._built_groups = built_groups(optim_wrapper)
        self._auto_scale_ratio = ratio

    def __init__(self, *args, **kwargs):
        register_safe_globals()
        #: the run has done work (a training iteration or a validation
        #: ended, or a checkpoint was saved): from then on its log folder
        #: and dump are kept
        self._started = False
        self._dump_pending = False
        #: what this runner made and removes after a failed start
        self._new_log_dir = None
        work_dir = kwargs.get('work_dir', args[1] if len(args) > 1 else '')
        # the rank before setup_env gives it (srun sets RANK only then)
        self._env_rank = launcher_env(kwargs.get('launcher', 'none'))[0]
        # the work dir and its parents made for it
        self._new_dirs = missing_dirs(work_dir or '.')
        #: the file --resume URL or a load_from URL downloaded in this
        #: process (:meth:`owns_download`), removed once the run saves a
        #: checkpoint or ends, and after a failed start
        self._url_download: Optional[str] = None
        #: (the file, the URL it was downloaded from), where load_from is
        #: a URL's download (:meth:`downloaded_from`): a refusal names the
        #: URL (:func:`discard_on_failure`)
        self._url_named: Optional[Tuple[str, str]] = None
        #: while a new run loads its load_from, or a run resumes
        #: (:meth:`load_or_resume`): the checkpoint is checked against the
        #: model before the load (:meth:`_check_load_from`)
        self._checks_load_from = False
        #: the iterations of an epoch done that a resume trains again
        #: (:meth:`_repeats_an_epoch`)
        self._trained_again = 0
        #: the checkpoint this run continues from: the last one it saved
        #: with its training state in this process, else the one it
        #: resumed from (None: neither), which :meth:`_guarded`'s advice
        #: names
        self._continue_from: Optional[str] = None
        #: whether a Ctrl-C's ``interrupted`` line names the ``--resume``
        #: of tools/train.py that continues this run (:meth:`_note_resume`);
        #: False where the caller says its own way to continue (a lambda
        #: sweep: tools/train.py's --resume of a run's checkpoint trains
        #: it with the config's lambda, not the sweep's)
        self.says_how_to_continue = True
        #: the training lists the run's initial weights had been trained
        #: on, recorded in its checkpoints' meta (:meth:`load_or_resume`)
        self._initial_lists = ()
        #: the contents of the files the training datasets read, read
        #: when training starts and recorded in the checkpoints' meta
        #: (:data:`DATA_FILES_KEY`)
        self._data_files = None
        #: the seed the training set was given (:meth:`_training_set_seed`),
        #: recorded in the checkpoints' meta (None: not built here, or no
        #: part of it takes the run's seed, :func:`run_seeded_parts`)
        self._drawn_seed: Optional[int] = None
        #: the seed a validation or test set was given where no training
        #: set took one (:meth:`_evaluation_seed_given`), recorded in the
        #: checkpoints' meta in its place
        self._evaluation_seed: Optional[int] = None
        #: ``(dotted key, seed)`` of each class-balanced validation or
        #: test set given a seed (:meth:`_check_evaluation_seed`)
        self._evaluation_balanced: List[Tuple[str, Optional[int]]] = []
        #: the iterations the resumed run trains past MMEngine's count of
        #: them (``max_iters``): its meta's iteration past its epochs'
        #: (:meth:`_warn_if_finished`); negative where it ends short of
        #: the count (epochs longer than the checkpoint's run's)
        self._counted_past = 0
        #: the iterations of the current epoch trained (saved with a
        #: checkpoint: EPOCH_PROGRESS), and the loaded checkpoint's
        self._epoch_iterations = 0
        self._loaded_progress = None
        #: the epoch length of the epochs the resumed checkpoint counts
        #: done (0: of several lengths, or not known), None where it
        #: counts none (:meth:`_even_epoch_length`)
        self._loaded_length = None
        #: the epoch length of the run that wrote the resumed checkpoint
        #: (None: not known), that of the epoch it saved mid-way
        #: (:meth:`_repeats_an_epoch`)
        self._loaded_run_length = None
        #: the total batch its meta records (None: not recorded)
        self._loaded_total = None
        self._loaded_epochs = False
        #: the loaded checkpoint's scheduler states, in a 1-tuple, where
        #: a resume loaded its optimizer state (:meth:`resume`)
        self._loaded_schedulers = None
        # until the run has started, SIGTERM raises: the clean-up runs
        ref = weakref.ref(self)
        self._restore_sigterm: Callable[[], None] = lambda: None
        # from the handler on, one guard to the end of _built_here
        # (MMEngine's build): a SIGTERM acted upon before the build's own
        # guard (at any call: joining the guards, the finalizer) left the
        # handler set, its restore never called (terminate_raises
        # restores a SIGTERM raised inside it). Not beyond: a Terminated
        # on the return path, out of this guard and before the caller
        # holds the runner, is discarded by a guard open around the build
        # (_built's, train()'s, which the runner joined), and without one
        # by nothing: the log folder stays, and the finalizer restores the
        # handler once the runner is collected
        with discard_on_failure(self):
            self._restore_sigterm = terminate_raises(
                lambda: ref() is not None and not ref()._started)
            self._built_here(*args, **kwargs)

    def _built_here(self, *args, **kwargs) -> None:
        """:meth:`__init__` from its SIGTERM handler on, inside its guard:
        the runner joins the guards open in its thread, and MMEngine's
        Runner is built."""
        # from here on (its restore set) the guards open around its build
        # without a runner discard it after a failure (discard_on_failure),
        # and the end of a gloo group unwraps its model
        # (ends_its_process_group)
        for runners in _open_guards():
            runners.append(self)
        # a runner built and never trained (a 0-epoch baseline, a model
        # built to evaluate) ends its part in the handler when it is
        # collected (the default action back unless a later caller's,
        # train()'s, joined it and is still on: terminate_raises)
        weakref.finalize(self, self._restore_sigterm)
        #: the DataLoaders its loops built, whose persistent workers are
        #: shut down when it is collected (:func:`shut_down_when_collected`)
        self._loaders: List[Any] = []
        shut_down_when_collected(self, self._loaders)
        #: called when the run starts (:meth:`when_started`)
        self._on_start: List[Callable[[], None]] = []
        #: the warnings left out while it runs (:meth:`leave_out_warnings`)
        self._left_out: List[Tuple[str, type]] = []
        #: the lines logged, and torch's warnings left out, when an
        #: evaluation its caller did not announce first runs
        #: (:meth:`note_when_evaluated`)
        self._evaluation_notes: Dict[str, Tuple[List[str], List[str]]] = {}
        super().__init__(*args, **kwargs)
        # the training datasets, built later, keep the digests of the files
        # they read for the record before_train takes (train_data_files)
        from ..datasets.data_files import want_file_digests
        want_file_digests(*_train_datasets(self.cfg))
        label = short_label()
        if label is not None:  # a run of a sweep: one console line an epoch
            self.register_hook(EpochLineHook(label), 'LOWEST')

    def build_logger(self, *args, **kwargs):
        """As the Runner's; built inside :func:`~openselfsup.utils.
        console.short_console`, its console shows warnings, the lines
        said with :func:`~openselfsup.engine.console.say` and one line an
        epoch, not the environment dump, the config and the iteration
        lines (its log file has them all)."""
        logger = super().build_logger(*args, **kwargs)
        if short_label() is not None:
            shorten(logger)
        return logger

    def setup_env(self, env_cfg) -> None:
        """As the Runner's; rank 0 also notes whether the log folder
        (``<work_dir>/<timestamp>``, made right after) is new: only a
        folder this run made is removed after a failed start (a run started
        in the same second into the same work dir shares its name)."""
        with launcher_rendezvous(self.launcher, env_cfg.get('dist_cfg')):
            super().setup_env(env_cfg)
        log_dir = os.path.join(self.work_dir, self.timestamp)
        if self.rank == 0 and not os.path.exists(log_dir):
            self._new_log_dir = log_dir
        barrier()  # the other ranks make the folder once rank 0 has looked

    def dump_config(self) -> None:
        """Deferred: MMEngine calls this while the runner is built, before
        the data is read, and a run that then fails would have replaced an
        earlier run's dump. The dump is written when the run has started
        (:meth:`_mark_started`)."""
        self._dump_pending = True

    @property
    def started(self) -> bool:
        """Whether the run has done work (a training iteration or a
        validation ended, or a checkpoint was saved): a failure from then
        on keeps its log folder and dump."""
        return self._started

    def when_started(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` when the run starts (:meth:`_mark_started`), at once
        if it has: ``apis.train.train`` hands over the restore of its
        SIGTERM handler in a run of several processes, set before the
        runner (whose own call joins it and ends at the start too,
        :meth:`_mark_started`), so that SIGTERM has its default
        action during the run, as without it (a Python handler runs only
        between bytecodes: a rank waiting in a collective for a dead peer
        would not end on the launcher's SIGTERM); a run of one process
        keeps the handler to its end."""
        if self._started:
            fn()
        else:
            self._on_start.append(fn)

    def _mark_started(self) -> None:
        """The run has done work: write the deferred config dump (rank 0,
        where MMEngine writes it, under the same name)."""
        if self._started:
            return
        self._started = True
        self._restore_sigterm()
        on_start, self._on_start = self._on_start, []
        for fn in on_start:
            fn()
        if self._dump_pending and self.rank == 0:
            self._dump_pending = False
            name = (os.path.basename(self.cfg.filename) if self.cfg.filename
                    else f'{self.timestamp}.py')
            with atomic_path(os.path.join(self.work_dir, name)) as tmp:
                self.cfg.dump(tmp)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        """As the Runner's; the end of the first training iteration or
        validation or test epoch marks the run as started. A checkpoint
        saved holds the process's random streams (:func:`random_streams`),
        which :meth:`resume` continues."""
        if fn_name == 'after_train_iter':
            self._epoch_iterations += 1
        if fn_name == 'before_save_checkpoint':
            kwargs['checkpoint'][RANDOM_STREAMS] = random_streams(
                self.world_size, self.model)
            kwargs['checkpoint'][EPOCH_PROGRESS] = dict(
                epoch=int(self.epoch),
                iterations=int(self._epoch_iterations),
                epoch_length=self._even_epoch_length())
            window = window_gradient(self.model, self.optim_wrapper,
                                     self.world_size)
            if window is not None:
                kwargs['checkpoint'][WINDOW_GRADIENT] = window
        elif fn_name == 'before_train':
            # the lists as the datasets, built with the loop, read them
            self._data_files = train_data_files(self.cfg)
            count_trained_again(self.optim_wrapper, self._counted_past)
            self._continue_window()
        elif fn_name == 'after_load_checkpoint':
            if not self._resume:  # a load_from file of an object (under
                # torch's opt-out, read as itself): the check's line, where
                # the .get below (and MMEngine's) was an AttributeError
                from ..utils.checkpoint import no_state_dict_in
                why = no_state_dict_in(kwargs['checkpoint'])
                if why:
                    path = local_file(self._load_from) or self._load_from
                    raise InputError(f'load_from {path}: {why}')
            self._loaded_streams = kwargs['checkpoint'].get(RANDOM_STREAMS)
            self._loaded_window = kwargs['checkpoint'].get(WINDOW_GRADIENT) \
                if self._resume else None
            # a resume from a checkpoint without a window: its wrappers'
            # counts and lost gradients (_continue_window)
            self._window_resumed = bool(self._resume)
            meta = kwargs['checkpoint'].get('meta')
            if self._resume:  # the run's initial weights, as it recorded
                self._initial_lists = saved_init_list_roots(meta)
            self._loaded_world = meta.get('world_size') \
                if isinstance(meta, dict) else None
            # its run's total batch (:meth:`_repeats_an_epoch`)
            total = meta.get('total_batch_size') \
                if isinstance(meta, dict) else None
            self._loaded_total = total if is_int(total) else None
            # the state a best checkpoint lacks, which the resume starts
            # afresh (resume_notes warns of it): the window's step is then
            # not the uninterrupted run's (_continue_window)
            self._loaded_restarts = [
                {'param_schedulers': 'learning-rate schedule'}.get(key, key)
                for key in state_lacked(kwargs['checkpoint'],
                                        self.param_schedulers)]
            self._loaded_progress = kwargs['checkpoint'].get(EPOCH_PROGRESS)
            # the epoch length of the epochs a resume continues
            # (_even_epoch_length); None: none trained
            self._loaded_epochs = bool(self._resume and isinstance(
                meta, dict) and meta.get('epoch'))
            self._loaded_length = _saved_epoch_length(
                kwargs['checkpoint']) if self._loaded_epochs else None
            self._loaded_run_length = _saved_run_epoch_length(
                kwargs['checkpoint'])
            if self._resume:
                # each rank's own: agreed on, one all-reduce, before the
                # first training step's collectives, where the peers of a
                # rank that refused alone waited
                with refusals_agreed():
                    self._check_epoch_length(kwargs['checkpoint'])
                    self._check_drawn_seed(kwargs['checkpoint'])
                    self._check_evaluation_seed(kwargs['checkpoint'])
                self._match_scheduler_states(kwargs['checkpoint'])
            # the saved scheduler states as loaded (matched), where the
            # optimizer's is loaded too (start_unloaded_schedulers)
            self._loaded_schedulers = (
                kwargs['checkpoint'].get('param_schedulers'),) if \
                self._resume and 'optimizer' in kwargs['checkpoint'] \
                else None
            fresh = drop_disabled_scaler_states(
                kwargs['checkpoint'].get('optimizer'), self.optim_wrapper) \
                if self._resume else []
            if fresh:
                self.logger.warning(
                    f'--resume from {self._load_from}: it holds no loss '
                    'scale (its run\'s loss scaler was disabled, as '
                    'bfloat16\'s is): the resume starts this config\'s '
                    f'loss scaler afresh, at {", ".join(fresh)}')
            if not self._resume:  # a new run's load_from (checked or not)
                self._restart_averaged_steps(kwargs['checkpoint'])
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'after_train_epoch':
            # the loop counts the next epoch from here: a checkpoint saved
            # after it (by_epoch=True's meta counts this epoch done) holds
            # none of its iterations
            self._epoch_iterations = 0
        if fn_name == 'before_train':
            self._count_to_the_end()
        if fn_name == 'after_load_checkpoint' and self._resume:
            self._trained_weights_back(kwargs['checkpoint'])
        if fn_name == 'after_load_checkpoint' and self._checks_load_from:
            # MMEngine's load_checkpoint calls this hook with the file's
            # contents, then loads them into the model
            self._check_load_from(kwargs['checkpoint'])
        if fn_name in ('after_train_iter', 'after_val_epoch',
                       'after_test_epoch'):
            self._mark_started()
        if fn_name == 'before_val':  # training's validation: noted before
            self._evaluation_notes.pop('val', None)

    def _check_epoch_length(self, checkpoint: dict) -> None:
        """Refuse a resume whose epochs are of another length than those
        of the run that wrote ``checkpoint`` because the config or the
        data changed it (another total batch, or training data of another
        size) where the run counts a schedule in iterations
        (:func:`step_counted_schedules`): MMEngine's resume takes the
        checkpoint's iteration and counts ``max_iters`` as ``max_epochs``
        times this run's epoch length, so the CLP key encoder's momentum
        (``pi x iteration / max_iters``) and an iteration scheduler
        jumped to another point of their schedule (resumed at epoch 100
        of 200 with twice the batch: at its end, the key encoder frozen,
        then climbing back), and the log's ETA went negative; the log said
        only the batch change. An epoch-based schedule alone (FSP's) goes
        on by epoch and is not refused. Not checked where either length is
        not known (a loop not built: a runner resumed by itself; a loader
        without a length; a checkpoint that does not record its run's,
        :func:`_saved_run_epoch_length`).

        Where the same total batch and data give the other length on
        another process count alone (MMEngine's ``DefaultSampler`` gives
        each process ``ceil(N / processes)`` samples and the short batch
        is dropped: :func:`~openselfsup.config.sampler_epoch_length`; the
        run's process count from its meta, else any that gives its
        length), the schedules are an iteration or so an epoch off:
        warned of in the log, not refused (:meth:`_process_count_cause`).

        Raises:
            InputError: one line naming both lengths, the cause (the
                batch change, data of another size, or a checkpoint that
                does not record its total batch) and what counts
                iterations.
        """
        from mmengine.runner import EpochBasedTrainLoop

        from ..utils.checkpoint import checkpoint_config
        loop = self._train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        before = _saved_run_epoch_length(checkpoint)
        now = _epoch_iterations(loop)
        if now is None or before is None or before == now:
            return
        counted = step_counted_schedules(self.cfg, self.model, self.hooks)
        if not counted:
            return
        meta = checkpoint.get('meta')
        meta = meta if isinstance(meta, dict) else {}
        text = checkpoint_config(checkpoint) or ''
        there = meta.get('total_batch_size')
        if not is_int(there):  # saved before the meta recorded it
            there = config_text_section(text, 'total_batch_size') \
                if text else None
            there = there if is_int(there) else None
        here = run_meta(self.cfg, self.world_size).get('total_batch_size')
        path = self._load_from
        iters = (f'{"; ".join(counted)} count'
                 f'{"" if len(counted) > 1 else "s"} iterations of the epoch '
                 'length')
        keep = ''
        if there is not None and is_int(here) and there != here:
            why = f'total batch {there} -> {here}'
            keep = f' (--cfg-options total_batch_size={there})'
        elif there is None:
            why, keep = _unrecorded_batch(text, loop.dataloader, before)
        else:
            shift = _process_count_cause(loop.dataloader, meta, there,
                                         before, self.world_size)
            if shift is None:
                why = _other_data(loop.dataloader, meta, there)
            else:
                self.logger.warning(
                    f'--resume from {path}: its run trained {before} '
                    f'iterations an epoch, this one trains {now}: {shift}; '
                    f'{iters}, continued from the checkpoint\'s iteration '
                    f'{meta.get("iter")} against max_iters {loop.max_epochs}'
                    f' x {now} = {loop.max_epochs * now}'
                    f'{_schedule_shift(meta, now, loop.max_epochs)}')
                return
        raise InputError(
            f'--resume from {path}: its run trained {before} iterations an '
            f'epoch, this one would train {now} ({why}), and {iters}: '
            'continued from the '
            f'checkpoint\'s iteration {meta.get("iter")} against epochs of '
            f'{now} (max_iters {loop.max_epochs} x {now} = '
            f'{loop.max_epochs * now}), the schedule would not be its run\'s '
            f'nor this config\'s; resume with the batch and data of that '
            f'run{keep}, or start a new run from its weights: --cfg-options '
            f'load_from={path} --work-dir NEW_DIR')

    def _check_drawn_seed(self, checkpoint: dict) -> None:
        """Refuse a resume whose class-balanced training set (a part that
        takes the run's seed and leaves it unset, :func:`run_seeded_parts`,
        with ``class_balance=True``) was built with another seed than the
        one the checkpoint's run drew its patients with (its meta's,
        :func:`~openselfsup.utils.run_seed.drawn_seed`): the loop is built
        before MMEngine loads the checkpoint, from the seed
        :meth:`_training_set_seed` read ahead of it, which falls back on
        the run's seed where it cannot read the file (an ``s3://`` path
        MMEngine downloads at the resume, a file it fails to parse that
        torch then reads), and the resumed run trained on other patients
        than the run it continues, without a word. Not checked where this
        runner built no training set (:attr:`_drawn_seed` None: a runner
        resumed by itself to evaluate). Each rank reads ahead its node's
        copy, so one may refuse alone: :meth:`call_hook` runs this check
        inside the ranks' agreement, with :meth:`_check_epoch_length`'s.

        Raises:
            InputError: one line naming both seeds, the set's key and the
                two ways on (a local copy of the checkpoint that reads,
                whose seed the look-ahead then gives the set, or the run
                under the recorded seed, which the fall-back then gives it:
                not the set's own ``seed``, which its next checkpoints
                would not record, :data:`~openselfsup.utils.run_seed.
                DRAWN_SEED_KEY`, so that a later resume without it would
                draw other patients).
        """
        if self._drawn_seed is None:
            return
        loader = self.cfg.get('train_dataloader')
        dataset = loader.get('dataset') if isinstance(loader, dict) \
            else None
        balanced = [key for key, part, _ in run_seeded_parts(dataset)
                    if part.get('class_balance') is True]
        recorded = drawn_seed(checkpoint.get('meta'))
        if not balanced or recorded == self._drawn_seed:
            return
        raise _seed_refusal(self._load_from, 'training', balanced,
                            recorded, self._drawn_seed)

    def _check_evaluation_seed(self, checkpoint: dict) -> None:
        """Refuse a resume whose class-balanced validation or test set
        that leaves its seed to the run (built before MMEngine's resume,
        :meth:`_evaluation_seed_given`) was given another seed than the one
        ``checkpoint`` records (:func:`~openselfsup.utils.run_seed.
        recorded_seed`; not checked where it records none): as for the
        training set (:meth:`_check_drawn_seed`), the seed falls back on
        the run's where the checkpoint could not be read ahead, and the
        resumed run validated on other patients than the run it
        continues, without a word, where no class-balanced training set
        refused it first.

        Raises:
            InputError: one line naming both seeds, the sets' keys and
                the ways on (:meth:`_check_drawn_seed`'s, both of
                :func:`_seed_refusal`).
        """
        recorded = recorded_seed(checkpoint.get('meta'))
        other = [key for key, seed in self._evaluation_balanced
                 if seed != recorded]
        if recorded is None or not other:
            return
        raise _seed_refusal(self._load_from, 'evaluation', other,
                            recorded,
                            dict(self._evaluation_balanced)[other[0]])

    def _even_epoch_length(self) -> Optional[int]:
        """The epoch length a checkpoint's progress record
        (:data:`EPOCH_PROGRESS`) gives for the replay of its schedule
        (:func:`_saved_epoch_length`): this run's (its message hub's,
        :func:`_hub_epoch_length`) where every epoch the checkpoint counts
        was of it, those of the checkpoint it resumed too (that one's
        :func:`_saved_epoch_length`); 0 where they were of another
        length, or of one not known. The message hub holds the last run's
        alone: epochs of 5, then 15 iterations, then 10 (each run resumed
        with another batch) count 30 iterations in 3 epochs and read as
        epochs of 10. None where this run's is not known."""
        length = _hub_epoch_length(self.message_hub.runtime_info)
        if length is not None and self._loaded_epochs and \
                self._loaded_length != length:
            return 0
        return length

    def _match_scheduler_states(self, checkpoint: dict) -> None:
        """Put the saved scheduler states of the ``checkpoint`` a run
        resumes from in the order of this config's schedulers
        (:func:`scheduler_state_places`), before MMEngine's resume loads
        them by place: each kept scheduler takes its own state, a removed
        one's is dropped, one without a saved state of its class gets an
        empty one (``load_state_dict`` of ``{}`` leaves it as built).
        Said in the log where the order changed; an ambiguous match is
        refused. Where the checkpoint's config does not tell its
        schedulers, they load by place, and the log names those given a
        state of another class (:func:`foreign_scheduler_states`)."""
        states = checkpoint.get('param_schedulers')
        if states is None:
            return
        saved = saved_scheduler_section(checkpoint)
        if saved is None:  # by place, as MMEngine loads them
            self._warn_of_foreign_states(self.param_schedulers, states)
            return
        _, lines, checkpoint['param_schedulers'], _ = resume_scheduler_match(
            checkpoint, self.cfg.get('param_scheduler'), saved,
            self._load_from)
        if lines:
            self.logger.warning(
                f'--resume from {self._load_from}: the saved scheduler '
                'states are loaded into this config\'s schedulers of their '
                'class (MMEngine\'s resume loads them by place, each into '
                f'whichever scheduler is there): {"; ".join(lines)}')

    def _warn_of_foreign_states(self, schedulers: Any, states: Any) -> None:
        """Log the built ``schedulers`` that MMEngine's resume gives a
        saved state (of the checkpoint's ``states``) of another class by
        place (:func:`foreign_scheduler_states`), for a checkpoint whose
        config does not tell its schedulers."""
        lines = foreign_scheduler_states(schedulers, states,
                                         self.cfg.get('param_scheduler'))
        if lines:
            self.logger.warning(
                f'--resume from {self._load_from}: the checkpoint '
                'holds no param_scheduler config to match its saved '
                'scheduler states to this config\'s by class, and '
                'MMEngine\'s resume loads them by place: '
                f'{"; ".join(lines)} (a scheduler removed or moved '
                'since gives its state to another; to train with this '
                'config\'s: a new run from its weights, without '
                f'--resume: --cfg-options load_from={self._load_from} '
                '--work-dir NEW_DIR)')

    def _continue_window(self) -> None:
        """At the start of a resumed single-process run's training (after
        MMEngine has set the optimizer's count to the resumed iteration,
        saying 'the gradient of some iterations is lost' where it falls
        inside an accumulation window), put back the gradient the
        checkpoint holds of that window (:func:`restore_window_gradient`),
        so the window's step is the uninterrupted run's (where the
        checkpoint holds the optimizer's state too: a best checkpoint's
        resume starts it afresh, and the log says the step is then not
        that run's); said in the log, as is a gradient not put back. A
        checkpoint without a window (older code, several processes):
        :func:`unsaved_window` sets the counts MMEngine's
        ``OptimWrapperDict`` leaves at 0 and warns of the gradient lost."""
        window, self._loaded_window = \
            getattr(self, '_loaded_window', None), None
        resumed, self._window_resumed = \
            getattr(self, '_window_resumed', False), False
        if window is None:
            said = unsaved_window(
                self.optim_wrapper, self.iter,
                getattr(self, '_loaded_world', None),
                getattr(self, '_loaded_progress', None) is None) \
                if resumed else None
            if said:
                self.logger.warning(f'--resume from {self._load_from}: '
                                    f'{said}')
            return
        restored, said = restore_window_gradient(
            window, self.model, self.optim_wrapper, self.world_size,
            self._trained_again, getattr(self, '_loaded_restarts', ()))
        (self.logger.info if restored else self.logger.warning)(
            f'--resume from {self._load_from}: {said}')

    def _trained_weights_back(self, checkpoint) -> None:
        """A resume without an ``EMAHook`` from a checkpoint saved with
        one: MMEngine's hook saves the averaged weights as the
        checkpoint's ``state_dict`` and the trained ones in
        ``ema_state_dict`` (``module.<name>``), and swaps them back only
        where the resuming run has the hook too; without it the resumed
        model trained on from the averaged weights, said nowhere. The
        trained weights are put back (the averaged ones dropped, as the
        config has no average), and the log says so."""
        from mmengine.hooks import EMAHook
        ema = checkpoint.get('ema_state_dict') \
            if isinstance(checkpoint, dict) else None
        state = checkpoint.get('state_dict') if ema is not None else None
        if not isinstance(state, dict) or \
                any(isinstance(h, EMAHook) for h in self.hooks):
            return
        for key, value in ema.items():
            if key.startswith('module.') and key[7:] in state:
                state[key[7:]] = value
        self.logger.warning(
            f'--resume from {self._load_from}: it was saved with an EMAHook '
            '(its state_dict holds the averaged weights, ema_state_dict the '
            'trained ones) and this config has none: the run continues from '
            'the trained weights, without the average (to keep it, resume '
            'with the EMAHook in custom_hooks)')

    def discard_failed_start(self) -> None:
        """Remove what the run wrote before failing, if it has not started
        (no training iteration or validation ended, no checkpoint saved):
        the log folder it made, and the work dir (and its parents) made for
        it if left empty.
        The config dump was never written. Anything an earlier run wrote is
        left as it was; a no-op once the run has started, and on ranks other
        than 0. SIGTERM ends the process again from here on (under
        ``apis.train.train``, whose own handler stays until it returns: it
        raises ``Terminated`` there).

        SIGCHLD is held back meanwhile: the SIGTERM that torchrun (to the
        process group) and Slurm (to every process) send kills the
        DataLoader workers too, and torch's SIGCHLD handler would raise
        its 'worker is killed' error in the middle of this clean-up; it
        raises once the clean-up is done."""
        with signals_held(_CHILD_SIGNALS):
            self._restore_sigterm()
            if not self._started:
                self._discard()

    def _discard(self) -> None:
        """:meth:`discard_failed_start`'s removals."""
        self._dump_pending = False
        log_dir, self._new_log_dir = self._new_log_dir, None
        if log_dir:
            logger = getattr(self, 'logger', None)
            for handler in list(getattr(logger, 'handlers', ())):
                if isinstance(handler, logging.FileHandler) and \
                        handler.baseFilename.startswith(log_dir + os.sep):
                    logger.removeHandler(handler)
                    handler.close()
            visualizer = getattr(self, 'visualizer', None)
            if visualizer is not None:
                visualizer.close()
            shutil.rmtree(log_dir, ignore_errors=True)
        # before setup_env the rank is the launcher's
        rank = getattr(self, '_rank', getattr(self, '_env_rank', 0))
        self._drop_url_download()  # rank 0's
        if rank == 0:
            remove_empty_dirs(self._new_dirs)
        self._new_dirs = []

    def downloaded_from(self, url: str) -> None:
        """The run's checkpoint (``load_from``) is the download of ``url``
        (``--resume URL`` or a ``load_from`` URL: apis.train.
        checkpoint_from_url): a refusal that names the file names the URL
        the user gave (:func:`discard_on_failure`), where it named a file
        that the failed start had removed, with the work dir made for
        it."""
        if is_url_download(self._load_from, self.work_dir):
            self._url_named = (self._load_from, url)

    def owns_download(self, path: str, dirs: List[str]) -> None:
        """``path`` is the file this process downloaded for the run
        (``--resume URL`` or a ``load_from`` URL: rank 0's,
        apis.train.checkpoint_from_url), and ``dirs`` (:func:`missing_dirs`
        of the work dir, taken before the download) the folders made for
        it: the run removes the file once it saves its first checkpoint or
        ends, and after a failed start, with the folders while empty, as it
        does the work dir the runner made. Only that file: a download kept
        by a run that failed after it started, given to a later run
        (``--resume <work_dir>/url_downloads/...``), is a local checkpoint
        of the user's (r152: a failed start of that later run, a SIGTERM
        before its first iteration, removed it, for it lay in the work
        dir's ``url_downloads/``)."""
        self._url_download = path
        if len(dirs) > len(self._new_dirs):
            self._new_dirs = list(dirs)

    def leave_out_warnings(self, message: str,
                           category: type = Warning) -> None:
        """Leave the warnings of ``category`` whose message matches
        ``message`` (a regular expression) unshown while this runner
        builds a loop (its data loader) or runs one (``train``, ``val``,
        ``test``), and only then (:func:`~openselfsup.utils.log_filters.
        warnings_left_out`): torch's warning of more data-loader workers
        than cores, which the run's log says in a note of its own
        (apis.train), for every use of the runner (a sweep's evaluations
        after its training), not for a loader built after it."""
        self._left_out.append((message, category))

    def note_when_evaluated(self, evaluation: str, lines: Sequence[str],
                            left_out: Sequence[str] = ()) -> None:
        """Log ``lines`` (warnings) when ``evaluation`` (``'val'``,
        ``'test'``) first runs (:meth:`val`, :meth:`test`), with torch's
        :class:`UserWarning` matching a pattern of ``left_out`` unshown
        meanwhile; not where training has run its loop before (its
        validation). An API caller's evaluation it did not announce
        (apis.train's ``evaluates``) had neither the note of its loader's
        workers nor torch's warning, left out for the training."""
        self._evaluation_notes[evaluation] = (list(lines), list(left_out))

    @contextmanager
    def _warnings_left_out(self, extra: Sequence[str] = ()
                           ) -> Iterator[None]:
        """The body with :meth:`leave_out_warnings`'s filters, and those of
        the ``extra`` patterns of :class:`UserWarning`."""
        with ExitStack() as stack:
            for message, category in self._left_out + [
                    (pattern, UserWarning) for pattern in extra]:
                stack.enter_context(warnings_left_out(message, category))
            yield

    def _guarded(self, run, training: bool = False,
                 evaluation: Optional[str] = None):
        """``run`` (train, val or test); a run that ends without saving a
        checkpoint (resumed at its end, an evaluation) removes the file
        ``--resume URL`` or a ``load_from`` URL downloaded too. A training
        run (``training``) stopped by an image it could not decode, once
        it has saved a checkpoint, or resumed from one, in this process,
        says that ``--resume`` of that checkpoint continues it (with its
        ``--work-dir`` where the checkpoint lies elsewhere). Not from the
        work dir's ``last_checkpoint``, which an earlier run may have
        written (the advice was given to a new run that had saved
        nothing, and MMEngine's ``find_latest_checkpoint`` printed 'Did
        not find last_checkpoint to be resumed.' on stdout where there
        was none). The dataset's line says what to do with the image
        alone: it is also extraction's, and the build's, where no run has
        started. ``evaluation``: the one ``run`` is, whose
        :meth:`note_when_evaluated` lines it logs first."""
        from ..datasets.image_list import UnreadableImage
        lines, left_out = self._evaluation_notes.pop(evaluation, ((), ()))
        for line in lines:
            self.logger.warning(line)
        with discard_on_failure(self), self._warnings_left_out(left_out):
            try:
                out = run()
            except UnreadableImage as exc:
                advice = self._resume_advice(training)
                if advice is None:
                    self._log_stop(exc)
                    raise
                said = UnreadableImage(
                    f'{one_line(exc)}; then this run continues with '
                    f'{advice}')
                self._log_stop(said)
                raise said from exc
            except Exception as exc:
                self._log_stop(exc)
                # an error torch raised on the Ctrl-C (a DataLoader
                # worker's death) is the interruption's too
                self._note_resume(exc, training)
                raise
            except KeyboardInterrupt as exc:  # Ctrl-C, Terminated
                self._note_resume(exc, training)
                raise
        self._mark_started()
        self._drop_url_download()
        return out

    def _resume_advice(self, training: bool) -> Optional[str]:
        """``--resume CHECKPOINT`` (with ``--work-dir`` where the
        checkpoint lies elsewhere: ``--resume`` continues in the folder it
        lies in, apis.train.resumed_run_dir) that continues this training
        run (``training``), from the checkpoint this process saved or
        resumed from; None where it has neither, or is no training run,
        or its caller says how to continue (``says_how_to_continue``
        False: a lambda sweep's run, which that --resume would train with
        the config's lambda), and on ranks other than 0, which save no
        checkpoint (a resumed run's ranks 1 and above named the one it
        resumed from, beside rank 0's newer one). For a Ctrl-C and an
        image found unreadable alike: the latter's line still advised a
        sweep's run ``--resume <lambda run>/epoch_1.pth``. Also before the
        run has started (a Ctrl-C in the first iteration after a resume
        said a bare ``interrupted``): the checkpoint resumed from is there
        still, unless it is the download of ``--resume URL``, which the
        failed start removes: the URL is named then, with the work dir."""
        path = self._continue_from
        if not (training and path and self.says_how_to_continue
                and self.rank == 0):
            return None
        if not self._started and self._url_named and \
                path == self._url_named[0]:
            return f'--resume {self._url_named[1]} --work-dir {self.work_dir}'
        here = '' if checkpoint_folder(path) == os.path.realpath(
            self.work_dir) else f' --work-dir {self.work_dir}'
        return f'--resume {path}{here}'

    def _note_resume(self, exc: BaseException, training: bool) -> None:
        """Add :meth:`_resume_advice` to the Ctrl-C (or ``Terminated``)
        ``exc`` is or was raised while handling, for its ``interrupted``
        line (:func:`~openselfsup.utils.errors.note_interruption`): it
        said only ``interrupted``, as the sweep's said how to continue."""
        advice = self._resume_advice(training)
        if advice is not None:
            note_interruption(exc, f'this run continues with {advice}')

    def _log_stop(self, exc: Exception) -> None:
        """Say in the log of a started run why it stopped: the line the
        command prints for a refusal (an image found corrupt when a step
        first drew it, hours into the run), the error's first line
        otherwise (its traceback goes to stderr). The log ended on the
        last iteration's line, though it outlives the terminal. Written to
        the log file alone (:func:`~openselfsup.utils.console.
        to_log_file`), whatever the config's ``log_level`` (under
        ``'ERROR'`` it was dropped), labelled WARNING, which MMEngine's
        file lines give no source location: the command prints it once
        on stderr (logged as an error, MMEngine's console repeated it on
        stdout, and the file line named ``runner.py - _log_stop -
        <line>``). Where this process
        writes no log file (a rank other than 0 of a distributed run,
        unless ``log_level='DEBUG'``, under which MMEngine gives each
        rank a file of its own), its stderr alone says it. Nothing for a failed start, whose log folder
        is removed, nor for an error raised while a Ctrl-C or SIGTERM was
        handled (:func:`~openselfsup.utils.errors.interruption`: torch
        turns the DataLoader workers' deaths to a SIGTERM into a
        RuntimeError), which the command reports as the interruption."""
        if not self._started or interruption(exc) is not None:
            return
        why = f'error: {one_line(exc)}' if isinstance(exc, InputError) \
            else f'{first_line(exc, with_type=True)} (traceback on stderr)'
        to_log_file(self.logger, f'run stopped: {why}')

    def train(self):
        """As the Runner's; an exception before the first iteration ended
        leaves nothing behind (:meth:`discard_failed_start`). Once
        training has ended, however it ends (an exception, an
        interruption), the side thread of ``prefetch_views`` is ended and
        the training loader's persistent workers are shut down
        (:func:`shut_down_workers`): they draw nothing more, and they were
        kept until the runner was collected (after an exception, as long
        as a caller that caught it, a notebook or a sweep, kept its
        traceback); the evaluation loaders keep theirs for the evaluations
        after. An error of that clean-up after an exception of the
        training is dropped: the training's is the one raised. A second
        ``train()`` on the same runner trains nothing once its
        ``max_epochs`` / ``max_iters`` is reached (MMEngine's loops); one
        after raising that limit (no project path does it) starts new
        workers, whose augmentation streams are not the ones an
        uninterrupted run would have drawn (review r123, r125)."""
        with cleaned_up(self._end_training):
            return self._guarded(super().train, training=True)

    def _end_training(self) -> None:
        """:meth:`train`'s clean-up: the side thread of ``prefetch_views``
        ended, the training loader's persistent workers shut down (a loop
        not built, its settings refused, has none: not built here)."""
        from ..models.view_prefetch import close_prefetch
        close_prefetch(self.model)
        shut_down_workers(getattr(self._train_loop, 'dataloader', None))

    def val(self) -> dict:
        """As the Runner's, with :meth:`train`'s clean-up."""
        return self._guarded(super().val, evaluation='val')

    def test(self) -> dict:
        """As the Runner's, with :meth:`train`'s clean-up."""
        return self._guarded(super().test, evaluation='test')

    # The parts MMEngine builds only when they are first used (the training
    # loop with its dataloader, dataset and pipeline when the loop is first
    # read, the optimizer and the schedule when training starts): a setting
    # they refuse (a type name mistyped in --cfg-options, a loop type
    # without its key, a negative momentum) is one line, as for the model
    # (apis.train). None of them has run a step: the failed start leaves
    # nothing behind.

    def build_train_loop(self, loop):
        """As the Runner's; a refused setting is one line
        (:func:`~openselfsup.utils.errors.settings_refused`). The training
        set is built first, its refusals agreed on by every rank
        (:meth:`_training_set_agreed`). With ``prefetch_views`` the loop
        makes the next batch's views while a step runs
        (:func:`~openselfsup.models.view_prefetch.prefetch_views`)."""
        what = 'training loop or its data'
        with settings_refused(self.cfg, what), self._warnings_left_out():
            if isinstance(loop, dict):  # (a loop already built: itself)
                self._train_dataloader = self._training_set_agreed(
                    self._train_dataloader, what)
            built = self._keep_loader(super().build_train_loop(loop))
        if isinstance(loop, dict) and self.cfg.get('prefetch_views'):
            # the next batch's views made while a step runs
            # (apis.fast_path let it through on the batched views only)
            from ..models.view_prefetch import prefetch_views
            prefetch_views(built, self.model)
        return built

    def _training_set_agreed(self, loader, what: str):
        """``loader`` (the ``train_dataloader`` settings) with its dataset
        built (as MMEngine's ``build_dataloader`` builds it, its
        ``full_init`` run) inside
        :func:`~openselfsup.engine.agreed_refusals.refusals_agreed`: each
        rank reads its node's lists and images, and a refusal of one rank
        alone (a list its node does not see, or a copy of another content)
        is said by every rank (one all-reduce where the ranks go on); the
        peers went on to the sampler's or the first step's collective and
        ended in gloo's ``Connection closed by peer`` traceback. The
        sampler is built after, outside the agreement: its seed may be a
        collective (MMEngine's ``sync_random_seed`` under
        ``diff_rank_seed``). The dataset is given the run's seed as
        :meth:`build_dataloader` gives it (:func:`give_run_seed`), or on
        a resume the seed the checkpoint's run drew with
        (:meth:`_training_set_seed`). A dataset given built, or no
        settings, as they are. The agreement
        holds no collective of its own in between: mmpretrain's ``CIFAR10``
        and ``MNIST`` builds wait at a barrier while rank 0 downloads, and
        what fails before it there is not a refusal (a traceback, as
        before; review r164)."""
        dataset = loader.get('dataset') if isinstance(loader, dict) \
            else None
        if not isinstance(dataset, dict):
            return loader
        from mmengine.registry import DATASETS
        dataset = copy.deepcopy(dataset)
        with refusals_agreed(), settings_refused(self.cfg, what):
            seed = self._training_set_seed()
            # recorded where a set took it (none: FSP's, CLP's image lists,
            # a set of its own seed)
            self._drawn_seed = seed if give_run_seed(dataset, seed) else None
            built = DATASETS.build(dataset)
            if hasattr(built, 'full_init'):
                built.full_init()
        return _BuiltDataset(loader, dataset=built)

    def _training_set_seed(self) -> Optional[int]:
        """The seed the training sets that take the run's seed are given
        (:func:`give_run_seed`): on a resume, the seed the checkpoint's
        run gave them (:func:`~openselfsup.utils.run_seed.drawn_seed`, 0
        for a checkpoint that records none: written before it was
        recorded, its sets drew with their default 0), so that a resume
        under another or an unset ``randomness.seed`` trains on the
        patients of the run it continues: MMEngine builds the loop from
        the config's seed (before the resume, which then sets
        ``runner.seed`` to the checkpoint's), and the resumed run repeated
        other patients than the first, its checkpoints recording the
        first's seed. Else rank 0's seed, as the loop's
        :meth:`build_dataloader` gives it
        (:func:`~openselfsup.utils.run_seed.shared_seed`). The checkpoint
        is the one :meth:`load_or_resume` resumes, which ``Runner.train``
        calls after it builds the loop (:meth:`_resumed_checkpoint`), its
        meta read without loading
        the weights; one not read here (a URL MMEngine downloads at the
        resume, a file the resume refuses) leaves the run's seed, which
        :meth:`_check_drawn_seed` refuses once MMEngine has loaded the
        checkpoint where a class-balanced set takes it and it is not the
        one recorded."""
        read, meta = self._resumed_meta()
        return drawn_seed(meta) if read else self._shared_run_seed()

    def _evaluation_set_seed(self) -> Optional[int]:
        """The seed the validation and test sets that take the run's seed
        are given (:func:`give_run_seed`): the training set's
        (:attr:`_drawn_seed`, :meth:`_training_set_seed`) where one took
        it; else, on a resume, the seed the checkpoint records
        (:func:`~openselfsup.utils.run_seed.recorded_seed`: a runner that
        builds no training set, or whose training set takes no run seed);
        else rank 0's seed of this run (:meth:`_shared_run_seed`), as the
        loop's :meth:`build_dataloader` gives it (also on a resume from a
        checkpoint that records none, whose sets' seed is not known).
        MMEngine builds the validation loop before its resume, from the
        config's seed, and the test loop of ``runner.test()`` alone there
        too: they were given it, and a resume under an unset
        ``randomness.seed`` (a new seed drawn) validated on other patients
        than the run it continues, its training set kept on the
        checkpoint's."""
        if self._drawn_seed is not None:
            return self._drawn_seed
        read, meta = self._resumed_meta()
        seed = recorded_seed(meta) if read else None
        return self._shared_run_seed() if seed is None else seed

    def _shared_run_seed(self) -> Optional[int]:
        """Rank 0's seed of this run, as :meth:`build_dataloader` gives it
        (:func:`~openselfsup.utils.run_seed.shared_seed`)."""
        from mmengine.dist import get_rank
        return shared_seed(
            self.seed, self._randomness_cfg.get('diff_rank_seed', False),
            get_rank())

    def _resumed_meta(self) -> Tuple[bool, Any]:
        """``(read, meta)`` of the checkpoint :meth:`load_or_resume`
        resumes (:meth:`_resumed_checkpoint`), read ahead of it without
        loading the weights; ``(False, None)`` where the run does not
        resume or the file is not read here (a URL MMEngine downloads at
        the resume, a file the resume refuses: the resume says what is
        wrong with it)."""
        path = self._resumed_checkpoint()
        local = local_file(path) if isinstance(path, str) else None
        if local and os.path.isfile(local):
            try:
                try:
                    return True, checkpoint_meta(local)
                except MetaUnread:  # read as torch reads it
                    return True, saved_meta(saved_checkpoint(local))
            except Exception:  # the resume says what is wrong with it
                pass
        return False, None

    def _evaluation_seed_given(self, loader, what: str):
        """``loader`` (the ``what`` settings: ``val_dataloader`` or
        ``test_dataloader``) with the seed of
        :meth:`_evaluation_set_seed` set, on a copy, in each data set that
        takes the run's seed and leaves it unset (:func:`give_run_seed`),
        which :meth:`build_dataloader` then leaves as set; recorded for the
        checkpoints' meta where no training set took one
        (:attr:`_evaluation_seed`), and with its class-balanced sets' keys
        for :meth:`_check_evaluation_seed`. Other settings as they are."""
        dataset = loader.get('dataset') if isinstance(loader, dict) \
            else None
        parts = run_seeded_parts(dataset, f'{what}.dataset') \
            if isinstance(dataset, dict) else []
        if not parts:
            return loader
        seed = self._evaluation_set_seed()
        self._evaluation_balanced += [
            (at, seed) for at, part, _ in parts
            if part.get('class_balance') is True]
        loader = copy.deepcopy(loader)  # the config's section: kept
        if give_run_seed(loader['dataset'], seed) and \
                self._drawn_seed is None:
            self._evaluation_seed = seed
        return loader

    def build_val_loop(self, loop):
        """As :meth:`build_train_loop`, for the validation loop; its sets
        that take the run's seed are given the training set's
        (:meth:`_evaluation_seed_given`)."""
        with settings_refused(self.cfg, 'validation loop or its '
                              'data'), \
                self._warnings_left_out():
            if isinstance(loop, dict):  # (a loop already built: itself)
                self._val_dataloader = self._evaluation_seed_given(
                    self._val_dataloader, 'val_dataloader')
            return self._keep_loader(super().build_val_loop(loop))

    def build_test_loop(self, loop):
        """As :meth:`build_val_loop`, for the test loop."""
        with settings_refused(self.cfg, 'test loop or its data'), \
                self._warnings_left_out():
            if isinstance(loop, dict):
                self._test_dataloader = self._evaluation_seed_given(
                    self._test_dataloader, 'test_dataloader')
            return self._keep_loader(super().build_test_loop(loop))

    def _keep_loader(self, loop):
        """``loop``, its DataLoader kept to shut its persistent workers
        down when the runner is collected
        (:func:`shut_down_when_collected`)."""
        loader = getattr(loop, 'dataloader', None)
        if loader is not None:
            self._loaders.append(loader)
        return loop

    def build_optim_wrapper(self, optim_wrapper):
        """As the Runner's; a refused setting is one line, and so is an
        optimizer type no registry knows (MMEngine's constructor looks it
        up without a check: 'None is not a callable object'), and a
        ``NotImplementedError`` of an ``optim_wrapper.constructor`` for a
        model it cannot build groups of (mmpretrain's
        ``LearningRateDecayOptimWrapperConstructor`` on a ResNet-18, which
        it cannot split into layers: a traceback), the constructor
        named."""
        optimizer = optim_wrapper.get('optimizer') \
            if isinstance(optim_wrapper, dict) else None
        kind = optimizer.get('type') if isinstance(optimizer, dict) else None
        if isinstance(kind, str):
            from mmengine.registry import DefaultScope

            # the scope MMEngine's constructor builds the optimizer in
            current = DefaultScope.get_current_instance()
            scope = current.scope_name if current else ''
            _check_optimizer_type(self.cfg, optimizer, self._config_name(),
                                  scope, _looks_up_first(optim_wrapper,
                                                         scope))
        maker = optim_wrapper.get('constructor') \
            if isinstance(optim_wrapper, dict) else None
        what = 'optimizer' if maker is None else \
            f'optimizer (optim_wrapper.constructor={maker!r})'
        with settings_refused(self.cfg, what,
                              also=(NotImplementedError,)):
            return super().build_optim_wrapper(optim_wrapper)

    def build_param_scheduler(self, scheduler):
        """As the Runner's; a refused setting is one line."""
        with settings_refused(self.cfg, 'learning-rate schedule'):
            return super().build_param_scheduler(scheduler)

    def _config_name(self) -> str:
        """The config file, for one-line refusals."""
        cfg = getattr(self, 'cfg', None)
        return getattr(cfg, 'filename', None) or 'the config'

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs):
        """Write to a temporary file in ``out_dir``, then rename
        (:func:`~openselfsup.utils.io.atomic_path`). The temporaries that
        killed earlier saves left there are removed first, of every
        checkpoint name (a best checkpoint's name changes with its epoch).
        A full disk is one line: torch's own error names a stream position.
        A checkpoint saved is work done: the run has started
        (:meth:`_mark_started`; an iteration-based run saves in the first
        iteration's ``after_train_iter``, before it counts as ended).
        The meta records the run's process count and total batch
        (:func:`run_meta`), which a resume on another count compares,
        and each param group's settings as this run's config built them
        (:func:`built_groups`, taken at :meth:`scale_lr`, and the ratio
        ``--auto-scale-lr`` scaled the lr by, ``auto_scale_ratio``),
        which a resume compares the groups' values with, and the
        contents of the files its training datasets read
        (:data:`DATA_FILES_KEY`, read when training started), which a
        resume compares the lists with (:func:`data_file_changes`), and
        the seed its training sets drew with
        (:data:`~openselfsup.utils.run_seed.DRAWN_SEED_KEY`:
        :meth:`_training_set_seed`), which a resume gives them again and
        ``knn_eval.py`` reads them again with.
        """
        # meta: MMEngine's 4th positional argument after the file name
        args, at = list(args), 3
        meta = dict((args[at] if len(args) > at else
                     kwargs.get('meta')) or {})
        meta.update(run_meta(self.cfg, self.world_size))
        if getattr(self, '_built_groups', None):
            meta['built_groups'] = self._built_groups
            meta['auto_scale_ratio'] = self._auto_scale_ratio
        # what the initial weights saw, with the root of each list
        meta.update(init_lists_meta(self._initial_lists))
        if self._data_files is not None:
            meta[DATA_FILES_KEY] = self._data_files
        seed = self._evaluation_seed if self._drawn_seed is None \
            else self._drawn_seed
        if seed is not None:
            meta[DRAWN_SEED_KEY] = seed
        if len(args) > at:
            args[at] = meta
        else:
            kwargs['meta'] = meta
        target = os.path.join(out_dir, filename)
        remove_stale_temporaries(os.path.join(out_dir, '*.pth'))
        client_args = args[0] if args else kwargs.get('file_client_args')
        with atomic_path(target) as tmp, \
                without_file_client_warnings(client_args):
            try:
                super().save_checkpoint(out_dir, os.path.basename(tmp),
                                        *args, **kwargs)
            except RuntimeError:
                # the partial temporary still holds what was written
                if shutil.disk_usage(out_dir).free < _FULL_DISK_BYTES:
                    raise InputError(
                        f'{target}: cannot write the checkpoint (the disk '
                        'is full); free space or give another --work-dir'
                    ) from None
                raise
        # the training state saved (a best checkpoint is saved without):
        # what a --resume continues from (:meth:`_guarded`)
        optimizer = args[1] if len(args) > 1 else \
            kwargs.get('save_optimizer', True)
        if optimizer is not False:
            self._continue_from = target
        self._mark_started()
        self._drop_url_download()

    def _drop_url_download(self) -> None:
        """Remove the file ``--resume URL`` or a ``load_from`` URL
        downloaded, once the run no longer needs it: it has saved a
        checkpoint (which a later ``--resume`` continues from), ended, or
        failed to start."""
        path, self._url_download = self._url_download, None
        if path:
            remove_url_download(path)

    def build_model(self, model):
        """As the Runner's; the model's own generator is seeded per rank
        as MMEngine's ``randomness`` seeds the run's
        (:func:`seed_model_generator_per_rank`), and a data preprocessor
        that takes the process's seed and is given none gets
        ``runner.seed`` (:func:`give_process_seed`: the batched views'
        generator; it read ``torch.initial_seed()``, which MMEngine had
        seeded with the same, and reads 0 outside a run)."""
        model = super().build_model(give_process_seed(model, self.seed))
        seed_model_generator_per_rank(model, self)
        return model

    def wrap_model(self, model_wrapper_cfg, model):
        """As the Runner's; with ``channels_last=True`` in the config (see
        :mod:`openselfsup.apis.fast_path`) the model is first converted to
        the channels-last memory format, before any DDP wrapping; with
        ``compile_encoders`` the encoders' forward of the wrapped model is
        compiled (:func:`~openselfsup.models.compiling.compile_encoders`,
        at the first steps), the parts compiled logged.

        Raises:
            InputError: ``compile_encoders`` that torch.compile refuses, or
                a model with nothing to compile.
        """
        if self.cfg.get('channels_last') is True:
            import torch
            model = model.to(memory_format=torch.channels_last)
        model = super().wrap_model(model_wrapper_cfg, model)
        compiled = self.cfg.get('compile_encoders', False)
        if compiled not in (False, None):
            # the encoders' forward (of the model as trained: SyncBN
            # reverted off DDP), compiled at the first steps
            from mmengine.model import is_model_wrapper

            from ..models.compiling import compile_encoders
            names = compile_encoders(model.module if is_model_wrapper(model)
                                     else model, compiled)
            self.logger.info(f'compile_encoders: the forward of '
                             f'{", ".join(names)} through torch.compile '
                             '(compiled at the first steps)')
        return model

    def _record_initial_weights(self) -> None:
        """What a new run's initial weights (``load_from``, ``Pretrained``
        files) were trained on, for its checkpoints' meta
        (:func:`~openselfsup.config.initial_weight_lists`; a resume keeps
        the resumed checkpoint's, read in ``after_load_checkpoint``).

        Raises:
            InputError: initial weights that saw a class the run's list
                leaves out.
        """
        from ..datasets.prepare import nct_list_reader
        self._initial_lists = initial_weight_lists(
            self.cfg, self._load_from, reader=nct_list_reader)

    def load_or_resume(self) -> None:
        """As the Runner's, but auto-resume picks a complete checkpoint,
        and a checkpoint of another model (found, or given: ``load_from``
        with ``resume``) is refused (:func:`check_same_model`). Each rank
        reads the checkpoint's meta (and the lists it names) itself, and
        looks for the checkpoint to resume in its own node's work dir: a
        refusal of one rank alone (a file its node does not see, or a copy
        of another content), or ranks that found different checkpoints or
        read other files at one path (a work dir not shared:
        :meth:`_resumes_differ`; a new run's ``load_from`` of which nodes
        hold other files: :meth:`_load_froms_differ`, each rank loading
        its own after DDP broadcast rank 0's weights), is agreed on by all
        before MMEngine's load, whose collectives (``load_from_http``'s
        barrier for a ``torchvision://`` file) stay outside the agreed
        checks
        (:func:`~openselfsup.engine.agreed_refusals.refusals_agreed`: one
        all-reduce where the ranks go on). A refusal of one rank while
        MMEngine reads the file is not agreed on."""
        if self._has_loaded:
            return None
        with refusals_agreed() as agreement:
            loads = self._checks_before_loading(agreement)
        if not loads:
            return None
        # (a value other than True or False: refused before the runner is
        # built, apis.train.RUN_VALUES)
        self._checks_load_from = \
            self.cfg.get('load_from_check', True) is not False
        if not self._resume:
            try:
                with self._unpickling_refused():
                    return super().load_or_resume()
            finally:
                self._checks_load_from = False
        # not built yet (Runner.train builds them first; a runner resumed
        # by itself, load_or_resume or val, not): built here, so that a
        # config the optimizer cannot be built from is refused as for a
        # new run, not as a checkpoint that 'does not fit', and its groups
        # are compared below (they were not: no optimizer was built yet)
        self._build_as_train()
        built = self._group_settings()  # before the state replaces them
        try:
            with self._unpickling_refused():
                super().load_or_resume()
        except (RuntimeError, KeyError, ValueError, IndexError,
                TypeError, AssertionError) as exc:
            # (AssertionError: MMEngine's OptimWrapperDict given the state
            # of an optimizer this config has not, 'cannot found head in
            # OptimWrapperDict': a traceback)
            raise InputError(
                f'--resume from {self._load_from}: the checkpoint does not '
                f'fit this config ({first_line(exc)[:200]}'
                f'{self._group_count_words(exc)}); resume with the '
                'config that wrote it, or start a new run with --work-dir'
            ) from None
        finally:
            self._checks_load_from = False
        self._check_resumed_optimizer(built)
        self._continue_from = self._load_from
        self._warn_if_finished()

    def _resumed_checkpoint(self, logger=None) -> Optional[str]:
        """The checkpoint a resume continues from: the one given
        (``--resume PATH``, or ``load_from`` with ``--resume``), else the
        work dir's newest complete one (:func:`find_resumable_checkpoint`,
        which says to ``logger`` what it skipped); None where the run does
        not resume (a ``load_from`` without it loads weights alone) or
        finds none. Read by :meth:`_training_set_seed` ahead of the resume
        and by :meth:`_checks_before_loading`, which resumes it."""
        if not self._resume:
            return None
        if self._load_from is not None:
            return self._load_from
        return find_resumable_checkpoint(self.work_dir, logger)

    def _checks_before_loading(self, agreement) -> bool:
        """:meth:`load_or_resume`'s checks of each rank, before MMEngine's
        load, holding no collective but ``agreement``'s rounds (one stands
        for the barrier before a URL's download is looked for); whether
        there is a checkpoint to load or resume (False: a new run without
        ``load_from``, or ``--resume`` finding none)."""
        if self._resume and self._load_from is None:
            path = self._resumed_checkpoint(self.logger)
            if path is None:
                # each rank looked in its own node's work dir: the others
                # may have found one (agreed on below)
                agreement.agree_on(None, self._resumes_differ)
                self.logger.warning(
                    f'--resume: no checkpoint in {self.work_dir}; training '
                    'from scratch')
                # as said: MMEngine's auto-resume would read
                # last_checkpoint itself, and fail on the missing or
                # incomplete file it names
                self._resume = False
                self._has_loaded = True
                self._record_initial_weights()
                return False
            self._load_from = path
        if is_url_download(self._load_from, self.work_dir):
            # --resume http(s)://... or a load_from http(s)://...: rank 0
            # downloaded it before it built the runner
            # (apis.train.checkpoint_from_url)
            agreement.settle()
            if not os.path.isfile(self._load_from):
                raise InputError(
                    f'{"--resume" if self._resume else "load_from"}: rank '
                    f'{self.rank} does not see {self._load_from}, which '
                    'rank 0 downloaded into the work dir: give a --work-dir '
                    'that every node shares (as the run\'s checkpoints '
                    'need)')
        if self._resume:  # found, or given: --resume CHECKPOINT
            self.logger.info(f'Resuming from {self._load_from}')
            # a URL of another scheme (s3://): MMEngine downloads it below;
            # not read here (the log said so: apis.train.url_resume_note)
            facts = None
            if local_file(self._load_from) is not None:
                from ..utils.checkpoint import checkpoint_config
                saved = saved_checkpoint(self._load_from)
                facts = resumed_file_facts(self._load_from, saved)
                check_same_model(self._load_from, self.cfg,
                                 checkpoint_config(saved))
            # each rank found (in its node's work dir) and read its node's
            # file: carried in the agreement's round, no collective more
            self._agree_on_load(agreement, facts)
        else:
            self._record_initial_weights()
            if self._load_from is not None and self.world_size > 1:
                # each rank loads its node's file after DDP broadcast rank
                # 0's initial weights (MMEngine's load broadcasts nothing):
                # another file on a node trained other weights under the
                # averaged gradients. Compared as a resume's, in the same
                # round (a URL MMEngine downloads on each rank: its path)
                local = local_file(self._load_from)
                facts = resumed_file_facts(self._load_from) if local is not \
                    None and os.path.isfile(local) else None
                self._agree_on_load(agreement, facts)
        return self._load_from is not None

    def _agree_on_load(self, agreement, facts: Optional[tuple]) -> None:
        """Carry this rank's checkpoint (``self._load_from``) and its
        file's ``facts`` (:func:`resumed_file_facts`; None: not read) in
        ``agreement``'s round. A resume's ranks agree on both: the path a
        resume continues from names the run's checkpoints to come. A new
        run's ``load_from`` ranks agree on the file's facts alone where
        they were read (the path where not: a URL MMEngine downloads, a
        file missing), so that byte copies at other paths on the nodes
        train (review r172: they were refused as other files); other
        paths of other facts name both (:meth:`_load_froms_differ`)."""
        if self._resume:
            agreement.agree_on((self._load_from, facts),
                               self._resumes_differ)
        else:
            agreement.agree_on(
                (self._load_from, facts), self._load_froms_differ,
                compared=self._load_from if facts is None else facts)

    def _resumes_differ(self, found: List[Optional[tuple]]) -> str:
        """:meth:`_loads_differ`'s refusal of ``--resume``."""
        return self._loads_differ(found, resume=True)

    def _load_froms_differ(self, found: List[Optional[tuple]]) -> str:
        """:meth:`_loads_differ`'s refusal of a new run's ``load_from``."""
        return self._loads_differ(found, resume=False)

    def _loads_differ(self, found: List[Optional[tuple]],
                      resume: bool) -> str:
        """The refusal of ``--resume`` (``resume``), or of a new run's
        ``load_from``, where the ranks load other checkpoints (``found``:
        each rank's ``(path, its facts)``, by rank,
        :func:`resumed_file_facts`, None for facts not read: a URL
        MMEngine downloads; None: no checkpoint found to resume): found
        in the work dir each reads on its node, other paths (or none), or
        files of other contents at one path (a checkpoint's name, given
        or found, in each node's copy of a work dir not shared; a
        ``load_from`` of which a node holds a stale copy, or another
        run's file), the path and each fact that differs named (a
        ``load_from`` at other paths: each rank's path and the facts
        that differ; reached only where they differ,
        :meth:`_agree_on_load`)."""
        paths = [None if f is None else f[0] for f in found]
        if len(set(paths)) > 1 and resume:
            return (f'--resume: the processes do not find the same '
                    f'checkpoint to resume in {self.work_dir} '
                    f'({_by_ranks([p or "none" for p in paths])}): '
                    '--work-dir must be a folder every node shares (the '
                    'checkpoints are written on rank 0\'s node), or give '
                    '--resume CHECKPOINT that every node can read')
        facts = [dict(f[1] or ()) for f in found]
        said = ', '.join(
            f'{name} ({_by_ranks([f.get(name) for f in facts])})'
            for name in dict.fromkeys(n for f in facts for n in f)
            if len({repr(f.get(name)) for f in facts}) > 1)
        if len(set(paths)) > 1:  # each node's config or options
            # (files of the same facts at other paths agree: _agree_on_load)
            return (f'load_from: the processes load other files '
                    f'({_by_ranks([p or "none" for p in paths])})'
                    f'{f" that differ ({said})" if said else ""}: give '
                    'every process the same load_from, one file that every '
                    'node reads (or the same copy on each node)')
        if resume:
            return (f'--resume from {paths[0]}: the processes\' nodes hold '
                    f'other files at that path ({said}): --work-dir must be '
                    'a folder every node shares (the checkpoints are '
                    'written on rank 0\'s node), or give --resume '
                    'CHECKPOINT of one file that every node reads')
        fix = '--work-dir must be a folder every node shares (rank 0 ' \
            'downloaded the URL into it)' if is_url_download(
                paths[0], self.work_dir) else 'give load_from one file that ' \
            'every node reads (in a folder every node shares, or the same ' \
            'copy on each node)'
        return (f'load_from {paths[0]}: the processes\' nodes hold other '
                f'files at that path ({said}): each process would start '
                f'from its own node\'s weights; {fix}')

    def _build_as_train(self) -> None:
        """Build the optimizer wrapper (its lr scaled: :meth:`scale_lr`)
        and the schedulers not built yet, in ``Runner.train``'s order,
        before a resume loads their states: MMEngine's resume built the
        schedulers after it had loaded the optimizer's, and a scheduler's
        construction steps once (a runner resumed by itself, an active
        ``LinearLR`` multiplied the restored lr by its ``start_factor``
        for the rest of the run)."""
        if isinstance(self.optim_wrapper, dict):
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
            self.scale_lr(self.optim_wrapper, self.auto_scale_lr)
        if self.param_schedulers is not None:  # built ones pass through
            self.param_schedulers = self.build_param_scheduler(
                self.param_schedulers)

    def _optimizers(self) -> list:
        """The built torch optimizers of the run (none before they are
        built)."""
        from mmengine.optim import OptimWrapperDict
        wrapper = self.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) \
            else [wrapper]
        return [opt for opt in (getattr(w, 'optimizer', None)
                                for w in wrappers)
                if isinstance(getattr(opt, 'param_groups', None), list)]

    def _group_settings(self) -> list:
        """Per optimizer (:meth:`_optimizers`), the settings of its class
        (its ``defaults``, which its step reads) that each of its parameter
        groups holds as built from the config, group by group. Not the
        other keys of a group: a ``paramwise_cfg`` custom key
        (``lars_exclude``, ``decay_mult``) is in its own groups only, and a
        scheduler sets ``initial_<value>`` in every group when it is built
        (one the resume adds starts as the config says)."""
        return [(opt, [[k for k in g if k in opt.defaults and k != 'params']
                       for g in opt.param_groups])
                for opt in self._optimizers()]

    def _group_count_words(self, exc: Exception) -> str:
        """For torch's refusal of an optimizer state of another parameter
        group count (``exc``: 'loaded state dict has a different number
        of parameter groups'), the two counts and what makes them:
        ``optim_wrapper.constructor`` and its ``paramwise_cfg``, those of
        the two that differ from the config the checkpoint's run wrote
        named with their changes (:func:`schedule_changes`; a changed
        constructor was blamed on ``paramwise_cfg``); the refusal named
        neither. Empty for another failure, or a state of several
        optimizers (an ``OptimWrapperDict``)."""
        from ..utils.checkpoint import checkpoint_config
        # the optimizer as built (the resume builds it where the run had
        # not yet), its groups untouched: torch refuses before loading
        built = self._optimizers()
        if 'number of parameter groups' not in str(exc) or len(built) != 1:
            return ''
        try:
            saved = saved_checkpoint(self._load_from)
            groups = saved['optimizer']['param_groups']
            there = f'{len(groups)}' if isinstance(groups, list) else None
        except Exception:  # noqa: BLE001 (the counts are words only)
            saved, there = None, None
        here = len(built[0].param_groups)
        counts = (f'the checkpoint\'s optimizer state has {there}, this '
                  f'config\'s optimizer {here}; ') if there else ''
        makers = ('optim_wrapper.constructor', 'optim_wrapper.paramwise_cfg')
        text = checkpoint_config(saved) if saved is not None else None
        changes = schedule_changes(text, self.cfg, makers, batch=False)
        differ = [m for m in makers
                  if any(key_below(key, [m]) for key, _ in changes)]
        if not differ:  # both as the checkpoint's config has them, or unread
            same = ' (as in the config of the checkpoint\'s run)' \
                if text is not None else ''
            return (f': {counts}{" and ".join(makers)} make the parameter '
                    f'groups{same}')
        lines = [line for _, line in changes]
        return (f': {counts}{" and ".join(differ)} '
                f'{"makes" if len(differ) == 1 else "make"} the parameter '
                f'groups: {", ".join(lines[:3])}'
                f'{", ..." if len(lines) > 3 else ""}')

    def _check_resumed_optimizer(self, built: list) -> None:
        """Refuse a resumed optimizer whose parameter groups lack a setting
        they held as built (``built``: :meth:`_group_settings` before the
        resume): torch's ``load_state_dict`` takes the checkpoint's groups
        whole into the config's class, so another class (an SGD run
        resumed with ``OpenSelfSupLARS``, a state of the same shape) got
        groups without its settings (``eta``), and the first step stopped
        on a ``KeyError``. Each group is compared with its own as built
        (torch refuses a state of another group count)."""
        for opt, groups in built:
            missing = [k for keys, g in zip(groups, opt.param_groups)
                       for k in keys if k not in g]
            if missing:
                raise InputError(
                    f'--resume from {self._load_from}: the checkpoint\'s '
                    f'optimizer state has no {missing[0]!r} setting of '
                    f'{type(opt).__name__}, the config\'s optimizer (the '
                    'resume loads the state\'s parameter groups whole: '
                    'another optimizer, or other parameter-group settings, '
                    'wrote it); resume with the config '
                    'that wrote it, or start a new run from its weights: '
                    '--cfg-options load_from=CHECKPOINT --work-dir NEW_DIR')

    def _model_and_state(self, checkpoint) -> Tuple[Any, Optional[dict]]:
        """The run's model, unwrapped from its distributed wrapper, and the
        state dict of a checkpoint read for loading (the file's own dict,
        which MMEngine then loads; None where it holds none)."""
        from mmengine.model import is_model_wrapper
        model = self.model.module if is_model_wrapper(self.model) \
            else self.model
        state = checkpoint.get('state_dict', checkpoint) \
            if isinstance(checkpoint, dict) else None
        return model, (state if isinstance(state, dict) else None)

    def _init_model_weights(self) -> None:
        """As the Runner's, each ``Pretrained`` ``init_cfg`` it will load
        checked first (:meth:`_check_pretrained_inits`). Each rank reads
        the files itself: a refusal of one rank alone (a file its node
        does not see) is agreed on by all
        (:func:`~openselfsup.engine.agreed_refusals.refusals_agreed`: one
        all-reduce where the ranks go on) before MMEngine's
        ``init_weights`` (a URL's download: ``load_from_http``'s barrier)
        and its broadcast of the weights, where the peers of a rank that
        refused alone waited (gloo's ``Connection closed by peer``)."""
        if self.cfg.get('load_from_check', True) is not False:
            with refusals_agreed():
                self._check_pretrained_inits()
        super()._init_model_weights()

    def _check_pretrained_inits(self) -> None:
        """Each ``init_cfg=dict(type='Pretrained', checkpoint=FILE)`` that
        the model's ``init_weights`` will load (a module's own, of the
        modules MMEngine initialises: not those inside an averaged copy,
        MoCo's momentum encoder), read as MMEngine's ``PretrainedInit``
        reads it (``state_dict`` or the whole file, ``module.`` stripped;
        with ``prefix``, the names under it; not ``model``: a file of
        DeiT / MAE's ``{'model': sd}``, which
        :func:`~openselfsup.utils.checkpoint.unwrap_state_dict` reads for
        extraction, or DINO's ``{'student': sd, 'teacher': sd}``, is
        named with the command that saves ``sd`` as its ``state_dict``,
        :func:`~openselfsup.utils.checkpoint.unread_state_dict`), before
        anything is loaded:
        MMEngine loads it with ``strict=False``, so a file of another
        width, or one whose names are not the module's (a training
        checkpoint's ``backbone.conv1.weight`` for a backbone's
        ``conv1.weight``), left the module at its initial weights, and the
        run trained from them, exit 0, a warning of unmatched keys the only
        sign. Refused as a ``load_from`` of another model
        (:func:`~openselfsup.models.state_dict.load_from_fit`); a file that
        holds the module's names under a prefix is named with the
        ``prefix`` that loads it; a partial fit is one warning in the log.
        ``load_from_check = False`` loads as MMEngine does, unchecked.
        With torch's opt-out ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` set
        (:func:`~openselfsup.utils.checkpoint.weights_only_opted_out`),
        under which MMEngine's ``torch.load`` unpickles a file's objects
        (an ``argparse.Namespace``), as it does for ``load_from``, the
        file is checked with them read as placeholders
        (:func:`~openselfsup.utils.checkpoint.read_inert`), not refused
        for them; one whose top level is an object, not a dict (a
        script's ``argparse.Namespace(state_dict=...)``), where MMEngine's
        load finds no state dict (its 'No state_dict found' traceback), is
        one line (:func:`~openselfsup.utils.checkpoint.no_state_dict_in`,
        the launchers' check's too). A URL is not read here (MMEngine
        downloads it). So is an
        entry's ``override`` item that builds a ``Pretrained``
        (:func:`~openselfsup.config.init_overrides`), for the attribute it
        names (a missing file was MMEngine's ``FileNotFoundError``
        traceback).

        Raises:
            InputError: ``model.<module>.init_cfg (Pretrained, FILE): does
                not fit model.<module>: ...``; an override's:
                ``model.<module>.init_cfg[.<i>].override[.<j>] (Pretrained,
                FILE): ...`` of ``model.<module>.<name>``.
        """
        import re

        from mmengine.model import BaseModule, is_model_wrapper

        from ..config import (check_pretrained_file, init_overrides,
                              is_pretrained_init, pretrained_head)
        from ..models.state_dict import held_under, load_from_fit
        from ..utils.checkpoint import (load_checkpoint_file,
                                        no_state_dict_in, opted_out_note,
                                        unread_state_dict)

        def inits(module, name):
            if isinstance(module, BaseModule) and not module.is_init:
                cfgs = module.init_cfg
                cfgs = [cfgs] if isinstance(cfgs, dict) else cfgs or []
                for i, cfg in enumerate(cfgs):
                    if not isinstance(cfg, dict):
                        continue
                    if is_pretrained_init(cfg):
                        yield f'{name}.init_cfg', name, module, cfg
                    # an override's, loaded into the attribute it names
                    key = f'{name}.init_cfg' if isinstance(
                        module.init_cfg, dict) else f'{name}.init_cfg.{i}'
                    for where, item, built in init_overrides(cfg):
                        if is_pretrained_init(built) and hasattr(
                                module, item['name']):
                            yield (f'{key}.{where}', f'{name}.'
                                   f'{item["name"]}', getattr(
                                       module, item['name']), built)
            # the modules BaseModule.init_weights goes on to
            for child_name, child in module.named_children():
                if is_model_wrapper(child) and \
                        not hasattr(child, 'init_weights'):
                    child = child.module
                if hasattr(child, 'init_weights') and \
                        not getattr(child, 'is_init', False):
                    yield from inits(child, f'{name}.{child_name}')

        model = self.model.module if is_model_wrapper(self.model) \
            else self.model
        for key, name, module, cfg in inits(model, 'model'):
            path, prefix = cfg.get('checkpoint'), cfg.get('prefix')
            local = local_file(path) if isinstance(path, str) else None
            # missing, empty, no checkpoint (both of torch's variables
            # set, a URL's too): the launchers' check's line
            check_pretrained_file(key, path)
            if local is None:
                continue
            head = pretrained_head(key, path)
            try:
                # as MMEngine's torch.load reads it (weights_only=True, this
                # project's allow-list; the legacy format too, as torch
                # still loads it): a pickled object it refuses (a timm
                # script's argparse.Namespace) was its UnpicklingError
                # traceback; under torch's opt-out
                # (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD, as for load_from),
                # which MMEngine's torch.load honours, read as a placeholder
                saved = load_checkpoint_file(local, mmap=True)
            except InputError as exc:
                raise InputError(f'{head}: {exc}{opted_out_note(exc)}') \
                    from None
            _, state = self._model_and_state(saved)
            why = no_state_dict_in(saved)
            if why:  # MMEngine's 'No state_dict found' traceback
                raise InputError(f'{head}: {why}')
            if state is None:
                continue  # MMEngine's load says what it is
            raw = state
            if prefix is None:
                state = {re.sub(r'^module\.', '', str(k)): v
                         for k, v in state.items()}
            else:
                prefix = prefix if prefix.endswith('.') else f'{prefix}.'
                state = {k[len(prefix):]: v for k, v in state.items()
                         if str(k).startswith(prefix)}
            refusal, summary = load_from_fit(module, state)
            # the prefix on the file's own names: MMEngine's load with a
            # prefix strips no 'module.' (DINO's DDP-wrapped teacher holds
            # 'module.backbone.*'), and one already given is no advice
            under = held_under(module, raw) if refusal else None
            if under and prefix is not None and under[0] == prefix:
                under = None
            if under:
                refusal = (
                    f'none of its tensors is in the file under its names '
                    f'({under[1]}); the file holds them under {under[0]!r} '
                    f'(a training checkpoint\'s): give the init_cfg '
                    f'prefix={under[0]!r}')
            if refusal and not under:
                # {'model': sd} (DeiT, MAE), DINO's student / teacher
                refusal = unread_state_dict(saved, 'Pretrained') or refusal
            if refusal:
                raise InputError(
                    f'{head}: does not fit {name}: {refusal} '
                    '(load_from_check=False loads what fits, as MMEngine '
                    'does)')
            if summary:
                self.logger.warning(f'{head}: {summary}')

    def _restart_averaged_steps(self, checkpoint: dict) -> None:
        """A new run from a checkpoint's weights (``load_from``) counts
        the momentum encoder's schedule from its own start, as published
        (:func:`~openselfsup.models.state_dict.restart_averaged_steps`,
        on the file's contents before MMEngine loads them; said in the
        log)."""
        from ..models.state_dict import restart_averaged_steps
        model, state = self._model_and_state(checkpoint)
        if state is None:
            return
        said = restart_averaged_steps(model, state)
        if said:
            self.logger.info(
                f'load_from {self._load_from}: a new run: the step count of '
                f'{", ".join(said)} in the file restarts at 1 (the loaded '
                'weights stand for its first update\'s copy): its momentum '
                'schedule counts from this run\'s first iteration, as the '
                'learning-rate schedule')

    def _check_load_from(self, checkpoint: dict) -> None:
        """A new run's ``load_from``, read (``checkpoint``), before
        MMEngine loads it into the model with ``strict=False``: a
        checkpoint of another model (none of the model's backbone tensors
        in it, or a tensor of another shape) is refused in one line, where
        the loose load started training from the initial weights, or
        without the skipped ones, said only in lines printed to the
        console; a partial load (a pre-trained backbone under a new head)
        is said in one line of the log: how many of the model's tensors
        are loaded, which parts keep their initial weights
        (:func:`~openselfsup.models.state_dict.load_from_fit`, on the
        names as MMEngine revises them: ``module.`` stripped). The
        config's ``load_from_check = False`` loads as MMEngine does,
        unchecked.

        A resume (:meth:`resume`, also ``strict=False``) restores the whole
        model: any of its tensors not in the file, or of another shape (a
        checkpoint written by a version of the code whose module names
        differ, edited by hand) is refused, the file's unused tensors are
        one warning (:func:`~openselfsup.models.state_dict.resume_fit`);
        ``load_from_check = False`` resumes as MMEngine does.

        Raises:
            InputError: ``load_from FILE: does not fit the config's model:
                ...`` or ``--resume from FILE: does not match this code's
                model: ...``, before anything is loaded or trained.
        """
        import re

        from ..models.state_dict import load_from_fit, resume_fit
        from ..utils.checkpoint import unread_state_dict
        model, state = self._model_and_state(checkpoint)
        if state is None:
            return  # MMEngine's load says what it is
        state = {re.sub(r'^module\.', '', str(k)): v
                 for k, v in state.items()}
        if self._resume:
            refusal, unused = resume_fit(model, state)
            if refusal:
                raise InputError(
                    f'--resume from {self._load_from}: does not match this '
                    f'code\'s model: {refusal}, which the resume would leave '
                    'at their initial weights (a checkpoint written by '
                    'another version of the code, or edited; '
                    'load_from_check=False resumes what fits, as MMEngine '
                    'does)')
            if unused:
                self.logger.warning(f'--resume from {self._load_from}: '
                                    f'{unused}')
            return
        refusal, summary = load_from_fit(model, state)
        if refusal:
            # {'model': sd} (DeiT, MAE), DINO's: named with the command
            refusal = unread_state_dict(checkpoint, 'load_from') or refusal
            raise InputError(
                f'load_from {self._load_from}: does not fit the config\'s '
                f'model: {refusal} (load_from_check=False loads what fits, '
                'as MMEngine does)')
        if summary:
            self.logger.warning(f'load_from {self._load_from}: {summary}')

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location='default') -> None:
        """As the Runner's, the optimizer and schedulers built first as
        ``Runner.train`` builds them (:meth:`_build_as_train`), then the
        random streams go on from where the checkpoint's run saved it
        (:func:`continue_random_streams`): MMEngine seeded them afresh, so
        a resumed run drew the random views of its first epochs again and
        trained otherwise than the uninterrupted run. A scheduler the
        checkpoint holds no state for takes its first step again on the
        values the optimizer resumes with (:func:`start_unloaded_schedulers`:
        the loaded state replaced what it set at its building)."""
        from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
        self._loaded_streams = self._loaded_schedulers = None
        self._build_as_train()
        super().resume(filename, resume_optimizer, resume_param_scheduler,
                       map_location)
        loop = self._train_loop
        if isinstance(loop, EpochBasedTrainLoop) and \
                self.epoch < loop.max_epochs:
            # before the steps left are counted from it
            self._count_past(_epoch_iterations(loop))
        if self._loaded_schedulers is not None and resume_optimizer and \
                self.param_schedulers:
            # the steps the run has left, where its loop is built (train()
            # builds it before the resume; not built here for the others),
            # counted to the iteration it ends at (:meth:`_count_past`;
            # MMEngine's max_iters, max_epochs x the epoch length, counts
            # from iteration 0: an FSP run resumed with another batch
            # judged an added iteration scheduler against another end,
            # with twice the batch one it reached was let through and
            # stopped on a KeyError traceback mid-run, with half the
            # batch one it never reached was refused)
            left = None if isinstance(loop, dict) or loop is None else {
                'iter': loop.max_iters + self._counted_past - self.iter,
                'epoch': loop.max_epochs - self.epoch}
            lines = start_unloaded_schedulers(
                self.param_schedulers, self._loaded_schedulers[0] if
                resume_param_scheduler else None,
                self.cfg.get('param_scheduler'), filename, left)
            if lines:
                self.logger.warning(
                    f'--resume from {filename}: {"; ".join(lines)} (a '
                    'scheduler without a saved state starts at this '
                    'resume; the optimizer state loaded after its building '
                    'replaced what its first step set)')
        saved, loop = self._loaded_streams, self._train_loop

        def go_on() -> None:
            note = continue_random_streams(saved, self.world_size,
                                           self.model)
            if note:
                self.logger.warning(f'--resume from {filename}: {note}')

        if isinstance(loop, IterBasedTrainLoop) and loop.iter > 0:
            # MMEngine's loop first draws the batches trained already
            # again (it advances the data loader past them), which draws
            # from the streams: they are set once that is done
            loop.dataloader_iterator = _AfterBatches(
                loop.dataloader_iterator, loop.iter, go_on)
        else:
            go_on()
        note = workers_restart_note(self.cfg, loop, self.model)
        if note:
            self.logger.warning(f'--resume from {filename}: {note}')

    @contextmanager
    def _unpickling_refused(self) -> Iterator[None]:
        """MMEngine's ``torch.load`` of the checkpoint (``load_from``, or
        the resume's: ``weights_only=True``, torch's default) refusing a
        pickled class or call in it: one line naming the file
        (:func:`~openselfsup.utils.checkpoint.unpickling_refusal`), where
        it was torch's traceback of some ten lines."""
        # the file as MMEngine's loader reads it (a leading ~ expanded), as
        # the check names and reads it: ~/c.pth was read again unexpanded
        # here, which failed, and gave other advice than the check's (a
        # cut-short legacy file: torch's traceback)
        path = self._load_from
        if isinstance(path, str):
            path = local_file(path) or path
        head = '--resume from ' if self._resume else 'load_from '
        try:
            yield
        except pickle.UnpicklingError as exc:
            refused = unpickling_refusal(path, exc, head,
                                         resume=self._resume)
            if refused is not None:
                raise refused from None
            self._refuse_unread_legacy(path)
            # a pickle torch cannot read ('Unsupported operand', under the
            # opt-out 'invalid load key'): it was said to hold refused
            # objects, or was torch's traceback
            damaged = damaged_pickle(path, exc, head)
            if damaged is None:
                raise
            raise damaged from None
        except (EOFError, RuntimeError, UnicodeDecodeError):
            self._refuse_unread_legacy(path)
            raise

    def _refuse_unread_legacy(self, path) -> None:
        """Where ``load_from`` ``path`` is a file of torch's legacy format
        that torch cannot read (cut short: 'unexpected EOF, expected N
        more bytes', an EOFError; damaged: a UnicodeDecodeError, an
        unpickler's error), which was torch's traceback: the reader here,
        read again on this failure alone, says it in the Pretrained
        file's line (a file it reads: the caller's error is another)."""
        if self._resume or not isinstance(path, str) or \
                not is_legacy_format(path):
            return
        try:
            load_legacy_checkpoint(path, tensors_only=True)
        except InputError as unread:
            raise InputError(f'load_from {unread}') from None

    def _count_past(self, per: Optional[int]) -> None:
        """The iterations an epoch loop resumed from this checkpoint
        trains past MMEngine's count of them (its meta's iteration past
        ``epoch x`` the epoch's iterations: MMEngine counts ``max_iters``
        from the resumed iteration, the run trains whole epochs from it),
        which :func:`count_trained_again` adds: the iterations of the
        epoch the resume trains again (:meth:`_repeats_an_epoch`), and
        those an earlier such resume trained again, which the iteration
        still counts (a checkpoint saved by epoch after it too: before,
        that resume stopped on MMEngine's 'loss_factor should be larger
        than zero!' or left its last window unstepped); and those of a
        checkpoint of a run of longer epochs (another total batch: an
        FSP run resumed with twice the batch), or, negative, of shorter
        ones. The loop's count is moved by as many
        (:meth:`_count_to_the_end`); counted at :meth:`resume`, before
        the steps the run has left are (:func:`start_unloaded_schedulers`).
        ``per``: the epoch's iterations (None: a loader without a length,
        nothing counted)."""
        if per is not None:
            self._counted_past = self.iter - self.epoch * per

    def _count_to_the_end(self) -> None:
        """Set a resumed epoch loop's ``max_iters`` to the iteration the
        run ends at, once MMEngine's ``RuntimeInfoHook`` has recorded its
        own count in the message hub (``max_epochs`` x the epoch length,
        which the checkpoints' epoch length and the CLP key encoder read).
        MMEngine counts ``max_iters`` from iteration 0 and the resumed run
        trains whole epochs from the checkpoint's iteration: where that
        is past or short of its epochs' (:meth:`_count_past`: epochs of
        another length, an FSP run resumed with another total batch, or
        an epoch trained again), the log's ETA (``IterTimerHook``:
        ``max_iters - iter``) went negative (``eta: -1 day, 23:59:58``,
        twice the batch) or stayed above 0 at the run's last iteration
        (half the batch), and the last-iteration checks
        (``CheckpointHook``'s ``save_last`` by iteration) came at another
        iteration than the last."""
        from mmengine.runner import EpochBasedTrainLoop
        loop = self._train_loop
        if self._counted_past and isinstance(loop, EpochBasedTrainLoop):
            loop._max_iters += self._counted_past

    def _repeats_an_epoch(self, per: int, end: int) -> bool:
        """Warn, and return True, where an epoch loop resumes from a
        checkpoint saved by iteration (``default_hooks.checkpoint.
        by_epoch=False`` in the run that wrote it) after iterations of the
        epoch its meta counts as not done: MMEngine's resume starts that
        epoch from its first iteration, training those again; at the last
        iteration of ``max_epochs`` (an ended run, which :func:`~openselfsup.
        utils.checkpoint.unfinished_run` takes for one) a whole epoch past
        the schedule. Decided by the checkpoint (its :data:`EPOCH_PROGRESS`;
        in one of older code, its meta's iteration past its epochs', of
        the length it records, :func:`_saved_epoch_length`, or else of
        ``per``), not by this config's checkpoint hook: resumed with
        ``by_epoch=True`` (the default), MMEngine trains those iterations
        again all the same. ``per``: the epoch's iterations (0: a loader
        without a length). Resumed with another batch, the iterations
        done (of the checkpoint's run's epoch length, where it tells) hold
        the images its total batch drew, which this run's first
        iterations train again (:func:`iterations_again`)."""
        at = self.epoch
        progress = self._loaded_progress
        done = _iterations_into(progress, at)
        if done is None:  # older code's checkpoint: by its meta, its
            # iteration past its epochs of the length it trained (where
            # it tells: its message hub's; a larger batch's shorter
            # epochs counted its epoch's end as iterations into the next)
            saved = self._loaded_length or per
            done = self.iter - at * saved if saved else 0
        length = self._loaded_run_length or per
        if not (per and done > 0 and length):
            return False
        done = min(done, length)
        # this run's iterations that hold those images: the sampler's
        # batches of this run, in the same order
        loader = self._train_loop.dataloader
        sampled = _sampled(loader)
        again = iterations_again(
            done, length, per, self._loaded_total,
            loader.batch_size * self.world_size if sampled else None,
            sampled[0] if sampled else None)
        # (:meth:`_continue_window`)
        self._trained_again = again
        head = (f'--resume: {self._load_from} was saved by iteration '
                '(default_hooks.checkpoint.by_epoch=False) at iteration '
                f'{self.iter}, ')
        if at + 1 >= end and done == length:
            self.logger.warning(
                f'{head}the last of epoch {at + 1} = train_cfg.max_epochs '
                f'({per} iterations an epoch), which its meta counts as '
                f'epoch {at}: its run had ended, and MMEngine\'s resume '
                f'trains epoch {at + 1} again ({per} iterations past the '
                'schedule); to train longer, raise train_cfg.max_epochs, '
                'and the learning-rate schedule\'s end with it')
        else:
            other = f' of its batch; {again} of {per} of this run\'s' \
                if length != per else ''
            self.logger.warning(
                f'{head}{done} of {length} iterations{other} into epoch '
                f'{at + 1} (its meta counts {count_words(at, "epoch")} '
                f'done): MMEngine\'s resume trains epoch {at + 1} from its '
                f'first iteration, those {again} again')
        return True

    def _warn_if_finished(self) -> None:
        """Say so when the checkpoint resumed from already ends the
        training loop's schedule (is at its end, or past it: a lowered
        ``max_epochs`` / ``max_iters``): the run then trains nothing,
        saves no checkpoint and only prints its end (resuming a finished
        run to train it longer needs a ``max_epochs`` / ``max_iters``
        above the checkpoint's). Where the run that wrote the checkpoint
        had not reached its own end (:func:`~openselfsup.utils.checkpoint.
        unfinished_run`: a lower end given to stop it there), that is
        said too: its work dir still reads as an interrupted run to the
        readers of a trained encoder (:func:`~openselfsup.utils.
        checkpoint.resolve_trained_checkpoint`)."""
        from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

        from ..utils.checkpoint import unfinished_run
        loop = self._train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            unit, key, at = 'epoch', 'max_epochs', self.epoch
        elif isinstance(loop, IterBasedTrainLoop):
            unit, key, at = 'iteration', 'max_iters', self.iter
        else:  # not built (val, test) or a loop of its own
            return
        end = getattr(loop, key)
        # (:meth:`_count_past` counted at :meth:`resume`)
        if unit == 'epoch' and at < end and \
                self._repeats_an_epoch(_epoch_iterations(loop) or 0, end):
            return
        if at < end:
            return
        where, above = ('the end of', '') if at == end else \
            ('past', f' above {at}')
        own = unfinished_run(saved_checkpoint(self._load_from)) \
            if local_file(self._load_from) is not None else None
        ended = '' if own is None or own[0] != unit else (
            f'; the run that wrote it had not ended (its train_cfg.{key} = '
            f'{own[3]}) and this one saves no checkpoint: its work dir '
            'still reads as that interrupted run (feature extraction and '
            'backbone export refuse the folder: give them the checkpoint '
            'file)')
        self.logger.warning(
            f'--resume: {self._load_from} is at {unit} {at}, {where} '
            f'train_cfg.{key} = {end}: nothing is left to train (to train '
            f'longer, raise train_cfg.{key}{above}, and the learning-rate '
            f'schedule\'s end with it){ended}')
