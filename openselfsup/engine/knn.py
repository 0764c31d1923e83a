"""Weighted kNN evaluation at patch, slide and patient level (HiDisc protocol).

Bank = training patches, queries = validation patches, features = the
L2-normalised pooled backbone output. Each query takes its ``k`` most
cosine-similar bank patches (``k`` capped at the bank size), each neighbour
voting for its class with weight ``exp(sim / T)``. A query's class scores are
the summed votes; a slide's (patient's) scores are the sums of its patches'
scores; the prediction at every level is the arg-max. Reported: accuracy and
mean class accuracy (mean per-class recall) per level.

:class:`KNNEvalHook` runs it during training; :func:`knn_eval_checkpoint`
(``tools/knn_eval.py``) runs it on a saved checkpoint.
"""
import os
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from tqdm import tqdm

from ..registry import HOOKS
from ..utils import InputError, atomic_path, save_json, save_text

LEVEL_KEYS = (('patch', None), ('slide', 'slide_id'),
              ('patient', 'patient_id'))


def knn_scores(bank: torch.Tensor, bank_labels: torch.Tensor,
               queries: torch.Tensor, num_classes: int, k: int = 200,
               temperature: float = 0.07, chunk: int = 1024) -> torch.Tensor:
    """Weighted kNN class scores of each query.

    Args:
        bank (Tensor): ``[N, D]`` bank features (normalised here).
        bank_labels (Tensor): ``[N]`` int labels in ``[0, num_classes)``.
        queries (Tensor): ``[M, D]`` query features (normalised here).
        num_classes (int): C.
        k (int): neighbours, capped at N.
        temperature (float): weights are ``exp(sim / temperature)``.
        chunk (int): queries per matrix product.

    Returns:
        Tensor: ``[M, C]`` float64 summed neighbour weights per class.
    """
    bank = F.normalize(bank.double(), dim=1)
    queries = F.normalize(queries.double(), dim=1)
    k = min(k, bank.shape[0])
    labels = bank_labels.long()
    out = []
    for start in range(0, queries.shape[0], chunk):
        sim = queries[start:start + chunk] @ bank.t()
        top, idx = sim.topk(k, dim=1)
        w = (top / temperature).exp()
        scores = torch.zeros(sim.shape[0], num_classes, dtype=torch.float64)
        scores.scatter_add_(1, labels[idx], w)
        out.append(scores)
    return torch.cat(out) if out else torch.zeros(0, num_classes,
                                                  dtype=torch.float64)


def aggregate_scores(scores: np.ndarray, groups: np.ndarray,
                     labels: np.ndarray
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum patch scores per group (slide or patient).

    Args:
        scores: ``[M, C]`` patch scores.
        groups: ``[M]`` group id of each patch.
        labels: ``[M]`` class of each patch (constant within a group).

    Returns:
        tuple: (group ids ``[G]`` sorted, summed scores ``[G, C]``, group
        labels ``[G]``).
    """
    ids, inverse = np.unique(groups, return_inverse=True)
    summed = np.zeros((len(ids), scores.shape[1]), np.float64)
    np.add.at(summed, inverse, scores)
    glabels = np.zeros(len(ids), np.int64)
    glabels[inverse] = labels
    return ids, summed, glabels


def accuracy_metrics(labels: np.ndarray, preds: np.ndarray) -> Dict[str, float]:
    """Accuracy and mean class accuracy (mean recall over classes present)."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    acc = float((labels == preds).mean()) if len(labels) else float('nan')
    recalls = [float((preds[labels == c] == c).mean())
               for c in np.unique(labels)]
    return dict(acc=acc, mca=float(np.mean(recalls)) if recalls else
                float('nan'), n=int(len(labels)))


def knn_evaluate(bank: np.ndarray, bank_labels: np.ndarray,
                 queries: np.ndarray, query_info: Dict[str, np.ndarray],
                 num_classes: int, k: int = 200,
                 temperature: float = 0.07) -> Dict[str, Dict[str, float]]:
    """kNN accuracy at patch, slide and patient level.

    Args:
        bank: ``[N, D]`` training-patch features.
        bank_labels: ``[N]`` their classes.
        queries: ``[M, D]`` validation-patch features.
        query_info: ``label``, ``slide_id``, ``patient_id`` arrays ``[M]``.
        num_classes: C.
        k, temperature: see :func:`knn_scores`.

    Returns:
        dict: ``{level: {'acc', 'mca', 'n'}}`` for patch, slide, patient,
        plus ``'k'`` (the k used).
    """
    scores = knn_scores(torch.as_tensor(bank), torch.as_tensor(bank_labels),
                        torch.as_tensor(queries), num_classes, k,
                        temperature).numpy()
    labels = np.asarray(query_info['label'])
    out = {}
    for level, key in LEVEL_KEYS:
        if key is None:
            s, y = scores, labels
        else:
            _, s, y = aggregate_scores(scores, np.asarray(query_info[key]),
                                       labels)
        out[level] = accuracy_metrics(y, s.argmax(1))
    out['k'] = int(min(k, len(bank)))
    return out


def format_table(results: Dict[str, Dict[str, float]],
                 title: str = '') -> str:
    """Plain-text table: one row per level, accuracy and mean class acc."""
    lines = [title] if title else []
    lines.append(f'{"level":8s} {"n":>6s} {"acc":>7s} {"mca":>7s}')
    for level, _ in LEVEL_KEYS:
        r = results[level]
        lines.append(f'{level:8s} {r["n"]:6d} {100 * r["acc"]:6.1f}% '
                     f'{100 * r["mca"]:6.1f}%')
    return '\n'.join(lines) + '\n'


def plot_levels(results: Dict[str, Dict[str, float]], path: str,
                title: str = '') -> None:
    """Bar chart of accuracy and mean class accuracy per level (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    levels = [lv for lv, _ in LEVEL_KEYS]
    x = np.arange(len(levels))
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for off, m in ((-0.2, 'acc'), (0.2, 'mca')):
        ax.bar(x + off, [100 * results[lv][m] for lv in levels], 0.4,
               label='accuracy' if m == 'acc' else 'mean class acc.')
    ax.set_xticks(x, levels)
    ax.set_ylim(0, 100)
    ax.set_ylabel('%')
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


@torch.no_grad()
def extract_features(model: torch.nn.Module, loader,
                     desc: str = 'features') -> np.ndarray:
    """Pooled backbone features of every item of ``loader`` (in order).

    Args:
        model: an algorithm with ``data_preprocessor`` and ``extract_feat``
            (unwrapped).
        loader: a DataLoader yielding ``{'inputs', 'data_samples'}`` batches.

    Returns:
        np.ndarray: ``[N, D]`` float32.
    """
    was_training = model.training
    model.eval()
    feats = []
    try:
        for data in tqdm(loader, desc=desc, unit='batch', leave=False):
            data = model.data_preprocessor(data, False)
            feats.append(model.extract_feat(data['inputs']).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(feats).numpy()


def _loader(dataset_cfg: dict, batch_size: int, num_workers: int):
    from mmengine.dataset import default_collate

    from ..registry import DATASETS
    dataset = DATASETS.build(dict(dataset_cfg))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False,
        num_workers=num_workers, collate_fn=default_collate)
    return dataset, loader


def run_knn(model: torch.nn.Module, bank: dict, query: dict, k: int = 200,
            temperature: float = 0.07, batch_size: int = 64,
            num_workers: int = 0) -> Dict[str, Dict[str, float]]:
    """Build the bank and query datasets, extract features, evaluate.

    Args:
        model: the (unwrapped) algorithm.
        bank, query (dict): ``HierarchicalPatchDataset`` configs (train and
            validation patches).
        k, temperature: kNN parameters.
        batch_size, num_workers: DataLoader settings for extraction.
    """
    bank_ds, bank_loader = _loader(bank, batch_size, num_workers)
    query_ds, query_loader = _loader(query, batch_size, num_workers)
    classes = bank_ds.metainfo['classes']
    if tuple(query_ds.metainfo['classes']) != tuple(classes):
        raise InputError('kNN: bank and query datasets disagree on classes')
    bank_info = bank_ds.hierarchy_arrays()
    query_info = query_ds.hierarchy_arrays()
    bank_f = extract_features(model, bank_loader, 'kNN bank')
    query_f = extract_features(model, query_loader, 'kNN queries')
    return knn_evaluate(bank_f, bank_info['label'], query_f, query_info,
                        len(classes), k, temperature)


@HOOKS.register_module()
class KNNEvalHook(Hook):
    """Run the patch/slide/patient kNN evaluation during training.

    Scalars ``knn/<level>_acc`` and ``knn/<level>_mca`` go to the message
    hub (log and visualisation backends). Runs on rank 0; other ranks wait.

    Args:
        bank (dict): training-patch ``HierarchicalPatchDataset`` config.
        query (dict): validation-patch ``HierarchicalPatchDataset`` config.
        interval (int): evaluate every ``interval`` training iterations (and
            after the last one). Defaults to 1000.
        k (int): neighbours. Defaults to 200.
        temperature (float): neighbour weight temperature. Defaults to 0.07.
        batch_size (int): extraction batch size. Defaults to 64.
        num_workers (int): extraction workers. Defaults to 0.
    """

    priority = 'LOW'

    def __init__(self, bank: dict, query: dict, interval: int = 1000,
                 k: int = 200, temperature: float = 0.07,
                 batch_size: int = 64, num_workers: int = 0):
        self.knn = dict(bank=bank, query=query, k=k, temperature=temperature,
                        batch_size=batch_size, num_workers=num_workers)
        self.interval = interval
        self._last = -1

    def _evaluate(self, runner, step: int) -> None:
        """Evaluate once per ``step`` (number of iterations trained)."""
        from mmengine.dist import barrier, is_main_process
        from mmengine.model import is_model_wrapper
        if step == self._last:
            return
        self._last = step
        if is_main_process():
            model = runner.model.module if is_model_wrapper(runner.model) \
                else runner.model
            res = run_knn(model, **self.knn)
            for level, _ in LEVEL_KEYS:
                for m in ('acc', 'mca'):
                    runner.message_hub.update_scalar(f'knn/{level}_{m}',
                                                     res[level][m])
            runner.visualizer.add_scalars(
                {f'knn/{lv}_{m}': res[lv][m] for lv, _ in LEVEL_KEYS
                 for m in ('acc', 'mca')}, step=step)
            runner.logger.info('kNN evaluation after %d iterations (k=%d)'
                               '\n%s', step, res['k'], format_table(res))
        barrier()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._evaluate(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        self._evaluate(runner, runner.iter)


def knn_eval_checkpoint(config: str, checkpoint: Optional[str],
                        out_dir: Optional[str] = None,
                        cfg_options: Optional[dict] = None,
                        seed: int = 0) -> Tuple[Dict, str]:
    """Evaluate a checkpoint with the config's ``knn_eval`` settings.

    Args:
        config (str): the training config (needs ``model`` and ``knn_eval =
            dict(bank=..., query=..., k=..., temperature=...)``).
        checkpoint (str or None): a checkpoint of that model, loaded with
            ``weights_only=True``
            (:func:`~openselfsup.engine.checkpoint.load_checkpoint_file`).
            ``None``: evaluate the model at its random initialisation (the
            baseline training must beat); ``out_dir`` is then required.
        out_dir (str, optional): where ``knn_<ckpt>.json``, ``.txt`` and
            ``.png`` go (default: the checkpoint's folder).
        cfg_options (dict, optional): config overrides.
        seed (int): seed of the random initialisation (``checkpoint=None``).

    Returns:
        tuple: (results dict, path of the JSON written).

    Raises:
        InputError: missing or unsafe checkpoint, a checkpoint that does not
            fit the model, or a config without ``knn_eval``.
    """
    from mmengine.registry import init_default_scope

    from ..config import load_config
    from ..registry import MODELS
    from .checkpoint import load_checkpoint_file
    cfg = load_config(config, cfg_options)
    if 'knn_eval' not in cfg:
        raise InputError(f'{config}: no knn_eval = dict(bank=..., query=...) '
                         'in the config')
    if checkpoint is None and out_dir is None:
        raise InputError('kNN on a random-init model: give --out-dir')
    state = None
    if checkpoint is not None:
        state = load_checkpoint_file(checkpoint, tensors_only=True)
    init_default_scope(cfg.get('default_scope', 'openselfsup'))
    if state is None:
        # the model's own initialisation, drawn from a seeded generator
        # state that is restored afterwards (no global seeding leaks out)
        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
        level = logger.level
        with torch.random.fork_rng(devices=[]):
            torch.random.manual_seed(seed)
            model = MODELS.build(cfg.model)
            logger.setLevel('WARNING')  # init_weights logs every tensor
            try:
                model.init_weights()
            finally:
                logger.setLevel(level)
        stem = f'random_init_seed{seed}'
    else:
        model = MODELS.build(cfg.model)
        state = state.get('state_dict', state)
        state = {k[7:] if k.startswith('module.') else k: v
                 for k, v in state.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing:
            raise InputError(f'{checkpoint}: does not fit the config\'s '
                             f'model ({len(missing)} missing keys, e.g. '
                             f'{missing[0]})')
        stem = os.path.splitext(os.path.basename(checkpoint))[0]
    res = run_knn(model, **cfg.knn_eval)
    res['config'] = os.path.abspath(config)
    res['checkpoint'] = (os.path.abspath(checkpoint) if checkpoint
                         else f'random init (seed {seed})')
    out_dir = out_dir or os.path.dirname(os.path.abspath(checkpoint))
    json_path = os.path.join(out_dir, f'knn_{stem}.json')
    save_json(json_path, res)
    save_text(os.path.join(out_dir, f'knn_{stem}.txt'), format_table(res))
    plot_levels(res, os.path.join(out_dir, f'knn_{stem}.png'),
                f'kNN (k={res["k"]}) {stem}')
    return res, json_path
