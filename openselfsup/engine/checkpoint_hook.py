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
when a checkpoint is saved, which a resume from it does.

Registered as ``CheckpointHook`` in the ``openselfsup`` scope, so configs
saying ``type='CheckpointHook'`` get this one;
``type='mmengine.CheckpointHook'`` still names MMEngine's.
"""
import hashlib
import os.path as osp
import pickle
from contextlib import contextmanager
from typing import Iterator, List

from mmengine.dist import is_main_process, master_only
from mmengine.hooks import CheckpointHook as _MMEngineCheckpointHook

from ..registry import HOOKS
from ..utils.io import atomic_path, save_text
from .checkpoint import without_file_client_warnings


#: message hub key: the names of the files in the checkpoint folder whose
#: removal was still to come when a checkpoint was saved
_PENDING = 'pending_ckpt_removals'


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


def _remove(backend, path: str) -> None:
    """Remove the checkpoint ``path`` if it is there (a file, or a folder:
    DeepSpeed's checkpoints are folders)."""
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
    ``--resume`` from it removes that file (:meth:`before_train`).
    """

    def before_train(self, runner) -> None:
        """MMEngine's; then, resumed from a checkpoint saved while removals
        were pending (the previous best checkpoint: a kill came between
        that save and the removal), those files are removed from the
        checkpoint folder. Only with ``save_best``, only files that are not
        the recorded best or last checkpoint, and only when every recorded
        best checkpoint is there: a best file is never removed before the
        one that replaced it is on disk.

        MMEngine's builds a ``FileClient`` that nothing uses when no
        ``file_client_args`` are given; its two deprecation warnings are
        left out then (:func:`~openselfsup.engine.checkpoint.
        without_file_client_warnings`)."""
        with without_file_client_warnings(self.file_client_args):
            super().before_train(runner)
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
                _remove(backend, backend.join_path(self.out_dir, name))

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
                _remove(backend, path)

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
        only, as ``<name>-<sha256[:8]>.pth``), written atomically."""
        from mmengine.logging import print_log
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
        final_path = osp.splitext(ckpt_path)[0] + f'-{sha[:8]}.pth'
        with atomic_path(final_path) as tmp:
            save_checkpoint(checkpoint, tmp)
        print_log(f'The checkpoint ({ckpt_path}) is published to '
                  f'{final_path}.', logger='current')
