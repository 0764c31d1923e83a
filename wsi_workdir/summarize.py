"""Summarise all meta-test results of a workdir: the paper's table and a plot.

Reads every result JSON under <workdir>/results/ and writes
<workdir>/summary/summary.md (Markdown table: rows model x mode x classifier,
columns shots per domain, cells the class-averaged F1 in percent, mean over
tasks ± the mean of the per-class 95% CIs (the published average row, not
the CI of the class-averaged task F1); then the novel-class F1 of the near
domain and the harmonic mean of the mixture domain), summary.json (every
number of the table) and summary.png (F1 against shots, a row of panels per
classifier, a column per domain; a family's wo_<c> models averaged into one
curve, each table row of a model of all classes a curve of its own, named
as the table names the row: random, clp (novel 7)). The
three are written together. Prints the Markdown. Results computed on
features extracted another way (of another digest than the one the result
recorded) or task stores drawn again since are left out
and listed under the table, each with the command that runs it again.

    python wsi_workdir/summarize.py --workdir wsi_workdir/workdir

--compare A B pairs two models' results on the same stored tasks instead:
per setting the mean paired difference of task F1 (A - B) with its 95% CI,
the Wilcoxon signed-rank p-value over tasks (exact over the sign patterns
up to 50 nonzero differences, the normal approximation beyond, whatever the
scipy version; and Holm-adjusted), and the tasks A wins, ties and loses;
results of different task stores are refused.
Writes <workdir>/summary/compare/<A>/vs_<B>/all.{md,json,png} (with --clf,
<clf>.{md,json,png} there: a folder per comparison, so no two share a name;
the flat compare_<A>_vs_<B>[_<clf>] was also --compare A B_<clf>'s, and
--compare a_vs_b c's was --compare a b_vs_c's). With --ablation
it pairs the two models' ablation results instead (wsi_workdir/ablation.py's,
under <workdir>/ablation_results/<model>/: each row of the ablation's table,
run on the same tasks) and writes
summary/ablation/<A>/vs_<B>/all.{md,json,png} (a folder of their own: no
plain comparison takes the name).

    python wsi_workdir/summarize.py --workdir wsi_workdir/workdir --compare uni clp
    python wsi_workdir/summarize.py --compare clp_wo_78 fsp_wo_78 --ablation
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openselfsup.lowshot.paths import DEFAULT_WORKDIR  # noqa: E402
from openselfsup.lowshot.spec import CLASSIFIERS  # noqa: E402
from openselfsup.utils import InputError, run_cli  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--workdir', default=DEFAULT_WORKDIR,
                        help=f'low-shot workdir (default {DEFAULT_WORKDIR})')
    parser.add_argument('--output', default=None,
                        help='path prefix for PREFIX.md/.json/.png, or an '
                        'existing folder (or a path ending in /) for the '
                        'default names in it (default '
                        '<workdir>/summary/summary, or summary_<clf> with '
                        '--clf); an existing file of the three that is not '
                        'a report of this command is refused, never '
                        'replaced')
    parser.add_argument('--clf', default=None, choices=CLASSIFIERS,
                        help='only this classifier (table and plot)')
    parser.add_argument('--compare', nargs=2, metavar=('A', 'B'),
                        default=None,
                        help='paired comparison of models A and B on the '
                        'same tasks (default output <workdir>/summary/'
                        'compare/<A>/vs_<B>/all, or <clf> with --clf)')
    parser.add_argument('--ablation', action='store_true',
                        help='with --compare: pair the two models\' '
                        'ablation results (<workdir>/ablation_results/, '
                        'wsi_workdir/ablation.py\'s) instead of results/; '
                        'output under <workdir>/summary/ablation/<A>/'
                        'vs_<B>/')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.ablation and not args.compare:
        raise InputError('--ablation goes with --compare A B (the '
                         'ablation\'s own table is <workdir>/sweeps/'
                         'ablation/<model>.md)')
    if args.compare:
        from openselfsup.lowshot.compare import compare
        out = compare(args.workdir, *args.compare, output=args.output,
                      clf=args.clf, ablation=args.ablation)
    else:
        from openselfsup.lowshot.report import summarize
        out = summarize(args.workdir, output=args.output, clf=args.clf)
    print(out['markdown'], end='')
    print(f'written: {out["md"]}, {out["json"]}, {out["png"]}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
