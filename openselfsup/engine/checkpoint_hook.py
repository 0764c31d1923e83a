"""MMEngine's CheckpointHook, with every old file removed only after its
replacement is on disk.

MMEngine 0.10.7's hook removes the oldest kept checkpoint (``max_keep_ckpts``)
and the previous best checkpoint (``save_best``) *before* it saves the new
one, and writes ``last_checkpoint`` in place: a kill while saving leaves, with
``max_keep_ckpts=1``, no complete checkpoint at all (``--resume`` starts from
scratch), and otherwise one fewer than kept. Here each save runs first (through
:class:`~openselfsup.engine.runner.AtomicRunner`, which writes to a temporary
name and renames), then ``last_checkpoint`` is replaced atomically, and only
then are the files beyond ``max_keep_ckpts`` and the previous best removed.
Which files are kept, ``keep_ckpt_ids`` / ``best_ckpt`` in the message hub and
their resume are MMEngine's; the hub also records the removals still to come
when a checkpoint is saved, which a resume from it does, and a new id at each
save, which a best checkpoint saved next holds too: a resume before the
checkpoint saved again after a new best recorded it finds that best file by
the id and takes it up (:meth:`CheckpointHook._adopt_lost_bests`).

The hub names the best and last checkpoints by absolute paths: in a work dir
copied (``cp -r a b``) or moved and resumed there, they name ``a``'s files,
and MMEngine's hook would remove ``a``'s best at the next new best (or
publish ``a``'s). A resume takes them for the files of those names in the
checkpoint folder (:meth:`CheckpointHook._rebase_recorded_paths`; one it
has no file of stays the other run's), no removal touches a file outside
it, and publishing writes in it.

Registered as ``CheckpointHook`` in the ``openselfsup`` scope, so configs
saying ``type='CheckpointHook'`` get this one;
``type='mmengine.CheckpointHook'`` still names MMEngine's.
"""
import hashlib
import logging
import os
import os.path as osp
import pickle
import uuid
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

from mmengine.dist import is_main_process, master_only
from mmengine.hooks import CheckpointHook as _MMEngineCheckpointHook
from mmengine.logging import print_log

from ..registry import HOOKS
from ..utils import InputError
from ..utils.checkpoint import load_checkpoint_file
from ..utils.io import atomic_path, save_text
from ..utils.log_filters import records_left_out


#: message hub key: the names of the files in the checkpoint folder whose
#: removal was still to come when a checkpoint was saved
_PENDING = 'pending_ckpt_removals'

#: message hub key: a new random id at each save of a (regular) checkpoint.
#: A best checkpoint is saved with the hub as it is then, so one saved after
#: that checkpoint and before the next save holds that checkpoint's id
_SAVE_ID = 'checkpoint_save_id'


#: what MMEngine logs each time it builds a ``FileClient`` (at every
#: checkpoint save, and in ``CheckpointHook.before_train``), also when no
#: ``file_client_args`` are given and the FileClient is not used
FILE_CLIENT_LINES = ('"FileClient" will be deprecated in future',
                     '"HardDiskBackend" is the alias of "LocalBackend"')


@contextmanager
def without_file_client_warnings(file_client_args) -> Iterator[None]:
    """Leave MMEngine's two FileClient deprecation warnings
    (:data:`FILE_CLIENT_LINES`) out of the current MMEngine logger for the
    body, when ``file_client_args`` is None: MMEngine builds a FileClient
    it then does not use, and every run logged them. With
    ``file_client_args`` given (deprecated, and then used) they stay."""
    if file_client_args is not None:
        yield
        return
    with records_left_out(lambda record: any(
            part in record.getMessage() for part in FILE_CLIENT_LINES)):
        yield


class _RemovalsHeld:
    """A file backend whose ``remove`` / ``rmtree`` are noted, not done."""

    def __init__(self, backend):
        self._backend = backend
        self.paths: List[str] = []

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def remove(self, path):
        self.paths.append(path)

    def rmtree(self, path):
        self.paths.append(path)


def _same_file(a: str, b: str) -> bool:
    """Whether the local paths ``a`` and ``b`` name one file (False for a
    path that is not there, or not a local path)."""
    try:
        return osp.samefile(a, b)
    except (OSError, ValueError):
        return False


def _remove(backend, path: str, folder: str) -> None:
    """Remove the checkpoint ``path`` if it is there (a file, or a folder:
    DeepSpeed's checkpoints are folders) and lies in ``folder`` (the
    checkpoint folder): a path elsewhere (another run's work dir) is left
    alone, with a warning."""
    if osp.normpath(osp.dirname(path)) != osp.normpath(folder):
        print_log(f'{path} is not in the checkpoint folder {folder}: not '
                  'removed', logger='current', level=logging.WARNING)
        return
    if backend.isfile(path):
        backend.remove(path)
    elif backend.isdir(path):
        backend.rmtree(path)


@HOOKS.register_module()
class CheckpointHook(_MMEngineCheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` that saves before it removes.

    Arguments and behaviour are MMEngine's (``interval``, ``max_keep_ckpts``,
    ``save_best``, ``published_keys``, ...) except for the order on disk: the
    new checkpoint, then ``last_checkpoint`` (atomically), then the removals.
    A kill at any moment leaves a complete checkpoint that
    ``last_checkpoint`` names: the previous one until the new one is saved
    and named. A kill after the new save
    but before a removal leaves one file too many: the checkpoint just saved
    records the step being removed in ``keep_ckpt_ids``, so a ``--resume``
    from it removes that file (MMEngine's ``before_train`` trims the list to
    ``max_keep_ckpts``). Likewise the checkpoint saved again after a new best
    one records the previous best, whose removal is still to come, and a
    ``--resume`` from it removes that file (:meth:`before_train`). A kill
    after a new best checkpoint is saved but before the checkpoint that
    records it is saved again leaves a best file that the checkpoint
    resumed from does not name: the resume takes it up as the best
    (:meth:`_adopt_lost_bests`).
    """

    def before_train(self, runner) -> None:
        """MMEngine's; then, resumed from a checkpoint saved while removals
        were pending (the previous best checkpoint: a kill came between
        that save and the removal), those files are removed from the
        checkpoint folder. Only with ``save_best``, only files that are not
        the recorded best or last checkpoint, and only when every recorded
        best checkpoint is there: a best file is never removed before the
        one that replaced it is on disk.

        First the best and last checkpoints the hub records are taken for
        the files of those names in the checkpoint folder
        (:meth:`_rebase_recorded_paths`): in a copied or moved work dir
        they name the original's.

        MMEngine's builds a ``FileClient`` that nothing uses when no
        ``file_client_args`` are given; its two deprecation warnings are
        left out then (:func:`without_file_client_warnings`)."""
        with without_file_client_warnings(self.file_client_args):
            super().before_train(runner)
        self._rebase_recorded_paths(runner)
        self._adopt_lost_bests(runner)
        hub = runner.message_hub
        names = hub.get_info(_PENDING) or []
        if not names:
            return
        hub.update_info(_PENDING, [])
        backend = self.file_backend
        bests = {osp.basename(p) for p in self._best_paths()}
        if not bests or not is_main_process() or not all(
                backend.isfile(backend.join_path(self.out_dir, name))
                for name in bests):
            return
        live = bests | {osp.basename(hub.get_info('last_ckpt') or '')}
        for name in names:
            if name not in live:
                _remove(backend, backend.join_path(self.out_dir, name),
                        self.out_dir)

    def _adopt_lost_bests(self, runner) -> None:
        """Resumed from a checkpoint after which a new best checkpoint was
        saved, but killed before that checkpoint was saved again to record
        it: that best file is the best again, with its score, and the
        previous best it replaced is removed, as the save would have done.

        The resumed run does not validate the steps before it again, so
        that validation's result would otherwise be lost: the run would go
        on comparing with the previous best score, keep two best files,
        and never remove the newer one. Taken up, the run ends with the
        best checkpoint an uninterrupted run has (with the same scores).

        A file is taken up only when its own message hub proves it that
        step's: a ``best_*.pth`` in the checkpoint folder, other than the
        recorded bests, that holds the id of that checkpoint's save
        (:data:`_SAVE_ID`; an earlier run's best holds another) and names
        itself as the best (a copy under another name does not). Anything
        else there is left alone. Several are taken up in the order saved,
        by the step each holds (``meta['iter']``), not by name
        (best_acc_epoch_10 sorts before _9) nor by time (a work dir copied
        by ``cp -r`` holds the times of the copy): a later one replaces an
        earlier one, as its save did.
        """
        if self.save_best is None:
            return
        hub = runner.message_hub
        save_id = hub.get_info(_SAVE_ID)
        if not save_id or not osp.isdir(self.out_dir):
            return
        recorded = {osp.basename(p) for p in self._best_paths()}
        resumed = osp.basename(hub.get_info('last_ckpt') or '')
        candidates = []
        for name in sorted(os.listdir(self.out_dir)):
            path = osp.join(self.out_dir, name)
            if not (name.startswith('best_') and name.endswith('.pth')) or \
                    name in recorded or not osp.isfile(path):
                continue
            try:
                saved = load_checkpoint_file(path, mmap=True)
            except InputError:
                continue  # no checkpoint
            hub_state = saved.get('message_hub') \
                if isinstance(saved, dict) else None
            info = hub_state.get('runtime_info') \
                if isinstance(hub_state, dict) else None
            if not isinstance(info, dict) or info.get(_SAVE_ID) != save_id:
                continue  # not a best saved after the checkpoint resumed
            meta = saved.get('meta')
            step = meta.get('iter') if isinstance(meta, dict) else None
            candidates.append((step if isinstance(step, int) else -1, name,
                               path, info))
        for _, name, path, info in sorted(candidates, key=lambda c: c[:2]):
            for score_key, ckpt_key, key in self._best_slots():
                if osp.basename(str(info.get(ckpt_key))) != name or \
                        score_key not in info:
                    continue
                previous = self.best_ckpt_path if key is None else \
                    self.best_ckpt_path_dict.get(key)
                hub.update_info(score_key, info[score_key])
                self._record_best(hub, ckpt_key, key, path)
                runner.logger.info(
                    f'{name} (best {info[score_key]}) was saved after '
                    f'{resumed}, which does not record it (a '
                    'kill came before it was saved again): it is the best '
                    'checkpoint')
                if previous and osp.basename(previous) != name and \
                        is_main_process():
                    _remove(self.file_backend, osp.join(
                        self.out_dir, osp.basename(previous)), self.out_dir)

    def _rebase_recorded_paths(self, runner) -> None:
        """The best checkpoints (``best_ckpt``, ``best_ckpt_<metric>``) and
        the last one (``last_ckpt``) that the hub resumed from records, by
        absolute path, are taken for the files of the same names in the
        checkpoint folder, in the hub and in the hook.

        In a work dir copied (``cp -r a b``) or moved and resumed there, the
        recorded paths are ``a``'s: the next new best would remove ``a``'s
        best checkpoint (a file of another run) and leave ``b``'s, and
        ``published_keys`` would publish ``a``'s best into ``a`` (or, ``a``
        moved away, fail). Only the name is trusted: the run goes on as it
        would have in ``a``. A name the checkpoint folder has no file of
        (``--resume a/epoch_2.pth`` into a new work dir) keeps ``a``'s
        path: that file is never removed, and published into this folder.
        """
        hub = runner.message_hub
        moved = set()
        keys = ['last_ckpt'] + [ckpt_key for _, ckpt_key, _ in
                                self._best_slots()]
        for key in keys:
            path = hub.get_info(key)
            if not path:
                continue
            here = self.file_backend.join_path(self.out_dir,
                                               osp.basename(str(path)))
            # not here (resumed from another run's checkpoint: --resume
            # PATH): that run's file stays the one named, never removed
            # (_remove) and published here (_publish_model)
            if here == path or not self.file_backend.exists(here):
                continue
            hub.update_info(key, here)
            # the same file by another name (the work dir reached through a
            # symlink, or relative to another directory) has not moved
            if not _same_file(here, str(path)):
                moved.add(osp.dirname(str(path)))
        for _, ckpt_key, key in self._best_slots():
            if hub.get_info(ckpt_key):  # none yet: MMEngine's None stays
                self._record_best(hub, ckpt_key, key, hub.get_info(ckpt_key))
        if moved:
            runner.logger.info(
                f'The checkpoint resumed from names checkpoints in '
                f'{", ".join(sorted(moved))} (a copied or moved work dir): '
                f'taken as the files of those names in {self.out_dir}')

    def _record_best(self, hub, ckpt_key: str, metric: Optional[str],
                     path: str) -> None:
        """``path`` is the best checkpoint of ``metric`` (None: the one
        ``save_best`` metric; :meth:`_best_slots`), in the message hub
        ``hub`` and the hook."""
        hub.update_info(ckpt_key, path)
        if metric is None:
            self.best_ckpt_path = path
        else:
            self.best_ckpt_path_dict[metric] = path

    def _best_slots(self) -> List[Tuple[str, str, Optional[str]]]:
        """``(score key, checkpoint key, metric)`` in the message hub of
        each best checkpoint kept (``save_best``): one with the keys
        ``best_score`` / ``best_ckpt`` and metric None, or one per metric;
        none without ``save_best``."""
        if self.save_best is None:
            return []
        if len(self.key_indicators) == 1:
            return [('best_score', 'best_ckpt', None)]
        return [(f'best_score_{k}', f'best_ckpt_{k}', k)
                for k in self.key_indicators]

    def _best_paths(self) -> List[str]:
        """The recorded best checkpoints (``save_best``: one, or one per
        metric), none before any."""
        return [p for p in (getattr(self, 'best_ckpt_path', None),
                            *getattr(self, 'best_ckpt_path_dict', {}).values())
                if p]

    @contextmanager
    def _removals_after_saves(self) -> Iterator[None]:
        """Hold back the file removals the body asks for and do them when it
        has finished (never if it raises): the saves in the body come first.
        A path saved again in the body (a best checkpoint's same name) stays.
        Re-entrant: an inner use leaves its removals to the outer one.
        Before ``before_train`` (``runner.val()`` alone) there is no file
        backend: the body runs as MMEngine's."""
        backend = getattr(self, 'file_backend', None)
        if backend is None or isinstance(backend, _RemovalsHeld):
            yield
            return
        held = self.file_backend = _RemovalsHeld(backend)
        try:
            yield
        finally:
            self.file_backend = backend
        live = {self.last_ckpt, *self._best_paths()}
        for path in dict.fromkeys(held.paths):
            if path not in live:
                _remove(backend, path, self.out_dir)

    def _save_checkpoint_with_step(self, runner, step, meta):
        """Save ``filename_tmpl.format(step)``, then point
        ``last_checkpoint`` at it, then remove the oldest kept checkpoint
        if ``max_keep_ckpts`` are already kept (MMEngine's removes first and
        writes the pointer in place)."""
        with self._removals_after_saves():
            held, dropped = self.file_backend, []
            new_step = self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step)
            if new_step:
                if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                    dropped = [self.keep_ckpt_ids[0]]
                self.keep_ckpt_ids.append(step)  # a full deque drops one
                # the checkpoint about to be saved lists the dropped step
                # too: resumed from it, before_train removes that file if a
                # kill came before the removal below
                runner.message_hub.update_info(
                    'keep_ckpt_ids', dropped + list(self.keep_ckpt_ids))
            filename = self.filename_tmpl.format(step)
            self.last_ckpt = held.join_path(self.out_dir, filename)
            runner.message_hub.update_info('last_ckpt', self.last_ckpt)
            # a best checkpoint saved before the next save holds it too:
            # resumed from this one, before_train knows that file for the
            # one this step saved, if a kill came before it was recorded
            runner.message_hub.update_info(_SAVE_ID, uuid.uuid4().hex)
            # removals decided before this save (the previous best, when
            # saved again after a new best): resumed from it, before_train
            # does them if a kill came before they were done
            pending = [osp.basename(p) for p in getattr(held, 'paths', ())]
            if pending:
                runner.message_hub.update_info(_PENDING, pending)
            runner.save_checkpoint(
                self.out_dir, filename, self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, backend_args=self.backend_args,
                **self.args)
            if new_step:
                runner.message_hub.update_info('keep_ckpt_ids',
                                               list(self.keep_ckpt_ids))
            if pending:
                runner.message_hub.update_info(_PENDING, [])
            if not is_main_process():
                return
            save_text(osp.join(runner.work_dir, 'last_checkpoint'),
                      self.last_ckpt)
            for old in dropped:
                held.remove(held.join_path(self.out_dir,
                                           self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """MMEngine's, with the previous best checkpoint removed after the
        new one is saved (MMEngine's removes it first)."""
        with self._removals_after_saves():
            super()._save_best_checkpoint(runner, metrics)

    @master_only
    def _publish_model(self, runner, ckpt_path: str) -> None:
        """MMEngine's (``published_keys``: the checkpoint with those keys
        only, as ``<name>-<sha256[:8]>.pth``), written atomically, and in
        the checkpoint folder (a best recorded in another run's folder,
        resumed from there, is published here, not there)."""
        from mmengine.runner import save_checkpoint
        from mmengine.runner.checkpoint import _load_checkpoint
        checkpoint = _load_checkpoint(ckpt_path)
        dropped = [k for k in checkpoint if k not in self.published_keys]
        for key in dropped:
            del checkpoint[key]
        if dropped:
            print_log(f'Key {dropped} will be removed because they are not '
                      'found in published_keys. If you want to keep them, '
                      f'please set `{dropped}` in published_keys',
                      logger='current')
        sha = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
        final_path = osp.join(self.out_dir, osp.splitext(
            osp.basename(ckpt_path))[0] + f'-{sha[:8]}.pth')
        with atomic_path(final_path) as tmp:
            save_checkpoint(checkpoint, tmp)
        print_log(f'The checkpoint ({ckpt_path}) is published to '
                  f'{final_path}.', logger='current')
