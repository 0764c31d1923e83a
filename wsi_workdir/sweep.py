#!/usr/bin/env python
"""Meta-test one model on every setting of a domain in one process.

Runs all novel classes x classifiers x shots x modes, loading features,
task stores and dictionaries once (missing stores and dictionaries are made,
existing ones checked and reused; a dictionary the sweep made itself, at its
place, from a base feature file extracted again since is built again, with
a note line, and any other of other features refused). Each setting prints the block and writes
the result JSON a distributed_meta_test.py run would; an index of the sweep
(every setting's numbers), a table of averages (also printed) and a plot go
to <workdir>/sweeps/<model>_<task>.{json,md,png} (the tasks joined by '+'
when several). The plot is summarize.py's of the sweep's results: F1
against shots, a row of panels per classifier, a column per domain, a curve
per mode (a family's wo_<c> models averaged into one), error bars the 95%
CI (the mean of the per-class CIs) where a point is one setting.
The experiment scripts (wsi_workdir/scripts/*_domain.sh) call this once
per model family and domain.

A setting whose result JSON is current for it (of its very settings,
--num_task, seeds, classifier and augmentation parameters among them, in
its precision, on a device of its kind (CPU or CUDA), on the features, labels, task store and dictionary the
sweep reads now, as summarize.py judges a result current) is reused, not
computed again, and one line says how many: a sweep interrupted (Ctrl-C,
a time limit) or extended (more novel classes, shots, classifiers) and run
again goes on where it stopped; its index, table and plot are those of a
sweep that computed every setting. A result records the version of the
meta-test's code that computed it (its version field): one of another
version, or of none, is computed again. --recompute computes every
setting again (after a change of your own to the meta-test's code, say,
which keeps its version).

Example (near domain of CLP: features of clp_wo_0 .. clp_wo_8)::

    python wsi_workdir/sweep.py --model clp --task near
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openselfsup.lowshot import spec as S  # noqa: E402
from openselfsup.lowshot.paths import DEFAULT_WORKDIR  # noqa: E402
from openselfsup.lowshot.script_settings import (AS_SCRIPT,  # noqa: E402
                                                  parse_error, script_of,
                                                  script_terms)
from openselfsup.utils import InputError, run_cli  # noqa: E402


def parse_args(argv=None, script=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    if script is not None:  # (--as_script: its line, no usage lines)
        p.error = parse_error
    p.add_argument('--model', required=True,
                   help='model (family) name, e.g. clp or fsp')
    p.add_argument('--task', nargs='+', default=['near'], choices=S.TASKS,
                   help='domain(s) (default: near)')
    p.add_argument('--novel_classes', type=S.novel_class_arg, nargs='+',
                   default=None,
                   help='near domain: novel classes (default: 0..8; 78 means '
                   '7 and 8; "none": tasks without a novel class, on the '
                   'features of --model itself)')
    p.add_argument('--model_template', default='{model}_wo_{novel}',
                   help='feature model of a novel class (default: '
                   '%(default)s; "{model}" uses one feature set for all)')
    p.add_argument('--shots', type=int, nargs='+', default=None,
                   help='shots per class of every --task without its own '
                   '--<task>_shots (default: the published ones: '
                   + S.published_shots_words() + '); beside another task, a count not among the '
                   'published out_homo ones (1) is refused for out_homo: '
                   'give it --out_homo_shots')
    for task in S.TASKS:
        p.add_argument(f'--{task}_shots', type=int, nargs='+', default=None,
                       help=f'shots per class of --task {task} only, in '
                       'place of --shots (default: --shots, else '
                       f'{" ".join(map(str, S.DEFAULT_SHOTS[task]))})')
    p.add_argument('--clfs', nargs='+', default=list(S.CLASSIFIERS),
                   choices=S.CLASSIFIERS,
                   help='classifiers (default: '
                   f'{" ".join(S.CLASSIFIERS)})')
    p.add_argument('--modes', nargs='+', default=['linear', 'latent_aug'],
                   choices=S.MODES,
                   help='latent_aug_expected: closed-form latent augmentation '
                   '(Ridge, nearest centroid; the other classifiers skip '
                   'it, and the sweep says so in a line) (default: linear '
                   'latent_aug)')
    S.add_arguments(p, ['num_task', 'task_seed', 'seed', 'alpha', 'C',
                        'max_iter', 'num_aug_shots', 'num_prototypes',
                        'num_shift_vectors', 'dict_seed', 'aug_times'],
                    command='sweep')
    S.add_execution_arguments(p)
    p.add_argument('--workdir', default=DEFAULT_WORKDIR,
                   help='low-shot work directory (default: %(default)s)')
    p.add_argument('--output', default=None,
                   help='sweep index JSON (default: <workdir>/sweeps/'
                   '<model>_<task>[+<task>...].json, every --task in the '
                   'name; its table and plot beside it as .md and .png; an '
                   'existing file that is not a sweep index, or its .md or '
                   '.png, is refused, never replaced)')
    p.add_argument('--check', action='store_true',
                   help='check the settings and the execution flags, then '
                   'exit: nothing is read or written (evaluate_encoder.sh '
                   'runs it before it extracts features, so that a bad '
                   'setting is refused before hours of extraction, not '
                   'after)')
    p.add_argument(AS_SCRIPT, default=None, metavar='SCRIPT',
                   help='with --check: a refusal (argparse\'s too) is '
                   'one line of SCRIPT (its path, as the scripts pass "$0") '
                   'naming the setting of wsi_workdir/scripts/_env.sh that '
                   'the flag came from and its value (SHOTS="0" for '
                   '--near_shots 0), without usage lines; evaluate_encoder.sh '
                   'runs its check so')
    p.add_argument('--check_models', nargs='+', default=None,
                   metavar='MODEL',
                   help='other models (families) whose feature sets, for '
                   "this command's settings with --model replaced, must be "
                   "in --workdir too: checked with the sweep's own before "
                   'anything is made or written, not run (the domain '
                   'scripts give the first family of MODELS the later '
                   "ones: a missing fsp set stops the script before clp's "
                   'sweep writes anything)')
    p.add_argument('--recompute', action='store_true',
                   help='compute every setting again, replacing its '
                   'result (default: a setting whose result JSON is '
                   'current for it, the same settings, precision, device '
                   'kind, meta-test version and inputs, is reused as it '
                   'is, and one line says how many were)')
    p.add_argument('--quiet', action='store_true',
                   help='no per-setting blocks, only the final table (and '
                   'the warnings: how many settings were reused; a '
                   'result replaced by one over another number of tasks or in another precision; each summary '
                   'or comparison removed because it read a result '
                   'replaced, with the command that writes it again, and '
                   'each other sweep\'s index removed so, to be written '
                   'by running that sweep again)')
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if script_of(argv) is not None and '--check' not in argv:
        raise InputError(f'{AS_SCRIPT} phrases the refusals of --check '
                         'only (give --check)')
    with script_terms(argv) as script:
        return _main(parse_args(argv, script))


def _main(args):
    # the check imports neither torch nor the sweep's engine (the scripts
    # run it before they extract features)
    from openselfsup.lowshot.sweep_settings import (cli_specs,
                                                    other_models_specs)
    # (said by the run, not by --check: the scripts run both)
    specs = cli_specs(args, note=None if args.check else print)
    others = other_models_specs(args, args.check_models)
    if args.check:
        S.check_execution(args.device, args.chunk_size, args.threads)
        return 0
    import torch

    from openselfsup.lowshot.sweep import run_sweep
    from openselfsup.utils import count_words
    sweep = run_sweep(args.workdir, specs, args.device, args.chunk_size,
                      args.threads,
                      torch.float32 if args.float32 else torch.float64,
                      args.output, log=None if args.quiet else print,
                      model=args.model, check_also=others,
                      reuse=not args.recompute)
    print(sweep['table'], end='')
    t = sweep['elapsed_s']
    print(f'wrote {sweep["output"]}, {sweep["summary_md"]} and '
          f'{sweep["summary_png"]}: '
          f'{count_words(sweep["num_settings"], "setting")} in '
          f'{t["total"]:.1f} s '
          f'(meta-test {t["meta_test"]:.1f} s, load {t["load"]:.1f} s, '
          f'tasks {t["tasks"]:.1f} s, dictionaries {t["dictionaries"]:.1f} s)')


if __name__ == '__main__':
    sys.exit(run_cli(main))
