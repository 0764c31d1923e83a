"""Small helpers shared by the benchmarks: their command line (a parser
whose ``--help`` shows every default, counts refused below 1, an
``--output`` checked before any work, one line for a bad input, one line
for a shared part run as a command), machine description, load and one
busy process to contend with, peak memory, JSON output."""
import argparse
import contextlib
import datetime
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from typing import Callable, Iterator, Optional, Sequence

import torch

#: the checkout these benchmarks belong to
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, REPO)

from openselfsup.classes import NCT_CLASSES, PAIR_NOVEL, held_out
from openselfsup.utils import InputError, check_writable, run_cli, save_json


#: the benchmarks, each run as ``python -m benchmarks.<name>`` (not
#: ``fixtures``, a part that writes the features they share)
BENCHMARKS = ('bench_dictionary', 'bench_extract', 'bench_meta_test',
              'bench_pretrain', 'bench_scripts', 'bench_startup',
              'bench_sweep', 'bench_synthetic', 'bench_tasks',
              'bench_threads', 'compare_latent_aug', 'grad_precision',
              'paip_query_repeats')


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The docstring as written, and ``(default: X)`` after every option
    whose help does not already say its default (a flag that is off, an
    option without a value, and ``--help`` excepted)."""

    def _get_help_string(self, action):
        text = action.help or ''
        if ('default' in text or not action.option_strings
                or action.default is None or action.default is False
                or action.default in ([], argparse.SUPPRESS)):
            return text
        default = (' '.join(map(str, action.default))
                   if isinstance(action.default, (list, tuple))
                   else '%(default)s')
        return f'{text} (default: {default})'.lstrip()


def parser(doc: str) -> argparse.ArgumentParser:
    """The argument parser of a benchmark: ``doc`` (its module docstring)
    as the description, every default in ``--help``."""
    return argparse.ArgumentParser(description=doc,
                                   formatter_class=HelpFormatter)


def count(text: str) -> int:
    """An argparse type: an integer >= 1 (tasks, images, steps, repeats),
    else argparse's one-line error."""
    return _count(text, zero=False)


def count_or_zero(text: str) -> int:
    """An argparse type: an integer >= 0 (0: none)."""
    return _count(text, zero=True)


def _count(text: str, zero: bool) -> int:
    least = 0 if zero else 1
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise argparse.ArgumentTypeError(
            f'expected a whole number >= {least}, got {text!r}')
    return value


def novel_class(text: str) -> int:
    """An argparse type: an NCT novel-class id (0..8, or 78 for classes 7
    and 8, as ``--novel_class`` of the low-shot commands), else argparse's
    one-line error, before the fixture is written (the task store and
    dictionary specs refused it only after that)."""
    try:
        value = int(text)
        held_out(value)
    except ValueError:
        pairs = ' or '.join(f'{k} (classes {" and ".join(map(str, v))})'
                            for k, v in PAIR_NOVEL.items())
        raise argparse.ArgumentTypeError(
            f'expected a novel class 0..{len(NCT_CLASSES) - 1} or {pairs}, '
            f'got {text!r}') from None
    return value


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    return _seconds(text, zero=False)


def seconds_or_zero(text: str) -> float:
    """An argparse type: a finite number of seconds >= 0."""
    return _seconds(text, zero=True)


def _seconds(text: str, zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float('nan')
    if not (0 <= value if zero else 0 < value) or value == float('inf'):
        raise argparse.ArgumentTypeError(
            f'expected a number of seconds {">=" if zero else ">"} 0, got '
            f'{text!r}')
    return value


def add_output(p: argparse.ArgumentParser) -> None:
    """The ``--output`` of every benchmark."""
    p.add_argument('--output', metavar='JSON', default=None,
                   help='write every number, the arguments, the machine and '
                   'its load average to this JSON file (default: print only)')


def parse(p: argparse.ArgumentParser,
          argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """``p.parse_args(argv)``, then refuse, before any work, an
    ``--output`` that cannot be written (a folder, a place without write
    permission): one line, not a traceback after the whole run."""
    args = p.parse_args(argv)
    if getattr(args, 'output', None):
        check_writable(args.output)
    return args


def run_main(main: Callable[[Optional[Sequence[str]]], Optional[int]]
             ) -> None:
    """Run a benchmark's ``main`` as a command: a bad input
    (:class:`openselfsup.utils.InputError`) is one ``error:`` line and
    exit status 2, Ctrl-C one line (:func:`openselfsup.utils.run_cli`)."""
    sys.exit(run_cli(main))


def not_a_command(name: str, used_by: Sequence[str]) -> None:
    """``python -m benchmarks.<name>`` of a shared part, not a benchmark:
    one ``error:`` line naming the benchmarks that use it, exit status 2
    (it printed nothing, ``--help`` too, and exited 0)."""
    users = ', '.join(used_by[:-1]) + ' and ' if len(used_by) > 1 else ''

    def refuse(argv=None):
        raise InputError(
            f'benchmarks.{name} is a part of {users}{used_by[-1]}, not a '
            f'command: see python -m benchmarks.{used_by[0]} --help')
    run_main(refuse)


class ChildFailed(subprocess.CalledProcessError):
    """A measured child process that failed, said with its command, exit
    status and the last :attr:`TAIL` lines of its stderr, where a
    traceback says why (``CalledProcessError`` says the status alone; the
    whole stderr may be some 1,200 lines of ``-X importtime``). A child
    that should have exited with another status than 0 (a refusal, 2) and
    did not: ``expected``, which the message names; one that did, but
    without a refusal's ``error:`` line (python's own status 2 for a
    script it cannot open): ``returncode == expected``."""

    TAIL = 12

    def __init__(self, returncode, cmd, output=None, stderr=None,
                 expected: int = 0):
        super().__init__(returncode, cmd, output, stderr)
        #: the exit status it should have had (a refusal's is 2)
        self.expected = expected

    def __str__(self) -> str:
        cmd = self.cmd if isinstance(self.cmd, str) else shlex.join(
            map(str, self.cmd))
        status = (f'was killed by signal {-self.returncode}'
                  if self.returncode < 0 else
                  f'exited with status {self.returncode}')
        if self.expected and self.returncode == self.expected:
            status += ' without an error: line last (not a refusal)'
        elif self.expected:
            status += f', not {self.expected}'
        err = self.stderr or ''
        lines = (err.decode(errors='replace') if isinstance(err, bytes)
                 else err).splitlines()
        if not lines:
            return f'{cmd} {status}; nothing on its stderr'
        tail = lines[-self.TAIL:]
        which = (f'the last {len(tail)} of its {len(lines)}'
                 if len(tail) < len(lines) else f'its {len(lines)}')
        return '\n'.join([f'{cmd} {status}; {which} lines of stderr:'] +
                         [f'  {line}' for line in tail])


def run_child(cmd: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a measured child process, its output captured (its progress
    bars and warnings would cut through the tables); if it fails, a
    :class:`ChildFailed` naming the command, its exit status and the last
    lines of its stderr, where its own traceback says why (its whole
    stderr was written out first: pages of warnings and progress bars
    above the traceback)."""
    out = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if out.returncode:
        raise ChildFailed(out.returncode, out.args, output=out.stdout,
                          stderr=out.stderr)
    return out


def git(*args, repo: str = REPO) -> str:
    """``git -C repo args``'s output; a failure is a :class:`ChildFailed`
    with git's stderr."""
    out = subprocess.run(['git', '-C', repo, *args], capture_output=True,
                         text=True)
    if out.returncode:
        raise ChildFailed(out.returncode, out.args, stderr=out.stderr)
    return out.stdout.strip()


def describe(repo: str = REPO) -> Optional[str]:
    """``repo``'s commit (default: this checkout) (short, ``-dirty`` with uncommitted changes), or
    None outside git."""
    try:
        return git('describe', '--always', '--dirty', '--abbrev=7',
                   repo=repo)
    except (ChildFailed, OSError):
        return None


def load_average() -> list:
    """1, 5 and 15-minute load averages (runnable threads, all cores)."""
    return [round(x, 2) for x in os.getloadavg()]


@contextlib.contextmanager
def contention(busy: bool) -> Iterator[Optional[subprocess.Popen]]:
    """With ``busy``, one CPU-bound process (``python -c 'while True:
    pass'``, same niceness), given to the block, runs for its duration
    (started a second before it, ended after it, on a failure too); else
    nothing (None)."""
    hog = subprocess.Popen([sys.executable, '-c', 'while True: pass']) \
        if busy else None
    try:
        if hog is not None:
            time.sleep(1.0)
        yield hog
    finally:
        if hog is not None:
            hog.terminate()
            hog.wait()


def machine() -> dict:
    """CPU model, core count, load average, torch threads, GPU (if any)."""
    cpu = platform.processor()
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        cpu = next(line.split(':', 1)[1].strip() for line in out.splitlines()
                   if line.startswith('Model name')) or cpu
    except Exception:  # lscpu missing: keep platform's answer
        pass
    return {
        'date_utc': datetime.datetime.now(datetime.timezone.utc)
        .strftime('%Y-%m-%d %H:%M'),
        'cpu': cpu, 'cores': os.cpu_count(),
        'load_average': load_average(),
        'torch': torch.__version__, 'torch_threads': torch.get_num_threads(),
        'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available()
        else None,
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save(path: str, data: dict, say: bool = True) -> None:
    """Write ``data`` to ``path`` as standard JSON (NaN as ``null``), if
    ``path`` is given; atomically (an interrupted run leaves no half file
    and the previous one, if any, as it was). ``say``: print that it was
    written (False for a save of the figures so far, in the middle)."""
    if path:
        save_json(path, data, indent=1)
        if say:
            print(f'wrote {path}')


if __name__ == '__main__':  # a part, not a benchmark: one line saying so
    not_a_command('_common', BENCHMARKS)
