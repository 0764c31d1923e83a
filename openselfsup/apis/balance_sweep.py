"""Sweep lambda of balanced cross-modal tuning and tabulate the trade-off.

1. **Baseline**: the config's model trained with the task loss only
   (lambda = 0) for ``baseline_epochs`` (0: the model as initialised or as
   loaded from ``load_from``), saved as ``baseline/baseline.pth`` and
   evaluated.
2. **Each lambda**: tune from the baseline checkpoint with
   ``L = lambda * L_con + (1 - lambda) * L_task`` for
   ``train_cfg.max_epochs``, then evaluate.
3. **Report**: ``sweep.json`` (every metric of every run), ``sweep.md`` (the
   table), ``sweep.png`` (classification metric against retrieval metric,
   one point per lambda, the baseline marked).

Every run goes through :func:`openselfsup.apis.train`, with its own work
directory ``<work_dir>/lambda_<value>``.
"""
import os
from typing import Dict, List, Optional, Sequence

from ..models.algorithms.balanced import check_balance
from ..utils import InputError, save_json, save_text
from ..config import default_work_dir, load_config
from .train import train


def _fmt(v) -> str:
    return f'{v:.4f}' if isinstance(v, float) else str(v)


def sweep_table(rows: List[dict], keys: Sequence[str]) -> str:
    """Markdown table: one row per run (``name``, ``lambda``, metrics)."""
    head = ['run', 'lambda'] + list(keys)
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '|'.join(['---'] * len(head)) + '|']
    for r in rows:
        lam = '-' if r['lambda'] is None else f"{r['lambda']:g}"
        lines.append('| ' + ' | '.join(
            [r['name'], lam] + [_fmt(r['metrics'].get(k, float('nan')))
                                for k in keys]) + ' |')
    return '\n'.join(lines) + '\n'


def plot_tradeoff(rows: List[dict], cls_metric: str, ret_metric: str,
                  path: str, title: str = '') -> None:
    """PNG of ``cls_metric`` (y) against ``ret_metric`` (x), one point per run."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from ..utils import atomic_path

    fig, ax = plt.subplots(figsize=(5.2, 4.2), dpi=120)
    pts = [r for r in rows if r['lambda'] is not None]
    xs = [r['metrics'][ret_metric] for r in pts]
    ys = [r['metrics'][cls_metric] for r in pts]
    ax.plot(xs, ys, '-', color='0.7', zorder=1)
    sc = ax.scatter(xs, ys, c=[r['lambda'] for r in pts], cmap='viridis',
                    vmin=0, vmax=1, zorder=2)
    for r, x, y in zip(pts, xs, ys):
        ax.annotate(f"{r['lambda']:g}", (x, y), textcoords='offset points',
                    xytext=(4, 4), fontsize=8)
    for r in rows:
        if r['lambda'] is None:
            ax.scatter([r['metrics'][ret_metric]], [r['metrics'][cls_metric]],
                       marker='*', s=140, color='crimson', zorder=3,
                       label='baseline (before tuning)')
    fig.colorbar(sc, ax=ax, label='lambda')
    ax.set_xlabel(f'retrieval: {ret_metric}')
    ax.set_ylabel(f'classification: {cls_metric}')
    ax.set_title(title or 'balance: classification vs retrieval')
    ax.grid(alpha=0.3)
    ax.legend(loc='best', fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png')
    plt.close(fig)


def save_weights(model, path: str, meta: Optional[dict] = None) -> None:
    """Save ``{'state_dict', 'meta'}`` (plain tensors and strings) atomically.

    Loads with ``torch.load(weights_only=True)`` and as ``load_from``.
    """
    import torch
    from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu

    from ..utils import atomic_path
    with atomic_path(path) as tmp:
        torch.save(dict(state_dict=weights_to_cpu(get_state_dict(model)),
                        meta=dict(meta or {})), tmp)


def _without_baseline_hook(cfg) -> list:
    return [h for h in cfg.get('custom_hooks', [])
            if h.get('type') != 'ValidateBeforeTrainHook']


def run_balance_sweep(config: str, lambdas: Sequence[float],
                      work_dir: Optional[str] = None,
                      baseline_epochs: Optional[int] = None,
                      cls_metric: Optional[str] = None,
                      ret_metric: Optional[str] = None,
                      amp: bool = False,
                      cfg_options: Optional[dict] = None) -> Dict:
    """Train the baseline, then one run per lambda; write table, JSON, PNG.

    Args:
        config (str): a balanced-tuning config (``model.type`` is
            ``BalancedCrossModal``).
        lambdas (Sequence[float]): the lambdas, each in [0, 1].
        work_dir (str | None): output root (default:
            ``work_dirs/<config>_sweep``).
        baseline_epochs (int | None): task-only epochs before the sweep
            (default: the config's ``sweep.baseline_epochs``, else 0).
        cls_metric (str | None): classification metric on the plot's y axis
            (default: ``sweep.cls_metric``).
        ret_metric (str | None): retrieval metric on the x axis (default:
            ``sweep.ret_metric``).
        amp (bool): mixed precision (GPU).
        cfg_options (dict | None): overrides applied to every run.

    Returns:
        dict: ``rows`` (name, lambda, metrics), the metric names and the
        paths written.
    """
    lambdas = [check_balance(v) for v in lambdas]
    if not lambdas:
        raise InputError('give at least one lambda (--lambdas 0 0.5 1)')
    cfg_options = dict(cfg_options or {})
    cfg = load_config(config, cfg_options)
    if cfg.model.get('type') != 'BalancedCrossModal':
        raise InputError(f'{config}: model.type is {cfg.model.get("type")!r},'
                         ' not BalancedCrossModal')
    defaults = cfg.get('sweep', {})
    baseline_epochs = int(baseline_epochs if baseline_epochs is not None
                          else defaults.get('baseline_epochs', 0))
    if baseline_epochs < 0:
        raise InputError(f'baseline epochs must be >= 0, got '
                         f'{baseline_epochs}')
    cls_metric = cls_metric or defaults.get('cls_metric', 'mAP')
    ret_metric = ret_metric or defaults.get('ret_metric', 'i2t_R@5')
    work_dir = work_dir or default_work_dir(config) + '_sweep'
    tag = os.path.splitext(os.path.basename(config))[0]
    hooks = _without_baseline_hook(cfg)

    # 1. baseline: task-only training (or none), saved and evaluated
    base_dir = os.path.join(work_dir, 'baseline')
    runner = train(config, work_dir=base_dir, amp=amp, cfg_options={
        **cfg_options, 'model.balance': 0.0,
        'train_cfg.max_epochs': baseline_epochs,
        'train_cfg.val_interval': baseline_epochs + 1,
        'param_scheduler': [], 'custom_hooks': hooks,
        'experiment_name': f'{tag}_baseline'})
    baseline_ckpt = os.path.join(base_dir, 'baseline.pth')
    save_weights(runner.model, baseline_ckpt,
                 meta=dict(config=config, epochs=baseline_epochs))
    rows = [dict(name='baseline', **{'lambda': None},
                 epochs=baseline_epochs, metrics=dict(runner.val()))]

    # 2. one tuning run per lambda, all from the same baseline
    for lam in lambdas:
        run_dir = os.path.join(work_dir, f'lambda_{lam:g}')
        runner = train(config, work_dir=run_dir, amp=amp, cfg_options={
            **cfg_options, 'model.balance': lam, 'load_from': baseline_ckpt,
            'custom_hooks': hooks,
            # evaluated once below, not also by the loop's last epoch
            'train_cfg.val_interval': int(cfg.train_cfg.max_epochs) + 1,
            'experiment_name': f'{tag}_lambda_{lam:g}'})
        rows.append(dict(name=f'lambda={lam:g}', **{'lambda': lam},
                         epochs=int(runner.cfg.train_cfg.max_epochs),
                         metrics=dict(runner.val())))

    for key in (cls_metric, ret_metric):
        if key not in rows[0]['metrics']:
            raise InputError(f'metric {key!r} not computed; available: '
                             f'{", ".join(rows[0]["metrics"])}')
    # 3. report
    keys = list(rows[0]['metrics'])
    table = sweep_table(rows, keys)
    paths = dict(json=os.path.join(work_dir, 'sweep.json'),
                 markdown=os.path.join(work_dir, 'sweep.md'),
                 png=os.path.join(work_dir, 'sweep.png'))
    result = dict(config=config, baseline_epochs=baseline_epochs,
                  baseline_checkpoint=baseline_ckpt, cls_metric=cls_metric,
                  ret_metric=ret_metric, rows=rows, paths=paths)
    save_json(paths['json'], result)
    save_text(paths['markdown'], table)
    plot_tradeoff(rows, cls_metric, ret_metric, paths['png'],
                  title=f'{tag}: {cls_metric} vs {ret_metric}')
    result['table'] = table
    return result
