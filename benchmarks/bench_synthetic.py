#!/usr/bin/env python
"""The synthetic-data generators as users run them: each a fresh
``python tools/prepare_data/<tool>`` process (PYTHONPATH and cwd the
checkout) writing into a new folder, with its default flags but the ones
named: the quick start's ``make_synthetic.py --size 64``
(``tools/quickstart.sh``, 1,280 images), the tests' data
(``make_synthetic.py --size 32`` at the ``synthetic_root`` fixture's
counts, 238 images), the HLSS demo's ``make_synthetic_hierarchical.py
--size 32`` and the balance demo's ``make_crossmodal.py``. In this
checkout and, with ``--against COMMIT``, in a temporary git worktree of
COMMIT (removed at the end), interleaved ``--repeat`` times (the
checkouts alternate which goes first): median wall time and CPU time
(user + system, the child's own: less swayed by other processes on a
shared machine) per command and checkout, the ratios against / this,
and whether the two wrote the same bytes (sha256 of every file,
compared on the first run).

    python -m benchmarks.bench_synthetic --against ce8c832 \\
        --output benchmarks/results/synthetic.json
"""
import hashlib
import os
import resource
import shutil
import sys
import tempfile
from typing import Dict, List, Optional


if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import (add_output, count, load_average, machine,
                                parse, parser, run_main, save)
from benchmarks.bench_startup import (ROOT, checkout_env, checkouts,
                                      checkouts_result, resolve_commit,
                                      wall)

#: name -> the command, ``--out`` added
COMMANDS = {
    'quickstart': ['tools/prepare_data/make_synthetic.py', '--size', '64'],
    'tests': ['tools/prepare_data/make_synthetic.py', '--size', '32',
              '--nct-train', '12', '--nct-test', '6', '--lc', '8',
              '--paip-train-slides', '2', '--paip-test-slides', '1',
              '--paip-per-class', '4'],
    'hierarchical': ['tools/prepare_data/make_synthetic_hierarchical.py',
                     '--size', '32'],
    'crossmodal': ['tools/prepare_data/make_crossmodal.py'],
}


def tree_sha256(folder: str) -> Dict[str, str]:
    """sha256 of every file under ``folder``, by its relative path."""
    out = {}
    for d, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(d, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, folder)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


def children_cpu_s() -> float:
    """User and system CPU seconds of this process's waited-for children
    (a child's own, less swayed than its wall time by other processes on
    a shared machine)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def generators(root: str, names: List[str], against: Optional[str],
               repeat: int) -> dict:
    """Wall times of :data:`COMMANDS` ``names`` in this checkout and, with
    ``against``, in a worktree of it under ``root``; every output is
    written to a new folder under ``root`` and removed once timed (and,
    on the first run, compared)."""
    rows = {n: {'argv': ['python', *COMMANDS[n]]} for n in names}
    with checkouts(root, against) as paths:
        for i in range(repeat):
            order = list(paths.items())[::-1 if i % 2 else 1]
            for name in names:
                files = {}
                for key, path in order:
                    out = tempfile.mkdtemp(dir=root, prefix='out_')
                    runs = rows[name].setdefault(key, {'runs_s': [],
                                                       'cpu_s': []})
                    cpu0 = children_cpu_s()
                    runs['runs_s'].append(wall(
                        [sys.executable, *COMMANDS[name], '--out', out],
                        checkout_env(path), path))
                    runs['cpu_s'].append(children_cpu_s() - cpu0)
                    if i == 0:
                        files[key] = tree_sha256(out)
                    shutil.rmtree(out)
                if i == 0:
                    rows[name]['files'] = len(files['this'])
                    if against:
                        rows[name]['same_bytes'] = (files['this']
                                                    == files['against'])
    result = checkouts_result(list(rows.values()), paths, against)
    result['commands'] = rows
    return result


def table(r: dict, repeat: int) -> List[str]:
    """The printed lines of :func:`generators`' result ``r``."""
    this = r['checkouts']['this']['commit'] or 'this checkout'
    against = r['checkouts'].get('against', {}).get('commit')
    old = against[:7] if against else None
    lines = [f'synthetic-data generators as users run them, python <tool> '
             f'--out <new folder>, PYTHONPATH and cwd the checkout: this '
             f'checkout ({this})' + (f' against {old}' if old else '') + ',',
             f'median of {repeat} interleaved fresh processes, load '
             f'{r["load_before"][0]:.1f}->{r["load_after"][0]:.1f}:',
             f'  {"":<20}{"wall time":^30}{"CPU time (user + sys)":^30}',
             f'  {"command":<14}{"files":>6}'
             + 2 * ((f'{old:>10}' if old else '') + f'{"this":>10}'
                    + ('   old/new' if old else ''))
             + ('  same bytes' if old else '')]
    for name, row in r['commands'].items():
        line = f'  {name:<14}{row["files"]:>6}'
        for median, ratio in (('median_s', 'against_over_this'),
                              ('median_cpu_s', 'cpu_against_over_this')):
            if old:
                line += f'{row["against"][median]:>8.2f} s'
            line += f'{row["this"][median]:>8.2f} s'
            if old:
                line += f'{row[ratio]:>9.2f}x'
        if old:
            line += f'{"yes" if row["same_bytes"] else "NO":>12}'
        lines.append(line)
    return lines


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--repeat', type=count, default=5,
                   help='fresh processes per command and checkout')
    p.add_argument('--commands', nargs='+', default=list(COMMANDS),
                   choices=list(COMMANDS), help='the commands to time')
    p.add_argument('--against', metavar='COMMIT',
                   help='also run the commands in a temporary git worktree '
                   'of COMMIT (an older commit), interleaved with this '
                   'checkout (default: this checkout alone)')
    add_output(p)
    args = parse(p, argv)
    against = resolve_commit(args.against) if args.against else None
    out = {'machine': machine(), 'args': vars(args)}
    with tempfile.TemporaryDirectory(prefix='bench_synthetic_') as root:
        load0 = load_average()
        r = out['generators'] = generators(root, args.commands, against,
                                           args.repeat)
        r.update(load_before=load0, load_after=load_average())
    print('\n'.join(table(r, args.repeat)))
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
