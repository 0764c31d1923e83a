"""Sweep lambda of balanced cross-modal tuning and tabulate the trade-off.

1. **Baseline**: the config's model trained with the task loss only
   (lambda = 0) for ``baseline_epochs`` (0: the model as initialised or as
   loaded from its checkpoints, the published start), saved as
   ``baseline/baseline.pth`` and evaluated.
2. **Each lambda**: tune from the baseline checkpoint with
   ``L = lambda * L_con + (1 - lambda) * L_task`` for
   ``train_cfg.max_epochs`` (fewer if early stopping stops it), then
   evaluate.
3. **Report**: ``sweep.json`` (every metric of every run), ``sweep.md`` (the
   table), ``sweep.png`` (the ``plot_metrics`` against lambda, and the task
   metric against the retrieval metric). ``sweep.json`` is standard JSON:
   a ``nan`` metric (a run that diverged) is written ``null``, and
   :func:`load_sweep` reads it back as ``nan``. A rerun in the same work
   dir removes the previous sweep's three files as its first run starts
   (:func:`_remove_previous_report`): an interrupted rerun leaves no
   summary of runs it has replaced.

Every run goes through :func:`openselfsup.apis.train`, with its own work
directory ``<work_dir>/lambda_<value>``.
"""
import os
from typing import Dict, List, Optional, Sequence

from mmengine.logging import print_log

from ..models.algorithms.balanced import check_balance
from ..utils import (InputError, check_distinct, check_writable, load_json,
                     locked, remove_set, save_set)
from ..config import default_work_dir, load_config
from .train import build_runner, check_data_paths, train


def lambda_name(value: float) -> str:
    """How a lambda names its run (folder ``lambda_<name>``, row
    ``lambda=<name>``): ``{value:g}`` where that is the value exactly (the
    names sweeps have always had: ``0.1``, ``1e-05``), else the shortest
    text that reads back as the value (``0.1234567``, which ``:g`` shows
    as ``0.123457`` like ``0.1234568``): distinct lambdas, distinct names.
    """
    value = float(value) + 0.0  # -0.0 is 0
    short = f'{value:g}'
    return short if float(short) == value else repr(value)


def _fmt(v) -> str:
    return f'{v:.4f}' if isinstance(v, float) else str(v)


def sweep_table(rows: List[dict], keys: Sequence[str]) -> str:
    """Markdown table: one row per run (``name``, ``lambda``, metrics)."""
    head = ['run', 'lambda'] + list(keys)
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '|'.join(['---'] * len(head)) + '|']
    for r in rows:
        lam = '-' if r['lambda'] is None else lambda_name(r['lambda'])
        lines.append('| ' + ' | '.join(
            [r['name'], lam] + [_fmt(r['metrics'].get(k, float('nan')))
                                for k in keys]) + ' |')
    return '\n'.join(lines) + '\n'


def load_sweep(path: str) -> Dict:
    """Read a sweep's ``sweep.json`` back (what :func:`run_balance_sweep`
    returns, less ``table``): every metric a number, a ``null`` one (a
    NaN, which standard JSON cannot hold:
    :func:`~openselfsup.utils.io.to_jsonable`) as ``nan``, so that
    :func:`sweep_table` and :func:`plot_sweep` of its ``rows`` show what
    the sweep showed. A file written before NaN was written ``null``
    (``NaN``) reads the same.

    Raises:
        InputError: missing, not JSON, or without the rows of a sweep.
    """
    data = load_json(path, 'lambda sweep JSON')
    rows = data.get('rows') if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(
            isinstance(r, dict) and isinstance(r.get('metrics'), dict)
            for r in rows):
        raise InputError(f'{path}: not a lambda sweep\'s JSON (no rows '
                         'with metrics)')
    for r in rows:
        r['metrics'] = {k: float('nan') if v is None else v
                        for k, v in r['metrics'].items()}
    return data


def plot_sweep(rows: List[dict], metrics: Sequence[str], cls_metric: str,
               ret_metric: str, title: str = '') -> bytes:
    """PNG of two panels: ``metrics`` against lambda (the baseline, the model
    before tuning, as a dotted line of the same colour), and ``cls_metric``
    (y) against ``ret_metric`` (x), one point per lambda, joined in lambda
    order whatever the order of ``rows``; PNG bytes."""
    from ..utils.plot import figure_png, pyplot
    plt = pyplot()

    # in lambda order: the lines join neighbouring lambdas (in the order
    # given, --lambdas 1 0 0.5 drew the curve back and forth)
    pts = sorted((r for r in rows if r['lambda'] is not None),
                 key=lambda r: r['lambda'])
    base = [r for r in rows if r['lambda'] is None]
    lams = [r['lambda'] for r in pts]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.4, 4.2), dpi=120)
    for i, key in enumerate(metrics):
        color = f'C{i}'
        ax.plot(lams, [r['metrics'][key] for r in pts], 'o-', color=color,
                lw=2.4 if key == cls_metric else 1.4,
                label=key + (' (task)' if key == cls_metric else ''))
        for r in base:
            ax.axhline(r['metrics'][key], color=color, ls=':', lw=1)
    ax.set_xlabel('lambda (weight of the contrastive loss)')
    ax.set_ylabel('metric')
    ax.set_title('against lambda (dotted: baseline)')
    ax.grid(alpha=0.3)
    ax.legend(loc='best', fontsize=7)

    xs = [r['metrics'][ret_metric] for r in pts]
    ys = [r['metrics'][cls_metric] for r in pts]
    ax2.plot(xs, ys, '-', color='0.7', zorder=1)
    sc = ax2.scatter(xs, ys, c=lams, cmap='viridis', vmin=0, vmax=1,
                     zorder=2)
    for lam, x, y in zip(lams, xs, ys):
        ax2.annotate(lambda_name(lam), (x, y), textcoords='offset points',
                     xytext=(4, 4), fontsize=8)
    for r in base:
        ax2.scatter([r['metrics'][ret_metric]], [r['metrics'][cls_metric]],
                    marker='*', s=140, color='crimson', zorder=3,
                    label='baseline (before tuning)')
    fig.colorbar(sc, ax=ax2, label='lambda')
    ax2.set_xlabel(f'retrieval: {ret_metric}')
    ax2.set_ylabel(f'task: {cls_metric}')
    ax2.set_title('trade-off')
    ax2.grid(alpha=0.3)
    if base:
        ax2.legend(loc='best', fontsize=8)
    fig.suptitle(title or 'balanced tuning: lambda sweep')
    fig.tight_layout()
    return figure_png(fig, dpi=120)


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


def _remove_previous_report(work_dir: str, paths: Sequence[str]) -> None:
    """Remove the previous sweep's report files (``sweep.json``, ``.md``,
    ``.png``) that are there, all of them or none (Ctrl-C held back), and
    say so in one line: the runs they describe are about to be replaced,
    and an interrupted rerun would leave them describing files that are no
    longer those beside them. A completed sweep writes them anew."""
    there = remove_set(paths)
    if not there:
        return
    print_log(f'{work_dir}: removed the previous sweep\'s '
              f'{", ".join(os.path.basename(p) for p in there)}: the runs '
              'they describe are being replaced (this sweep writes them '
              'anew when it completes)', logger='current')


def _without_baseline_hook(cfg) -> list:
    return [h for h in cfg.get('custom_hooks', [])
            if h.get('type') != 'ValidateBeforeTrainHook']


def _stops_early(hooks: list) -> bool:
    """True when an enabled early-stopping hook needs validation per epoch."""
    return any(h.get('type') == 'PatienceEarlyStoppingHook' and
               h.get('enable', True) for h in hooks)


def run_balance_sweep(config: str, lambdas: Sequence[float],
                      work_dir: Optional[str] = None,
                      baseline_epochs: Optional[int] = None,
                      cls_metric: Optional[str] = None,
                      ret_metric: Optional[str] = None,
                      plot_metrics: Optional[Sequence[str]] = None,
                      amp: bool = False,
                      cfg_options: Optional[dict] = None,
                      test: bool = False) -> Dict:
    """Train the baseline, then one run per lambda; write table, JSON, PNG.

    Args:
        config (str): a balanced-tuning config (``model.type`` is
            ``BalancedCrossModal``).
        lambdas (Sequence[float]): the lambdas, each in [0, 1].
        work_dir (str | None): output root (default:
            ``work_dirs/<config>_sweep``).
        baseline_epochs (int | None): task-only epochs before the sweep
            (default: the config's ``sweep.baseline_epochs``, else 0).
        cls_metric (str | None): the task metric (default:
            ``sweep.cls_metric``, else ``mAP``).
        ret_metric (str | None): the retrieval metric of the trade-off panel
            (default: ``sweep.ret_metric``, else ``recall@5``).
        plot_metrics (Sequence[str] | None): metrics drawn against lambda
            (default: ``sweep.plot_metrics``, else the two above).
        amp (bool): mixed precision (GPU).
        cfg_options (dict | None): overrides applied to every run.
        test (bool): also evaluate every run on the config's
            ``test_dataloader`` (the published final numbers: an
            independent test set); its metrics are added as
            ``test/<metric>``.

    Returns:
        dict: ``rows`` (name, lambda, epochs, metrics), the metric names and
        the paths written.
    """
    lambdas = [check_balance(v, '--lambdas') for v in lambdas]
    if not lambdas:
        raise InputError('give at least one lambda (--lambdas 0 0.5 1)')
    names = [lambda_name(v) for v in lambdas]  # the run folders' names
    # one run folder per lambda, named by it: a second run would replace it
    check_distinct('--lambdas', names, why='each lambda has one run folder')
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
    ret_metric = ret_metric or defaults.get('ret_metric', 'recall@5')
    plot_metrics = list(plot_metrics or defaults.get(
        'plot_metrics', [cls_metric, ret_metric]))
    # the metrics asked for, checked before anything trains
    from ..registry import METRICS
    outputs = int(cfg.model.head.num_outputs)
    available = METRICS.build(dict(cfg.val_evaluator)).names(outputs)
    if test:  # the test set's metrics, as the rows name them
        available += [f'test/{k}' for k in METRICS.build(dict(
            cfg.get('test_evaluator', cfg.val_evaluator))).names(outputs)]
    for key in dict.fromkeys([cls_metric, ret_metric] + plot_metrics):
        if key not in available:
            needs = ' (test/<metric> needs --test)' if \
                key.startswith('test/') and not test else ''
            raise InputError(f'metric {key!r} is not one this config '
                             f'computes{needs}; available: '
                             f'{", ".join(available)}')
    # the data folders and lists, before anything trains or a folder is
    # made (a 0-epoch baseline only builds a runner, and every run reads
    # the same data)
    check_data_paths(cfg)
    work_dir = work_dir or default_work_dir(config) + '_sweep'
    paths = dict(json=os.path.join(work_dir, 'sweep.json'),
                 markdown=os.path.join(work_dir, 'sweep.md'),
                 png=os.path.join(work_dir, 'sweep.png'))
    for path in paths.values():  # before anything trains
        check_writable(path)
    tag = os.path.splitext(os.path.basename(config))[0]
    hooks = _without_baseline_hook(cfg)
    max_epochs = int(cfg.train_cfg.max_epochs)

    def loop(epochs: int, validate: bool) -> dict:
        # each run is evaluated once at its end (below); the loop validates
        # on the way only for an enabled early stopping (MMEngine's loop
        # also validates after its last epoch unless val_begin is beyond it)
        out = dict(cfg.train_cfg, max_epochs=epochs)
        if not validate:
            out['val_begin'] = epochs + 1
        return out

    def evaluate(runner) -> dict:
        metrics = dict(runner.val())
        if test:
            metrics.update({f'test/{k}': v for k, v in runner.test().items()})
        return metrics

    # one sweep at a time in a work dir: a second one would replace the
    # first's baseline.pth, which the first's lambda runs then load (their
    # rows would come from the other baseline, and nothing would tell)
    busy = lambda holder: (  # noqa: E731
        f'{work_dir}: another lambda sweep is running there ({holder}); '
        'wait for it to end or give another --work-dir')
    # a sweep whose first run fails before it starts leaves no empty work
    # dir, as tools/train.py leaves none (a finished sweep's holds its
    # report: the removal is for a failure)
    from ..engine.runner import removed_if_left_empty
    with removed_if_left_empty(work_dir), locked(paths['json'], busy=busy):
        # every check passed and the work dir is this sweep's: the runs
        # are about to be replaced, and with them what the old report says
        _remove_previous_report(work_dir, list(paths.values()))
        # 1. baseline: task-only training, or with 0 epochs the model as it
        # is built (the loaded task-trained weights, as published), saved
        # and evaluated
        base_dir = os.path.join(work_dir, 'baseline')
        base_opts = {**cfg_options, 'model.balance': 0.0,
                     'custom_hooks': hooks,
                     'experiment_name': f'{tag}_baseline'}
        if baseline_epochs:
            runner = train(config, work_dir=base_dir, amp=amp, cfg_options={
                **base_opts, 'train_cfg': loop(baseline_epochs, False),
                'param_scheduler': []})
        else:
            runner = build_runner(config, work_dir=base_dir, amp=amp,
                                  cfg_options=base_opts)
        # evaluated before its weights are saved: evaluation data that
        # cannot be read (a missing feature file; with 0 epochs nothing has
        # read it yet) stops the sweep before it writes anything
        rows = [dict(name='baseline', **{'lambda': None},
                     epochs=baseline_epochs, metrics=evaluate(runner))]
        baseline_ckpt = os.path.join(base_dir, 'baseline.pth')
        save_weights(runner.model, baseline_ckpt,
                     meta=dict(config=config, epochs=baseline_epochs))

        # 2. one tuning run per lambda, all from the same baseline (its
        # weights replace the checkpoint files the backbone would read)
        run_opts = {**cfg_options, 'load_from': baseline_ckpt,
                    'custom_hooks': hooks,
                    'train_cfg': loop(max_epochs, _stops_early(hooks))}
        if 'checkpoint' in cfg.model.backbone:
            run_opts['model.backbone.checkpoint'] = None
        for lam, name in zip(lambdas, names):
            run_dir = os.path.join(work_dir, f'lambda_{name}')
            runner = train(config, work_dir=run_dir, amp=amp, cfg_options={
                **run_opts, 'model.balance': lam,
                'experiment_name': f'{tag}_lambda_{name}'})
            rows.append(dict(name=f'lambda={name}', **{'lambda': lam},
                             epochs=int(runner.epoch),
                             metrics=evaluate(runner)))

        # 3. report
        keys = list(rows[0]['metrics'])
        table = sweep_table(rows, keys)
        result = dict(config=config, cfg_options=cfg_options, test=bool(test),
                      baseline_epochs=baseline_epochs,
                      baseline_checkpoint=baseline_ckpt, cls_metric=cls_metric,
                      ret_metric=ret_metric, plot_metrics=plot_metrics,
                      rows=rows, paths=paths)
        save_set({paths['json']: result,  # the rows, table and plot together
                  paths['markdown']: table,
                  paths['png']: plot_sweep(rows, plot_metrics, cls_metric,
                                           ret_metric,
                                           title=f'{tag}: lambda sweep')})
        result['table'] = table
        return result
