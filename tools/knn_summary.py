"""Several kNN results of tools/knn_eval.py in one table, JSON and plot.

Each result JSON (knn_<ckpt>.json, knn_random_init_<config>_seed<S>.json)
is a row: its model (the config's name), weights (checkpoint, or random
init) and seed; the columns are accuracy and mean class accuracy at patch,
slide and patient level (%). Several seeds of one model at initialisation
are followed by a row of their mean ± the Student-t 95% half-width over
the seeds (t(0.975, n-1) * std(ddof=1) / sqrt(n)). Results evaluated
under other kNN settings (k, temperature, aggregation, bank or query data
and splits) are refused, naming the first setting that differs: summarise
each setting apart. A result whose checkpoint file holds another
checkpoint now (trained again into its work dir) keeps its row, named by
the SHA-1 evaluated, with a line under the table naming the knn_eval.py
command that evaluates the current file (into a folder of its own beside
it, --out-dir <folder>/knn_<SHA-1>), after a cd to the folder it was
evaluated in, where the config's relative data paths name the data
evaluated; a result whose data
folder was written again since keeps its row too, marked "(earlier
data)", with a line under the table. Writes PREFIX.md, PREFIX.json and
PREFIX.png together; prints the table.

Example (the HLSS / HiDisc demo of GETTING_STARTED.md):
    python tools/knn_summary.py work_dirs/demo/*/knn_*.json \\
        --output work_dirs/demo/knn_summary
"""
import argparse
import sys

from openselfsup.utils import run_cli


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('results', nargs='+',
                   help='kNN result JSONs written by tools/knn_eval.py')
    p.add_argument('--output', required=True,
                   help='path prefix for PREFIX.md/.json/.png, or a folder '
                   '(existing, or ending in /) for knn_summary.* in it; an '
                   'existing file of the three that is not a kNN summary is '
                   'refused, never replaced')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    from openselfsup.apis.knn_summary import summarize_knn
    out = summarize_knn(a.results, a.output)
    print(out['markdown'], end='')
    print(f'written: {out["md"]}, {out["json"]}, {out["png"]}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
