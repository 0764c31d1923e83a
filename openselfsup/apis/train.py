"""Training entry point: config file in, trained run out.

``tools/train.py``, ``tools/dist_train.sh`` and ``tools/slurm_train.sh``
call :func:`train`; every algorithm (CLP, FSP, HLSS, balanced tuning) goes
through it.

Batch size and GPU count: a config that sets ``total_batch_size`` keeps that
total whatever the number of processes; :func:`train` sets the per-process
``train_dataloader.batch_size`` to ``total_batch_size // world_size`` (an
error if it does not divide) and logs it. The learning rate is never
rescaled. A config without ``total_batch_size`` keeps MMEngine's meaning of
``train_dataloader.batch_size`` (per process).
"""
import collections
import contextlib
import itertools
import json
import math
import os
import logging
import re
import shlex
import sys
from collections.abc import Sequence
from typing import (Any, Callable, Dict, Iterator, List, NamedTuple,
                    Optional, Tuple, Union)

from mmengine.config import Config

from ..config import (NUMPY_SEED_MAX, annotation_path,  # noqa: F401
                      argument_value, built_preprocessor, check_resume_meta,
                      check_seed_reach,
                      accumulation_count, check_dropped_default_hooks,
                      check_early_stopping_hooks,
                      check_knn_hooks, check_scope_names,
                      check_scope_types,
                      knn_hook_model_unjudged,
                      check_model_files,
                      check_pretrained_file,
                      check_setting_types, check_uneven_windows,
                      config_dicts, default_work_dir,
                      initial_weight_lists, is_int, is_knn_hook_type,
                      is_number, is_whole,
                      load_config, local_file, named_wrappers, numpy_seed,
                      options_need_type_check,
                      option_setting, pretrained_head, pretrained_init_files,
                      process_share, run_scope, sampler_epoch_length,
                      train_loop_default, train_loop_kind, type_name,
                      unmoved_copies_note, variable_source)
from ..datasets.data_files import NO_ANN_FILE, dataset_paths, joins_to_root
from ..datasets.prepare import nct_list_reader
from ..utils import (InputError, check_writable_dir, first_line,
                     is_index_sequence, reading_once, settings_refused)
from ..utils.checkpoint_files import (WEIGHTS_ONLY_PROTOCOLS, MetaUnread,
                                      checkpoint_folder, checkpoint_meta,
                                      find_resumable_checkpoint,
                                      has_zip_directory, is_http_url,
                                      is_opaque, pickle_protocol,
                                      remove_url_download,
                                      url_download_path, url_named)
from ..utils.console import to_log_file
from ..utils.errors import work_begins
from ..utils.launcher import launcher_env, port_taken_line
from .fast_path import (apply_fast_path, check_fast_path_values,
                        check_views, fast_path_warnings, float32_block)


def check_gpu_count(requested: int) -> None:
    """Fail when more GPUs are asked for than this machine has.

    One process without a GPU is allowed (it trains on the CPU).

    Args:
        requested (int): GPUs (processes) asked for on this machine.

    Raises:
        InputError: ``requested`` < 1, or > 1 and more than available.
    """
    import torch
    if requested < 1:
        raise InputError(f'asked for {requested} GPUs; use 1 or more')
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if requested > 1 and requested > available:
        raise InputError(f'asked for {requested} GPUs but this machine has '
                         f'{available}; use at most {max(available, 1)}')


def launch(argv: Sequence[str]) -> int:
    """``tools/dist_train.sh``'s launch: this machine's GPU count checked
    for torchrun's ``--nproc_per_node=N`` (:func:`check_gpu_count`), then
    :func:`torchrun` with ``argv``, in one Python start (the check was a
    start of its own, importing torch: some 3 s of CPU on 2 cores, each
    launch).

    Raises:
        InputError: as :func:`check_gpu_count` (before torchrun starts
            anything), or :func:`torchrun`.
    """
    for arg in argv:
        name, _, value = str(arg).partition('=')
        if name in ('--nproc_per_node', '--nproc-per-node'):
            check_gpu_count(int(value))
    return torchrun(argv)


def torchrun(argv: Sequence[str]) -> int:
    """Run torchrun (``torch.distributed.run``) with ``argv``, as
    ``tools/dist_train.sh`` does; a training process that fails ends it in
    one line after that process's own message, not in torchrun's
    ``ChildFailedError`` traceback (some 30 lines that pushed the message
    out of sight and turned its exit status into 1).

    A Ctrl-C or a SIGTERM to torchrun itself (the terminal's to the
    process group, Slurm's or a container's to the launcher), which it
    forwards to the training processes, each saying it in its line
    (``interrupted``, ``terminated (SIGTERM)``), ends it with the shell's
    status for that signal, not in torchrun's ``SignalException``
    traceback (some 20 lines, exit status 1).

    Returns:
        int: 0, or the exit status of the first process that failed (128 +
        the signal's number for one a signal ended, as a shell reports it),
        or 128 + the signal's number for a signal torchrun received.

    Raises:
        InputError: the rendezvous port is taken on this machine (a second
            run started on the same ``PORT``, or another program holds
            it).
    """
    import logging
    import signal

    from torch.distributed import DistNetworkError
    from torch.distributed.elastic.multiprocessing.api import \
        SignalException
    from torch.distributed.elastic.multiprocessing.errors import \
        ChildFailedError
    from torch.distributed.run import main

    # torchrun logs each failed process (its rank, status, pid) as an error
    # line: the line below says it, once
    def not_failure_report(record):
        return not str(record.msg).startswith('failed (exitcode')
    log = logging.getLogger('torch.distributed.elastic.multiprocessing.api')
    log.addFilter(not_failure_report)
    # torchrun sets handlers of these (to end its processes) and leaves
    # them: put back after, for a caller that goes on
    caught = [s for s in ('SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT')
              if hasattr(signal, s)]
    handlers = {s: signal.getsignal(getattr(signal, s)) for s in caught}
    try:
        main(list(argv))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        code = failure.exitcode
        if code < 0:
            name = signal.Signals(-code).name if -code in set(
                signal.Signals) else f'signal {-code}'
            how = f'was ended by {name}' + (
                ' (the system\'s out-of-memory killer sends it)'
                if -code == signal.SIGKILL else '')
        else:
            how = f'exited with status {code}'
        others = len(exc.failures) - 1
        print(f'error: training process {rank} {how}' + (
            f' ({others} more failed after it)' if others else '')
            + '; its message is above', file=sys.stderr)
        return 128 - code if code < 0 else (code if 0 < code < 256 else 1)
    except SignalException as exc:
        # torchrun has ended its processes (each said why in its line)
        return 128 + int(exc.sigval)
    except DistNetworkError as exc:
        # a second run on this machine at the same port: torchrun's
        # traceback of some 20 lines, exit status 1, before any process
        if 'EADDRINUSE' not in str(exc):
            raise
        port = next((a.split('=', 1)[1] for a in argv
                     if str(a).startswith('--master_port=')), '29500')
        # one machine: dist_train.sh without PORT / MASTER_PORT takes a
        # free port itself (torchrun's --standalone)
        alone = any(str(a) in ('--nnodes=1', '--nnodes=1:1') for a in argv)
        raise InputError(
            port_taken_line(port, 'this machine', 'PORT',
                            'tools/dist_train.sh') + (
                ', or with PORT and MASTER_PORT unset (one machine: a free '
                'port)' if alone else '')) from None
    finally:
        log.removeFilter(not_failure_report)
        for name, handler in handlers.items():
            if handler is not None:
                signal.signal(getattr(signal, name), handler)
    return 0


def _validating_hooks(cfg, resumes: bool = False) -> List[str]:
    """The keys of ``cfg``'s ``ValidateBeforeTrainHook`` s, which validate
    before the first step of a run that starts at it (``resumes``: a run
    that continues a checkpoint past its first step,
    :func:`resumed_past_start`, where it skips); none in a run that
    resumes so."""
    return [f'custom_hooks.{i}' for i, hook in enumerate(
        () if resumes else cfg.get('custom_hooks') or ())
        if isinstance(hook, dict) and
        type_name(hook.get('type')) == 'ValidateBeforeTrainHook']


def _training_validates(cfg, resumes: Union[bool, 'ResumedAt'] = False,
                        loop: Any = None) -> bool:
    """Whether training the runner of ``cfg`` runs its validation loop:
    MMEngine's training loops validate from ``train_cfg.val_begin`` on
    (its default, 1 in both, from the loop's signature:
    :func:`~openselfsup.config.train_loop_default`; at the last epoch or
    iteration whatever ``val_interval``), so not where it lies past the
    run's length (the lambda sweep's runs, which it evaluates after
    training); a ``ValidateBeforeTrainHook`` validates first whatever it
    says, except in a run that ``resumes`` from a checkpoint past its
    first step (it skips there: :func:`resumed_past_start`), and not in
    a run resumed at or past its end (:class:`ResumedAt`: its loop trains
    no step). A length or
    ``val_begin`` that is not a number (a loop not MMEngine's, whose
    default is not read): it validates. ``loop``: the ``train_cfg`` as
    judged (None: the config's; a user's loop that runs as one of
    MMEngine's, as that one: :func:`check_validated_model`)."""
    if _validating_hooks(cfg, resumes):
        return True
    loop = cfg.get('train_cfg') if loop is None else loop
    length = _run_length(loop)
    begin = loop.get('val_begin', train_loop_default(loop, 'val_begin')) \
        if isinstance(loop, dict) else None
    if length is None or not is_int(begin):
        return True
    # a run resumed at its end trains no step: its loop never validates
    done = _resumed_count(resumes, length[1])
    return begin <= length[0] and (done is None or done < length[0])


def _resumed_count(resumes: Any, unit: str) -> Optional[int]:
    """The epochs or iterations (``unit``, :func:`_run_length`'s) a run
    that ``resumes`` (:func:`resumed_past_start`'s answer) has done
    before it starts: 0 for a new run, None where its checkpoint does not
    say."""
    if not resumes:
        return 0
    return resumes.count(unit) if isinstance(resumes, ResumedAt) else None


#: the config sections of the data loaders a runner builds
#: (:func:`_run_loaders`)
LOADER_SECTIONS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _run_loaders(cfg, trains: bool = True, evaluates: Sequence[str] = (),
                 resumes: bool = False) -> List[Tuple[str, bool]]:
    """``(section, started)`` of each of :data:`LOADER_SECTIONS` that the
    runner of ``cfg`` builds, so whose data it reads (arguments and
    ``started`` as :func:`_worker_loaders`'): ``train_dataloader`` where
    it ``trains``, ``val_dataloader`` where ``val_cfg`` is set and it
    trains or the caller validates, ``test_dataloader`` where
    ``test_cfg`` is set and the caller tests."""
    found = []
    if trains:
        found.append(('train_dataloader', True))
    if cfg.get('val_cfg') is not None and (trains or 'val' in evaluates):
        found.append(('val_dataloader', 'val' in evaluates or (
            trains and _training_validates(cfg, resumes))))
    if cfg.get('test_cfg') is not None and 'test' in evaluates:
        found.append(('test_dataloader', True))
    return found


def read_sections(cfg, trains: bool = True,
                  evaluates: Sequence[str] = ()) -> Tuple[str, ...]:
    """The top-level sections of ``cfg`` that its run reads: every one
    but the loaders of :data:`LOADER_SECTIONS` it does not run
    (:func:`_run_loaders`, ``trains`` and ``evaluates`` as there; the test
    set of a run that does not test): the ``read`` of
    :func:`~openselfsup.config.unmoved_copies_note`."""
    run = [name for name, _ in _run_loaders(cfg, trains, evaluates)]
    return tuple(name for name in cfg.keys()
                 if name not in LOADER_SECTIONS or name in run)


def unmoved_notes(cfg, read: Optional[Sequence[str]] = None,
                  flags: Optional[Dict[str, str]] = None) -> List[str]:
    """:func:`~openselfsup.config.unmoved_copies_note` of ``cfg``, each
    dataset's paths joined to its ``data_root`` as its type joins them
    (:func:`~openselfsup.datasets.data_files.joins_to_root`): the one
    call of every command that warns of ``--cfg-options`` moving some
    copies of a path variable (``read``, ``flags`` as there)."""
    return unmoved_copies_note(cfg, read, joins=joins_to_root, flags=flags)


def warning_words(note: str) -> str:
    """A note ``'warning: ...'`` (:func:`unmoved_notes`' lines,
    :func:`worker_count_notes`', :func:`prepare_config`'s warnings) as a
    logger's warning says it, whose level says ``warning``: its words
    after the prefix (a note without it as it is)."""
    return note.removeprefix('warning: ')


def _worker_loaders(cfg, trains: bool = True, evaluates: Sequence[str] = (),
                    resumes: bool = False) -> List[Tuple[str, int, bool]]:
    """``(config key, num_workers, started)`` of each data loader a
    runner built from ``cfg`` builds, ``started`` where the run starts
    its workers (iterates it). Training (``trains``) builds
    ``train_dataloader``, each ``KNNEvalHook`` of ``custom_hooks`` (the
    HLSS configs': its bank and query loaders, ``custom_hooks.<i>``) and,
    where ``val_cfg`` is set, ``val_dataloader``, which it starts where
    it validates (:func:`_training_validates`: built and never started
    where ``val_begin`` lies past the run's end). ``evaluates``: the
    evaluations the caller runs on the runner itself (the lambda sweep's
    ``'val'``, and ``'test'`` with ``--test``), which build and start
    ``val_dataloader`` / ``test_dataloader`` (where ``val_cfg`` /
    ``test_cfg`` is set); a ``tools/train.py`` run evaluates nothing
    after training, and never builds the test loader. ``resumes``: the
    run continues a checkpoint (:func:`_training_validates`)."""
    loaders = [(name, (cfg.get(name) or {}).get('num_workers', 0), started)
               for name, started in _run_loaders(cfg, trains, evaluates,
                                                 resumes)
               if isinstance(cfg.get(name), dict)]
    hooks = (cfg.get('custom_hooks') or ()) if trains else ()
    for i, hook in enumerate(hooks):
        if isinstance(hook, dict) and is_knn_hook_type(hook.get('type'),
                                                       run_scope(cfg)):
            loaders.append((f'custom_hooks.{i}', hook.get('num_workers', 0),
                            True))
    return [(key, workers, started) for key, workers, started in loaders
            if is_int(workers)]


#: the evaluations a caller of :func:`train` / :func:`build_runner` may
#: run on the runner (``evaluates``)
EVALUATIONS = ('val', 'test')


def checked_evaluations(evaluates) -> Tuple[str, ...]:
    """``evaluates`` of :func:`train` / :func:`build_runner` as a tuple:
    a tuple or list of :data:`EVALUATIONS` names; a bare string
    (``'val'``, read letter by letter) is a TypeError, another name a
    ValueError, each one line."""
    if not isinstance(evaluates, (tuple, list)):
        raise TypeError(
            f'evaluates={evaluates!r}: not a tuple of the evaluations run '
            "on the runner; give e.g. evaluates=('val',), or () for none")
    unknown = [name for name in evaluates if name not in EVALUATIONS]
    if unknown:
        raise ValueError(
            f'evaluates={tuple(evaluates)!r}: {unknown[0]!r} is no '
            f"evaluation of the runner; give names of {EVALUATIONS!r}")
    return tuple(evaluates)


def _worker_excess(cfg, trains: bool = True, evaluates: Sequence[str] = (),
                   resumes: bool = False
                   ) -> Tuple[List[Tuple[str, int, bool]], Optional[int]]:
    """``(the loaders, cores)``: the ``(config key, num_workers,
    started)`` of the data loaders the run of ``cfg`` builds
    (:func:`_worker_loaders`) that torch warns of
    (``DataLoader.check_worker_number_rationality``, as each is built and
    as its workers start), more workers than the CPU cores this process
    may run on (what torch suggests at most), or any where the count of
    cores is not known (cores None: torch cannot suggest one)."""
    from ..lowshot.parallel import known_cores
    cores = known_cores()
    return [loader for loader in _worker_loaders(cfg, trains, evaluates,
                                                 resumes) if loader[1] > (0 if cores is None else cores)], cores


def torch_worker_warning(workers: int) -> str:
    """The pattern of torch's warning for a DataLoader of ``workers``
    workers above what it suggests, every wording of it
    (``DataLoader.check_worker_number_rationality``): the suggested count
    on Linux; with `` (`cpuset` is not taken into account)`` where
    ``os.sched_getaffinity`` is missing (macOS, Windows); that it cannot
    compute one where the CPU count is not known."""
    return (f'This DataLoader will create {workers} worker processes in '
            r'total\. (Our suggested max number of worker in current '
            r'system is \d+( \(`cpuset` is not taken into account\))?,|'
            'DataLoader is not able to compute a suggested max number of '
            'worker)')


def worker_count_notes(cfg, trains: bool = True,
                       evaluates: Sequence[str] = (),
                       resumes: bool = False) -> List[str]:
    """A warning note for the data loaders whose workers the run of
    ``cfg`` starts (the training loader, the validation, test and kNN
    loaders of the run: :func:`_worker_loaders`, ``trains`` and
    ``evaluates`` as there) whose ``num_workers`` is above the CPU cores
    this process may run on (what torch suggests at most), or that have
    any workers where the count of cores is not known (torch then says it
    cannot suggest one), in place of torch's own warning, which came
    twice a loader (built, its workers started) and named no way out
    (:func:`_built` has the runner leave it out while it runs:
    :func:`worker_warning_left_out`). A loader built and never started
    (a validation loader of a run that never validates) is not named
    (it named the test loader of every config setting ``test_cfg``,
    which a ``tools/train.py`` run never builds). The counts are kept,
    not capped: with the CLP / FSP per-image views each training worker
    draws from its own seeded stream and makes every ``num_workers``-th
    batch, so another count draws other views (of the same distribution)
    than the configs' published 8 on the same machine (said for a config
    with those views, one setting ``augment_on``; not for the HLSS and
    balance configs).

    Args:
        cfg (Config): the run's config.
        trains (bool): the run trains (False: a runner only evaluated).
        evaluates (Sequence[str]): the evaluations the caller runs on the
            runner itself, ``'val'`` and ``'test'``.
        resumes (bool): the run continues a checkpoint past its first
            step (a ``ValidateBeforeTrainHook`` skips:
            :func:`resumed_past_start`).

    Returns:
        list[str]: the note (``'warning: ...'``, one line naming every
        such loader), or none.
    """
    excess, cores = _worker_excess(cfg, trains, evaluates, resumes)
    excess = [(key, workers) for key, workers, started in excess
              if started]
    if not excess:
        return []
    counts = ', '.join(f'{key}.num_workers={workers}'
                       for key, workers in excess)
    if cores is None:  # torch: 'not able to compute a suggested max'
        said = (f'warning: {counts}: torch cannot count the CPU cores of '
                'this system, so it suggests no number of workers (more '
                'workers than cores may run slowly)')
        way = ('--cfg-options ' + ' '.join(
            f'{key}.num_workers=<the cores this run may use>'
            for key, _ in excess) + ' follows the cores')
    else:
        said = (f'warning: {counts} on {cores} CPU core(s): torch suggests '
                f'at most {cores} (more workers than cores may run slowly)')
        way = ('--cfg-options ' + ' '.join(
            f'{key}.num_workers={cores}' for key, _ in excess) +
            ' follows the suggestion')
    trained = dict(excess).get('train_dataloader')
    # the CLP / FSP configs' views (their fast-path key): the HLSS and
    # balance configs were told of them, and of a published 8 they do not
    # all have
    if trained is None or 'augment_on' not in cfg:
        return [f'{said}. {way}']
    return [f'{said}; the shipped CLP / FSP configs keep the published 8, '
            f"for a GPU node. {way}; with the per-image views "
            f"(augment_on='cpu') it draws other views than {trained} "
            "training workers do (each worker has its own seeded stream), "
            'of the same distribution']


def _worker_warnings(cfg, trains: bool = True,
                     evaluates: Sequence[str] = ()) -> List[str]:
    """The patterns of torch's warnings of the loaders the run of ``cfg``
    builds with more workers than cores (:func:`_worker_excess`): those
    :func:`worker_count_notes` names, and those built and never started,
    which torch warns of as they are built, one per worker count."""
    return [torch_worker_warning(workers) for workers in sorted(
        {loader[1] for loader in _worker_excess(cfg, trains, evaluates)[0]})]


def worker_warning_left_out(runner, cfg, trains: bool = True,
                            evaluates: Sequence[str] = ()) -> None:
    """Have ``runner`` (an :class:`~openselfsup.engine.runner.
    AtomicRunner`) leave torch's warnings of the loaders the run of
    ``cfg`` builds with more workers than cores (:func:`_worker_warnings`,
    ``trains`` and ``evaluates`` as there) unshown whenever it builds or
    runs a loop: the training, and the evaluations after it (a sweep's
    ``runner.val()``), where torch warns as each loader is built and as
    its workers start (the note says it). Outside the runner's use (a
    loader of that count built after it) torch's warning is shown.
    MMEngine's own Runner (a config without ``runner_type``) cannot: its
    callers leave them out around its use (:func:`worker_warnings_left_out`:
    :func:`train` around its training, the lambda sweep around its
    evaluations).

    Args:
        runner: the runner built from ``cfg``.
        cfg (Config): its config.
        trains (bool): the runner is trained.
        evaluates (Sequence[str]): the evaluations its caller runs.
    """
    leave_out = getattr(runner, 'leave_out_warnings', None)
    if leave_out is not None:
        for pattern in _worker_warnings(cfg, trains, evaluates):
            leave_out(pattern, UserWarning)


def unannounced_evaluation_notes(runner, cfg, said: Sequence[str],
                                 evaluates: Sequence[str] = (),
                                 trains: bool = True) -> None:
    """Have ``runner`` (an :class:`~openselfsup.engine.runner.
    AtomicRunner`) say the notes of the loader of each evaluation of
    :data:`EVALUATIONS` its caller did not announce in ``evaluates``, when
    that evaluation first runs (``runner.val()`` after ``train(cfg,
    evaluates=())``), naming the ``evaluates`` that says it before the
    run, with torch's warning of it left out meanwhile
    (:meth:`~openselfsup.engine.runner.AtomicRunner.note_when_evaluated`):
    its worker counts (:func:`worker_count_notes`: a validation loader
    built for training and never started had neither the note nor
    torch's warning, left out for the training), and the warning of
    ``--cfg-options`` that moved some copies of a path variable where
    that loader's section read too changes it (:func:`unmoved_notes` of
    the sections the run reads, ``trains`` as :func:`read_sections`':
    ``runner.test()`` read the test set's old folder without a word),
    those of them that ``said`` does not hold: the notes the run's log
    says before it (:func:`prepare_config`'s, which hold its
    :func:`unmoved_notes` of the sections the run reads; they were made
    again here)."""
    note_when_evaluated = getattr(runner, 'note_when_evaluated', None)
    if note_when_evaluated is None:
        return
    run = read_sections(cfg, trains, evaluates)
    for name in EVALUATIONS:
        if name in evaluates:
            continue
        notes = worker_count_notes(cfg, trains=False, evaluates=(name,))
        if f'{name}_dataloader' not in run:
            notes += [note for note in unmoved_notes(
                cfg, run + (f'{name}_dataloader',)) if note not in said]
        if not notes:
            continue
        announced = tuple(e for e in EVALUATIONS
                          if e in evaluates or e == name)
        note_when_evaluated(name, [
            f'runner.{name}() is not in the evaluates={tuple(evaluates)!r} '
            f'the runner was built with (evaluates={announced!r} says '
            f'this before the run): {warning_words(note)}'
            for note in notes], _worker_warnings(cfg, False, (name,)))


@contextlib.contextmanager
def worker_warnings_left_out(runner, cfg, trains: bool = True,
                             evaluates: Sequence[str] = ()
                             ) -> Iterator[None]:
    """The body (a use of ``runner``: its training where ``trains``, the
    evaluations ``evaluates``, :func:`_worker_loaders`) with torch's
    warnings of the loaders it builds with more workers than cores left
    out, where ``runner`` does not leave them out itself (MMEngine's
    Runner, built from a config without ``runner_type``: it showed
    torch's warning beside the note); nothing more for an
    :class:`~openselfsup.engine.runner.AtomicRunner`
    (:func:`worker_warning_left_out`)."""
    from ..utils.log_filters import warnings_left_out
    with contextlib.ExitStack() as stack:
        if getattr(runner, 'leave_out_warnings', None) is None:
            for pattern in _worker_warnings(cfg, trains, evaluates):
                stack.enter_context(warnings_left_out(pattern, UserWarning))
        yield


def per_process_batch(total: int, world_size: int) -> int:
    """``total // world_size``, or an InputError if it does not divide."""
    if total % world_size:
        raise InputError(f'total_batch_size {total} is not divisible by the '
                         f'{world_size} training processes; change the GPU '
                         'count or --cfg-options total_batch_size=...')
    return total // world_size


def _group_sizes(model: dict):
    """``(config key, size)`` of every ``group_size`` in a model config
    (the group loss's ``model.head.group_size``, GhostBN's
    ``model.backbone.norm_cfg.group_size``...)."""
    for key, node in config_dicts(model, 'model'):
        size = node.get('group_size')
        if is_int(size):
            yield f'{key}.group_size', size


def group_notes(model: dict, batch: int, world: int,
                drop_last: bool = True, sync_bn: bool = False) -> list:
    """Check the per-process batch against the model's groups before the
    run starts: a batch larger than a group size must be a multiple of it
    (else the InputError the first step would raise), and the epoch's last,
    short batch must be dropped (its size is not a multiple in general: the
    error would come at the end of the first epoch); a batch smaller than a
    group size is one group of ``batch`` images, which is said (e.g. the FSP
    recipe, groups of 128 as the published 4 GPUs, launched on 8 GPUs:
    BatchNorm statistics over 64 images).

    With ``sync_bn`` in a distributed run (MMEngine then turns every
    BatchNorm, GhostBN included, into SyncBatchNorm) the BatchNorm group
    sizes (``norm_cfg``) do not apply and are not checked.

    Returns:
        list[str]: one note per group size larger than the batch.
    """
    from ..utils.groups import groups_of
    from ..utils import InputError
    notes = []
    for key, size in _group_sizes(model):
        if sync_bn and '.norm_cfg.' in key:
            continue
        groups_of(batch, size, key)
        if batch > size and not drop_last:
            raise InputError(
                f'train_dataloader.drop_last=False with {key}={size}: the '
                f'epoch\'s last, short batch would have to be a multiple of '
                f'{size}; keep drop_last=True (docs/pretraining.md: the '
                'published last step is not reproduced)')
        if batch < size:
            notes.append(
                f'{key}={size}, but the per-process batch is {batch} '
                f'({world} process(es)): each process\'s batch is one group '
                f'of {batch} images, not {size} (the BatchNorm statistics or '
                f'contrastive negatives of a group); fewer processes or a '
                f'larger total_batch_size keep groups of {size}')
    return notes


def split_batch(cfg: Config, world: int, distributed: bool) -> list:
    """Set the per-process batch of ``world`` processes (a config's
    ``total_batch_size`` split evenly) and check it against the model's
    groups (:func:`group_notes`); the launchers run this before they start
    any process (``tools/train.py --check-config --check-world N``).

    Returns:
        list[str]: notes for the run's log.

    Raises:
        InputError: no process at all (``GPUS`` or ``NNODES`` 0), a total
            that the processes do not divide, a batch that the groups do
            not divide.
    """
    if world < 1:
        raise InputError(f'{world} training processes: the GPU count (and '
                         'NNODES) must be at least 1')
    if 'train_dataloader' not in cfg:
        return []
    if 'total_batch_size' in cfg:
        batch = per_process_batch(int(cfg.total_batch_size), world)
        cfg.train_dataloader.batch_size = batch
        notes = [f'total batch {cfg.total_batch_size} kept: {world} '
                 f'process(es) x batch {batch} each (learning rate not '
                 'rescaled)']
    else:
        notes = [f'per-process batch {cfg.train_dataloader.batch_size} '
                 f'from the config, {world} process(es)']
    if 'model' in cfg:
        notes += group_notes(cfg.model, int(cfg.train_dataloader.batch_size),
                             world,
                             cfg.train_dataloader.get('drop_last', False),
                             # MMEngine converts to SyncBatchNorm only in a
                             # distributed run
                             bool(cfg.get('sync_bn')) and distributed)
    return notes


#: training runs started in this process (see :func:`prepare_config`)
_RUN_COUNTER = itertools.count(1)


def _number(value, inf: bool = False) -> bool:
    """An int or float that is not a bool, finite (or infinite with
    ``inf``), not NaN."""
    return is_number(value) and (math.isfinite(value) or
                                 inf and value == math.inf)


def _or_none(rule: Tuple[Callable[[Any], bool], str]
             ) -> Tuple[Callable[[Any], bool], str]:
    """``rule`` that also takes None (an argument its class defaults)."""
    test, what = rule
    return (lambda v: v is None or test(v)), f'{what}, or None'


_POSITIVE_INT = (lambda v: is_int(v) and v >= 1, 'a positive integer')
#: a count MMEngine reads, where it takes a whole float
#: (:func:`~openselfsup.config.is_whole`)
_POSITIVE_WHOLE = (lambda v: is_whole(v) and v >= 1, 'a positive integer')
#: an ``accumulative_counts``: the runner's rule (a whole float is its int)
_ACCUMULATION = (lambda v: accumulation_count(v) is not None,
                 'a positive integer')
_COUNT = (lambda v: is_int(v) and v >= 0, 'a non-negative integer')
_INT = (is_int, 'an integer')
#: True or False; 0 and 1 too, where what reads it takes any truth value
_FLAG = (lambda v: v in (True, False) and isinstance(v, int), 'True or False')
#: True or False only: torch's samplers refuse 0 and 1 (``drop_last``)
_BOOL = (lambda v: isinstance(v, bool), 'True or False')
_NUMBER = (_number, 'a number')
_RATE = (lambda v: _number(v) and v >= 0, 'a non-negative number')
_POSITIVE = (lambda v: _number(v) and v > 0, 'a positive number')
#: numpy's global seed (MMEngine's ``set_random_seed``) takes 0..2**32-1;
#: None draws one. What MMEngine adds to it on each process and DataLoader
#: worker: :func:`~openselfsup.config.check_seed_reach`
_SEED = (lambda v: v is None or numpy_seed(v),
         f'an integer from 0 to {NUMPY_SEED_MAX}, or None (a seed drawn at '
         'random)')

#: the run settings :func:`check_run_values` checks before the runner is
#: built, ``(dotted key, (test, what is expected))``: a key the config does
#: not hold is not checked (MMEngine's default applies); ``*`` is each
#: item of a list (``param_scheduler.*.end``), or the dict itself where the
#: config has one; ``<named>`` is each wrapper of an ``optim_wrapper`` of
#: several (:func:`~openselfsup.config.named_wrappers`). Each row is a
#: value that was a traceback (from deep
#: inside MMEngine or torch, or from the middle of the run: a checkpoint
#: hook's ``max_keep_ckpts='x'`` or a cosine's ``eta_min='x'`` after the
#: first epoch), a line only once the model was built (the optimizer's
#: ``lr='x'``), or silently another setting (``sampler.shuffle='no'``
#: shuffles: a non-empty string is true; mmpretrain's LARS takes a
#: negative float ``lr``).
RUN_VALUES = (
    ('total_batch_size', _POSITIVE_INT),
    # AtomicRunner's check of a new run's load_from or a resume's
    # checkpoint (False: MMEngine's loose load); a string 'False' would
    # have checked
    ('load_from_check', _BOOL),
    *((f'{loader}.{key}', rule)
      for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
      for key, rule in (('batch_size', _POSITIVE_INT),
                        ('num_workers', _COUNT),
                        ('drop_last', _BOOL),
                        ('persistent_workers', _FLAG),
                        ('pin_memory', _FLAG),
                        ('sampler.shuffle', _FLAG))),
    # MMEngine's loops take a whole float (3.0: int(), checked equal)
    ('train_cfg.max_epochs', _POSITIVE_WHOLE),
    ('train_cfg.max_iters', _POSITIVE_WHOLE),
    ('train_cfg.val_interval', _POSITIVE_WHOLE),
    # MMEngine's CheckpointHook saves every ``interval`` epochs (or
    # iterations) only for a positive one: -1 (its default), 0 or less
    # saves none on the way, the last one only (``save_last``)
    ('default_hooks.checkpoint.interval',
     (is_whole, 'an integer (0 or less: only the last checkpoint)')),
    # MMEngine keeps every checkpoint for -1 (its default), 0 or less
    ('default_hooks.checkpoint.max_keep_ckpts', _INT),
    ('default_hooks.checkpoint.by_epoch', _FLAG),
    ('default_hooks.checkpoint.save_last', _FLAG),
    # (MMEngine's LoggerHook refuses a float)
    ('default_hooks.logger.interval', _POSITIVE_INT),
    # the log processor's window (HistoryBuffer.mean): 'global' (a window
    # of MMEngine's custom_cfg only) or 2.0 was an AssertionError at the
    # first log line, after the baseline evaluation and the first
    # iterations; 0 averaged the whole run, -1 all but its first value
    ('log_processor.window_size', _POSITIVE_INT),
    ('randomness.seed', _SEED),
    ('randomness.deterministic', _FLAG),
    ('randomness.diff_rank_seed', _FLAG),
    ('env_cfg.cudnn_benchmark', _FLAG),
    # the optimizer's values, of the wrapper and of each wrapper of several
    # (an OptimWrapperDict: optim_wrapper.NAME.optimizer.lr), which were
    # not checked: a TypeError or ValueError from torch in each started
    # process, or silently another run
    *((f'{wrapper}.{key}', rule)
      for wrapper in ('optim_wrapper', 'optim_wrapper.<named>')
      for key, rule in (
          # torch's optimizers refuse a negative rate, decay or momentum
          # (mmpretrain's LARS took a negative float lr), and a string
          ('optimizer.lr', _RATE),
          ('optimizer.weight_decay', _RATE),
          ('optimizer.momentum', _RATE),
          # LARS's coefficient (mmpretrain's LARS and OpenSelfSupLARS, the
          # only optimizers with an ``eta``): each weight's step is scaled
          # by eta * ||w|| / (||g|| + wd ||w||), so 0 moved no weight (the
          # run exited 0, untrained), NaN or inf made NaN weights, a
          # negative one was LARS's ValueError once the model was built
          ('optimizer.eta',
           (lambda v: _number(v) and v > 0,
            'a positive finite number (the LARS coefficient: 0 moves no '
            'weight)')),
          # '5' was a TypeError from MMEngine's OptimWrapper, 0 its bare
          # AssertionError, 2.5 a step every 5 iterations of losses
          # divided by 2.5
          ('accumulative_counts', _ACCUMULATION),
          # torch's clip_grad_norm_: inf clips nothing (MMEngine still logs
          # the norm); 0 zeroed every gradient, a negative one flipped them
          ('clip_grad.max_norm',
           (lambda v: _number(v, inf=True) and v > 0,
            'a positive number (inf: no clipping, the norm logged)')))),
    # MMEngine's scale_lr: lr * total batch / float(base_batch_size)
    ('auto_scale_lr.base_batch_size', _POSITIVE),
    ('auto_scale_lr.enable', _FLAG),
    ('param_scheduler.*.begin', _RATE),
    # a scheduler without an end ends with the run (MMEngine's runner sets
    # the loop's max_epochs / max_iters; the class's own default, 1e9, only
    # when built outside a runner); float('inf') is no end, except with
    # convert_to_iter_based (check_schedules)
    ('param_scheduler.*.end', (lambda v: _number(v, inf=True) and v >= 0,
                               'a non-negative number')),
    # a cosine's T_max: 0 or None is end - begin (MMEngine's ``T_max or``)
    ('param_scheduler.*.T_max', (lambda v: v is None or _RATE[0](v),
                                 'a positive number, or 0 or None '
                                 '(end - begin)')),
    # (None: the class's default, where it has one: check_schedules)
    ('param_scheduler.*.eta_min', _or_none(_NUMBER)),
    ('param_scheduler.*.eta_min_ratio', _or_none(_NUMBER)),
    # MultiStepLR: a step never taken (a string, a fraction: 0.07 * 100 is
    # 7.000000000000001), or a traceback from the check of a shortened run
    # (schedule_notes) before; a whole float (7.0) is the step it equals
    ('param_scheduler.*.milestones',
     (lambda v: isinstance(v, (list, tuple))
      and all(is_whole(m) and m >= 0 for m in v),
      'a list of non-negative integers')),
    ('param_scheduler.*.gamma', _NUMBER),
    ('param_scheduler.*.by_epoch', _FLAG),
    # MMEngine's scheduler builder converts for any true value: 'false'
    # (a string) was a schedule stepped per iteration
    ('param_scheduler.*.convert_to_iter_based', _FLAG),
)


#: the schedulers (MMEngine's LR, momentum and generic ones, mmpretrain's
#: weight-decay cosine; by class name, so that the check imports no
#: torch) whose ``eta_min`` and ``eta_min_ratio`` MMEngine reads by rules
#: of their own (:func:`check_schedules`): ``'number'``, eta_min must be a
#: number (PolyParamScheduler subtracts it from the value at each step,
#: its default 0; None was a TypeError after the first epoch);
#: ``'not both'`` (CosineAnnealingParamScheduler: neither is eta_min 0;
#: both were an AssertionError when training started); ``'one'``
#: (CosineRestartParamScheduler asserts exactly one of them: neither was
#: an AssertionError without a message). ``test_eta_min_rules_are_
#: mmengines`` compares the table with the registries' classes.
ETA_MIN_RULES = {
    **dict.fromkeys(('PolyLR', 'PolyMomentum', 'PolyParamScheduler'),
                    'number'),
    **dict.fromkeys(('CosineAnnealingLR', 'CosineAnnealingMomentum',
                     'CosineAnnealingParamScheduler',
                     'CosineAnnealingWeightDecay'), 'not both'),
    **dict.fromkeys(('CosineRestartLR', 'CosineRestartMomentum',
                     'CosineRestartParamScheduler'), 'one'),
}


def check_schedules(cfg: Config) -> None:
    """Refuse a ``param_scheduler`` entry that MMEngine fails on for
    reasons :data:`RUN_VALUES` (one key at a time) cannot see, checked
    after it: an ``eta_min`` / ``eta_min_ratio`` against its class's rule
    (:data:`ETA_MIN_RULES`), ``convert_to_iter_based`` with ``by_epoch``
    false (MMEngine's AssertionError when training started: it converts
    a schedule given in epochs only), and ``end=float('inf')`` with
    ``convert_to_iter_based``: MMEngine multiplies the end by the
    iterations per epoch and makes an int of it (an OverflowError when
    training started); without the conversion inf is no end, as its
    default. Torch-free.

    Raises:
        InputError: one line naming the entry, its values and the fix.
    """
    scheds = cfg.get('param_scheduler')
    if isinstance(scheds, dict):
        scheds = [('param_scheduler', scheds)]
    elif isinstance(scheds, (list, tuple)):
        scheds = [(f'param_scheduler.{i}', s) for i, s in enumerate(scheds)]
    else:
        return
    fix = 'fix the config or --cfg-options'
    for key, sched in scheds:
        if not isinstance(sched, dict):
            continue
        if sched.get('convert_to_iter_based') and \
                not sched.get('by_epoch', True):
            raise InputError(
                f'{key}: convert_to_iter_based with by_epoch = False in '
                f'{cfg.filename}: MMEngine converts epochs to iterations '
                'and asserts the schedule is given in epochs; give it in '
                f'epochs, or leave out the conversion ({fix} '
                f'{key}.by_epoch=True or {key}.convert_to_iter_based=False)')
        if sched.get('convert_to_iter_based') and \
                sched.get('end') == math.inf:
            raise InputError(
                f'{key}.end = inf with convert_to_iter_based in '
                f'{cfg.filename}: MMEngine converts the end to iterations '
                'and cannot make an integer of inf; give the epoch it ends '
                f'at ({fix} {key}.end=...)')
        kind = type_name(sched.get('type'))
        rule = ETA_MIN_RULES.get(kind)
        low, ratio = sched.get('eta_min'), sched.get('eta_min_ratio')
        if rule == 'number' and 'eta_min' in sched and low is None:
            raise InputError(
                f'{key}.eta_min = None in {cfg.filename}: expected a number '
                f'({kind} subtracts it at each step; 0 is its default) '
                f'({fix} {key}.eta_min=...)')
        if rule in ('not both', 'one') and low is not None and \
                ratio is not None:
            raise InputError(
                f'{key}: eta_min = {low!r} and eta_min_ratio = {ratio!r} in '
                f'{cfg.filename}: {kind} takes one of them, not both ({fix} '
                f'{key}.eta_min=None or {key}.eta_min_ratio=None)')
        if rule == 'one' and low is None and ratio is None:
            raise InputError(
                f'{key} ({kind}) in {cfg.filename}: give eta_min or '
                f'eta_min_ratio; it takes exactly one of them ({fix} '
                f'{key}.eta_min=0)')


def _values_at(node: Any, parts: List[str], done: str = ''
               ) -> Iterator[Tuple[str, Any]]:
    """``(dotted key, value)`` of every place the dotted pattern ``parts``
    (:data:`RUN_VALUES`' keys) names in ``node``; none where the config
    does not hold it."""
    if not parts:
        yield done, node
        return
    part, rest = parts[0], parts[1:]
    if part == '<named>':
        for name, sub in (named_wrappers(node) or {}).items():
            yield from _values_at(sub, rest, f'{done}.{name}')
    elif part == '*':
        if isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                yield from _values_at(item, rest, f'{done}.{i}')
        elif isinstance(node, (dict, Config)):
            yield from _values_at(node, rest, done)
    elif isinstance(node, (dict, Config)) and part in node:
        yield from _values_at(node[part], rest,
                              f'{done}.{part}' if done else part)


def _plain_numpy(cfg: Config) -> List[Tuple[str, Any]]:
    """Replace each numpy scalar of ``cfg`` (``np.float64(0.1)``,
    ``np.int64(3)``, ``np.bool_(True)``, ``np.str_('a')``, a 0-d array
    ``np.array(0.1)``, also in the file's own variables) in place by the
    Python value it holds (``.item()``: the same number, a float32 as the
    double that holds it exactly); MMEngine's config dump writes
    ``np.str_('a')`` as that text (a file that no longer loads), and the
    checks here take Python ints.

    Returns:
        list: ``(dotted key, value)`` of the numpy values left that
        MMEngine cannot print: its print of the config (when the runner is
        built, and its dump) writes ``str(value)`` into Python text that it
        parses, a traceback for ``[1. 2. 3.]``. An array it prints as
        Python (one element, ``[1.]``, or none) is left alone.
    """
    import ast

    import numpy as np
    left: List[Tuple[str, Any]] = []

    def printable(value) -> bool:
        try:
            ast.parse(str(value), mode='eval')
        except SyntaxError:
            return False
        return True

    def plain(value, key: str):
        if isinstance(value, np.generic) or isinstance(
                value, np.ndarray) and value.ndim == 0:
            item = value.item()
            if isinstance(item, (bool, int, float, str)):
                return item
        if isinstance(value, (np.generic, np.ndarray)):
            if not printable(value):
                left.append((key, value))
        elif isinstance(value, dict):
            for k, v in list(value.items()):
                new = plain(v, f'{key}.{k}' if key else str(k))
                if new is not v:
                    value[k] = new
        elif isinstance(value, list):
            for i, v in enumerate(value):
                new = plain(v, f'{key}.{i}')
                if new is not v:
                    value[i] = new
        elif isinstance(value, tuple):
            items = [plain(v, f'{key}.{i}') for i, v in enumerate(value)]
            if any(a is not b for a, b in zip(items, value)):
                return type(value)(items) if type(value) is tuple else \
                    type(value)(*items)  # a namedtuple
        return value

    for top in list(cfg.keys()):
        new = plain(cfg[top], top)
        if new is not cfg[top]:
            cfg[top] = new
    return left


def check_run_values(cfg: Config) -> None:
    """Refuse a run setting of the wrong type or range (:data:`RUN_VALUES`:
    the batch, epochs, workers, seed, learning rate, checkpoint and log
    intervals, switches...), a learning-rate schedule MMEngine fails on
    (:func:`check_schedules`), a dataset's ``indices`` of a type MMEngine's
    datasets refuse (:func:`check_indices`), a numpy array anywhere in the
    config that MMEngine cannot print (numpy scalars are replaced by their
    Python values: :func:`_plain_numpy`) and an unknown choice of
    ``amp``, ``augment_on``, ``channels_last``, ``compile_views``,
    ``prefetch_views``, ``reuse_batch_memory`` or ``compile_encoders``
    (:func:`~openselfsup.apis.fast_path.check_fast_path_values`), and
    ``auto_scale_lr.enable`` (``--auto-scale-lr``) with several optimizers
    the config gives windows of different lengths
    (:func:`~openselfsup.config.check_uneven_windows`), before
    the runner is built and without importing torch (the launchers'
    ``--check-config`` runs it). Each was a traceback deep inside PyTorch
    or MMEngine, a line only once the model was built, or silently another
    setting.

    Raises:
        InputError: one line naming the key, the value, the config and what
            is expected.
    """
    left = _plain_numpy(cfg)
    check_indices(cfg)  # its own line for an array of indices
    for key, value in left:
        kind = type(value)
        hint = ' (.tolist() in the config)' if kind.__name__ == 'ndarray' \
            else ''
        if '.' not in key:  # a variable of the file: a helper, maybe
            hint += (', or, for a helper the run does not read, name it '
                     f'__{key} (MMEngine leaves names starting with __ out '
                     'of the config)')
        raise InputError(
            f'{key} in {cfg.filename} is a {kind.__module__}.'
            f'{kind.__qualname__}: MMEngine cannot print or save a config '
            f'that holds it; give a list or a plain number{hint}')
    for pattern, (test, what) in RUN_VALUES:
        for key, value in _values_at(cfg, pattern.split('.')):
            if not test(value):
                raise InputError(
                    f'{key} = {value!r} in {cfg.filename}: expected {what} '
                    f'(fix the config or --cfg-options {key}=...)')
    check_schedules(cfg)
    check_train_loop(cfg)
    check_uneven_windows(cfg)
    check_fast_path_values(cfg)


def check_train_loop(cfg: Config) -> None:
    """Refuse a ``train_cfg`` without ``type`` or ``by_epoch`` that sets
    ``max_epochs``: MMEngine's runner then builds an iteration loop (the
    config's dict pops None for the missing ``by_epoch``), which has no
    such argument (a TypeError once the runner was built, after the data
    checks). Without ``max_epochs`` (``dict(max_iters=...)``) that loop is
    what was meant, and is taken.

    Raises:
        InputError: one line naming the config and the key to set.
    """
    loop = cfg.get('train_cfg')
    if isinstance(loop, dict) and 'type' not in loop and \
            'by_epoch' not in loop and 'max_epochs' in loop:
        raise InputError(
            f'train_cfg in {cfg.filename} sets max_epochs without by_epoch '
            '(or a type): MMEngine builds an iteration loop from it, which '
            'takes max_iters; give train_cfg.by_epoch=True for an epoch '
            'loop (fix the config or --cfg-options train_cfg.by_epoch=True)')


def check_indices(cfg: Config) -> None:
    """Refuse a dataset's ``indices`` that MMEngine's BaseDataset refuses
    or misreads: a numpy array (a TypeError when the dataset is built, or a
    traceback where the runner prints the config), True or False (ints to
    it: the first sample, or none, which failed when the dataset was
    built: ``indices=False`` is not "all of them", None is), a list whose
    items are not ints (a string or a float: a TypeError when the dataset
    is built; True or False: the samples 1 and 0). An int (the first N,
    or the last -N) or a sequence of ints (a list, a tuple, a ``range``)
    is what it takes. Checked in the dataloaders' datasets; the indices
    of a list beyond its end are checked where the list is read
    (:func:`~openselfsup.datasets.list_files.check_list_indices`)."""
    take = 'MMEngine\'s datasets take an int (the first N, or the last -N) ' \
        'or a list of ints'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for key, node in config_dicts(cfg.get(name) or {}, name):
            indices = node.get('indices')
            if isinstance(indices, bool):
                raise InputError(
                    f'{key}.indices = {indices!r} in {cfg.filename}: {take} '
                    f'(None: the whole list); it reads {indices} as '
                    f'{int(indices)}')
            if indices is None or isinstance(indices, int):
                continue
            if is_index_sequence(indices):
                wrong = [i for i in indices if not is_int(i)]
                if wrong:
                    raise InputError(
                        f'{key}.indices in {cfg.filename} holds {wrong[0]!r}:'
                        f' {take}')
                continue
            kind = type(indices)
            hint = ' (.tolist() in the config)' if hasattr(
                indices, 'tolist') else ''
            raise InputError(
                f'{key}.indices in {cfg.filename} is a {kind.__module__}.'
                f'{kind.__qualname__}: {take}{hint}')


def check_data_paths(cfg: Config, test: bool = False) -> None:
    """Refuse a training config whose data folders or annotation files do
    not exist, before the runner is built: the datasets find them only when
    the run starts, after MMEngine has logged its environment and config
    (some 270 lines). Checked (:func:`check_dataset_paths`): the datasets
    under ``train_dataloader``, for a run that validates
    ``val_dataloader``, with ``test`` (the sweep's ``--test``, which tests
    each run) ``test_dataloader``, and those under ``custom_hooks`` (the
    HLSS configs' ``KNNEvalHook`` bank and query, which the hook builds
    before the first iteration: a missing one was found there, after the
    runner was built, in one line that named no config key, and passed
    this check). The launchers run it before
    they start processes or submit a job (``tools/train.py
    --check-config``; not ``slurm_train.sh`` with ``DATA_CHECK=0``), on
    the machine they are started from. Then the evaluation sets that hold
    samples of the training set (:func:`check_disjoint_splits`: the
    validation set of a run that validates, with ``test`` the test set).
    Then the weights files and folders the model's components read when
    built (:func:`~openselfsup.config.check_model_files`: an open_clip
    tower's ``pretrained``, a text encoder's ``path``, a backbone's
    ``checkpoint``), found when the model was built, after those lines.
    The image files an ``ImageList``'s list names are looked for too
    (missing or empty, all counted in one line: :func:`_check_listed_images`);
    their headers, patches, feature files and the other list contents are
    checked when the datasets are built.

    Raises:
        InputError: naming the missing path and the config key, or the
            evaluation file that holds training samples; a missing weights
            file or folder, its key and the way out.
    """
    loaders = ['train_dataloader']
    if cfg.get('val_cfg') is not None:
        loaders.append('val_dataloader')
    if test:
        loaders.append('test_dataloader')
    check_dataset_paths(cfg, loaders + ['custom_hooks'])
    check_disjoint_splits(cfg, test)
    check_model_files(cfg.get('model'))


def check_dataset_paths(cfg: Config, keys: Sequence[str]) -> None:
    """Refuse a dataset config under one of the top-level ``keys`` of
    ``cfg`` (``train_dataloader``, ``custom_hooks``, ``knn_eval``...)
    whose data is not there: every ``data_root`` and ``ann_file`` (joined
    to its ``data_root`` when relative, as MMEngine's datasets do; a
    leading ``~`` expanded, as mmpretrain's; a dataset that downloads its
    data, ``download=True``, is not refused), then the other files and
    folders one of this project's datasets reads when built (a
    hierarchical dataset's metadata and split files, a ``CaptionedImages``
    classes file, the image folder of it and of an ``ImageList``, the
    feature folder of ``SlideReports``), resolved as the datasets
    resolve them
    (:func:`~openselfsup.datasets.data_files.dataset_paths`: the
    functions the datasets call, MMEngine's join for a ``data_prefix``),
    without importing them (torch); then any of those paths that lies in
    a generator's folder whose marker still says 'writing', every file
    there or not (:func:`~openselfsup.datasets.synthetic.ownership.
    check_finished`).

    Raises:
        InputError: naming the missing path and its config key; the path
            in an unfinished folder and the command that finishes it.
    """
    for name in keys:
        for key, node in config_dicts(cfg.get(name) or {}, name):
            root = node.get('data_root')
            root = root if isinstance(root, str) else ''
            kind = type_name(node.get('type'))
            # every path it reads when built, found once: its data_root
            # folder, its ann_file, the other files its type reads (this
            # project's datasets, which do not download)
            paths = dataset_paths(node)
            path, ann_read = next((found[1:3] for found in paths
                                   if found[0] == 'ann_file'), (None, None))
            # a type that takes none: any ann_file given stops its build,
            # '' and None too (review r115: a folder was 'not a JSON
            # file', a missing one 'file not found'; r117: '' passed)
            if 'ann_file' in node and kind in NO_ANN_FILE:
                typed = option_setting(cfg, f'{key}.ann_file')
                fix = 'remove the key from the config' if typed is None \
                    else f'drop --cfg-options {typed}=...' \
                    if typed == f'{key}.ann_file' else \
                    f'leave ann_file out of --cfg-options {typed}=...'
                raise InputError(
                    f'{key}.ann_file in {cfg.filename}: {kind} takes no '
                    f'ann_file (it reads its metadata and split files); '
                    f'{fix}')
            no_root = bool(root) and '://' not in root and \
                not os.path.isdir(root)
            # those not there but its ann_file (its data_root first where
            # no_root: refused below as such, or, beside a list of
            # absolute paths, passed over as its image folder is)
            gaps = [found for found in paths if found[0] != 'ann_file'
                    and not (os.path.isdir if found[2] == 'folder'
                             else os.path.isfile)(found[1])]
            # an ImageList whose list names every image by an absolute
            # path reads neither its data_root (but for a list under it)
            # nor its image folder: its list is opened only where one of
            # those folders is missing, whether the list is there or not
            # (one missing or unreadable reads as not absolute)
            absolute = kind == 'ImageList' and \
                any(f[2] == 'folder' for f in gaps) and _absolute_list(path)
            missing = None
            if no_root and not absolute:
                missing = ('data_root', root, 'folder', '')
            elif path and not os.path.exists(path):
                missing = ('ann_file', path, 'file', '')
            # a dataset that downloads fetches into data_root when it
            # starts; asked only for a missing path
            if missing and _downloads(node, 'custom_imports' in cfg):
                missing = None
            elif missing is None:
                missing = next((found for found in gaps if not (
                    found[2] == 'folder' and absolute)), None)
            # a list or JSON file of this project's types, a folder
            # there (which os.path.exists took): in the words the dataset
            # refuses it with when built (another package's type may
            # read a folder: not judged)
            if missing is None and ann_read in _FILE_NOUN and \
                    os.path.isdir(path):
                raise InputError(
                    f'{path}: is a folder, not a {_FILE_NOUN[ann_read]} '
                    f'file ({key}.ann_file in {cfg.filename}; '
                    f'{_path_fix(cfg, f"{key}.ann_file")})')
            if missing:
                what, path, read, how = missing
                # the line says 'file' of a list or JSON file too (how it
                # is read aside: 'list', 'json', 'file')
                kind = 'folder' if read == 'folder' else 'file'
                # in a generator's folder it was stopped while writing:
                # the list is missing because the data is unfinished
                from ..datasets.synthetic.ownership import \
                    unfinished_not_found
                unfinished = unfinished_not_found(f'{path}: {kind} not found',
                                                  path)
                if unfinished:
                    raise InputError(unfinished)
                where = '' if os.path.isabs(path) else \
                    f', relative to the current directory {os.getcwd()}'
                raise InputError(
                    f'{path}: {kind} not found{where} ({key}.{what} in '
                    f'{cfg.filename}{how}; '
                    f'{_path_fix(cfg, f"{key}.{what}")})')
            # all there, in a generator's folder whose marker still says
            # 'writing': trained on without a word before
            from ..datasets.synthetic.ownership import check_finished
            for what, there, _, _ in paths:
                check_finished(there, f'{key}.{what} in {cfg.filename}')
            if type_name(node.get('type')) == 'ImageList' and \
                    ann_read == 'list':
                _check_listed_images(node, path)


def _check_listed_images(node: dict, path: str) -> None:
    """Refuse an ``ImageList`` config ``node`` (its list at ``path``,
    there) whose listed image files are missing or empty, all counted in
    one line, as the dataset refuses them when built
    (:func:`~openselfsup.datasets.list_files.check_listed_files`, the same
    function): that was after MMEngine's log (some 300 lines), and named
    the first entry alone. A stat per entry, no file opened (the header
    check, which opens each, stays with the dataset). Not where its image
    check is ``'none'`` (the images are read by the first step), nor a
    list the reader refuses (the dataset says why when built)."""
    from ..datasets.data_files import list_image_root
    from ..datasets.list_files import check_listed_files, read_list_file
    root = list_image_root(node)
    if node.get('check', 'header') not in ('exists', 'header') or \
            root is None:
        return
    try:
        entries = read_list_file(path)
    except (InputError, OSError):
        return
    check_listed_files(root, entries, path)


#: what a dataset reads its ``ann_file`` as (``datasets.data_files.
#: _read_paths``) that is never a folder: the word for it
_FILE_NOUN = {'list': 'list', 'json': 'JSON'}


def _absolute_list(path: Optional[str]) -> bool:
    """Whether the list file ``path`` of an ``ImageList`` names every
    image by an absolute path, so that the dataset never reads its image
    folder (``os.path.join`` of the folder and an absolute path is the
    path): a missing folder is then not refused. False where the list
    cannot be read here (the dataset says why when built)."""
    from ..datasets.list_files import read_list_file
    try:
        entries = read_list_file(path) if path else []
    except (InputError, OSError, UnicodeDecodeError):
        return False
    return bool(entries) and all(os.path.isabs(rel) for rel, _ in entries)


def _path_fix(cfg: Config, key: str) -> str:
    """How to give the config ``cfg`` another value of its data path
    ``key``: ``--cfg-options KEY=...``, or, where the file set it from a
    variable of its own that other keys were set from too (the HLSS
    configs' ``data_root``, which also makes the kNN sets' folders and
    the demos' ``metadata`` / ``split`` files), that variable in the file
    that sets it: ``--cfg-options`` of the one key left the others on the
    old folder, and ``--cfg-options data_root=...`` changes none of them
    (:func:`~openselfsup.config.check_variable_overrides`). A value the
    command line set (:func:`~openselfsup.config.option_setting`), though
    it starts with such a variable's folder, is that ``--cfg-options``
    value, to be fixed there."""
    typed = option_setting(cfg, key)
    if typed is not None:
        return f'set by --cfg-options {typed}=...: fix that value'
    source = variable_source(cfg, key)
    if source is None or len(source[1]) < 2:
        return f'fix the config or --cfg-options {key}=...'
    name, uses, file = source
    others = [k for k in uses if k != key]
    more = f' and {len(others) - 3} more' if len(others) > 3 else ''
    return (f'it is the variable {name} of {file or cfg.filename}, which '
            f'also set {", ".join(others[:3])}{more} when the file was '
            f'read: set {name} there, as --cfg-options {key}=... would '
            f'leave those on {cfg[name]}')


#: the datasets whose annotation file is a JSON object keyed by sample id
#: (a case, an image): :func:`check_disjoint_splits` compares the keys
_KEYED_BY_ID = ('SlideReports', 'CaptionedImages')


def check_disjoint_splits(cfg, test: bool = False) -> None:
    """Refuse an evaluation set that holds samples of the training set.

    The validation set of a run that validates (``val_cfg`` set) and, with
    ``test`` (the sweep's ``--test``), the test set of a
    ``SlideReports`` / ``CaptionedImages`` config are compared by sample id
    (its annotation JSON's keys: a case, an image) with the training set:
    a fold's validation file given with another fold's training file
    (``val_fold1.json`` beside ``train_fold0.json``), or the training file
    given twice, scored every run on samples it was trained on, with no
    error. Other dataset types, and a file that is not there (the dataset
    says so when it is built), are not compared. Without torch:
    :func:`check_data_paths` runs it, for ``tools/train.py`` (and its
    launchers' ``--check-config``) as for the sweeps.

    Raises:
        InputError: naming the evaluation file, how many of its ids the
            training file also holds, and the first of them.
    """
    from ..utils.io import read_json_object

    def keyed_file(loader: str) -> Optional[str]:
        # the annotation file of a loader's dataset keyed by sample id,
        # where it is there
        node = (cfg.get(loader) or {}).get('dataset') or {}
        path = annotation_path(node)
        return path if type_name(node.get('type')) in _KEYED_BY_ID and \
            path and os.path.isfile(path) else None
    train_path = keyed_file('train_dataloader')
    if train_path is None:
        return
    train_ids = set(map(str, read_json_object(train_path)))
    loaders = (('val_dataloader',) if cfg.get('val_cfg') is not None
               else ()) + (('test_dataloader',) if test else ())
    for loader in loaders:
        path = keyed_file(loader)
        if path is None:
            continue
        ids = list(map(str, read_json_object(path)))
        shared = [i for i in ids if i in train_ids]
        if shared:
            first = ', '.join(repr(i) for i in shared[:3]) + (
                ', ...' if len(shared) > 3 else '')
            raise InputError(
                f'{path}: {len(shared)} of its {len(ids)} ids are also in '
                f'the training set {train_path} ({first}): {loader} would '
                'score samples the model is trained on; give disjoint '
                f'splits ({loader}.dataset.ann_file: the same fold\'s '
                'evaluation file)')


#: the dataset types that download their data when built unless told
#: otherwise (mmpretrain's, ``download=True`` by default); this project's
#: datasets do not download. A table, so that the check of a missing data
#: path does not import the dataset classes (and torch, ~7 s):
#: ``test_a_dataset_that_downloads_is_not_refused`` compares it with the
#: classes' signatures in the registry.
DOWNLOADING_DATASETS = frozenset({'CIFAR10', 'CIFAR100', 'MNIST',
                                  'FashionMNIST'})


def _downloads(node: dict, custom_imports: bool = False) -> bool:
    """Whether a dataset config downloads its data when built
    (``download=True``, set or its type's default:
    :data:`DOWNLOADING_DATASETS`). A config with ``custom_imports`` (its
    modules, imported when it was read, may register a dataset of their
    own) asks the class in the registry."""
    if 'download' in node:
        return bool(node['download'])
    kind = node.get('type')
    if not isinstance(kind, str):
        return False
    if type_name(kind) in DOWNLOADING_DATASETS:  # a scope.Name too
        return True
    if not custom_imports:
        return False
    import openselfsup.datasets  # noqa: F401  (registers the datasets)
    from ..registry import DATASETS
    try:
        cls = DATASETS.get(kind)
    except KeyError:
        return False
    return argument_value(cls, {}, 'download') is True


def resume_path(given: str,
                is_complete: Optional[Callable[[str], bool]] = None) -> str:
    """The checkpoint ``--resume CHECKPOINT`` continues from: the file, or
    for a training work dir the checkpoint ``--resume`` would continue
    from there (:func:`~openselfsup.utils.checkpoint_files.
    resolve_checkpoint`), in the form given (a relative path stays
    relative, so that every line of the run names the checkpoint as the
    user typed it: the refusals here did, the resume's warnings gave it
    as an absolute path). Imports no torch (the
    launchers' ``--check-config`` runs it), but to describe a file of
    torch's legacy format it refuses (:func:`_not_resumable`).

    Args:
        given (str): the ``--resume`` argument.
        is_complete (callable, optional): the test of a checkpoint file
            (default: :func:`~openselfsup.utils.checkpoint_files.
            is_complete_checkpoint`, every CRC: the run's); the launchers'
            check passes the cheap :func:`~openselfsup.utils.
            checkpoint_files.has_zip_directory`.

    Returns:
        str: the checkpoint file; a URL (:func:`~openselfsup.config.
        local_file` None) as given, unread: an http(s) one is downloaded
        when the run starts and resumed from as a local file
        (:func:`checkpoint_from_url`); another (``s3://...``) MMEngine's resume
        loads (its ``CheckpointLoader``), without the checks that read a
        local file (:func:`url_resume_note`).

    Raises:
        InputError: no such file, or a file that is not a complete
            checkpoint (cut short while it was written, of torch's legacy
            format, or no checkpoint: :func:`_not_resumable`).
    """
    from ..utils.checkpoint_files import (is_complete_checkpoint,
                                          is_torch_archive,
                                          resolve_checkpoint)
    if given and local_file(given) is None:
        return given
    is_complete = is_complete or is_complete_checkpoint
    folder = os.path.expanduser(given)
    try:
        path = resolve_checkpoint(folder, '--resume',
                                  is_complete=is_complete)
    except InputError:  # (a folder without a complete one: unless the
        # newest is a legacy file, which is said instead)
        if given and os.path.isdir(folder):
            check_resumes_newest(f'--resume {given}', folder, None)
        raise
    if given and os.path.isdir(folder):
        check_resumes_newest(f'--resume {given}', folder, path)
    if not os.path.isfile(path):
        raise InputError(f'--resume {given}: no such checkpoint file or '
                         'work dir')
    if not is_complete(path) or not is_torch_archive(path):
        raise _not_resumable(given, path)
    return path


def check_resumes_newest(flag: str, work_dir: str,
                         found: Optional[str]) -> None:
    """Refuse ``flag`` (``--resume``, ``--resume WORK_DIR``) where the
    checkpoint it resumes from in ``work_dir``, ``found`` (None: none, a
    new run) is older than a checkpoint of torch's legacy format there
    (:func:`~openselfsup.utils.checkpoint_files.newer_legacy_checkpoint`:
    ``last_checkpoint``'s file, or a later step), which cannot be resumed:
    it was passed over as incomplete with a warning in the log alone, the
    run resumed from the older file (or trained from scratch) and wrote
    over the newer one's epochs. The line names both files and says of
    the newer what :func:`_not_resumable` says of it given alone (a
    training checkpoint: the command that saves it again in the zip
    format)."""
    from ..utils.checkpoint_files import newer_legacy_checkpoint
    legacy = newer_legacy_checkpoint(work_dir, found)
    if legacy is None:
        return
    why = str(_not_resumable(legacy, legacy))[len(f'--resume {legacy}: '):]
    back = (f'go back to the older {found} and train over the later '
            f'steps; --resume {found} to do so' if found else
            'find no other checkpoint and train from scratch')
    raise InputError(f'{flag}: the newest checkpoint in {work_dir}, '
                     f'{legacy}, is not resumed (the resume would {back}): '
                     f'{why}')


def _not_resumable(given: str, path: str) -> InputError:
    """The refusal of ``--resume given`` (the file ``path``) that is no
    complete zip archive (:func:`resume_path`): a zip cut short while it
    was written; a file of torch's legacy format
    (:func:`~openselfsup.utils.checkpoint.load_legacy_checkpoint`, which
    imports torch: only on this refusal), which the resume's checks do
    not read: a training checkpoint with the command that saves it again
    in the zip format, one cut short said so (its pickles and tensors
    walked, torch-free: :func:`~openselfsup.utils.checkpoint_files.
    is_whole_loadable`; it was called no checkpoint, 'neither the zip
    archive ... nor torch's legacy format'), another file said to be no
    training checkpoint
    (its weights for ``load_from`` / ``init_cfg``: a converted copy was
    refused as none), one holding an object ``weights_only`` does not
    read named with it (:func:`~openselfsup.utils.checkpoint.
    unpickling_refusal`); or no checkpoint at all. Each was called 'not a
    complete checkpoint (cut short while it was written?)'. Which of them
    is told from the file's first bytes, torch-free
    (:func:`~openselfsup.utils.checkpoint_files.is_legacy_format`); only a
    legacy file is read with torch (it was imported for all). A file
    named ``.safetensors`` (weights only) is said to be no training
    checkpoint, with where its weights go (it was called no checkpoint)."""
    from ..config import is_training_meta
    from ..utils.checkpoint_files import (NO_CHECKPOINT, cut_short,
                                          is_legacy_format,
                                          is_safetensors_name,
                                          is_torch_archive,
                                          is_whole_loadable)
    other = 'give another one, or the run\'s work dir for its newest ' \
        'complete one'
    short = (f'--resume {given}: not a complete checkpoint (cut short '
             f'while it was written?); {other}')
    neither = f'--resume {given}: {NO_CHECKPOINT}; {other}'
    if is_safetensors_name(path):  # (torch.load hands it to safetensors)
        return InputError(
            f'--resume {given}: a .safetensors file holds weights only, '
            'not a training checkpoint; weights alone start a new run: '
            "load_from, or a backbone's init_cfg (type='Pretrained')")
    if not is_legacy_format(path):
        # (a zip of other files than torch's: no checkpoint)
        return InputError(short if cut_short(path) or has_zip_directory(
            path) and is_torch_archive(path) else neither)
    if not is_whole_loadable(path):  # its bytes end before its pickles or
        # tensors do: it was called no checkpoint, nor of the legacy format
        return InputError(
            f'--resume {given}: a checkpoint of torch\'s legacy format (a '
            'pickle) cut short, damaged or incomplete (its bytes end before '
            f'its pickles or tensors do); {other}')
    from ..utils.checkpoint import (UnpicklingRefused,
                                    load_legacy_checkpoint,
                                    weights_only_opted_out)
    try:
        # under torch's opt-out, its objects read as placeholders, as
        # MMEngine's resume would unpickle them
        saved = load_legacy_checkpoint(path, resume=True)
    except UnpicklingRefused as exc:
        # a legacy checkpoint holding an object that is not allow-listed:
        # which (unpickling_refusal), the path as given
        return InputError(f'--resume {given}: {exc.what}')
    except InputError as exc:
        # torch's two variables both set: that line whole (it was cut by
        # the path's length, as if it began with the path)
        return InputError(neither) if str(exc).startswith(
            f'{path}: neither') else exc
    if saved is None:
        return InputError(short)
    meta = saved.get('meta') if isinstance(saved, dict) else None
    if not is_training_meta(meta):
        return InputError(
            f'--resume {given}: not a training checkpoint (a file of '
            'torch\'s legacy format without epoch and iteration in its '
            'meta: backbone weights, or a model saved without its training '
            'state); weights alone start a new run: load_from, or a '
            "backbone's init_cfg (type='Pretrained')")
    # quoted for the shell it is pasted into: a path's quote or $ broke
    # the command's double quotes or was expanded (json: a Python string
    # literal in double quotes, whatever the path holds)
    code = ('import torch, openselfsup.engine; torch.save(torch.load('
            f'{json.dumps(path)}, weights_only='
            f'{not weights_only_opted_out()}), "NEW.pth")')
    return InputError(
        f'--resume {given}: a training checkpoint of torch\'s legacy format '
        '(a pickle, not the zip archive torch.save writes since torch 1.6), '
        'which the resume\'s checks do not read; save it again in the zip '
        f'format, python -c {shlex.quote(code)}, and --resume NEW.pth')


def url_resume_note(url: str) -> str:
    """The log's line for ``--resume URL`` of a scheme other than http(s)
    (``s3://``, ``open-mmlab://``: :func:`resume_path`), which MMEngine's
    resume loads: the checks that read a local checkpoint are skipped.
    An http(s) URL is downloaded and resumed from as a local file
    (:func:`checkpoint_from_url`)."""
    return (f'warning: --resume {url}: a URL, which MMEngine downloads when '
            'the run starts; the checks that read a local checkpoint are '
            'skipped (that it is complete, a training checkpoint of this '
            'config\'s model, the schedule and batch changes since its '
            'run): download it and --resume the file to have them')


#: seconds a URL checkpoint's server may stay silent (connecting, or
#: between two reads) before the download is refused; torch.hub's waited
#: for ever, a stalled server hanging the run
DOWNLOAD_TIMEOUT = 120.0


def download_checkpoint(url: str, path: str, key: str = '--resume') -> str:
    """Download ``url`` to ``path`` (a progress bar on stderr,
    :func:`~openselfsup.utils.progress.progress_bar`: whole lines in a log,
    where torch.hub's ``download_url_to_file`` redrew its bar with ``\\r``),
    written atomically
    (:func:`~openselfsup.utils.io.atomic_path`): a file already there (an
    earlier download of the same URL) is replaced by a complete download
    only. torch.hub's cache (``$TORCH_HOME/hub/checkpoints``) is neither
    read nor written. ``key``: what gave the URL, ``'--resume'`` or
    ``'load_from'``, for the refusal's line.

    Returns:
        str: the hex SHA-256 of the file downloaded.

    Raises:
        InputError: the download failed (an HTTP error, no network, a
            server silent for :data:`DOWNLOAD_TIMEOUT` seconds, the
            connection cut: also before the Content-Length the server
            announced, where http.client's read returns b'' as at the end;
            a TLS error while reading): one line naming the URL and the
            error, the partial file removed (and ``path`` as it was); a
            full disk: one line naming ``path``.
    """
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    from ..utils.fingerprint import file_sha256
    from ..utils.io import atomic_path
    from ..utils.progress import progress_bar
    request = urllib.request.Request(
        url, headers={'User-Agent': 'openselfsup'})
    try:
        with atomic_path(path) as tmp, \
                urllib.request.urlopen(
                    request, timeout=DOWNLOAD_TIMEOUT) as answer, \
                open(tmp, 'wb') as out:
            size = answer.headers.get('Content-Length')
            size = int(size) if size else None
            got = 0
            with progress_bar(total=size,
                              desc=os.path.basename(path), unit='B',
                              unit_scale=True, unit_divisor=1024) as bar:
                while chunk := answer.read(1 << 20):
                    out.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
            if size is not None and got != size:
                # http.client's read(n) returns b'' where the connection
                # closed before the Content-Length (no IncompleteRead)
                raise ConnectionError(f'the connection closed after {got} '
                                      f'of {size} bytes')
    except urllib.error.HTTPError as exc:
        why = f'HTTP {exc.code} {exc.reason}'
    except urllib.error.URLError as exc:
        why = str(exc.reason)
    except (http.client.HTTPException, ConnectionError, TimeoutError,
            ssl.SSLError, ValueError) as exc:
        why = first_line(exc) or type(exc).__name__
    else:
        return file_sha256(path)
    fix = '--resume it' if key == '--resume' else f'set {key} to its path'
    raise InputError(f'{key} {url}: cannot download it ({why}); check '
                     f'the URL and the network, or download the file and '
                     f'{fix}')


def checkpoint_from_url(cfg: Config, config: Optional[str] = None,
                        trains: bool = True,
                        evaluates: Sequence[str] = ()) -> List[str]:
    """An http(s) URL the run reads as its checkpoint, in ``cfg.load_from``
    (:func:`prepare_config`'s): ``--resume http(s)://...`` (``cfg.resume``
    True), or a new run's initial weights, the config's ``load_from =
    'https://...'`` (or ``--cfg-options load_from=...``; a run that
    resumes from a checkpoint does not read it, and ``cfg.load_from`` is
    then that checkpoint). Download it to a file of the run's own,
    ``<work_dir>/url_downloads/<digest of the URL>_<file name>``
    (:func:`~openselfsup.utils.checkpoint_files.url_download_path`:
    :func:`download_checkpoint`), and load it as that local file: with
    every check of a local checkpoint (complete; for ``--resume``, the
    validation check of its step, unread before: a
    ``ValidateBeforeTrainHook`` validates on one saved at iteration 0,
    :func:`check_validated_model` of :func:`resumed_past_start`, the line
    naming ``config``, the config file as given (default: ``cfg``'s);
    then a training checkpoint of this config's model, the schedule and
    batch changes since its run: :func:`~openselfsup.engine.runner.
    resume_notes`, and the note of the data loaders of more workers than
    cores, whose validation loader starts or not by that step:
    :func:`worker_count_notes`, ``trains`` and ``evaluates`` as there,
    not said by :func:`prepare_config` for a URL; for ``load_from``,
    :func:`check_load_from`'s) and
    MMEngine's loader of local files (``torch.load`` with
    ``weights_only=True``). MMEngine's loader of an http(s) URL,
    ``torch.hub.load_state_dict_from_url``, took a file of the same name
    already in ``$TORCH_HOME/hub/checkpoints`` (another run's
    ``epoch_10.pth``) instead of the URL's, and unpickled it with
    ``weights_only=False``.

    Rank 0 alone downloads, before the runner is built (in :func:`train`,
    under the work dir's lock: no other run writes there meanwhile); every
    process sets ``cfg.load_from`` to the file, which the other ranks read
    from the work dir once rank 0 has it, as they read the run's own
    checkpoints (:meth:`~openselfsup.engine.runner.AtomicRunner.
    load_or_resume` waits for rank 0). The runner removes the file when the
    run saves its first checkpoint, which supersedes it (a later
    ``--resume`` continues from the work dir), or ends without saving one
    (an evaluation), and after a failed start; a run that fails in between
    keeps it, named in the log (``--resume`` it, or give it as
    ``load_from``, to start again without downloading again: a local
    checkpoint then, which that run leaves in place, the runner told of
    this process's download alone: ``AtomicRunner.owns_download``). The log
    names the URL, the file and its SHA-256.

    Returns:
        list[str]: notes for the run's log (none on ranks other than 0, and
        where ``cfg.load_from`` is no http(s) URL).

    Raises:
        InputError: the download failed, or the file is not a complete
            checkpoint (for ``--resume``: a training checkpoint of this
            config's model) (the download removed, the line naming the
            URL).
    """
    url = cfg.get('load_from')
    if not is_http_url(url):
        return []
    from ..engine.runner import resume_notes
    from ..utils.checkpoint_files import is_complete_checkpoint
    resume = cfg.get('resume') is True
    key = '--resume' if resume else 'load_from'
    rank, world = launcher_env(cfg.launcher)
    path = url_download_path(cfg.work_dir, url)
    cfg.load_from = path
    if rank != 0:
        return []
    from ..engine.runner import removed_if_left_empty
    # refused: nothing left, the folders made for the file neither
    with removed_if_left_empty(os.path.dirname(path)):
        digest = download_checkpoint(url, path, key)
        try:
            if not is_complete_checkpoint(path):
                raise InputError(f'{key} {url}: what it serves is not a '
                                 'complete checkpoint (cut short, or another '
                                 'kind of file: a web page?)')
            if resume:  # its step, unread before (prepare_config): a
                # ValidateBeforeTrainHook validates at iteration 0
                past_start = resumed_past_start(path)
                check_validated_model(cfg, config or cfg.filename,
                                      past_start)
                notes = resume_notes(path, cfg, world) + worker_count_notes(
                    cfg, trains, evaluates, resumes=past_start)
            else:
                notes = check_load_from(cfg)
        except InputError as exc:
            remove_url_download(path)
            # the file is gone: the URL given
            raise InputError(url_named(str(exc), path, url)) from None
        except BaseException:
            remove_url_download(path)
            raise
    how = 'resumed from' if resume else 'the initial weights loaded'
    return [f'{key} {url}: downloaded to {path} (SHA-256 {digest}), '
            f'{how} as a local checkpoint; removed once this run saves its '
            'first checkpoint'] + notes


def resumed_run_dir(given: str) -> Optional[str]:
    """The work dir a run resumed with ``--resume given`` and without
    ``--work-dir`` continues in: ``given`` itself when it is a folder, the
    folder of a checkpoint file (that of the file a symbolic link points
    to: :func:`~openselfsup.utils.checkpoint_files.checkpoint_folder`),
    when that folder is a training work dir
    (:func:`~openselfsup.utils.checkpoint_files.is_training_work_dir`),
    as an absolute path (``--resume .`` or ``a/`` named no folder in the
    log); None for checkpoints from elsewhere (a downloaded file, or a
    folder of them, which the run is not written into: the config's
    default work dir, and a URL)."""
    from ..utils.checkpoint_files import is_training_work_dir
    if local_file(given) is None:
        return None
    given = os.path.expanduser(given)
    folder = os.path.abspath(given) if os.path.isdir(given) else \
        checkpoint_folder(given)
    return folder if is_training_work_dir(folder) else None


def resume_choice(cfg: Config, resume: Union[bool, str] = False
                  ) -> Tuple[Union[bool, str], list]:
    """``--resume`` (False, True or a checkpoint path) as the run takes it:
    without the flag, a config's own ``resume = True`` (in the file or
    ``--cfg-options resume=True``) is ``--resume``, as MMEngine's
    ``tools/train.py`` makes its ``--resume`` that key. Read by MMEngine's
    runner alone it resumed from the config's ``load_from`` where one is
    set (as if it were the run's checkpoint) and skipped this project's
    resume checks (the schedule changes, the other model) and warned of an
    earlier run's checkpoints in the work dir that it then continued.
    Imports no torch.

    Returns:
        tuple: the ``resume`` to use, and notes for the run's log.

    Raises:
        InputError: without the flag, a config ``resume`` other than True,
            False or None (with it, the key is not read: the run sets it).
    """
    if resume is not False:
        return resume, []
    value = cfg.get('resume')
    if value is not None and not isinstance(value, bool):
        raise InputError(f'resume = {value!r} in {cfg.filename}: expected '
                         'True or False (--resume CHECKPOINT resumes from a '
                         'checkpoint file)')
    if not value:
        return resume, []
    initial = cfg.get('load_from')
    extra = f' (its load_from {initial} is not resumed from: --resume ' \
        f'{initial} for that)' if initial else ''
    return True, [f'resume = True in {cfg.filename}: taken as --resume'
                  f'{extra}']


def resume_asked(cfg: Config, resume: Union[bool, str] = False
                 ) -> Optional[bool]:
    """Whether the run of ``cfg`` given ``--resume`` ``resume`` (as
    :func:`resume_choice` takes it, the config's ``resume = True``
    included) continues a checkpoint past its first step, as far as the
    arguments tell: False without ``--resume``, None with it (without a
    path, the work dir's newest, if any: a new run where there is none;
    with one, or once found, the checkpoint's meta tells:
    :func:`resumed_past_start`; a path was True, and a checkpoint saved at
    iteration 0 resumed with its ``ValidateBeforeTrainHook`` validating).
    Refuses nothing (a config ``resume`` of another value:
    :func:`resume_choice`'s)."""
    return None if isinstance(resume, str) or resume or \
        cfg.get('resume') is True else False


def local_checkpoint_meta(path: Optional[str]) -> Tuple[Any, bool]:
    """The meta of the checkpoint ``path`` read without torch
    (:func:`~openselfsup.utils.checkpoint_files.checkpoint_meta`: None for
    a file without one) and True; ``(None, False)`` for None, a URL (not
    read here) and a file whose meta does not read so (left to the
    run)."""
    if path and local_file(path):
        try:
            return checkpoint_meta(local_file(path)), True
        except MetaUnread:
            pass
    return None, False


class ResumedAt(NamedTuple):
    """Where a run resumed past its first step starts: its checkpoint's
    meta ``epoch`` and ``iter``, to which MMEngine's ``Runner.resume``
    sets its training loop's counts (each None where it does not read as
    a whole number). A tuple, so true, as :func:`resumed_past_start`'s
    answer is."""
    epoch: Optional[int]
    iter: Optional[int]

    def count(self, unit: str) -> Optional[int]:
        """The count of ``unit`` (``'epoch'``, ``'iteration'``, as
        :func:`_run_length` names a loop's) done before the run starts,
        from which its training loop goes on."""
        return self.iter if unit == 'iteration' else self.epoch


def resumed_past_start(path: Optional[str],
                       read: Optional[Tuple[Any, bool]] = None
                       ) -> Union[bool, ResumedAt]:
    """Whether a run that resumes from the checkpoint ``path`` (None: a
    new run) starts past its first step, where the project's
    ``ValidateBeforeTrainHook`` skips (it validates where ``runner.iter``
    is 0): MMEngine's ``Runner.resume`` sets the training loop's iteration
    to the meta's ``iter``, which is 0 in a checkpoint saved before any
    step, as MMEngine's ``CheckpointHook`` saves the best one at the
    validation before training (``best_<metric>_epoch_0.pth``: its meta
    ``dict(epoch=runner.epoch, iter=runner.iter)``); a run resumed from
    it validated before training again. The meta read without torch
    (:func:`local_checkpoint_meta`; ``read``: what it read of ``path``,
    where the caller has it already); a file whose meta's iteration does
    not read as a whole number: past its start, as every checkpoint saved
    after a step is (left to the run's own checks of the file). A URL,
    unread before the run downloads it: past its start here, unknown
    where, which :func:`prepare_config` and :func:`check_launch` do not
    judge by (review r192: one saved at the run's end was refused); the
    run judges it once it is a local file (:func:`checkpoint_from_url`),
    the launchers' check, which downloads nothing, passes it.

    Returns:
        False (a new run, or one resumed at its first step), else where
        it resumes (:class:`ResumedAt`, the meta's epoch and iteration,
        from which its first validation is told:
        :func:`_validation_said`), or True where the file has no meta
        dict to read.
    """
    if path is None:
        return False
    meta, _ = local_checkpoint_meta(path) if read is None else read
    if not isinstance(meta, dict):
        return True
    epoch, step = (meta.get(k) for k in ('epoch', 'iter'))
    if is_int(step) and step <= 0:
        return False
    return ResumedAt(*(v if is_int(v) else None for v in (epoch, step)))


def run_work_dir(cfg: Config, config_path: str,
                 work_dir: Optional[str] = None,
                 run_dir: Optional[str] = None) -> str:
    """The work dir a run writes to: ``--work-dir``, else the config's
    ``work_dir``, else ``run_dir`` (the training run ``--resume
    CHECKPOINT`` names: :func:`resumed_run_dir`), else
    ``work_dirs/<config path>``."""
    return work_dir or cfg.get('work_dir') or run_dir or \
        default_work_dir(config_path)


def continued_run_dir(cfg: Config, resume: Union[bool, str],
                      load_from: Optional[str],
                      work_dir: Optional[str] = None) -> Optional[str]:
    """The work dir of the training run that ``--resume CHECKPOINT``
    (``resume``, the checkpoint ``load_from`` it resolves to) continues in,
    where neither ``--work-dir`` nor the config's ``work_dir`` names one
    (:func:`resumed_run_dir`); None otherwise."""
    if load_from and not (work_dir or cfg.get('work_dir')):
        return resumed_run_dir(resume)
    return None


def check_not_sweep_run_dir(folder: str, fix: str,
                            flag: str = '--work-dir') -> None:
    """Refuse ``folder`` as a work dir where it is the folder of a lambda
    sweep's run (it holds the sweep's run record,
    :func:`~openselfsup.utils.checkpoint_files.is_sweep_run_dir`): that
    sweep's ``--resume`` reuses the record as its run's, whatever is
    written there since. The one rule of the sweep's work dir check
    (``balance_sweep.check_sweep_work_dir``) and of a training run's
    (:func:`prepare_config`, :func:`check_launch`); ``fix``: what to do
    instead, ``flag``: how the line names the folder.

    Raises:
        InputError: one line naming the folder, the record and ``fix``.
    """
    from ..utils.checkpoint_files import SWEEP_RUN_RECORD, is_sweep_run_dir
    if is_sweep_run_dir(folder):
        raise InputError(
            f'{flag} {folder}: a run folder of a lambda sweep (it holds '
            f'{SWEEP_RUN_RECORD}), whose sweep reuses its record; {fix}')


def check_training_work_dir(cfg: Config, given: Optional[str]) -> None:
    """Refuse the work dir ``cfg.work_dir`` of a training run
    (``tools/train.py``, the launchers' ``--check-config``) where it is a
    lambda sweep's run folder (:func:`check_not_sweep_run_dir`): the run
    wrote over that sweep run's checkpoints while its record stayed, and
    the sweep's ``--resume`` reported the record's numbers as that run's.
    ``given``: the ``--work-dir`` given (None: the folder came from the
    config or ``--resume``)."""
    check_not_sweep_run_dir(
        cfg.work_dir, 'a training run there would write over that run\'s '
        'checkpoints, which the sweep would then take for its own; give '
        'another --work-dir', '--work-dir' if given else 'work dir')


def check_load_from(cfg: Config, resumed: Optional[str] = None) -> list:
    """Refuse a config's ``load_from`` (a new run's initial weights) that
    names no local file (a leading ``~`` expanded, a relative path from the
    current directory, a URL not looked for: :func:`local_file`; an
    http(s) one the run downloads and loads as a file,
    :func:`checkpoint_from_url`, which calls this on it) before the
    run starts: MMEngine found it missing only when it loaded it, after
    the runner was built (under the launchers, in every process). A run
    that resumes (``resumed``: the checkpoint it continues from) does not
    read ``load_from``: said in the log, a missing file as a warning, not
    refused (a requeued ``--resume`` goes on when the initial weights have
    been moved). Imports no torch.

    Returns:
        list[str]: the note for the log of a run that resumes.

    Raises:
        InputError: torch's ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` and
            ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` both set where a checkpoint
            is read (:func:`~openselfsup.utils.checkpoint_files.
            weights_only_opted_out`); the file ``load_from`` names, for
            a new run, is missing (or is a folder, or the path is empty),
            empty or cut short (:func:`~openselfsup.utils.
            checkpoint_files.cut_short`), or no checkpoint (:func:`~openselfsup.utils.checkpoint_files.
            no_checkpoint`).
    """
    from ..utils.checkpoint_files import weights_only_opted_out
    initial = cfg.get('load_from')
    if resumed or isinstance(initial, str) and initial:
        # both of torch's variables set: its torch.load refuses every
        # file (the readers here say it in this line too)
        weights_only_opted_out()
    if not isinstance(initial, str):
        return []
    local = local_file(initial)
    missing = local is not None and not os.path.isfile(local)
    if resumed:
        if not initial:
            return []
        return [f'{"warning: " if missing else ""}--resume from {resumed}: '
                f'the config\'s load_from {initial} is not read (the resume '
                'loads the weights)' + ('; that file does not exist' if
                                        missing else '')]
    fix = f'load_from in {cfg.filename}; fix the config or --cfg-options ' \
        'load_from=...'
    if not missing:
        from ..utils.checkpoint_files import (NO_CHECKPOINT, cut_short,
                                              no_checkpoint)
        if local is not None and cut_short(local):
            # torch.load's 'OSError: [Errno 22] Invalid argument' (or
            # 'Ran out of input') traceback once the runner was built
            raise InputError(f'{local}: not a complete checkpoint (empty, '
                             f'or cut short while it was written) ({fix})')
        if local is not None and no_checkpoint(local):
            # a text file, a compressed tar: passed by the launchers'
            # check, then torch.load's 'KeyError: 101' traceback in the run
            raise InputError(f'{local}: {NO_CHECKPOINT} ({fix})')
        return []
    if not local:
        raise InputError(f'load_from is empty (an unset variable?) ({fix})')
    where = '' if os.path.isabs(local) else \
        f', relative to the current directory {os.getcwd()}'
    kind = 'a folder, not a checkpoint file' if os.path.isdir(local) else \
        f'checkpoint file not found{where}'
    raise InputError(f'{local}: {kind} ({fix})')


def check_run_start(cfg: Config, config: str, path: Optional[str],
                    resumes: Optional[bool],
                    read: Optional[Tuple[Any, bool]] = None,
                    weights: bool = True
                    ) -> Tuple[Union[bool, 'ResumedAt'], List[str]]:
    """The checks of where a run starts, in the one order the run
    (:func:`prepare_config`) and the launchers' check (:func:`check_launch`)
    both take them from here, after the work dir's checkpoint is looked
    for and before the seed and batch-split checks: the first validation
    of a run whose start ``--resume`` left open (``resumes`` None,
    :func:`resume_asked`: a new run where none was found, or the step of
    the checkpoint ``path``, whose ``ValidateBeforeTrainHook`` validates at
    iteration 0; a URL's once downloaded, :func:`checkpoint_from_url`,
    review r192: :func:`check_validated_model` of
    :func:`resumed_past_start`), then the initial weights: the config's
    ``load_from`` (:func:`check_load_from`: a new run's file, a resumed
    run's note that it is not read) and, for a new run (``path`` None),
    the training lists they saw (:func:`~openselfsup.config.
    initial_weight_lists`). Before, the check judged the initial weights
    after the seed, batch-split, views and checkpoint-meta checks, and the
    run before them: a config with two faults got one line from each.
    ``read``: what :func:`local_checkpoint_meta` read of ``path``, where
    the caller has it; ``weights`` False: a new run's initial weights are
    not judged (the launchers' check without its data check,
    ``DATA_CHECK=0``); a resumed run's are not read, and torch's two
    ``weights_only`` variables, which refuse the file it resumes from,
    are judged all the same (:func:`check_load_from`).

    Returns:
        tuple: whether and where the run starts past its first step
        (:func:`resumed_past_start` of ``path``), and
        :func:`check_load_from`'s notes for the run's log.
    """
    past_start = resumed_past_start(path, read)
    if resumes is None and not is_http_url(path):
        check_validated_model(cfg, config, past_start)
    if path is None and not weights:
        return past_start, []
    notes = check_load_from(cfg, path)
    if path is None:  # a new run: its initial weights' held-out classes
        initial_weight_lists(cfg, reader=nct_list_reader)
    return past_start, notes


def check_training_config(cfg: Config, config_path: str) -> None:
    """Refuse, torch-free, a config that does not train (no ``model``,
    ``train_dataloader`` or ``train_cfg``: an extraction config), for the
    run (:func:`prepare_config`) and the launchers' check
    (:func:`check_launch`), which passed it before and let each started
    process refuse it.

    Raises:
        InputError: the config, the keys it lacks, where it goes.
    """
    missing = [k for k in ('model', 'train_dataloader', 'train_cfg')
               if k not in cfg]
    if missing:
        raise InputError(
            f'{config_path}: not a training config (no '
            f'{" / ".join(missing)}); extraction configs '
            '(configs/extraction/) go to wsi_workdir/extract.py')


def check_auto_scale_lr(cfg: Config, config_path: str):
    """``--auto-scale-lr``'s base: the config's
    ``auto_scale_lr.base_batch_size`` (torch-free: the launchers' check
    and the run's, :func:`prepare_config`), its ``enable`` set.

    Raises:
        InputError: the config has none.
    """
    base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    if not base:
        raise InputError(f'--auto-scale-lr: {config_path} has no '
                         'auto_scale_lr = dict(base_batch_size=...)')
    # MMEngine's runner scales by it; set before check_run_values, which
    # refuses what the flag cannot scale (check_uneven_windows)
    cfg.auto_scale_lr.enable = True
    return base


def check_config_values(cfg: Config, config_path: str,
                        auto_scale_lr: bool,
                        resumes: Optional[bool] = False,
                        needed: Sequence[str] = ()) -> Optional[int]:
    """The config's checks that the launchers' check
    (:func:`check_launch`) and the run (:func:`prepare_config`) share, in
    their order, torch-free: a training config
    (:func:`check_training_config`), a ``_scope_`` or ``default_scope``
    of ``''`` or no string (:func:`~openselfsup.config.check_scope_names`:
    MMEngine's build fails on it), a None under ``default_hooks`` that
    drops no hook or that the config's runner cannot drop
    (:func:`~openselfsup.config.check_dropped_default_hooks`), a
    ``KNNEvalHook`` on a model kNN
    evaluation is not for (:func:`~openselfsup.config.check_knn_hooks`:
    a CLP / FSP config given the HLSS demo's hook logged kNN accuracies of
    near-constant features; where the names do not tell
    (:func:`~openselfsup.config.knn_hook_model_unjudged`: a user's types
    by ``custom_imports``, an mmpretrain model such as ``SimCLR``), by the
    model class's ancestry too, the model stack imported:
    :func:`~openselfsup.engine.knn_hook.check_knn_hook_model`),
    a ``PatienceEarlyStoppingHook`` whose ``rule`` or ``patience`` the
    hook refuses (:func:`~openselfsup.config.check_early_stopping_hooks`:
    refused as the runner built it, after MMEngine logged the config),
    a loop's sections set in part (:func:`check_loop_sections`: MMEngine's
    refusal when the runner is built; ``needed``, the evaluations the
    caller cannot do without, as there), a validation loop on a model
    without a ``'predict'`` mode (:func:`check_validated_model`: a CLP or HLSS config given one
    trained its first epoch and stopped at its validation; ``resumes``
    as there),
    ``--auto-scale-lr``'s base
    (:func:`check_auto_scale_lr`, which sets ``enable`` before the run
    values refuse what it cannot scale), the run values
    (:func:`check_run_values`).

    Returns:
        the base batch of ``--auto-scale-lr`` (None without it).
    """
    check_training_config(cfg, config_path)
    check_scope_names(cfg, config_path)  # '' fails every build
    check_dropped_default_hooks(cfg, config_path)
    check_knn_hooks(cfg, config_path)
    check_early_stopping_hooks(cfg, config_path)
    check_validated_model(cfg, config_path, resumes)
    if knn_hook_model_unjudged(cfg):
        # judged by ancestry, as the hook judges it when the run starts
        # (the model stack imported); a config of MMEngine's hooks alone,
        # or of HLSS by name, has no kNN hook left to judge
        from ..engine.knn_hook import check_knn_hook_model
        _refuse_unregistered_model(cfg, config_path)
        check_knn_hook_model(cfg, config_path)
    base = check_auto_scale_lr(cfg, config_path) if auto_scale_lr else None
    check_run_values(cfg)
    # after the values' checks: a config whose value is refused (a numpy
    # array anywhere) is told that first, as before this check
    check_loop_sections(cfg, config_path, needed)
    return base


def _refuse_unregistered_model(cfg, config: str) -> None:
    """Refuse a config whose ``model.type`` (a name) the model registry
    resolves to no class, in the line the run's build gives at its start
    (:func:`~openselfsup.utils.settings_refused` over MMEngine's own
    ``KeyError``), where the config check has imported the model stack for
    a ``KNNEvalHook`` anyway (review r120: ``model.type='SimCLRR'`` took
    16 s there and passed, exit 0, and the run was refused at its build).
    ``config``: the file as the user gave it, named as the other
    refusals name it (it named ``cfg.filename``). The type is looked up
    as the Runner's build looks it up, through MMEngine's root ``MODELS``
    (:func:`~openselfsup.config.built_class`: the model's own ``_scope_``,
    else the run's scope as the scope check takes it, and beside
    ``custom_imports`` the one their import made current,
    :func:`~openselfsup.config.imported_scope`), and not judged where that
    is not told (``default_scope = None`` beside ``custom_imports`` not
    imported, which may set the scope: r191, the HLSS demo so was refused
    as built with no arguments). Nothing is built to find out: the build's
    ``KeyError`` is
    asked of the registry the lookup found none in (a ``_scope_`` no
    registry holds, ``'mmpretrian'``: MMEngine's root, as the build says).
    """
    from mmengine.registry import DefaultScope, build_from_cfg

    from ..config import build_scope, built_class, imported_scope, \
        scope_registry
    kind = cfg.model.get('type')
    if not isinstance(kind, str):
        return
    # the model's own _scope_ (config.build_scope), else the run's scope
    # where the config tells it (review r124: 'openselfsup.SimCLR' under
    # default_scope='mmpretrain' is mmpretrain's SimCLR; r191: None beside
    # custom_imports builds in whatever scope is current then)
    scope = build_scope(cfg.model, imported_scope(cfg))
    if scope is None or built_class(cfg.model, 'MODELS', scope) is not None:
        return
    # the build's own KeyError, from the registry it found none in: with
    # that registry's scope current, build_from_cfg looks up there again
    # (and finds none, so constructs nothing)
    registry = scope_registry('MODELS', scope)
    with DefaultScope.overwrite_default_scope(registry.scope), \
            settings_refused(cfg, 'model or data', file=config):
        build_from_cfg(dict(type=kind), registry)  # raises: no class found


#: the sections from which MMEngine's Runner builds a validation loop,
#: all set or all None (``Runner.__init__`` refuses the rest)
VALIDATION_SECTIONS = ('val_dataloader', 'val_cfg', 'val_evaluator')
#: the same three of its test loop
TEST_SECTIONS = ('test_dataloader', 'test_cfg', 'test_evaluator')
#: and of its training loop
TRAIN_SECTIONS = ('train_dataloader', 'train_cfg', 'optim_wrapper')


def check_loop_sections(cfg: Config, config: str,
                        needed: Sequence[str] = ()) -> None:
    """Refuse a config that sets some of a loop's three sections and not
    the others (:data:`TRAIN_SECTIONS`, :data:`VALIDATION_SECTIONS`,
    :data:`TEST_SECTIONS`; unset and None are one): MMEngine's Runner
    refuses it when it is built (``should be either all None or not
    None``), which the run said in one line but ``--check-config`` passed,
    so a launcher started its processes for that refusal
    (``--cfg-options val_cfg=None`` alone, on a config that validates;
    ``optim_wrapper=None``, review r187). The line names the sections set
    and those not, and the ways on: set the others, or, for a validation
    or test loop, none of them (a training run needs its three), but not
    for a loop among ``needed``, the evaluations the caller cannot do
    without (``'val'``, ``'test'``: the lambda sweep's, whose lambda choice
    reads the validation and whose ``--test`` the test loop; its own check
    refused the "none of them" that the line offered it). Not the
    evaluations a caller of :func:`train` / :func:`build_runner` may run
    (``evaluates``, by default each where the config sets it): those are
    offered none of them, unless it says it needs them
    (``needs_evaluations``)."""
    for sections in (TRAIN_SECTIONS, VALIDATION_SECTIONS, TEST_SECTIONS):
        unset = [k for k in sections if cfg.get(k) is None]
        if 0 < len(unset) < len(sections):
            given = [k for k in sections if k not in unset]
            loop = {TRAIN_SECTIONS: 'training', VALIDATION_SECTIONS:
                    'validation', TEST_SECTIONS: 'test'}[sections]
            if sections is TRAIN_SECTIONS:  # a training run needs them
                none = ''
            elif sections[0].partition('_')[0] in needed:
                none = f' (the run is evaluated by its {loop} loop)'
            else:
                none = ', or none of them (--cfg-options ' + ' '.join(
                    f'{k}=None' for k in sections) + ')'
            raise InputError(
                f'{config}: {", ".join(given)} set but {", ".join(unset)} '
                f"not: MMEngine's Runner builds a {loop} loop from all "
                f'three or none and refuses the rest; set '
                f'{" and ".join(unset)}{none}')


def _validation_said(cfg, resumes: Union[bool, ResumedAt] = False,
                     loop: Any = None) -> Tuple[str, str]:
    """What makes a training run of ``cfg`` validate, in words: the
    validation sections (:data:`VALIDATION_SECTIONS`), the training
    loop's ``val_begin`` / ``val_interval`` where it sets them, a
    ``ValidateBeforeTrainHook``; and when it validates first, by the rule
    of MMEngine's training loops (at the first ``val_interval`` multiple
    from ``val_begin`` on, or at the run's end; those unset at the loop's
    defaults, :func:`~openselfsup.config.train_loop_default`: an
    iteration loop validates every 1000): ``'after epoch 1'``,
    ``'after iteration 300'``, ``'before training'``; ``'at its first
    validation'`` where the settings are not plain numbers
    (``dynamic_intervals``; a loop not MMEngine's, which
    :func:`check_validated_model` judges as the one it runs as, or not at
    all). A run that ``resumes`` from a checkpoint: its hook skips
    (not named), and its first validation is the first due after the
    checkpoint's epoch or iteration (:class:`ResumedAt`, by the same
    rule: the first ``val_interval`` multiple past it from ``val_begin``
    on, or the run's end), ``'the first due after the checkpoint it
    resumes from'`` where its meta does not say.
    ``loop``: the ``train_cfg`` judged, as :func:`_training_validates`'s
    (the keys named are the config's)."""
    keys = list(VALIDATION_SECTIONS)
    loop = cfg.get('train_cfg') if loop is None else loop
    loop = loop if isinstance(loop, dict) else {}
    keys += [f'train_cfg.{k}={loop[k]!r}' for k in ('val_begin',
                                                   'val_interval')
             if k in loop]
    hooks = [f'{key} (ValidateBeforeTrainHook)'
             for key in _validating_hooks(cfg, resumes)]
    if hooks:
        return ', '.join(keys + hooks), 'before training'
    length = _run_length(loop)
    done = None if length is None else _resumed_count(resumes, length[1])
    if done is None and resumes:
        return ', '.join(keys), \
            'the first due after the checkpoint it resumes from'
    begin, every = (loop.get(k, train_loop_default(loop, k))
                    for k in ('val_begin', 'val_interval'))
    if length is None or not (is_int(begin) and is_int(every)) or \
            every < 1 or 'dynamic_intervals' in loop:
        return ', '.join(keys), 'at its first validation'
    total, unit, _ = length
    # MMEngine's loops count on from the checkpoint's count (0 in a new
    # run) and validate after a step that reaches val_begin and a
    # multiple of every, or the run's end: the first multiple of every
    # past done from begin on (counted, this was a walk of up to every
    # steps), or the run's end
    first = -(-max(begin, done + 1) // every) * every
    return ', '.join(keys), f'after {unit} {min(first, total)}'


#: the methods of MMEngine's ``ValLoop`` a subclass keeps to be judged as
#: it (:func:`~openselfsup.config.runs_as`): they call the model's
#: ``val_step``
VAL_LOOP_KEPT = ('run', 'run_iter')
#: those of its training loops: ``run`` calls the validation loop, when
#: the counts of ``run_epoch`` / ``run_iter`` reach what ``__init__`` set
TRAIN_LOOP_KEPT = ('__init__', 'run', 'run_epoch', 'run_iter')


def check_validated_model(cfg: Config, config: str,
                          resumes: Union[None, bool, ResumedAt] = False
                          ) -> None:
    """Refuse a training config that validates (the three
    :data:`VALIDATION_SECTIONS` set, as MMEngine's Runner builds its
    validation loop, and a first validation within the run:
    :func:`_training_validates`) whose model has no ``'predict'`` mode,
    which MMEngine's validation loop calls: a CLP ``MoCoV3``, an
    ``HLSS`` / HiDisc model or another of mmpretrain's self-supervisors
    given a validation loop passed the launchers' ``--check-config``,
    trained its first epoch and stopped there with a traceback (the
    self-supervised data preprocessor's ``TypeError``, or
    ``BaseSelfSupervisor.forward``'s ``RuntimeError: Invalid mode
    "predict"``). Judged only where the loop is MMEngine's own
    ``ValLoop`` (``val_cfg`` without a ``type``, or one the Runner's
    ``LOOPS`` build resolves to it or to a subclass that keeps its
    ``run`` and ``run_iter``: :func:`~openselfsup.config.built_class`,
    :func:`~openselfsup.config.runs_as`; a loop of a user's own runs as
    it says), the training loop is one of MMEngine's (a ``train_cfg``
    ``type`` of a user's class that keeps their ``__init__``, ``run``,
    ``run_epoch`` and ``run_iter``, :data:`TRAIN_LOOP_KEPT`, judged as
    the one it subclasses; one that writes its own, which may never call
    the validation loop, is judged by a ``ValidateBeforeTrainHook``
    alone, which validates in ``before_train``, which a loop's ``run``
    is assumed to call, whatever the loop: one that never does is
    refused though it never validates, which is not told without running
    it; each loop was said to validate ``at its
    first validation``) and the model's class, the one
    the run builds (its ``type`` in its own ``_scope_`` where it sets one,
    else the run's scope, :func:`~openselfsup.config.imported_scope`, as
    MMEngine's build switches: :func:`~openselfsup.config.
    built_model_class`), is judged by
    :func:`~openselfsup.models.algorithms.modes.fails_validation` (its
    ``val_step`` MMEngine's ``BaseModel.val_step`` unchanged, and no
    predict mode: a class that can predict, or that validates by a
    ``val_step`` of its own, is never refused); a type that resolves to
    no class is left to the build. The test loop is
    not judged: neither ``tools/train.py`` nor the launchers run it, and
    the lambda sweep's ``--test`` takes ``BalancedCrossModal`` configs
    alone, which predict. Imports the model stack, only for a config
    that validates. ``resumes``: the run continues a checkpoint past its
    first step (its ``ValidateBeforeTrainHook`` skips:
    :func:`resumed_past_start`; where it says the checkpoint's epoch and
    iteration, :class:`ResumedAt`, the line names the first validation
    after them, and a run resumed at its end is not refused: it trains
    no step); None where that is not known yet
    (``--resume``, or ``resume = True`` in the config: the work dir's
    newest checkpoint, if any, or the one named, whose meta tells:
    :func:`resume_asked`), not judged: the caller judges again once it
    has found the checkpoint."""
    if resumes is None or any(cfg.get(k) is None
                              for k in VALIDATION_SECTIONS) or \
            not _training_validates(cfg, resumes):
        return
    model = cfg.get('model')
    kind = model.get('type') if isinstance(model, dict) else None
    if kind is None:
        return
    from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop,
                                 ValLoop)

    from ..config import (MODEL_METHODS, built_model_class,
                          evaluation_instead, imported_scope, runs_as,
                          told_class, UNTOLD)
    from ..models.algorithms.modes import fails_validation
    # the loops and the model looked up as the run's builds look them up
    # (config.imported_scope: the model check's rule; r192: None beside
    # custom_imports that set the scope was looked up in MMEngine's root);
    # where it is not told, a name that builds different classes in the
    # scopes it may be is not judged; a class, a default loop and a name
    # every scope builds alike are (r194: every such config was skipped)
    scope = imported_scope(cfg)
    loop = cfg.get('val_cfg')
    train = cfg.get('train_cfg')
    loop_class, train_class = (told_class(node, 'LOOPS', scope)
                               for node in (loop, train))
    if UNTOLD in (loop_class, train_class):
        return
    # MMEngine's Runner builds a ValLoop from a val_cfg without a type,
    # else the loop its type names: another runs as it says; a subclass
    # of ValLoop that keeps its run and run_iter calls val_step as it
    # does (review r188: one with no body of its own passed)
    runs = loop_class if isinstance(loop, dict) and 'type' in loop \
        else ValLoop
    if runs_as(runs, (ValLoop,), VAL_LOOP_KEPT) is None:
        return
    # the training loop a type names, by the same rule: a user's subclass
    # of one of MMEngine's that keeps what decides when it validates is
    # judged as that one (it was 'at its first validation', validating
    # whatever it did); one that writes its own runs as it says
    if isinstance(train, dict) and 'type' in train:
        base = runs_as(train_class,
                       (EpochBasedTrainLoop, IterBasedTrainLoop),
                       TRAIN_LOOP_KEPT)
        # one that writes its own: its ValidateBeforeTrainHook alone, which
        # validates in before_train, which every loop's run calls (review
        # r190: not judged, and the run stopped at the hook's validation);
        # the loop's settings neither judged nor named
        if base is None and not _validating_hooks(cfg, resumes):
            return
        train = {} if base is None else dict(train, type=base.__name__)
        if not _training_validates(cfg, resumes, train):
            return
    # in the model's own _scope_ where it sets one (the build switches)
    cls = built_model_class(cfg)
    if cls is None or not fails_validation(cls):
        return
    name = cls.__name__
    known = next((c.__name__ for c in cls.__mro__
                  if c.__name__ in MODEL_METHODS), None)
    said = '' if known is None else ' (' + (
        '' if known == name else f'a subclass of {known}, ') + \
        MODEL_METHODS[known] + ')'
    keys, when = _validation_said(cfg, resumes, train)
    raise InputError(
        f"{config}: model.type {kind if isinstance(kind, str) else name!r}"
        f"{said} has no "
        "'predict' mode (its forward is mmpretrain's "
        "BaseSelfSupervisor.forward: 'tensor' and 'loss' alone), but the "
        f"run validates ({keys}): its first validation ({when}) would "
        'stop it with a traceback; remove the validation (--cfg-options '
        + ' '.join(f'{k}=None' for k in VALIDATION_SECTIONS)
        + f'), and {evaluation_instead(known)}')


def check_loaded_config(cfg: Config, config: str,
                        auto_scale_lr: bool = False,
                        resumes: Optional[bool] = False,
                        needed: Sequence[str] = (),
                        views: bool = True) -> List[str]:
    """The launchers' check of a loaded config's values, torch-free in the
    project's scope (:func:`check_launch`; ``balance_sweep.py --check``,
    of each run's config): :func:`check_config_values`, then the scope
    check (a type of the project's scope alone where the run's is
    another: refused; one the project registers again: said, the other's
    class: :func:`~openselfsup.config.check_scope_types`). ``resumes``:
    whether the run continues a checkpoint past its first step
    (:func:`resume_asked`);
    ``needed``: the evaluations the caller cannot do without (the
    sweep's, :func:`check_loop_sections`). On the per-image path
    (``augment_on='cpu'``, whatever the machine), a batched-views
    preprocessor the config gives itself has its views judged as the
    run's :func:`~openselfsup.apis.fast_path.apply_fast_path` judges them
    (:func:`~openselfsup.apis.fast_path.check_given_batched_views`, which
    imports the model stack for such a preprocessor alone; r191: 3 view
    pipelines for 2 views passed, exit 0, and each started process
    refused them), and under an explicit ``augment_on='device'`` the
    batched views the run makes (their refusals came only from the
    started processes; ``'auto'`` is theirs to judge:
    :func:`_check_views_given`); ``views=False``: the caller
    judges them itself, where the run does (:func:`check_launch`, after
    the seed and batch-split checks).

    Returns:
        list[str]: the scope check's warnings and what each started
        process would warn of when it builds the views
        (:func:`~openselfsup.apis.fast_path.fast_path_warnings`).
    """
    check_config_values(cfg, config, auto_scale_lr, resumes, needed)
    if views:
        _check_views_given(cfg)
    return check_scope_types(cfg, config) + fast_path_warnings(cfg)


def _check_views_given(cfg: Config) -> None:
    """The views as the run's ``apply_fast_path`` judges them where the
    config says which path makes them: on the per-image path
    (``augment_on='cpu'``), the views of a batched-views preprocessor the
    config gives itself
    (:func:`~openselfsup.apis.fast_path.check_given_batched_views`); on
    the batched path set explicitly (``augment_on='device'``), every
    type of the views found (:func:`~openselfsup.apis.fast_path.
    check_view_types`), the pipeline split and the batched preprocessor
    made (:func:`~openselfsup.apis.fast_path.batched_views`: a pipeline
    or preprocessor without a batched version, refused by each started
    process before) and, with ``reuse_batch_memory``, the collate it
    keeps (:func:`~openselfsup.apis.fast_path.check_reused_batch_memory`);
    each imports the model stack. ``'auto'`` is the device path on the
    launchers' GPUs and the per-image one without: the started processes
    judge it (the shipped configs' check stays torch-free). The sequence
    is :func:`~openselfsup.apis.fast_path.check_views`, the run's own."""
    augment = cfg.get('augment_on', 'cpu')
    if augment in ('cpu', 'device'):  # apply_fast_path's own sequence
        check_views(cfg, augment == 'device', types=augment == 'device')


def check_launch(config: str, cfg_options: Optional[dict] = None,
                 resume: Union[bool, str] = False,
                 work_dir: Optional[str] = None,
                 world: Optional[int] = None,
                 data_check: bool = True,
                 auto_scale_lr: bool = False,
                 launcher: Optional[str] = None) -> List[str]:
    """The launchers' check before they start any process
    (``tools/train.py --check-config``, run by ``dist_train.sh`` and
    ``slurm_train.sh``), without importing torch (but where it meets a
    local checkpoint file, to ask ``torch.load`` what the run's load
    refuses in it: :func:`~openselfsup.utils.checkpoint.check_run_reads`,
    for ``--resume``, a new run's ``load_from`` and ``Pretrained`` files,
    in the run's lines): the config and its
    overrides (a config that does not train: :func:`check_training_config`),
    the run values, the ``--resume`` checkpoint (its zip
    directory: :func:`~openselfsup.utils.checkpoint_files.
    has_zip_directory`; the run tests the whole file) and the refusals
    its meta decides, the run's (:func:`~openselfsup.config.
    check_resume_meta`: not a training checkpoint, another model, other
    held-out classes, a seed out of numpy's reach on ``world`` processes;
    :func:`~openselfsup.utils.checkpoint_files.checkpoint_meta` reads the
    meta without torch, a file without one refused as the run refuses it;
    the work dir's latest for ``resume=True``, with
    or without ``data_check``), the split of
    the batch over ``world`` processes (None: not checked), and with
    ``data_check`` (not ``slurm_train.sh`` with ``DATA_CHECK=0``) the
    config's ``load_from`` where the run would read it
    (:func:`check_load_from`: not where ``--resume`` finds a checkpoint),
    the data paths and the training list's batches; with
    ``auto_scale_lr`` (``--auto-scale-lr``), the config's base batch
    (:func:`check_auto_scale_lr`). ``launcher``: a ``--launcher`` among
    the user's arguments, refused: after the script's own, it replaced
    it, and each process trained alone (``--launcher none`` under
    torchrun: every process rank 0 of one, the whole batch; the second
    on the machine refused by the work dir's lock, each machine of
    ``NNODES=2`` training apart). In the run's order, one first line for
    a config with several faults: the resumed run's validation and the
    initial weights before the seed and batch split
    (:func:`check_run_start`, which both call), the ``--resume`` file read
    as the run reads it before its meta's refusals
    (:func:`~openselfsup.utils.checkpoint.read_resumed`), and what the
    runner reads once built (the ``Pretrained`` files, then the
    checkpoint it loads: ``torch.load``'s refusals) after the data paths,
    setting types and the training list's batches.

    Returns:
        list[str]: what each started process would warn of when it builds
        the views (:func:`~openselfsup.apis.fast_path.
        fast_path_warnings`), for the check to print once.

    Raises:
        InputError: as :func:`train` would, for those; a ``launcher``.
    """
    if launcher is not None:
        raise InputError(f'--launcher {launcher}: the launcher script sets '
                         'it (dist_train.sh: pytorch, slurm_train.sh: '
                         'slurm); remove it from the arguments')
    cfg = load_config(config, cfg_options)
    resumes = resume_asked(cfg, resume)
    # the views judged below, where the run judges them
    warnings = check_loaded_config(cfg, config, auto_scale_lr, resumes,
                                   views=False)
    resume, _ = resume_choice(cfg, resume)
    # a checkpoint's zip directory only (its last bytes: a file cut short
    # while it was written has none); the run reads the whole file, every
    # CRC, before it resumes: here, on a login node, a multi-GB read
    resumed = resume_path(resume, has_zip_directory) \
        if isinstance(resume, str) else None
    # the folder the run writes to (a lambda sweep's run folder refused)
    cfg.work_dir = run_work_dir(cfg, config, work_dir, continued_run_dir(
        cfg, resume, resumed, work_dir))
    check_training_work_dir(cfg, work_dir)
    if resume is True:  # the work dir's latest (not the data: with or
        # without the data check, as a named checkpoint is read)
        resumed = find_resumable_checkpoint(
            cfg.work_dir, is_complete=has_zip_directory)
        check_resumes_newest('--resume', cfg.work_dir, resumed)
    # the checkpoint's meta, read once without torch: a file without one
    # (a state dict saved alone) too; a file that does not read so is
    # left to the run
    meta, read = local_checkpoint_meta(resumed)
    # its validation (review r190) and, with the data check, the initial
    # weights: before the seed and batch checks, as the run judges them
    # (one function, prepare_config's), one refusal first in both
    check_run_start(cfg, config, resumed, resumes, (meta, read),
                    weights=data_check)
    # without --check-world, on one process: the least the run has
    processes = 1 if world is None else world
    check_seed_reach(cfg, processes)
    if world is not None:  # the launchers' processes
        split_batch(cfg, world, True)
    # a given preprocessor's views: after the seed and batch split, before
    # the checkpoint's meta, as the run's apply_fast_path judges them
    # (review r192: the check refused them first, the run last)
    _check_views_given(cfg)
    if resumed and local_file(resumed) and pickle_protocol(
            local_file(resumed)) not in (None, *WEIGHTS_ONLY_PROTOCOLS):
        # a pickle torch's weights-only reader refuses (protocol 4), read
        # as the run reads it first (resume_notes), refused before its
        # meta's refusals there (such a file without a training meta was
        # 'not a training checkpoint' here); a file torch reads, or one
        # whose pickle does not parse (whose meta is not read), is not
        # read with torch before them
        from ..utils.checkpoint import read_resumed
        read_resumed(resumed)
    # the refusals the checkpoint's meta decides (another model, the seed
    # the resume re-seeds numpy with...), the run's (resume_notes): a meta
    # or a value of it that does not read (a class instance: an opaque
    # placeholder) is left to the run
    if read and not is_opaque(meta) and not (
            isinstance(meta, dict) and any(is_opaque(meta.get(k)) for k in (
                'epoch', 'iter', 'cfg', 'seed'))):
        check_resume_meta(resumed, cfg, processes, meta,
                          reader=nct_list_reader)
    # then as the run goes on: its data paths (before it builds the
    # model), the setting types (the runner's build), the training list's
    # batches (its first epoch, the training set built), then, as the
    # runner trains, the Pretrained files (its _init_model_weights) and
    # the checkpoint it loads (load_or_resume): the check read those
    # files first, so that a missing data folder beside a --resume file
    # holding an object got the object's line here, the folder's there
    if data_check:
        check_data_paths(cfg)
    _check_option_types(cfg, cfg_options)
    if data_check and world is not None:  # as the run's first epoch
        check_listed_batch(cfg, world)
    if data_check and cfg.get('load_from_check', True) is not False:
        # the files of Pretrained init_cfgs, read when the run initialises
        # its weights (resumed or not), as the run's check refuses them
        for key, path in pretrained_init_files(cfg.get('model')):
            check_pretrained_file(key, path)
            local = local_file(path) if isinstance(path, str) else None
            if local:
                _check_run_reads(local, f'{pretrained_head(key, path)}: ',
                                 needs_dict=True, pretrained=True)
    if resumed and local_file(resumed):
        _check_run_reads(resumed, '--resume from ', resume=True)
    initial = cfg.get('load_from')
    if data_check and not resumed and isinstance(initial, str) and \
            initial and local_file(initial):
        _check_run_reads(local_file(initial), 'load_from ',
                         needs_dict=True)
    return warnings


def _check_option_types(cfg: Config, cfg_options: Optional[dict]) -> None:
    """:func:`check_launch`'s setting-type check, in the run's line and at
    its place in the run (:func:`_built`, after the resume, work dir,
    seed, weights and data checks of :func:`prepare_config`, so that a
    missing ``--resume`` file is said first, as the run says it): a
    number setting given as a string (``model.loss.temperature=x``) or a
    fraction given to an integer (``model.backbone.region_depth=2.5``).
    It imports the model stack, so only for options that could hold one
    (:func:`~openselfsup.config.options_need_type_check`; the config as
    written is the run's to judge: the shipped ones pass)."""
    if options_need_type_check(cfg_options):
        with settings_refused(cfg, 'model or data'):
            check_setting_types(cfg)


def _check_run_reads(path: str, head: str, resume: bool = False,
                     needs_dict: bool = False,
                     pretrained: bool = False) -> None:
    """What the run's ``torch.load`` refuses in the checkpoint file
    ``path`` it reads (an object ``weights_only`` does not unpickle, a file
    of the legacy format cut short), in the run's line
    (:func:`~openselfsup.utils.checkpoint.check_run_reads`): the launchers'
    check imports torch for it only where it meets a local checkpoint."""
    from ..utils.checkpoint import check_run_reads
    check_run_reads(path, head, resume=resume, needs_dict=needs_dict,
                    pretrained=pretrained)


#: what the warning about an earlier run's checkpoints in a new run's work
#: dir suggests: tools/train.py's flags
EARLIER_RUN_HINT = '--resume continues that run; --work-dir keeps both'


def prepare_config(cfg: Config, config_path: str,
                   work_dir: Optional[str] = None,
                   resume: Union[bool, str] = False,
                   amp: bool = False, launcher: str = 'none',
                   auto_scale_lr: bool = False,
                   earlier_run_hint: str = EARLIER_RUN_HINT,
                   trains: bool = True,
                   evaluates: Sequence[str] = (),
                   other_run_ways: Optional[str] = None,
                   needs_evaluations: bool = False) -> list:
    """Apply the command-line choices to a loaded config, in place.

    ``earlier_run_hint``: what the warning about an earlier run's
    checkpoints in a new run's work dir suggests (default:
    :data:`EARLIER_RUN_HINT`, tools/train.py's flags); a caller that
    trains runs of its own (a sweep) names its own, and so
    ``other_run_ways``: the ways out of the refusal of a work dir holding
    a run of other model hyper-parameters (default: tools/train.py's,
    :func:`~openselfsup.engine.runner.check_new_run_dir`). ``trains``
    False: the runner is evaluated and never trained (a sweep's 0-epoch
    baseline); it saves no checkpoint, so an earlier run's in the work dir
    are neither warned of nor refused (it writes over none). ``evaluates``: the
    evaluations the caller runs on the runner (``'val'``, ``'test'``),
    whose data loaders the note of worker counts names
    (:func:`worker_count_notes`), and the warning of copies of a path the
    ``--cfg-options`` left behind (:func:`~openselfsup.config.
    unmoved_copies_note`), of the loaders the run reads alone
    (:func:`_run_loaders`: it named no test copy, which an API caller's
    ``runner.test()`` then read from the old folder). ``needs_evaluations``:
    the caller cannot do without those evaluations (the lambda sweep), so
    the ways on of a loop of theirs set in part do not offer "none of
    them" (:func:`check_loop_sections`); False (``tools/train.py``, an API
    caller's default): they do.

    Returns:
        list[str]: notes for the run's log (launcher and batch decisions).
    """
    # torch-free: reported before torch loads
    resumes = resume_asked(cfg, resume)
    base = check_config_values(cfg, config_path, auto_scale_lr, resumes,
                               evaluates if needs_evaluations else ())
    # --cfg-options that moved some copies of a data_root, not all, of
    # the loaders the run reads: the test set where the caller tests
    # (train()'s and build_runner()'s default; never tools/train.py)
    unmoved = unmoved_notes(cfg, read_sections(cfg, trains, evaluates))
    import torch
    # a path, even '' (--resume "$CKPT", CKPT unset), is a checkpoint to
    # look for, never no --resume
    resume = resume if isinstance(resume, str) else bool(resume)
    # the config's resume = True: --resume
    resume, notes = resume_choice(cfg, resume)
    notes += unmoved
    load_from = resume_path(resume) if isinstance(resume, str) else None
    run_dir = continued_run_dir(cfg, resume, load_from, work_dir)
    if run_dir:
        notes.append(f'--resume {resume}: continuing that run in its '
                     f'work dir {run_dir} (--work-dir to write '
                     'elsewhere)')
    cfg.work_dir = run_work_dir(cfg, config_path, work_dir, run_dir)
    check_writable_dir(cfg.work_dir)
    check_training_work_dir(cfg, work_dir)
    # the checkpoint the run continues from (None: a new run, from the
    # config's load_from if it sets one, refused here if it is missing)
    path = (load_from or find_resumable_checkpoint(cfg.work_dir)) \
        if resume is not False else None
    if resume is True:  # the work dir's newest: not a legacy file's
        check_resumes_newest('--resume', cfg.work_dir, path)
    # whether it starts past its first step (a new run: not), where the
    # ValidateBeforeTrainHook skips; its validation and initial weights,
    # in the launchers' check's order (one function)
    past_start, initial_notes = check_run_start(cfg, config_path, path,
                                                resumes)
    # MMEngine names the run's MessageHub, Visualizer and logger
    # '<experiment_name or config stem>_<timestamp to the second>' and reuses
    # an existing instance of that name: a second run started in the same
    # process within the same second (a sweep, a test suite) would log its
    # losses into the first run's history. A per-process run number keeps
    # the names apart.
    run = next(_RUN_COUNTER)
    if run > 1:
        name = cfg.get('experiment_name') or os.path.splitext(
            os.path.basename(config_path))[0]
        cfg.experiment_name = f'{name}_run{run}'
    if launcher not in ('none', 'pytorch', 'slurm'):
        raise InputError(f'--launcher {launcher}: choose none, pytorch or '
                         'slurm')
    world = launcher_env(launcher)[1]
    check_seed_reach(cfg, world)
    if launcher != 'none':
        # SLURM_NTASKS_PER_NODE may read '4' or '4(x2)'
        local = os.environ.get('LOCAL_WORLD_SIZE') or os.environ.get(
            'SLURM_NTASKS_PER_NODE') or str(world)
        local = int(re.match(r'\d+', local).group())
        check_gpu_count(local)
        if not torch.cuda.is_available() and world > 1:
            raise InputError(f'--launcher {launcher} with {world} processes '
                             'needs GPUs; this machine has none')
        if not torch.cuda.is_available():
            # one process, no GPU: MMEngine's distributed set-up needs CUDA,
            # and there is nothing to distribute
            notes.append(f'--launcher {launcher} with one process and no '
                         'GPU: training without a process group on the CPU')
            launcher = 'none'
            world = 1
    cfg.launcher = launcher
    notes += split_batch(cfg, world, launcher != 'none')
    loader = cfg.get('train_dataloader') or {}
    if loader.get('num_workers', 0) == 0 and loader.get('persistent_workers'):
        # torch refuses it without workers
        loader['persistent_workers'] = False
    if loader.get('pin_memory') and not torch.cuda.is_available():
        # page-locked batches are for copies to a GPU; without one torch
        # warns at every run of the shipped r18 configs
        loader['pin_memory'] = False
    if not is_http_url(path):  # a URL's step once downloaded, as the
        # validation check judges it (checkpoint_from_url)
        notes += worker_count_notes(cfg, trains, evaluates,
                                    resumes=past_start)
    flag_over = None
    if amp:  # --amp is the config key amp='float16' (loss scaling included)
        flag_over = cfg.get('amp', 'off')
        cfg.amp = 'float16'
    # augment_on / amp / channels_last: the GPU fast path (fast_path.py)
    # checked by check_run_values above (--amp sets a valid amp)
    notes += apply_fast_path(cfg, torch.cuda.is_available(), flag_over,
                             checked=True)
    if resume is not False:
        from ..engine.runner import resume_notes
        # the config's initial weights (load_from): MMEngine would resume
        # from them as if they were the run's checkpoint
        initial = cfg.get('load_from')
        # not a training checkpoint, another model's: one line before the
        # runner is built (and logs some 270 lines); the runner checks the
        # model again
        if path or not initial:
            cfg.resume = True
            cfg.load_from = load_from
        else:
            # nothing to resume: the new run that a run without --resume
            # is, from the config's weights (the runner's 'training from
            # scratch' dropped them: random initial weights)
            cfg.resume = False
            notes.append(f'warning: --resume: no checkpoint in '
                         f'{cfg.work_dir}; a new run, from the config\'s '
                         f'load_from {initial}')
        if path:
            notes += initial_notes  # load_from not read
            if local_file(path):
                notes += resume_notes(path, cfg, world)
            elif not is_http_url(path):  # http(s): checkpoint_from_url
                notes.append(url_resume_note(path))
    # a new run, or another run's checkpoint continued here: its
    # epoch_N.pth go over those of the work dir's own run, if any (a
    # runner that does not train saves none)
    if trains and (resume is False or not cfg.resume or (
            cfg.load_from and checkpoint_folder(cfg.load_from) !=
            os.path.realpath(cfg.work_dir))):
        from ..engine.runner import check_new_run_dir
        # another run's checkpoint resumed here: --resume is given
        resumed = cfg.load_from if resume is not False and cfg.resume \
            else None
        earlier = check_new_run_dir(cfg.work_dir, cfg, resumed,
                                    other_run_ways)
        if earlier:
            notes.append(
                f'warning: {cfg.work_dir} holds {len(earlier)} '
                f'checkpoint(s) of an earlier run ({", ".join(earlier[:3])}'
                f'{", ..." if len(earlier) > 3 else ""}): this run writes '
                f'over those of the same names ({earlier_run_hint})')
    if auto_scale_lr:
        notes.append(f'--auto-scale-lr: learning rate scaled by the total '
                     f'batch / {base}')
    return notes


def _run_length(loop) -> Optional[Tuple[int, str, str]]:
    """The length of the training loop ``loop`` (a ``train_cfg`` dict) in
    the unit MMEngine's runner counts it (the loop :func:`~openselfsup.
    config.train_loop_kind` names): ``(100, 'iteration', 'max_iters')``
    for an iteration loop, else ``(3, 'epoch', 'max_epochs')`` (an epoch
    loop, a loop type of another name; also an iteration loop given
    ``max_epochs``, which :func:`check_train_loop` and the key check
    refuse); None where that length is no whole number (a whole float,
    3.0, is the 3 MMEngine's loops run)."""
    iters = train_loop_kind(loop) == 'IterBasedTrainLoop' and \
        'max_epochs' not in loop
    key = 'max_iters' if iters else 'max_epochs'
    length = (loop if isinstance(loop, dict) else {}).get(key)
    if isinstance(length, float) and length.is_integer():
        length = int(length)
    if isinstance(length, bool) or not isinstance(length, int):
        return None
    return length, 'iteration' if iters else 'epoch', key


def schedule_notes(cfg) -> list:
    """Warn when a run's learning-rate schedule does not span it
    (``train_cfg.max_epochs=3`` on a config whose cosine ends at epoch
    15, or whose steps come at 30/60/90; ``train_cfg.max_iters=100`` on
    the HLSS demo's, which ends at iteration 300): the schedule is where
    the config put it, which a shortened run often does not mean.

    Compared in the loop's unit (:func:`_run_length`): an epoch loop's
    schedulers given in epochs (also those MMEngine converts to
    iterations, ``convert_to_iter_based``: ``end * epoch length`` against
    ``max_epochs * epoch length``), an iteration loop's given in
    iterations (``by_epoch=False``); without an end, a cosine ends at
    ``begin + T_max``, a ``OneCycleLR`` at ``begin + total_steps``. A
    scheduler in the other unit (its
    epoch length is the data's) is compared with nothing; beside one, the
    schedule is said not to span the run only where it ends after it,
    unless that one is a warm-up (:func:`_is_warmup`: it hands the lr back
    to the others, so their end is still the schedule's), which the
    warning names as not compared."""
    run = _run_length(cfg.get('train_cfg'))
    if run is None:
        return []
    length, unit, key = run
    scheds = cfg.get('param_scheduler') or []
    scheds = [scheds] if isinstance(scheds, dict) else list(scheds)
    ends, notes, open_ended, other_unit = [], [], False, False
    warmups = []
    for i, sched in enumerate(scheds):
        if not isinstance(sched, dict):
            continue
        # an iteration loop's converted schedulers are given in epochs
        if bool(sched.get('by_epoch', True)) != (unit == 'epoch'):
            if _is_warmup(sched):
                warmups.append(i)
            else:
                other_unit = True
            continue
        begin = sched.get('begin', 0) or 0
        end = sched.get('end')
        where = f'param_scheduler.{i}.end'
        if not isinstance(end, (int, float)) or end == float('inf'):
            # MMEngine's default end is the loop's; a cosine still ends at
            # begin + T_max, a OneCycleLR at begin + total_steps (0, like
            # None, is end - begin: no end)
            field = next((f for f in ('T_max', 'total_steps')
                          if isinstance(sched.get(f), (int, float))
                          and not isinstance(sched[f], bool)
                          and sched[f]), None)
            end = begin + sched[field] if field else None
            where = f'param_scheduler.{i}.{field or "T_max"}'
        if end is None:
            open_ended = True
        else:
            ends.append((end, i, where))
        # milestones count from the scheduler's begin
        steps = [f'{m}' if not begin else f'{m} ({unit} {m + begin})'
                 for m in sched.get('milestones') or ()
                 if m + begin >= length]
        if steps:
            notes.append(
                f'warning: param_scheduler.{i}.milestones '
                f'{", ".join(steps)} lie at or beyond '
                f'train_cfg.{key} {length}: those learning-rate steps '
                'never come (set the milestones too)')
    if ends and not open_ended and max(ends)[0] != length and (
            not other_unit or max(ends)[0] > length):
        end, i, where = max(ends)
        other = 'epochs' if unit == 'iteration' else 'iterations'
        aside = ''.join(
            f' (param_scheduler.{w}, a warm-up given in {other}, is not '
            'compared)' for w in warmups)
        notes.append(
            f'warning: the learning-rate schedule ends at {unit} {end:g} '
            f'({where}){aside} but train_cfg.{key} is '
            f'{length}: the schedule does not span the run (set its end and '
            'T_max too)')
    return notes


def _is_warmup(sched: dict) -> bool:
    """Whether ``sched`` is a warm-up: a ``LinearLR`` that rises (its
    ``end_factor``, 1.0 by default, at least its ``start_factor``, 1/3 by
    default) or a ``ConstantLR``, both of which hand the lr back at its
    base when they end, with an end given. Where it ends in the loop's
    other unit, the schedulers after it still govern the run's end, so it
    does not hide theirs (:func:`schedule_notes`)."""
    kind = sched.get('type')
    kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    if not isinstance(sched.get('end'), (int, float)) or \
            sched['end'] == float('inf'):
        return False
    if kind == 'ConstantLR':
        return True
    start, stop = sched.get('start_factor', 1 / 3), \
        sched.get('end_factor', 1.0)
    return kind == 'LinearLR' and isinstance(start, (int, float)) and \
        isinstance(stop, (int, float)) and stop >= start


def build_runner(config: str,
                 work_dir: Optional[str] = None,
                 resume: Union[bool, str] = False,
                 amp: bool = False,
                 cfg_options: Optional[dict] = None,
                 launcher: str = 'none', auto_scale_lr: bool = False,
                 check_data: bool = False, trains: bool = True,
                 loaded: Optional[Config] = None,
                 evaluates: Sequence[str] = EVALUATIONS,
                 needs_evaluations: bool = False):
    """The runner :func:`train` trains, built and not run (its arguments):
    e.g. ``runner.val()`` evaluates the config's model as it starts.
    ``check_data``: :func:`check_data_paths` first. ``trains`` False: the
    caller only evaluates it (:func:`prepare_config`: the work dir's
    checkpoints are not warned of, as it writes over none; nor is a
    schedule that does not span the run, :func:`schedule_notes`, as it
    takes no step of it). ``loaded``,
    ``evaluates``, ``needs_evaluations``: as :func:`train`'s.

    Returns:
        mmengine.runner.Runner: the built runner.

    Raises:
        InputError: as :func:`train`; a refusal (and a failed start of the
            runner's run) leaves nothing new behind, the work dir made for
            it included, also where rank 0 downloaded a URL checkpoint into
            it (:func:`checkpoint_from_url`) before the runner was built.
    """
    evaluates = checked_evaluations(evaluates)
    with kept_on_failure(loaded):
        cfg, notes = _prepared(config, work_dir, resume, amp, cfg_options,
                               launcher, auto_scale_lr, check_data,
                               trains=trains, loaded=loaded,
                               evaluates=evaluates,
                               needs_evaluations=needs_evaluations)
        return _built(cfg, notes, config, trains, evaluates)


@contextlib.contextmanager
def kept_on_failure(loaded: Optional[Config]):
    """The caller's config ``loaded`` (:func:`train`'s and
    :func:`build_runner`'s argument, prepared in place: the command line's
    choices, the batch split, the fast path) put back as it was given
    where the block raises (a refusal, Ctrl-C): a notebook that catches a
    refusal and calls again has its own config, not one half-resolved by
    the refused call (``amp=True`` refused on the CPU left
    ``amp='float16'`` in it, and the call again without it was refused for
    "the config's amp": review r179). Its attributes are restored on the
    same object; a part of it the caller took out before the call (``cfg.
    train_dataloader`` held in a variable) is not the restored one. None:
    nothing to keep (the config is read from its file)."""
    if loaded is None:
        yield
        return
    import copy
    given = copy.deepcopy(loaded)
    try:
        yield
    except BaseException:
        vars(loaded).update(vars(given))
        raise


def _prepared(config: str, work_dir: Optional[str],
              resume: Union[bool, str], amp: bool,
              cfg_options: Optional[dict], launcher: str,
              auto_scale_lr: bool, check_data: bool,
              earlier_run_hint: str = EARLIER_RUN_HINT, trains: bool = True,
              loaded: Optional[Config] = None,
              evaluates: Sequence[str] = (),
              other_run_ways: Optional[str] = None,
              needs_evaluations: bool = False):
    """:func:`build_runner`'s config, checked, and the notes for its log:
    the config and the command line first, their mistakes reported before
    the model stack is imported. ``loaded``: the config already loaded
    (:func:`train`), not read again."""
    cfg = loaded if loaded is not None else load_config(config, cfg_options)
    # a runner built to be evaluated alone (``trains`` False: the lambda
    # sweep's 0-epoch baseline) follows no schedule: its warning that the
    # schedule does not span the run was a line about steps it never takes
    notes = prepare_config(cfg, config, work_dir, resume, amp, launcher,
                           auto_scale_lr, earlier_run_hint, trains,
                           evaluates, other_run_ways, needs_evaluations) + \
        (schedule_notes(cfg) if trains else [])
    if check_data:
        check_data_paths(cfg)
    return cfg, notes


def _built(cfg: Config, notes: list, config: str, trains: bool = True,
           evaluates: Sequence[str] = (), said: Sequence[str] = (),
           told: Sequence[str] = ()):
    """:func:`build_runner`'s runner from the :func:`_prepared` config
    ``cfg`` (of the file ``config``), ``notes`` logged; ``said``: lines
    the command has printed on stderr already, written to the log file
    alone (the console would repeat them); ``told``: warnings among
    ``notes`` that the command says on stderr itself once the run has
    begun (:class:`~openselfsup.engine.console.RunWarningsHook`),
    written to the log file alone, in their place. A failure or SIGTERM
    from the build until this function's guard is left, as it returns,
    discards what the runner made: one guard, taking the runner as its
    build begins, where the guard began after the build's post-build
    lines (the URL's notes, the warnings left out), which left the
    runner's log folder and its SIGTERM handler for a caller without a
    guard of its own (``train()``'s and the balance baseline's have one, open before
    the call, which take the runner as its build begins). Not beyond: a
    Terminated on the return path, once this guard is left and before
    the caller holds the runner (a SIGTERM acted upon in those few
    bytecodes), discards nothing where the caller has no guard of its
    own: the log folder stays, and the runner's SIGTERM handler is
    restored by its finalizer once the runner is collected."""
    from ..engine.runner import discard_on_failure
    with discard_on_failure():
        return _built_in_guard(cfg, notes, config, trains, evaluates, said,
                               told)


def _runner_built(cfg: Config, registry, default):
    """The runner of ``cfg``: its ``runner_type``'s ``from_cfg`` (a name
    looked up in the project's runner ``registry`` and its parents, as
    MMEngine's ``RUNNERS.build`` looks it up in a process where no default
    scope is current), else ``default.from_cfg`` (MMEngine's Runner). Not
    through ``registry.build``: that looks a name up in the process's
    current MMEngine default scope, which an MMEngine ``Runner`` built
    earlier in the process leaves behind (a notebook's, a test's):
    ``'mmengine'`` made the project's ``train()`` a ``KeyError:
    'AtomicRunner is not in the runner registry'``. A name found nowhere,
    or a config with a top-level ``_scope_`` the build switches to
    (:func:`~openselfsup.config.build_scope`: not ``_scope_=None``, which
    it pops and switches nothing by; that was left to it too, and looked
    up in the current scope), is built by ``registry.build`` (its own
    words, its scope rule). The command's start-up ends here
    (:func:`~openselfsup.utils.errors.work_begins`)."""
    from ..config import build_scope
    work_begins()
    kind = cfg.get('runner_type')
    if kind is None:
        return default.from_cfg(cfg)
    found = registry.get(kind) if isinstance(kind, str) and \
        build_scope(cfg, None) is None else None
    return found.from_cfg(cfg) if found is not None else registry.build(cfg)


def _built_in_guard(cfg: Config, notes: list, config: str, trains: bool,
                    evaluates: Sequence[str], said: Sequence[str],
                    told: Sequence[str] = ()):
    """:func:`_built`'s build, inside its guard."""
    from mmengine.runner import Runner

    import openselfsup.engine  # noqa: F401  (AtomicRunner, safe globals)
    from ..registry import RUNNERS

    from ..engine.runner import (give_built_process_seed,
                                 launcher_rendezvous, missing_dirs,
                                 remove_empty_dirs)

    # --resume http(s)://... or a new run's load_from http(s)://...: rank 0
    # downloads it (in train(), under the work dir's lock); the runner
    # removes the file after a failed start, and the folders the download
    # made for it (the work dir, as it was before: build_runner has no
    # lock, whose clean-up train()'s failed start has)
    made = missing_dirs(cfg.work_dir)
    url = cfg.get('load_from')  # (a URL: the download's file once fetched)
    url_notes = checkpoint_from_url(cfg, config, trains, evaluates)
    notes = notes + url_notes
    # a setting the model or dataset classes refuse (e.g. a ResNet depth
    # that does not exist) was a traceback from deep inside mmpretrain;
    # OPENSELFSUP_DEBUG=1 keeps the traceback (a bug, not a setting). The
    # parts MMEngine builds later (training loop and its data, optimizer,
    # schedule): AtomicRunner's build methods
    try:
        # --launcher slurm: the job's own port for every kind of runner,
        # MMEngine's own too (a config without runner_type), not 29500;
        # a launcher's second run on the earlier run's store refused
        with settings_refused(cfg, 'model or data'), launcher_rendezvous(
                cfg.launcher, cfg.get('env_cfg', {}).get('dist_cfg')):
            check_setting_types(cfg)
            runner = _runner_built(cfg, RUNNERS, Runner)
        # the runner told that the file is this process's download (and
        # the folders made for it) inside the try: an interrupt before
        # that is the except's. A file in url_downloads/ that this process
        # did not download (a kept one, given as --resume) is not the
        # run's to remove
        owns_download = getattr(runner, 'owns_download', None)
        if url_notes and owns_download is not None:
            owns_download(cfg.load_from, made)
    except BaseException as exc:
        if url_notes:  # the download of this process (rank 0)
            remove_url_download(cfg.load_from)
            remove_empty_dirs(made)
            if isinstance(exc, InputError):  # the file gone: the URL
                raise InputError(url_named(str(exc), cfg.load_from, url)) \
                    from None
        raise
    # MMEngine's Runner (runner_type 'Runner' or none) builds the batched
    # views without the process's seed and the model's own generator
    # without the rank's, which AtomicRunner gives them
    give_built_process_seed(runner)
    if is_http_url(url) and hasattr(runner, 'downloaded_from'):
        runner.downloaded_from(url)
    # torch's warning of more workers than cores: said in the log instead
    # (worker_count_notes), while this runner trains or evaluates
    worker_warning_left_out(runner, cfg, trains, evaluates)
    unannounced_evaluation_notes(runner, cfg, notes, evaluates, trains)
    for note in notes:
        if note in told and to_log_file(runner.logger, warning_words(note)):
            continue  # (the command says it on stderr)
        if note.startswith('warning: '):
            runner.logger.warning(warning_words(note))
        else:
            runner.logger.info(note)
    for line in said:
        to_log_file(runner.logger, line, logging.INFO)
    check_widths(runner, config)
    check_head_classes(runner, config)
    check_init_cfgs(runner.cfg, config, runner.model)
    return runner


def check_widths(runner, config: str) -> None:
    """Refuse a model whose feature widths do not chain from backbone to
    neck to head (:func:`~openselfsup.models.widths.width_mismatch`): a
    width changed in one place only was a matrix-shape traceback from the
    first training step."""
    from mmengine.model import is_model_wrapper

    from ..models.widths import width_mismatch
    model = runner.model.module if is_model_wrapper(runner.model) else \
        runner.model
    problem = width_mismatch(model)
    if problem:
        raise InputError(f'{config}: {problem}')


def check_init_cfgs(cfg: Config, config: str, model=None) -> None:
    """Refuse an ``init_cfg`` entry of ``cfg.model`` that its initializer
    (MMEngine's ``Pretrained``, ``Kaiming``...) does not take:
    ``--cfg-options model.backbone.init_cfg.0.type=Pretrained`` on FSP's
    list of ``Kaiming`` and ``Constant`` kept Kaiming's other keys, and
    the run stopped when its weights were initialised on MMEngine's
    ``TypeError: PretrainedInit.__init__() got an unexpected keyword
    argument 'distribution'`` traceback. Each entry is built as MMEngine
    builds it, in the registry of the scope the run builds it in, after
    importing ``mmengine.model``, which registers MMEngine's initializers
    (before that, every entry was unregistered and passed unchecked); a
    type registered nowhere is refused (it was MMEngine's ``KeyError``
    traceback). So is each item of an entry's ``override``
    (:func:`~openselfsup.config.init_overrides`: MMEngine's ``TypeError``,
    ``ValueError``, ``KeyError`` or ``RuntimeError`` traceback when the
    weights were initialised): an ``override`` that is no dict or list,
    an item without ``name``, or with other keys but no ``type``, an
    initializer that does not build, and, with ``model`` (the built
    model), a ``name`` that is no attribute of the module whose
    ``init_cfg`` the entry is. A ``Pretrained`` item's file is read with
    the entry's own (:meth:`~openselfsup.engine.runner.AtomicRunner.
    _check_pretrained_inits`).

    Raises:
        InputError: the entry, the keys its initializer does not take and
            those it does, and the config-file form that replaces it; or
            the entry and MMEngine's words on a value of the wrong type;
            an unknown type with the registered ones; an override item
            and what MMEngine's init needs of it.
    """
    import inspect

    import mmengine.model  # noqa: F401 (registers Kaiming, Pretrained...)
    from mmengine.model import is_model_wrapper
    from mmengine.registry import WEIGHT_INITIALIZERS, build_from_cfg

    from ..config import init_overrides
    from ..registry import known_names
    if model is not None and is_model_wrapper(model):
        model = model.module

    def entries(node, key):
        if isinstance(node, dict):
            for name, value in node.items():
                if name != 'init_cfg':
                    yield from entries(value, f'{key}.{name}')
                elif isinstance(value, dict):
                    yield f'{key}.init_cfg', value
                elif isinstance(value, (list, tuple)):
                    for i, entry in enumerate(value):
                        yield f'{key}.init_cfg.{i}', entry
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                yield from entries(value, f'{key}.{i}')

    def check(key, entry):  # refuse what MMEngine's build of it refuses
        kind = entry.get('type')
        if isinstance(kind, str):
            with WEIGHT_INITIALIZERS.switch_scope_and_registry(None) as reg:
                cls = reg.get(kind)
        else:
            cls, reg = kind, None
        if cls is None and reg is not None:
            known, near = known_names(reg, kind, n=1)
            hint = f'did you mean {near[0]}? ' if near else ''
            raise InputError(
                f'{config}: {key}: no weight initializer {kind!r} is '
                f'registered ({hint}there are: {", ".join(known)})')
        if not inspect.isclass(cls):
            return
        try:
            build_from_cfg({k: v for k, v in entry.items()
                            if k != 'override'}, WEIGHT_INITIALIZERS)
        except TypeError as exc:
            # the keys its __init__ and those it passes **kwargs to take
            taken = set()
            for klass in cls.__mro__:
                if '__init__' not in vars(klass):
                    continue
                params = inspect.signature(klass.__init__).parameters
                taken.update(n for n, p in params.items() if n != 'self'
                             and p.kind not in (p.VAR_KEYWORD,
                                                p.VAR_POSITIONAL))
                if not any(p.kind == p.VAR_KEYWORD
                           for p in params.values()):
                    break
            foreign = [k for k in entry if k not in taken
                       and k not in ('type', 'override')]
            head = f'{config}: {key} ({type_name(kind)}): '
            if not foreign:
                # a value of the wrong type (layer=('Conv2d', 'Linear'),
                # bias_prob=1): MMEngine's words, their runs of spaces
                # (its continued string literals) as one
                raise InputError(
                    head + ' '.join(first_line(exc).split())) from None
            raise InputError(
                f'{head}{cls.__name__} takes no {", ".join(foreign)} (it '
                f'takes {", ".join(sorted(taken))}); an override of some '
                'keys of an entry keeps its other keys: replace the whole '
                f'{key.rsplit(".init_cfg", 1)[0]}.init_cfg in a config '
                'file, with _delete_=True (docs/pretraining.md)') from None

    def module_of(key, entry):  # the module whose init_cfg holds entry
        node = model
        for part in key.rsplit('.init_cfg', 1)[0].split('.')[1:]:
            node = getattr(node, part, None)
        held = getattr(node, 'init_cfg', None)
        held = [held] if isinstance(held, dict) else held or []
        return node if any(h == entry for h in held) else None

    form = ('MMEngine\'s init takes override=dict(type=INITIALIZER, '
            'name=ATTRIBUTE) or a list of them')
    for key, entry in entries(cfg.get('model'), 'model'):
        if not isinstance(entry, dict):
            continue
        check(key, entry)
        for where, item, built in init_overrides(entry):
            where = f'{key}.{where}'
            if built is None:
                if not isinstance(item, dict):
                    problem = f'is a {type(item).__name__}'
                elif item.get('name') is None:
                    problem = 'has no name (the attribute it initialises)'
                else:
                    problem = (f'({item["name"]}) has no type (or give its '
                               'name alone for the entry\'s own '
                               'initializer)')
                raise InputError(f'{config}: {where} {problem}: {form}')
            check(where, built)
            module = module_of(key, entry) if model is not None else None
            name = item['name']
            if module is not None and not hasattr(module, name):
                has = ', '.join(n for n, _ in module.named_children())
                raise InputError(
                    f'{config}: {where}: {key.rsplit(".init_cfg", 1)[0]} '
                    f'({type(module).__name__}) has no attribute {name!r} '
                    f'to initialise (its modules: {has or "none"})')


def check_head_classes(runner, config: str) -> None:
    """Refuse a classification head (mmpretrain's ``ClsHead`` family:
    FSP's ``LinearClsHead``) of no more outputs than the largest label of
    the samples it trains on: ``model.head.num_classes=5`` on the NCT
    lists (labels 0-8) was torch's ``IndexError: Target 7 is out of
    bounds`` traceback from the first training step. The labels are read
    from the training list (:func:`listed_training_set`: a plain
    ``ImageList``, its ``indices`` applied, as the run reads them), not
    from ``train_dataloader.dataset.num_classes``, the range the labels
    may take: a list of 5 classes (or ``wo_8``'s 0-7) trains a head of 5
    (8). Read through MMEngine's dataset wrappers
    (:func:`~openselfsup.config.dataset_parts`: the dataset of a
    ``RepeatDataset`` / ``ClassBalancedDataset``, every part of a
    ``ConcatDataset``; they were skipped, and the run reached the
    traceback). First, a list with a label beyond its dataset's
    ``num_classes`` (any model; the dataset reads every line, whatever
    its ``indices``): the dataset's line named the list's line only
    (``train12_labeled.txt:49: label 9 is outside the class range [0,
    9)``: a user's own labels 6-9 under the nine-class default), and no
    key to change; :func:`label_range_refusal` adds them. Other
    datasets and a list not on this machine are left to the run."""
    from mmengine.model import is_model_wrapper
    from mmpretrain.models.heads import ClsHead

    from ..config import dataset_parts

    model = runner.model.module if is_model_wrapper(runner.model) else \
        runner.model
    head = getattr(model, 'head', None)
    outputs = getattr(head, 'num_classes', None)
    if not (isinstance(head, ClsHead) and is_int(outputs)):
        outputs = None
    found = None  # (top label, listed) of the part of the largest label
    for key, part in dataset_parts(
            runner.cfg.train_dataloader.get('dataset') or {}):
        listed = listed_training_set(runner.cfg, part, key) \
            if isinstance(part, dict) else None
        if listed is None:
            continue
        bound = part.get('num_classes')
        every = [label for _, label in listed[1] if label is not None]
        if is_int(bound) and every and max(every) >= bound:
            raise label_range_refusal(runner.cfg, config, key, listed[0],
                                      bound, every, outputs)
        labels = [label for _, label in listed[2] if label is not None] \
            if listed[2] else []
        if not labels or (found is not None and max(labels) <= found[0]):
            continue
        found = max(labels), listed
    if outputs is None or found is None or found[0] < outputs:
        return
    top, listed = found
    kept = '' if listed[2] == listed[1] else \
        f' (the {len(listed[2])} samples its indices keep)'
    raise InputError(
        f'{config}: model.head.num_classes is {outputs} but the training '
        f'list {listed[0]}{kept} holds label {top}: a head of {top + 1} '
        f'outputs at least (set --cfg-options model.head.num_classes='
        f'{top + 1})')


def label_range_refusal(cfg: Config, config: str, key: str, path: str,
                        bound: int, labels: Sequence[int],
                        outputs: Optional[int]) -> InputError:
    """The dataset's own line for the list ``path`` of the training
    dataset at ``key`` whose ``labels`` reach beyond its ``num_classes``
    ``bound`` (the list's line and label, as
    :func:`~openselfsup.datasets.list_files.read_list_file` says it when
    the run builds the dataset), with the keys that take the classes up
    to its largest label: the dataset's ``num_classes``, the
    classification head's (``outputs``, where the model has one of fewer)
    and its data preprocessor's, which one-hot labels read (where the
    config sets one lower). Numbering the list's classes from 0 is offered
    where that is a way out: its lowest label above 0 and its classes no
    more than ``bound`` (a 12-class list numbered 0-11 was told to number
    them from 0)."""
    from ..datasets.list_files import read_list_file
    top, low = max(labels), min(labels)
    try:
        read_list_file(path, bound)
        said = f'{path}: label {top} is outside the class range [0, {bound})'
    except InputError as exc:  # the first such line, as the run says it
        said = str(exc)
    keys = [f'{key}.num_classes']
    if outputs is not None and outputs <= top:
        keys.append('model.head.num_classes')
    # the preprocessor the run builds, named where the config sets it (a
    # model.data_preprocessor.num_classes option beside a top-level one
    # would replace it whole: its type and mean / std dropped)
    where, pre = built_preprocessor(cfg)
    pre = (pre or {}).get('num_classes')
    if is_int(pre) and pre <= top:
        keys.append(f'{where}.num_classes')
    renumber = f', or number the list\'s classes from 0 (they start at ' \
        f'{low})' if low > 0 and len(set(labels)) <= bound else ''
    return InputError(
        f'{said} ({key}.num_classes in {config}); for labels up to {top}, '
        f'set --cfg-options {" ".join(f"{k}={top + 1}" for k in keys)}'
        + renumber)


def listed_training_set(cfg: Config, node: Optional[dict] = None,
                        key: str = 'train_dataloader.dataset'
                        ) -> Optional[Tuple[str, list, list]]:
    """The training set of ``cfg`` (or its dataset config ``node`` at
    ``key``: a part inside a dataset wrapper) as its list file gives it,
    where it is a plain ``ImageList`` of a list file on this machine
    (else None):
    ``(path, entries, kept)``, the list's entries
    (:func:`~openselfsup.datasets.list_files.read_list_file`) and those its
    ``indices`` keep (:func:`~openselfsup.datasets.list_files.
    kept_entries`; None for indices of a type :func:`check_indices`
    refuses).

    Raises:
        InputError: as the run's ImageList when it is built: a list it
            cannot read, ``indices`` beyond the list's end, or keeping none
            of it where the dataset is serialized.
    """
    if node is None:
        node = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    path = annotation_path(node)
    if not (type_name(node.get('type')) == 'ImageList' and path
            and isinstance(node.get('data_root') or '', str)
            and os.path.isfile(path)):
        return None  # check_data_paths' refusal, or data the run fetches
    from ..datasets.list_files import (check_list_indices, empty_indices,
                                       kept_entries, read_list_file)
    entries = read_list_file(path)
    indices = node.get('indices')
    # the ImageList's refusals when the run builds it (CheckedIndices)
    where = f' ({key}.indices in {cfg.filename})'
    check_list_indices(indices, len(entries), path, where)
    kept = kept_entries(entries, indices)
    if kept == [] and node.get('serialize_data', True):
        raise empty_indices(indices, len(entries), path, where)
    return path, entries, kept


def train(config: str,
          work_dir: Optional[str] = None,
          resume: Union[bool, str] = False,
          amp: bool = False,
          cfg_options: Optional[dict] = None,
          launcher: str = 'none', auto_scale_lr: bool = False,
          earlier_run_hint: str = EARLIER_RUN_HINT,
          loaded: Optional[Config] = None,
          evaluates: Sequence[str] = EVALUATIONS,
          other_run_ways: Optional[str] = None,
          says_how_to_continue: bool = True,
          needs_evaluations: bool = False, warnings_to=None):
    """Build a runner from ``config`` and train.

    Args:
        config (str): path of the Python config.
        work_dir (str, optional): output directory (default: the
            config's ``work_dir``, else the work dir of the run ``resume``
            names (:func:`resumed_run_dir`), else
            ``work_dirs/<config path>``).
        resume (bool | str): True: resume from the latest complete
            checkpoint in ``work_dir``; a path: from that checkpoint (or
            that work dir's latest complete one: :func:`resume_path`),
            e.g. another run's, writing to ``work_dir``; an http(s) URL:
            from its download, a file of the run's own
            (:func:`checkpoint_from_url`). A training
            schedule other than the checkpoint's run's is warned of in the
            log (:func:`~openselfsup.engine.runner.schedule_changes`). No
            checkpoint in ``work_dir``: a new run (from the config's
            ``load_from`` where it sets one). False: the config's own
            ``resume = True`` is True (:func:`resume_choice`).
        amp (bool): float16 mixed precision with dynamic loss scaling
            (MMEngine's AmpOptimWrapper; GPU only): the config key
            ``amp='float16'`` (:mod:`~openselfsup.apis.fast_path`).
        cfg_options (dict, optional): ``--cfg-options`` overrides; every key
            must exist in the config.
        launcher (str): 'none', 'pytorch' (torchrun) or 'slurm'.
        auto_scale_lr (bool): scale the learning rate linearly by the total
            batch over the config's ``auto_scale_lr.base_batch_size``.
        earlier_run_hint (str): what the log's warning about an earlier
            run's checkpoints in ``work_dir`` (a new run writes over those
            of the same names) suggests: :func:`prepare_config`.
        other_run_ways (str, optional): the ways out of the refusal of
            a ``work_dir`` holding a run of other model hyper-parameters
            (:func:`prepare_config`).
        loaded (Config, optional): ``config`` as
            :func:`~openselfsup.config.load_config` has already loaded it
            with ``cfg_options``, trained as it is (not read from the file
            again): the lambda sweep checks a run's settings on the config
            it then trains, so a config edited after the check cannot
            train a run with other settings than it records. Prepared in
            place (the run's resolved settings, which the sweep reads
            after); put back as given where the call is refused before
            training starts (:func:`kept_on_failure`).
        evaluates (Sequence[str]): the evaluations the caller runs on the
            runner returned, a tuple of ``'val'`` and ``'test'``
            (:func:`checked_evaluations`; default both, each where the
            config sets ``val_cfg`` / ``test_cfg``: a caller's
            ``runner.val()`` had neither note nor torch's warning;
            ``tools/train.py``, which evaluates nothing after training,
            gives ``()``): the log's note of worker counts names their
            data loaders (:func:`worker_count_notes`), and an AtomicRunner
            leaves torch's warning of them out; MMEngine's own Runner does
            not: its caller evaluates it inside
            :func:`worker_warnings_left_out`. Under a launcher with a gloo
            process group, ``()`` also ends that group when this returns
            (:func:`~openselfsup.engine.runner.ends_its_process_group`: a
            ``runner.val()`` after it would run as one process, rank 0 of
            1; the runner's model is returned unwrapped from its DDP
            wrapper, which held the group), where any evaluation keeps it
            up to the process's exit (the model unwrapped there; also
            where the caller destroys the group itself). A second
            ``train()`` under torchrun (``launcher='pytorch'``, its
            agent's store) in a process whose first run's group has
            ended (so, or by the caller's own ``destroy_process_group``),
            and with no group up, is refused before anything is built
            (:func:`~openselfsup.engine.runner.check_runs_once`: a new
            group on torchrun's store failed, gloo's ``connectFullMesh``,
            or hung, in some runs; start a new process per run; one
            process under torchrun passes); under Slurm, with
            ``MASTER_ADDR``, ``RANK``... set by hand, or under torchrun
            with its agent's store not shared, a second run starts
            a new group on a store of rank 0's, let through on a new
            port and refused on the earlier run's (``MASTER_PORT``, or
            the config's ``env_cfg.dist_cfg.port``): rank 0's first
            store could still be up at a peer's start, and the run hung
            (:func:`~openselfsup.engine.runner.check_new_store`), as the
            group starts; where a group is up
            (an evaluating caller's, or one the caller started itself)
            it runs in that group, as before. No project path trains
            twice under a launcher.
        says_how_to_continue (bool): whether a Ctrl-C's ``interrupted``
            line names the ``--resume`` of this run's checkpoint (an
            AtomicRunner's); False where the caller says its own (the
            lambda sweep: that --resume would train with the config's
            lambda).
        needs_evaluations (bool): whether the caller cannot do without
            the evaluations ``evaluates`` names (the lambda sweep: its
            lambda choice reads the validation, its ``--test`` the test
            loop): a loop of theirs set in part is then offered only
            setting the sections left out, not removing all three
            (:func:`check_loop_sections`); False (the default, and
            ``tools/train.py``): both are offered.
        warnings_to (file, optional): a stream (``tools/train.py``:
            stderr) on which rank 0 says the run's own warnings
            (:func:`prepare_config`'s and :func:`schedule_notes`' lines
            ``warning: ...``: an earlier run's checkpoints written over, a
            schedule that does not span the run...) once its first
            training step has run, before that iteration's log line
            (:class:`~openselfsup.engine.console.RunWarningsHook`): after
            every check that can refuse the run, so that a refused run
            says its one line alone; the log file holds them once, the
            console's log does not repeat them;
            :func:`closing_warnings` gives the lines that repeat them
            after the run's last line. Other ranks, and None (the
            default): the log alone says them, as every note.

    Returns:
        mmengine.runner.Runner: the runner after training.

    Raises:
        InputError: bad config path or key, GPU count, batch split, a
            missing data folder or annotation file, a second run under
            torchrun in a process where an earlier run's process group
            has ended (:func:`~openselfsup.engine.runner.check_runs_once`),
            or, under Slurm or set by hand, on its store's port
            (:func:`~openselfsup.engine.runner.check_new_store`),
            a missing ``load_from``
            of a new run (:func:`check_load_from`), or bad data (list files
            and images are checked when the dataset is built, before the
            first iteration). A run that fails before its first iteration
            ends leaves nothing behind (no log folder; an earlier run's
            config dump in ``work_dir`` untouched:
            :class:`~openselfsup.engine.runner.AtomicRunner`); a SIGTERM
            before then raises :class:`~openselfsup.utils.Terminated`
            after the same clean-up, and in a run of one process also
            after (its log folder and checkpoints kept). Another run
            training into the same work dir now (its lock,
            ``<work_dir>/.train.lock``, held by its rank 0 from before
            its build to after its last checkpoint): refused before
            anything is written
            (:func:`~openselfsup.engine.runner.work_dir_lock`).
    """
    evaluates = checked_evaluations(evaluates)
    if launcher not in (None, 'none'):
        from ..engine.runner import check_runs_once
        check_runs_once(launcher)
    # the data check (its disjoint-splits check) and the training set's
    # build (check_steps) parse each fold they both read once, not twice
    # (read_json_object); what was read is let go before training
    start = contextlib.ExitStack()
    # a refusal up to the training set's build (start.close() below)
    # leaves a loaded config as given
    start.enter_context(kept_on_failure(loaded))
    start.enter_context(reading_once())
    with start:
        cfg, notes = _prepared(config, work_dir, resume, amp, cfg_options,
                               launcher, auto_scale_lr, check_data=True,
                               earlier_run_hint=earlier_run_hint,
                               loaded=loaded, evaluates=evaluates,
                               other_run_ways=other_run_ways,
                               needs_evaluations=needs_evaluations)
        # said on warnings_to once the run has begun (rank 0), not in the
        # console's log
        told = own_warnings(notes) if warnings_to is not None and \
            launcher_env(cfg.launcher)[0] == 0 else ()
        import torch

        from ..engine.runner import (discard_on_failure,
                                     ends_its_process_group, work_dir_lock)
        from ..utils import terminate_raises
        runner = None

        def raising() -> bool:
            return runner is None or not getattr(runner, 'started', True) or \
                getattr(runner, 'world_size', 1) == 1

        # SIGTERM raises Terminated from before the lock is taken (the work dir
        # made for it) until the run has started, so that the clean-up runs:
        # the runner's own call (which joins this handler) would come too
        # late (the build imports the model stack: seconds).
        # A run of several processes gives SIGTERM its default action from the
        # start on (the runner restores it: when_started; a Python handler runs
        # only between bytecodes, and a rank waiting in a collective for a dead
        # peer would not end on it), on a failed start not before train()
        # returns (the lock's clean-up comes after the runner's). A run of one
        # process waits in no collective: it keeps the handler to its end, so
        # that a SIGTERM (Slurm's preemption, `kill`) ends it as Ctrl-C does,
        # one line and the lock released (exit 143; it ended where it stood,
        # exit -15, no line)
        restore_sigterm = terminate_raises(raising)
        try:
            # rank 0 alone: refused, it exits with the one line before the
            # process group forms, and the launcher ends the other ranks, which
            # wait for it there (torchrun and srun --kill-on-bad-exit: SIGTERM,
            # a Terminated before the run has started, then SIGKILL). The
            # process group the runner's build starts ends with the run,
            # its checkpoints and lock done (at exit where the caller
            # evaluates the runner after)
            # the guard takes the runner as its build begins (no runner
            # given): an interrupt between the build's return and the run
            # finds it too (r135: its handler was left set, its log folder
            # left); once the run has started it discards nothing, and a
            # line the run's own guard named a URL in stays as named
            with ends_its_process_group(evaluated_after=bool(evaluates)), \
                    work_dir_lock(cfg.work_dir,
                                  launcher_env(cfg.launcher)[0]) as removed, \
                    discard_on_failure():
                runner = _built(cfg, notes, config, evaluates=evaluates,
                                said=removed, told=told)
                if told:
                    from ..engine.console import RunWarningsHook
                    runner.register_hook(RunWarningsHook(told, warnings_to))
                if hasattr(runner, 'says_how_to_continue'):
                    runner.says_how_to_continue = says_how_to_continue
                when_started = getattr(runner, 'when_started', None)
                if when_started is None:  # a runner that never says it started
                    restore_sigterm()
                elif runner.world_size > 1:
                    when_started(restore_sigterm)
                # amp off on a GPU: float32 convolutions and matrix
                # products in full precision, as the published V100s
                # (torch's default gives cuDNN's TF32)
                with worker_warnings_left_out(runner, cfg), float32_block(
                        cfg, torch.cuda.is_available()):
                    check_steps(runner, config)
                    start.close()  # the training set built
                    runner.train()
        finally:
            restore_sigterm()
        return runner


def own_warnings(notes: Sequence[str]) -> Tuple[str, ...]:
    """The warnings among ``notes`` (:func:`_prepared`'s lines: those
    ``'warning: ...'``), which :func:`train` says on its ``warnings_to``
    once the run has begun."""
    return tuple(note for note in notes if note.startswith('warning: '))


def closing_warnings(runner) -> List[str]:
    """The lines ``tools/train.py`` says after its last line where the
    run has warnings of its own (:func:`train`'s ``warnings_to``): said
    as its training began, how many, then each again, so that they are
    seen at the end of MMEngine's log too; where no training step ran
    (a resume at the end of its schedule), each, said there alone
    (:meth:`~openselfsup.engine.console.RunWarningsHook.closing_lines`);
    ``[]`` for a run without them."""
    hook = run_warnings_hook(runner)
    return hook.closing_lines() if hook is not None else []


def run_warnings_hook(runner):
    """The :class:`~openselfsup.engine.console.RunWarningsHook` that
    :func:`train` gave ``runner`` (its ``warnings_to``: the lines it says,
    and whether its first step has said them), None where it gave none
    (no ``warnings_to``, another rank, a run without warnings)."""
    from ..engine.console import RunWarningsHook
    return next((hook for hook in getattr(runner, 'hooks', ())
                 if isinstance(hook, RunWarningsHook)), None)


def finished_line(runner) -> str:
    """The line ``tools/train.py`` ends with: the epoch and iteration
    reached, or the iteration alone for an iteration-based run
    (``IterBasedTrainLoop``: HLSS, HiDisc), whose epoch stays 0."""
    from mmengine.runner import IterBasedTrainLoop
    where = f'iteration {runner.iter}' \
        if isinstance(runner.train_loop, IterBasedTrainLoop) \
        else f'epoch {runner.epoch}, iteration {runner.iter}'
    return f'finished {where}; outputs in {runner.work_dir}'


def check_steps(runner, config: str) -> None:
    """Refuse a run whose epoch has no training step: fewer images than one
    batch per process, the short batch dropped. MMEngine runs such a run
    to its end without a step and saves the untrained weights. Builds the
    training loop (the dataset is read, as ``runner.train`` would). Each
    rank counts its own steps (its node's lists): a refusal of one rank
    alone is agreed on by every rank
    (:func:`~openselfsup.engine.agreed_refusals.refusals_agreed`: one
    all-reduce where the ranks go on), after the loop's build, whose
    sampler may hold a collective (MMEngine's ``sync_random_seed``)."""
    from ..engine.agreed_refusals import refusals_agreed
    loader = getattr(runner.train_loop, 'dataloader', None)
    with refusals_agreed():
        if loader is not None and len(loader) == 0:
            raise _no_step(config, len(loader.dataset), loader.batch_size,
                           runner.world_size)


def _no_step(config: str, samples: int, batch: int,
             world: int) -> InputError:
    """The refusal of a run whose epoch has no training step
    (:func:`check_steps`, :func:`check_listed_batch`)."""
    per = (f', {process_share(samples, world)} per process on {world} '
           'processes') if world > 1 else ''
    return InputError(
        f'{config}: the training list has {samples} sample(s){per}, '
        f'fewer than one batch of {batch} per process, and the '
        'short batch is dropped: no training step would run (lower '
        'total_batch_size, or train on more images)')


def check_listed_batch(cfg: Config, world: int) -> None:
    """:func:`check_steps` before any process starts (the launchers'
    ``--check-config``; torch-free), where the training set's size is its
    list files': an ``ImageList`` (its ``indices`` applied), or MMEngine's
    dataset wrappers of them (:func:`~openselfsup.config.dataset_parts`:
    a ``RepeatDataset`` ``times`` its dataset, a ``ConcatDataset`` the sum
    of its parts, a ``ClassBalancedDataset`` each sample repeated as
    MMEngine repeats it: :func:`class_balanced`), drawn by a
    ``DefaultSampler`` (each of the ``world`` processes gets its share,
    rounded up), the short batch dropped. Other datasets and samplers are
    left to the run. Reads the lists (:func:`listed_training_set`), also
    for ``indices`` listed beyond a list's end: run after
    :func:`check_data_paths` and :func:`split_batch` (the per-process
    batch).

    Raises:
        InputError: fewer samples per process than one batch; indices
            beyond a list's end, or keeping none of it (where the
            dataset is serialized, as the run's ImageList refuses it); a
            list the run would refuse too.
    """
    from ..config import dataset_parts
    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset') or {}
    sampler = loader.get('sampler') or {}
    batch = loader.get('batch_size')
    steps = (loader.get('drop_last') and isinstance(batch, int)
             and type_name(sampler.get('type', 'DefaultSampler'))
             == 'DefaultSampler'
             and sampler.get('round_up', True))
    parts = dataset_parts(dataset)
    if not (steps or any(
            isinstance(part, dict) and (
                is_index_sequence(part.get('indices'))
                or isinstance(part.get('indices'), int))
            for _, part in parts)):
        return

    def counts(key, part):  # samples per label of the list's kept ones
        listed = listed_training_set(cfg, part, key) \
            if isinstance(part, dict) else None
        if listed is None or listed[2] is None:
            return None
        return collections.Counter(-1 if label is None else label
                                   for _, label in listed[2])

    def wrapped(node, inner):  # samples per label of the wrapper's
        if any(x is None for x in inner):
            return None
        kind = type_name(node.get('type'))
        if kind == 'ConcatDataset':
            return sum(inner, collections.Counter())
        if kind == 'RepeatDataset':
            times = node.get('times')
            return collections.Counter({c: n * times for c, n in
                                        inner[0].items()}) \
                if is_int(times) and times >= 0 else None
        # a ClassBalancedDataset of a Repeat- or ConcatDataset: MMEngine's
        # AttributeError (they have no get_cat_ids), left to the run
        below = node.get('dataset')
        if isinstance(below, dict) and type_name(below.get('type')) in (
                'RepeatDataset', 'ConcatDataset'):
            return None
        try:
            return class_balanced(inner[0], node.get('oversample_thr'))
        except InputError as exc:  # a threshold beyond any list's length
            raise InputError(f'{cfg.filename}: {exc}') from None

    listed = dataset_parts(dataset, leaf=counts, wrapper=wrapped)
    if listed is None:
        return
    samples = sum(listed.values())
    if steps and sampler_epoch_length(samples, world, batch) < 1:
        raise _no_step(cfg.filename, samples, batch, world)


def class_balanced(counts: collections.Counter, threshold: Any
                   ) -> Optional[collections.Counter]:
    """The samples per label of MMEngine's ``ClassBalancedDataset`` of a
    dataset of ``counts`` samples per label (an unlabelled ImageList
    sample's is -1): each sample repeated ``ceil(r)`` times, ``r = max(1,
    sqrt(threshold / f))`` of its label's fraction ``f`` of the samples,
    in MMEngine's order of operations (torch-free: MMEngine's class
    imports torch). None for a ``threshold`` (``oversample_thr``) that is
    not a finite number of at least 0, left to the run.

    Raises:
        InputError: a threshold so large that a label's repeat count is
            more than a Python list holds (``sys.maxsize``; infinite
            past 1e308 / its fraction, or an int past a float's range,
            10**400): MMEngine's ``[index] *
            ceil(r)`` is an ``OverflowError`` traceback once the run
            builds its dataset, and this count was one in
            ``--check-config``."""
    if not (is_number(threshold) and 0 <= threshold < math.inf):
        return None
    total = sum(counts.values())
    try:
        repeats = {c: max(1.0, math.sqrt(threshold / (n / total)))
                   for c, n in counts.items()}
    except OverflowError:  # an int past a float's range (10**400)
        repeats = dict.fromkeys(counts, math.inf)
    if any(r > sys.maxsize for r in repeats.values()):
        raise InputError(
            f'ClassBalancedDataset oversample_thr = {threshold!r}: repeats '
            'a label\'s samples more times than a list holds (sqrt('
            'oversample_thr / the label\'s fraction of the samples), '
            'which MMEngine\'s dataset cannot build (OverflowError); '
            'oversample_thr is a frequency: the samples of a label whose '
            'fraction of them is below it are repeated')
    return collections.Counter({c: n * math.ceil(r) for (c, n), r in
                                zip(counts.items(), repeats.values())})
