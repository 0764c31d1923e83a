"""The commands the docs show are ones the tools accept.

README.md, GETTING_STARTED.md, INSTALL.md, docs/ and benchmarks/ show many
commands (``python tools/train.py CONFIG --flag``, ``python -m
benchmarks.bench_x ...``, ``sh wsi_workdir/scripts/x.sh``). Nothing else
notices when a flag is renamed and a doc keeps the old one, or a config or
script a doc names is moved. This test reads the commands from the fenced
code blocks and from the inline code spans, and checks for each:

- the script or module exists;
- every ``--flag`` (and ``-x``) given to a Python command is one its argparse
  parser defines, exactly (argparse would accept an unambiguous prefix, but
  a doc should show the name), and a value of a flag with ``choices`` is one
  of them;
- a shell script under ``wsi_workdir/scripts/`` (and ``tools/quickstart.sh``)
  gets no flag but ``--help`` (their settings are environment variables, and
  a variable set before one is one that it or ``_env.sh`` reads);
  ``tools/dist_train.sh`` / ``slurm_train.sh`` pass the arguments after their
  own on to ``tools/train.py``, checked against its parser;
  ``benchmarks/gpu_run.sh`` takes the names of its stages;
- every word of a fenced line or an inline span (a command's argument, a
  path in the prose, ``python -m pytest tests/...``) that names a file of
  the repository (``configs/...``, ``tools/...``, ``wsi_workdir/*.py``,
  ``tests/...``) names one that exists (``<c>``, ``CONFIG``, ``{a,b}``,
  ``*`` and ``...`` read as patterns that must match something);
- a ``--flag`` the prose names alone (```--no-normalise``` keeps raw
  features) is a flag of some tool; the rows of an ``Options of `tool`:``
  table are flags (and choices) of that tool;
- a test the prose names alone (```test_...```) is one in tests/;
- the ``--cfg-options KEY=VALUE`` of a command that names its config file
  (``tools/train.py``, the launchers, ``knn_eval.py``, ``balance_sweep.py``,
  ``extract.py --config a b``: each config) are ones that config takes:
  the values parsed by MMEngine's ``DictAction`` and the config read by
  ``openselfsup.config.load_config``, as the tool reads it (a key not in
  the config, a variable the file already used, ...: the tool's own line).
  A placeholder config (``CONFIG``) or item (``$OPTS``, ``KEY=VALUE``) is
  not checked.

The examples in each tool's own header (its docstring, what ``--help``
prints; a shell script's first comment block) are checked the same way.
Placeholders (``CONFIG``, ``$VAR``, ``<...>``, ``...``, ``{a,b}``) are never
checked as values. The parsers are read in this process, without running a
tool: each script's ``main([])`` is called with argparse's parsing replaced by
one that hands back the parser (every tool's ``main`` parses first), so no
tool is started and each is imported once.
"""
import argparse
import ast
import difflib
import functools
import fnmatch
import glob
import importlib
import itertools
import os
import re
import shlex
import sys
from typing import Iterator, List, NamedTuple, Optional, Tuple
from unittest import mock

import pytest

from _foundation_helpers import tool_module

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _repo_glob(pattern: str) -> List[str]:
    """The paths ``glob(pattern, recursive=True)`` finds under the
    repository, without entering the folders runs write into
    (``OUTPUT_PREFIXES``, a user's ``wsi_workdir/workdir`` of features and
    tasks among them: ``**`` walked all of it) or hidden ones."""
    top, sep, name = pattern.partition('/**/')
    if not sep:
        return glob.glob(os.path.join(REPO, pattern))
    found = []
    for folder, subs, files in os.walk(os.path.join(REPO, top)):
        rel = os.path.relpath(folder, REPO)
        subs[:] = [s for s in subs if not s.startswith('.') and not (
            os.path.join(rel, s) + '/').startswith(OUTPUT_PREFIXES)]
        found += [os.path.join(folder, f) for f in fnmatch.filter(files, name)
                  if not f.startswith('.')]
    return found


def _docs() -> List[str]:
    found = set()
    for pattern in ('*.md', 'docs/**/*.md', 'benchmarks/*.md',
                    'wsi_workdir/**/README*', 'tools/**/README*'):
        found.update(os.path.relpath(p, REPO) for p in _repo_glob(pattern))
    return sorted(found)

#: where the commands live; a script path under one of these must exist
COMMAND_DIRS = ('tools/', 'wsi_workdir/', 'benchmarks/')
#: prefixes of paths in the repository (checked to exist) ...
REPO_PREFIXES = COMMAND_DIRS + ('configs/', 'tests/', 'openselfsup/', 'docs/',
                                'requirements/')
#: ... except the folders commands write to (outputs, not in the checkout)
OUTPUT_PREFIXES = ('wsi_workdir/workdir', 'wsi_workdir/logs/',
                   'benchmarks/results/', 'benchmarks/out', 'work_dirs/',
                   'data/')
DOCS = _docs()

#: environment a shell script's commands read, not the script itself
PROCESS_ENV = {'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'CUDA_VISIBLE_DEVICES',
               'PYTHONPATH', 'OPENSELFSUP_DEBUG', 'TMPDIR'}
#: shell words before the command itself
SHELL_WORDS = {'do', 'then', 'else', 'elif', 'if', 'while', 'until', 'time',
               'exec', 'nohup', 'env', '!', '{', '}'}
SEPARATORS = {';', ';;', '&', '&&', '|', '||', '|&', '(', ')'}

#: flags of other programs the docs name (``tensorboard --logdir``, srun
#: and salloc: the allocation slurm_train.sh's notes and refusals ask for)
EXTERNAL_FLAGS = {'--logdir', '--time', '--gres', '--ntasks-per-node',
                  '--overcommit', '--overlap', '--pty', '--preserve-env'}
#: MMEngine config keys that read like a test's name
CONFIG_KEYS = {'test_dataloader', 'test_cfg', 'test_evaluator'}

#: inline paths that name files of the published code (the original
#: repository), not of this one
PUBLISHED_CODE = {
    ('docs/pretraining.md', 'configs/base.py'),
    ('docs/pretraining.md',
     'openselfsup/models/{moco_v3,necks,classification}.py'),
    ('docs/pretraining.md', 'openselfsup/models/heads/cls_head.py'),
    ('docs/pretraining.md', 'openselfsup/utils/optimizers.py'),
    ('docs/pretraining.md', 'openselfsup/hooks/byol_hook.py'),
}

#: commands a doc shows *because* they are refused (docs/refusals.md):
#: skipped here, and test_refused_examples_are_still_wrong makes sure each
#: still is one this test finds wrong (else it is no example of a mistake)
REFUSED_EXAMPLES = {
    ('docs/refusals.md', 'evaluate_encoder.sh mine - W --num_task 5'),
    ('docs/refusals.md', 'demo_lowshot.sh random --num_task 5'),
}


class Command(NamedTuple):
    doc: str
    line: int
    text: str          # as the doc shows it
    tokens: Tuple[str, ...]


# -- reading the docs --------------------------------------------------------

def _strip_comment(line: str) -> str:
    """The line without its shell comment (an unquoted ``#`` starting a
    word)."""
    quote, escaped = None, False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == '\\' and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = None
        elif ch in '\'"':
            quote = ch
        elif ch == '#' and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _fenced_lines(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, logical line) of the fenced code blocks, comments
    removed, ``\\`` continuations joined."""
    fence = None
    pending, start = '', 0
    for no, line in enumerate(text.splitlines(), 1):
        m = re.match(r'\s*(`{3,}|~{3,})', line)
        if m and (fence is None or m.group(1).startswith(fence)):
            fence = None if fence else m.group(1)[0] * 3
            pending = ''
            continue
        if fence is None:
            continue
        body = _strip_comment(line).rstrip()
        if not pending:
            start = no
        if body.endswith('\\'):
            pending += body[:-1] + ' '
            continue
        yield start, pending + body
        pending = ''


def _inline_spans(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, content) of the inline code spans outside fences; a
    span may run over a line break within its paragraph."""
    lines = text.splitlines()
    fence, para, para_start = None, [], 0

    def spans(start, block):
        joined = '\n'.join(block)
        for m in re.finditer(r'(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)', joined,
                             re.S):
            yield (start + joined.count('\n', 0, m.start()),
                   ' '.join(m.group(2).split()))

    for no, line in enumerate(lines, 1):
        m = re.match(r'\s*(`{3,}|~{3,})', line)
        if m and (fence is None or m.group(1).startswith(fence)):
            if fence is None:
                yield from spans(para_start, para)
                para = []
            fence = None if fence else m.group(1)[0] * 3
            continue
        if fence is not None:
            continue
        if not line.strip():
            yield from spans(para_start, para)
            para = []
            continue
        if not para:
            para_start = no
        para.append(line)
    yield from spans(para_start, para)


def _tokens(text: str) -> List[str]:
    # <placeholder> is a word, not two redirections
    text = re.sub(r'<([A-Za-z_][\w.,-]*)>', '\x01\\1\x02', text)
    lex = shlex.shlex(text, posix=True, punctuation_chars=';&|<>()')
    lex.whitespace_split = True
    lex.commenters = ''
    try:
        words = list(lex)
    except ValueError:          # an unbalanced quote: words as they are
        words = text.split()
    return [w.replace('\x01', '<').replace('\x02', '>') for w in words]


def _segments(text: str) -> Iterator[List[str]]:
    """The simple commands of a shell line, redirections removed."""
    seg: List[str] = []
    toks = _tokens(text)
    i = 0
    while i < len(toks):
        t = toks[i]
        if t in SEPARATORS:
            yield seg
            seg = []
        elif t and set(t) <= set('<>&') and t[0] in '<>':
            if seg and seg[-1].isdigit():   # the 2 of 2>&1
                seg.pop()
            i += 1                          # and the target
        else:
            seg.append(t)
        i += 1
    yield seg


def _read(doc: str) -> str:
    with open(os.path.join(REPO, doc), encoding='utf-8') as f:
        return f.read()


def commands(doc: str, text: Optional[str] = None) -> List[Command]:
    """Every command of ``doc`` (or of ``text``, shown as ``doc``) that runs
    a script of this repository."""
    text = _read(doc) if text is None else text
    found = []
    for source in (_fenced_lines(text), _inline_spans(text)):
        for no, line in source:
            for seg in _segments(line):
                cmd = _command(seg)
                if cmd is not None:
                    found.append(Command(doc, no, line, tuple(seg)))
    return found


@functools.lru_cache(maxsize=None)
def _scripts() -> dict:
    """Command scripts of the repository: relative path -> path."""
    out = {}
    for pattern in ('tools/**/*.py', 'tools/**/*.sh', 'wsi_workdir/**/*.py',
                    'wsi_workdir/**/*.sh', 'benchmarks/*.py',
                    'benchmarks/*.sh'):
        for p in _repo_glob(pattern):
            out[os.path.relpath(p, REPO)] = p
    return out


def _resolve(script: str) -> Optional[str]:
    """The repository path a script word names ('' for one under a command
    folder that does not exist), or None for a script not of this repo."""
    script = script[2:] if script.startswith('./') else script
    if _is_placeholder(script):
        return None
    if script.startswith(COMMAND_DIRS):
        return script if script in _scripts() else ''
    if '/' not in script:   # a bare name (`extract.py --pretrained`)
        named = [r for r in _scripts() if os.path.basename(r) == script]
        if len(named) == 1:
            return named[0]
    return None


def _command(seg: List[str]):
    """(script, env, args) of a simple command that runs one of this
    repository's scripts, else None."""
    i, env = 0, []
    while i < len(seg) and (seg[i] in SHELL_WORDS or re.match(
            r'[A-Za-z_][A-Za-z0-9_]*=', seg[i])):
        if '=' in seg[i]:
            env.append(seg[i].split('=', 1)[0])
        i += 1
    rest = seg[i:]
    if not rest:
        return None
    head = rest[0]
    if re.fullmatch(r'python(3(\.\d+)?)?', head):
        j = 1
        while j < len(rest) and rest[j].startswith('-') and \
                rest[j] not in ('-m', '-c'):
            j += 2 if rest[j] in ('-X', '-W') else 1
        if j >= len(rest) or rest[j] == '-c':
            return None
        if rest[j] == '-m':
            if j + 1 >= len(rest) or not rest[j + 1].startswith(
                    ('benchmarks.', 'tools.', 'wsi_workdir.')) or \
                    _is_placeholder(rest[j + 1]):   # benchmarks.<name>
                return None
            path = rest[j + 1].replace('.', '/') + '.py'
            return (path if path in _scripts() else '', env, rest[j + 2:])
        script, args = rest[j], rest[j + 1:]
    elif head in ('bash', 'sh'):
        j = 1
        while j < len(rest) and rest[j].startswith('-'):
            j += 1
        if j >= len(rest):
            return None
        script, args = rest[j], rest[j + 1:]
    elif head == 'torchrun':
        j = 1
        while j < len(rest) and not rest[j].endswith('.py'):
            j += 1
        if j >= len(rest):
            return None
        script, args = rest[j], rest[j + 1:]
    elif head.endswith(('.py', '.sh')):
        script, args = head, rest[1:]
    else:
        return None
    path = _resolve(script)
    if path is None:
        return None
    return path, env, args


# -- what the tools accept ---------------------------------------------------

class _Parser(Exception):
    def __init__(self, parser):
        super().__init__()
        self.parser = parser


@functools.lru_cache(maxsize=None)
def module_of(path: str):
    """The module of a Python command, imported once (its ``main`` not
    run)."""
    if path.startswith('benchmarks/'):
        # a package of the checkout, also where pytest runs from elsewhere
        with mock.patch.object(sys, 'path', [REPO] + sys.path):
            return importlib.import_module(path[:-3].replace('/', '.'))
    return tool_module(path)


@functools.lru_cache(maxsize=None)
def parser_of(path: str) -> Optional[argparse.ArgumentParser]:
    """The argparse parser of a Python command, without running it (None
    for a module without ``main`` that reads no flags: its ``__main__``
    block takes words)."""
    mod = module_of(path)
    if not hasattr(mod, 'main'):
        assert 'argparse' not in _read(path), \
            f'{path} parses flags but has no main(argv) to read them from'
        return None

    def hand_back(self, *args, **kwargs):
        raise _Parser(self)

    P = argparse.ArgumentParser
    with mock.patch.object(P, 'parse_args', hand_back), \
            mock.patch.object(P, 'parse_known_args', hand_back), \
            mock.patch.object(P, 'parse_intermixed_args', hand_back):
        try:
            mod.main([])
        except _Parser as got:
            return got.parser
    raise AssertionError(f'{path}: main([]) parsed no command line')


def _is_placeholder(word: str) -> bool:
    return bool(re.search(r'[$<>{}*]|\.\.\.|…', word)) or \
        bool(re.fullmatch(r'[A-Z][A-Z0-9_]*', word))


def _is_flag(word: str) -> bool:
    return bool(re.match(r'--?[A-Za-z]', word))


def _unbracket(word: str) -> str:
    """``[--seed`` and ``S]`` of an optional part as the doc shows it; a
    list value's own brackets kept (``'dataset.classes=[a,b]'``, ``S]]``
    of an optional part ending in one: ``[a]``)."""
    word = word.lstrip('[')
    while word.endswith(']') and word.count(']') > word.count('['):
        word = word[:-1]
    return word


def _values(action, args, i):
    """The words after a flag that are its values, and the index after."""
    n = action.nargs
    if n == 0:
        return [], i
    if n is None:
        n = 1
    if isinstance(n, int):
        return args[i:i + n], i + n
    j = i
    while j < len(args) and not _is_flag(_unbracket(args[j])):
        j += 1
        if n == '?':
            break
    return args[i:j], j


def _walk(options: dict, args) -> Iterator[Tuple[str, Optional[
        argparse.Action], List[str]]]:
    """``(word, action, values)`` of a Python command's arguments as its
    parser (``options``: its option strings) reads them: a flag with its
    action and values (action None for a flag it does not have), or a
    positional word (action None, no values)."""
    i = 0
    while i < len(args):
        word = _unbracket(args[i])
        i += 1
        if word == '--':
            return
        if not _is_flag(word):
            yield word, None, []
            continue
        name, eq, value = word.partition('=')
        action = options.get(name)
        if action is None:
            yield name, None, []
            continue
        if eq:
            values = [value]
        else:
            values, i = _values(action, args, i)
        yield name, action, [_unbracket(v) for v in values]


def _check_python(path: str, args, problems: List[str]):
    if not args:                # a name in the prose: nothing to check
        return
    parser = parser_of(path)
    options = {} if parser is None else parser._option_string_actions
    for word, action, values in _walk(options, args):
        if not _is_flag(word):
            _check_path(word, problems)
            continue
        if action is None:
            close = difflib.get_close_matches(word, options, n=2)
            problems.append(f'{path} has no flag {word}' + (
                f' (did you mean {" / ".join(close)}?)' if close else ''))
            continue
        for v in values:
            _check_path(v, problems)
            if action.choices is None or _is_placeholder(v):
                continue
            try:
                typed = action.type(v) if callable(action.type) else v
            except (TypeError, ValueError):
                typed = v
            if typed not in action.choices:
                problems.append(f'{path} {word}: {v!r} is not one of '
                                f'{list(action.choices)}')
    for config, items in overrides(path, args):
        problems.extend(f'{path}: {p}' for p in
                        _override_problems(config, items))


def overrides(path: str, args) -> List[Tuple[str, Tuple[str, ...]]]:
    """``(config, KEY=VALUE items)`` of a Python command that gives
    ``--cfg-options`` with a config file (its ``config`` argument,
    positional or ``--config``, one pair per config of ``--config a b``),
    [] where it gives none or a config is a placeholder (``CONFIG``) or
    missing (reported as a path). Items that are placeholders
    (``$EXTRACT_OPTS``, ``KEY=VALUE``) are left out."""
    parser = parser_of(path)
    if parser is None or not args:
        return []
    positional = [a for a in parser._actions if not a.option_strings]
    configs: List[str] = []
    items: List[str] = []
    n = 0
    for word, action, values in _walk(parser._option_string_actions, args):
        if action is None and not _is_flag(word):
            if n < len(positional) and positional[n].dest == 'config':
                configs.append(word)
            n += 1
        elif action is not None and action.dest == 'config':
            configs += values
        elif action is not None and action.dest == 'cfg_options':
            items += [v for v in values
                      if not _is_placeholder(v.partition('=')[0])]
    if not items or not configs or any(
            _is_placeholder(c) or not os.path.isfile(os.path.join(REPO, c))
            for c in configs):
        return []
    return [(c, tuple(items)) for c in dict.fromkeys(configs)]


@functools.lru_cache(maxsize=None)
def _override_problems(config: str, items: Tuple[str, ...]
                       ) -> Tuple[str, ...]:
    """What the tools say of ``--cfg-options items`` given with ``config``:
    the values parsed by MMEngine's ``DictAction`` (``parse_cfg_options``),
    the keys checked by ``load_config``, as every tool reads its config
    (a key the config does not have, a variable the file already used, a
    dict given where the file has a value); () where it takes them."""
    from openselfsup.config import load_config, parse_cfg_options
    from openselfsup.utils import InputError
    try:
        options = parse_cfg_options(items)
    except InputError as exc:   # an item without '=', unpaired brackets
        return (str(exc), )
    try:
        load_config(os.path.join(REPO, config), options)
    except InputError as exc:
        return (str(exc).replace(REPO + os.sep, ''), )
    return ()


def _check_shell(path: str, env, args, problems: List[str]):
    source = _read(path)
    here = os.path.dirname(path)
    for shared in ('_env.sh', '_help.sh'):
        if os.path.exists(os.path.join(REPO, here, shared)):
            source += _read(os.path.join(here, shared))
    for name in env:
        if name not in PROCESS_ENV and not re.search(
                r'\$\{?%s\b' % re.escape(name), source):
            problems.append(f'{path} reads no variable {name}')
    if path in ('tools/dist_train.sh', 'tools/slurm_train.sh'):
        # they run train.py CONFIG ARGS (dist_train.sh CONFIG GPUS ARGS,
        # slurm_train.sh PARTITION JOB_NAME CONFIG [GPUS] ARGS): the config
        # and the arguments are checked as train.py's
        dist = path.endswith('dist_train.sh')
        skip = 2 if dist else 3
        head, rest = list(args[:skip]), list(args[skip:])
        if not dist and rest and rest[0].isdigit():
            rest = rest[1:]
        config = head.pop(0 if dist else 2) if len(head) == skip else None
        for word in head:
            _check_path(word, problems)
        if config is not None:
            _check_python('tools/train.py', [config] + rest, problems)
    elif path == 'benchmarks/gpu_run.sh':
        stages = re.search(r'^all_stages="([^"]*)"', source, re.M)
        assert stages, 'benchmarks/gpu_run.sh: its stage list moved'
        for word in args:
            if word not in stages.group(1).split() and \
                    not _is_placeholder(word):
                problems.append(f'{path} has no stage {word!r}')
    else:
        for word in map(_unbracket, args):
            if _is_flag(word) and word not in ('-h', '--help'):
                problems.append(f'{path} takes no flag {word} (its settings '
                                'are environment variables)')
            else:
                _check_path(word, problems)


def _expand(path: str) -> List[str]:
    """``a{b,c}d`` -> ``abd``, ``acd`` (not nested)."""
    m = re.search(r'\{([^{}]*)\}', path)
    if not m:
        return [path]
    return [e for alt in m.group(1).split(',')
            for e in _expand(path[:m.start()] + alt + path[m.end():])]


def _check_path(word: str, problems: List[str]):
    """A word naming a file of the repository names one that exists."""
    word = word.split('::', 1)[0].rstrip('.,;:')
    if not word.startswith(REPO_PREFIXES) or word.startswith(OUTPUT_PREFIXES) \
            or '$' in word or '=' in word:
        return
    if '...' in word or '…' in word:    # the folder before it
        word = re.split(r'\.\.\.|…', word)[0].rsplit('/', 1)[0]
    for path in _expand(word):
        pattern = re.sub(r'<[^>]*>', '*', path)
        pattern = '/'.join('*' if re.fullmatch(r'[A-Z][A-Z0-9_]*', part)
                           else part for part in pattern.split('/'))
        if not glob.glob(os.path.join(REPO, pattern)):
            problems.append(f'no such file in the repository: {path}')


def check(cmd: Command) -> List[str]:
    """What is wrong with one command as the doc shows it."""
    script, env, args = _command(list(cmd.tokens))
    problems: List[str] = []
    if script == '':
        return [f'no such script: {" ".join(cmd.tokens)}']
    if script.endswith('.py'):
        _check_python(script, args, problems)
    else:
        _check_shell(script, env, args, problems)
    return problems


def other_words(text: str) -> Iterator[Tuple[int, str]]:
    """(line, word) of the fenced lines and inline spans outside the
    commands of this repository's scripts (``python -m pytest tests/...``,
    a path named in the prose), whose paths are checked too."""
    for source in (_fenced_lines(text), _inline_spans(text)):
        for no, line in source:
            for seg in _segments(line):
                if _command(seg) is None:
                    for word in seg:
                        yield no, _unbracket(word)


@functools.lru_cache(maxsize=None)
def _all_flags() -> frozenset:
    """Every option string of every Python command of the repository."""
    flags = set()
    for path in _scripts():
        if path.endswith('.py') and re.search(r'^def main\(', _read(path),
                                              re.M):
            flags.update(parser_of(path)._option_string_actions)
    return frozenset(flags)


def _lone_flags(text: str) -> Iterator[Tuple[int, str]]:
    """(line, flag) of the ``--flags`` the prose names outside a command of
    this repository (`--no-normalise` keeps raw features, then `--modes
    latent_aug`): each must be a flag of some tool."""
    for no, span in _inline_spans(text):
        if any(_command(seg) for seg in _segments(span)):
            continue
        for m in re.finditer(r'(?<![\w-])(--[A-Za-z][\w-]*)', span):
            yield no, m.group(1)


def _option_tables(text: str) -> Iterator[Tuple[int, str, List[str]]]:
    """(line, tool, words) of each row of a table introduced by ``Options
    of `tool`:``, its first cell's code span as words (``a\\|b``, a
    choice of values, as one word ``a|b``)."""
    lines = text.splitlines()
    for no, line in enumerate(lines, 1):
        m = re.fullmatch(r'Options of `([^`]+)`:\s*', line)
        if not m:
            continue
        for row_no in range(no + 1, len(lines) + 1):
            row = lines[row_no - 1]
            if not row.strip() and row_no == no + 1:
                continue
            if not row.startswith('|'):
                break
            cell = re.match(r'\|\s*`([^`]+)`', row)
            if cell:
                yield row_no, m.group(1), cell.group(1).replace('\\|', '|') \
                    .split()


def _check_option_row(tool: str, words: List[str], problems: List[str]):
    script = _resolve(tool)
    if not script:
        problems.append(f'options of no such script: {tool}')
        return
    words = [_unbracket(w) for w in words]
    action = parser_of(script)._option_string_actions.get(words[0])
    if action is None:
        problems.append(f'{script} has no flag {words[0]}')
    elif action.choices is not None:
        for v in (v for w in words[1:] for v in w.split('|')):
            if not _is_placeholder(v) and v not in action.choices:
                problems.append(f'{script} {words[0]}: {v!r} is not one of '
                                f'{list(action.choices)}')


@functools.lru_cache(maxsize=None)
def _test_names() -> frozenset:
    names = set()
    for path in glob.glob(os.path.join(REPO, 'tests', '*.py')):
        with open(path, encoding='utf-8') as f:
            names.update(re.findall(r'^def (test_\w+)', f.read(), re.M))
    return frozenset(names)


def _cited_tests(text: str) -> Iterator[Tuple[int, str]]:
    """(line, name) of the spans that are a test's name, alone."""
    for no, span in _inline_spans(text):
        if re.fullmatch(r'test_\w+', span) and span not in CONFIG_KEYS:
            yield no, span


def _header(path: str) -> str:
    """The command lines of a script's own header (a Python module's
    docstring, a shell script's first comment block), as a fenced block:
    the lines that start a command, with their continuations."""
    source = _read(path)
    if path.endswith('.py'):
        text = ast.get_docstring(ast.parse(source)) or ''
    else:
        lines = source.splitlines()
        if lines and lines[0].startswith('#!'):
            lines = lines[1:]
        text = '\n'.join(re.sub(r'^# ?', '', line) for line in
                         itertools.takewhile(lambda l: l.startswith('#'),
                                             lines))
    keep, going = [], False
    for line in text.splitlines():
        going = going or bool(re.match(
            r'\s*([A-Z_]+=\S+\s+)*(python3?|bash|sh)\s', line))
        keep.append(line if going else '')
        going = going and line.rstrip().endswith('\\')
    return '```\n' + '\n'.join(keep) + '\n```\n'


# -- the tests ---------------------------------------------------------------

def _doc_problems(doc: str, text: Optional[str] = None) -> List[str]:
    text = _read(doc) if text is None else text
    out = []
    for cmd in commands(doc, text):
        if (doc, cmd.text) in REFUSED_EXAMPLES:
            continue
        out += [f'{doc}:{cmd.line}: {p}    [{cmd.text}]' for p in check(cmd)]
    for no, word in other_words(text):
        if (doc, word) in PUBLISHED_CODE:
            continue
        problems: List[str] = []
        _check_path(word, problems)
        out += [f'{doc}:{no}: {p}' for p in problems]
    tables = list(_option_tables(text))
    checked = {(no, _unbracket(words[0])) for no, _, words in tables}
    for no, flag in _lone_flags(text):
        if (no, flag) in checked:
            continue
        if flag not in _all_flags() and flag not in EXTERNAL_FLAGS:
            close = difflib.get_close_matches(flag, _all_flags(), n=2)
            out.append(f'{doc}:{no}: no tool has the flag {flag}' + (
                f' (did you mean {" / ".join(close)}?)' if close else ''))
    for no, tool, words in tables:
        problems = []
        _check_option_row(tool, words, problems)
        out += [f'{doc}:{no}: {p}' for p in problems]
    for no, name in _cited_tests(text):
        if name not in _test_names():
            out.append(f'{doc}:{no}: no test is named {name}')
    return out


def _headers() -> List[str]:
    return sorted(p for p in _scripts()
                  if commands(p, _header(p)))


@pytest.mark.parametrize('doc', DOCS)
def test_doc_commands_are_ones_the_tools_accept(doc):
    problems = _doc_problems(doc)
    assert not problems, '\n' + '\n'.join(problems)


@pytest.mark.parametrize('script', _headers())
def test_the_commands_a_tool_header_shows_are_accepted(script):
    """What ``--help`` prints: the examples in a tool's docstring (a shell
    script's header comment)."""
    text = _header(script)
    problems = [f'{script} header: {p}    [{c.text}]'
                for c in commands(script, text) for p in check(c)]
    assert not problems, '\n' + '\n'.join(problems)


def test_every_command_line_of_the_docs_is_read():
    """The reader misses no command: every fenced line that visibly starts
    one of the repository's scripts is among the commands read (a crude
    independent count), and the docs show commands of the main tools."""
    seen = set()
    for doc in DOCS:
        text = _read(doc)
        read = {c.line for c in commands(doc, text)}
        for no, line in _fenced_lines(text):
            if re.search(r'(^|[\s;&|])(python3?|bash|sh)\s+(-m\s+benchmarks\.'
                         r'|(\./)?(tools|wsi_workdir|benchmarks)/)', line):
                assert no in read, f'{doc}:{no} not read: {line}'
        seen.update(_command(list(c.tokens))[0]
                    for c in commands(doc, text))
    for tool in ('tools/train.py', 'tools/knn_eval.py',
                 'tools/balance_sweep.py', 'wsi_workdir/extract.py',
                 'wsi_workdir/tools/generate_task.py',
                 'wsi_workdir/distributed_meta_test.py',
                 'wsi_workdir/sweep.py', 'tools/dist_train.sh',
                 'wsi_workdir/scripts/near_domain.sh',
                 'benchmarks/bench_threads.py'):
        assert tool in seen, tool


def test_the_cfg_options_of_the_docs_are_checked_against_their_config():
    """Every command line of the docs and the tools' headers that gives
    ``--cfg-options`` and names a config file of the repository (a crude
    independent count: the line has both) has them checked against that
    config; and the docs show some."""
    this = sys.modules[__name__]
    real, checked = _override_problems, []

    def record(config, items):
        checked.append(config)
        return real(config, items)

    sources = [(doc, _read(doc)) for doc in DOCS] + \
        [(path, _header(path)) for path in _scripts()]
    lines = 0
    with mock.patch.object(this, '_override_problems', record):
        for doc, text in sources:
            cmds = commands(doc, text)
            for no, line in itertools.chain(_fenced_lines(text),
                                            _inline_spans(text)):
                configs = [c for c in re.findall(
                    r'(?<![\w/.$])configs/[\w./-]+\.py\b', line)
                    if os.path.isfile(os.path.join(REPO, c))]
                if '--cfg-options' not in line or not configs:
                    continue
                lines += 1
                del checked[:]
                for cmd in cmds:
                    if cmd.line == no and (doc, cmd.text) not in \
                            REFUSED_EXAMPLES:
                        check(cmd)
                assert set(configs) <= set(checked), \
                    f'{doc}:{no}: --cfg-options not checked: {line}'
    assert lines, 'no command of the docs gives --cfg-options with a config'


def test_refused_examples_are_still_wrong():
    """The commands docs/refusals.md shows as mistakes are found wrong."""
    for doc, text in REFUSED_EXAMPLES:
        cmds = [c for c in commands(doc) if c.text == text]
        assert cmds, f'{doc} no longer shows `{text}`: drop it here'
        assert all(check(c) for c in cmds), \
            f'{doc}: `{text}` is not a mistake any more: drop it here'


def test_a_broken_doc_line_is_found():
    """The check fails on a renamed flag, a value outside a flag's choices,
    a missing config, a missing script, a flag given to a script that
    takes none and a variable it does not read, in a fence and inline; on
    a flag no tool has, a wrong row of an options table and a test that is
    not there; placeholders pass."""
    text = (
        'Run\n\n```bash\n'
        'python tools/train.py configs/demo/clp_r18_demo.py --work_dir W\n'
        'python wsi_workdir/tools/generate_task.py --task nowhere \\\n'
        '    --num_shots 1 5   # a comment --not-a-flag\n'
        'python tools/train.py configs/demo/no_such_config.py\n'
        'NUM_TASKS=5 sh wsi_workdir/scripts/near_domain.sh --num_task 5 '
        '2>&1 | tee log\n'
        'python -m benchmarks.bench_nothing --x\n'
        'python tools/train.py CONFIG --cfg-options a=1 [--resume CKPT] '
        '--work-dir $W <DIR> ...\n'
        '```\n\nand `python tools/knn_eval.py CONFIG --random_init`, or\n'
        '`tools/knn_eval.py CONFIG --random-init [--seed S]` and\n'
        '`configs/demo/missing_{a,b}.py`, then `--no-normalize`\n'
        '(`python -m pytest tests/test_no_such_file.py -k x`)\n'
        '(`test_no_such_test`, `test_dataloader`, `--no-normalise`).\n\n'
        'Options of `tools/train.py`:\n\n| option | effect |\n|---|---|\n'
        '| `--amp` | ok |\n| `--ampp` | no |\n'
        '| `--launcher none\\|pytorch\\|slurmm` | one wrong |\n')
    problems = _doc_problems('doc.md', text)
    got = [(p.split(':')[1], p.split(': ', 1)[1].split('    [')[0])
           for p in problems]
    assert got == [
        ('4', 'tools/train.py has no flag --work_dir '
              '(did you mean --work-dir?)'),
        ('5', "wsi_workdir/tools/generate_task.py --task: 'nowhere' is not "
              "one of ['near', 'mixture', 'out']"),
        ('7', 'no such file in the repository: '
              'configs/demo/no_such_config.py'),
        ('8', 'wsi_workdir/scripts/near_domain.sh reads no variable '
              'NUM_TASKS'),
        ('8', 'wsi_workdir/scripts/near_domain.sh takes no flag --num_task '
              '(its settings are environment variables)'),
        ('9', 'no such script: python -m benchmarks.bench_nothing --x'),
        ('13', 'tools/knn_eval.py has no flag --random_init '
               '(did you mean --random-init?)'),
        ('15', 'no such file in the repository: configs/demo/missing_a.py'),
        ('15', 'no such file in the repository: configs/demo/missing_b.py'),
        ('16', 'no such file in the repository: '
               'tests/test_no_such_file.py'),
        ('15', 'no tool has the flag --no-normalize '
               '(did you mean --no-normalise?)'),
        ('24', 'tools/train.py has no flag --ampp'),
        ('25', "tools/train.py --launcher: 'slurmm' is not one of "
               "['none', 'pytorch', 'slurm']"),
        ('17', 'no test is named test_no_such_test'),
    ], '\n'.join(problems)


def _refusal(path: str, argv: List[str]) -> str:
    """The one line a tool's ``main(argv)`` refuses with."""
    from openselfsup.utils import InputError
    with pytest.raises(InputError) as got:
        module_of(path).main(argv)
    return str(got.value)


def test_a_wrong_cfg_option_of_a_doc_command_is_found(monkeypatch):
    """A ``--cfg-options`` key the named config does not take is found,
    with the line the tool itself refuses it with (``tools/train.py
    --check-config``, the launchers' check), in a fence and inline and
    through the launchers; a variable the file already used too; for
    ``extract.py --config a b``, once per config; a value ``DictAction``
    cannot parse and an item without ``=`` are found; keys the config
    has, a placeholder config and placeholder items pass."""
    monkeypatch.chdir(REPO)     # the tool's lines name relative paths
    demo = 'configs/demo/clp_r18_demo.py'
    knn = 'configs/demo/hlss_rn50w8_synthetic.py'
    text = (
        '```bash\n'
        f'python tools/train.py {demo} --cfg-options train_cfg.max_epochs=2 '
        'randomness.sed=3\n'
        f'sh tools/dist_train.sh {demo} 2 --work-dir W \\\n'
        '    --cfg-options data_root=data/elsewhere\n'
        f'bash tools/slurm_train.sh part job {demo} 4 --cfg-options '
        '"model.x=[1,2"\n'
        'python wsi_workdir/extract.py --pretrained CKPT --config '
        'configs/extraction/nct_train.py configs/extraction/lc.py '
        '--output a.npy b.npy --cfg-options dataset.data_rot=x\n'
        'python tools/train.py CONFIG --cfg-options no.such.key=1\n'
        f'python tools/train.py {demo} --cfg-options $OPTS KEY=VALUE '
        'train_cfg.max_epochs=N load_from=CHECKPOINT '
        'model.head.group_size=None\n'
        f'python tools/train.py {demo} --cfg-options train_cfg.max_epochs\n'
        '```\n\n'
        f'Then `python tools/knn_eval.py {knn} CKPT --cfg-options '
        'knn_eval.kk=20`.\n')
    problems = _doc_problems('doc.md', text)
    got = [(p.split(':')[1], p.split(': ', 1)[1].split('    [')[0])
           for p in problems]

    def train(*options):
        return 'tools/train.py: ' + _refusal('tools/train.py', [
            demo, '--check-config', '--no-data-check', '--cfg-options',
            *options])

    expected = [
        ('2', train('train_cfg.max_epochs=2', 'randomness.sed=3')),
        ('3', train('data_root=data/elsewhere')),
        ('5', train('model.x=[1,2')),
        *[('6', f"wsi_workdir/extract.py: --cfg-options dataset.data_rot: "
                f"not in {c}: dataset has no key 'data_rot' (did you mean "
                "dataset.data_root?)")
          for c in ('configs/extraction/nct_train.py',
                    'configs/extraction/lc.py')],
        ('9', train('train_cfg.max_epochs')),
        ('12', 'tools/knn_eval.py: ' + _refusal('tools/knn_eval.py', [
            knn, 'CKPT', '--cfg-options', 'knn_eval.kk=20'])),
    ]
    assert got == expected, '\n'.join(problems)
    assert 'randomness.sed' in got[0][1] and 'data_root' in got[1][1]


def _python_commands() -> List[str]:
    """The Python commands of tools/ and wsi_workdir/ (the benchmarks have
    their own test of the same rule in tests/test_benchmarks.py)."""
    return sorted(p for p in _scripts() if p.endswith('.py')
                  and p.startswith(('tools/', 'wsi_workdir/')))


def _unexplained(parser: argparse.ArgumentParser) -> List[str]:
    """The options of ``parser`` whose ``--help`` line says nothing, or
    does not say the default of an option that has one (a flag that is
    off, or an option without a default, need not)."""
    formatter = parser._get_formatter()
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or \
                action.help == argparse.SUPPRESS:
            continue
        name = '/'.join(action.option_strings) or action.dest
        if not action.help:
            out.append(f'{name}: no help')
        elif action.default is not None and action.default is not False \
                and 'default' not in formatter._get_help_string(action):
            out.append(f'{name}: default {action.default!r} not said')
    return out


def test_the_unexplained_option_check_finds_what_it_should():
    p = argparse.ArgumentParser()
    p.add_argument('--said', default=3, help='three (default: 3)')
    p.add_argument('--flag', action='store_true', help='a flag')
    p.add_argument('--unset', help='no default')
    p.add_argument('--silent', nargs='+', default=['a'])
    p.add_argument('--unsaid', default='none', help='a value')
    assert _unexplained(p) == ['--silent: no help',
                               "--unsaid: default 'none' not said"]


@pytest.mark.parametrize('script', _python_commands())
def test_every_option_of_a_command_is_explained_with_its_default(script):
    """``--help`` explains each option and says its default (sweep.py's
    --clfs printed no help at all; make_crossmodal.py's --settings and
    train.py's --launcher did not say theirs)."""
    parser = parser_of(script)
    if parser is not None:
        assert not _unexplained(parser), f'{script}: {_unexplained(parser)}'


def _exports_left_set(text: str) -> List[str]:
    """``line: export ...`` for each ``export`` of a fenced block outside a
    ``(`` ... ``)`` subshell (lines of their own): copied into a reader's
    shell, it stays set for every later command."""
    depth, found = 0, []
    for no, line in _fenced_lines(text):
        words = line.split()
        if words in (['('], [')']):
            depth += 1 if words == ['('] else -1
        elif words[:1] == ['export'] and depth <= 0:
            found.append(f'{no}: {line.strip()}')
    return found


def test_doc_exports_stay_out_of_the_readers_shell():
    """GETTING_STARTED's HLSS block exported OMP_NUM_THREADS=1 into the
    reader's shell, and a later CLP training then gave other losses and
    results than the docs' (the thread count changes them); the ablation
    block's exports sent later scripts into its workdir. Every doc export
    runs in a subshell."""
    fence = '```'
    assert _exports_left_set(
        f'{fence}bash\nexport A=1\n(\nexport B=2\nrun\n)\n{fence}\n') == [
            '2: export A=1']
    left = [f'{doc}:{x}' for doc in DOCS
            for x in _exports_left_set(_read(doc))]
    assert not left, left


def test_the_repository_walk_is_globs_without_the_output_folders(
        tmp_path, monkeypatch):
    """``_repo_glob`` finds what ``glob(recursive=True)`` finds, except under
    the folders runs write into and hidden ones, which it does not enter (a
    user's ``wsi_workdir/workdir`` of features was walked file by file)."""
    for rel in ('wsi_workdir/a.py', 'wsi_workdir/s/t/b.py', 'wsi_workdir/c.sh',
                'wsi_workdir/workdir/x/d.py', 'wsi_workdir/logs/e.py',
                'wsi_workdir/.cache/f.py', 'wsi_workdir/.g.py',
                'wsi_workdir/workdir_old/h.py', 'top.md', 'docs/i/j.md'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text('')
    monkeypatch.setattr(sys.modules[__name__], 'REPO', str(tmp_path))
    entered = []
    walk = os.walk
    monkeypatch.setattr(os, 'walk', lambda top: (
        entered.append(r[0]) or r for r in walk(top)))
    for pattern in ('wsi_workdir/**/*.py', '*.md', 'docs/**/*.md'):
        by_glob = {os.path.relpath(p, tmp_path) for p in glob.glob(
            os.path.join(tmp_path, pattern), recursive=True)}
        expected = {p for p in by_glob if not p.startswith(OUTPUT_PREFIXES)}
        got = {os.path.relpath(p, tmp_path) for p in _repo_glob(pattern)}
        assert got == expected, pattern
    assert not [e for e in entered if '/workdir' in e or '/logs' in e
                or '/.cache' in e], entered


def test_the_test_command_is_one_in_the_readme_install_and_ci():
    """The suite's command (pytest with its xdist flags) is written in the
    README's quick start, INSTALL.md and ``.ci/run``, which CI runs: a
    flag changed in one copy only (review r126: nothing read the flags)
    is found, and each copy's pytest options are ones pytest with the
    ``tests`` extra accepts (``--help`` lists ``-n`` and ``--dist``, and
    ``worksteal`` among its choices)."""
    import subprocess
    import sys
    pattern = re.compile(r'python -m pytest [^\n`]*tests(?=\s*$)', re.M)
    found = {}
    for name in ('README.md', 'INSTALL.md', os.path.join('.ci', 'run')):
        found[name] = pattern.findall(_read(os.path.join(REPO, name)))
    assert all(found.values()), found
    commands = {c for cs in found.values() for c in cs}
    assert len(commands) == 1, found
    words = commands.pop().split()[3:-1]
    shown = subprocess.run([sys.executable, '-m', 'pytest', '--help'],
                           capture_output=True, text=True, cwd=REPO).stdout
    for i, word in enumerate(words):
        if word.startswith('-'):
            assert re.search(rf'(^|[\s,]){re.escape(word)}[\s,=]', shown,
                             re.M), word
        elif words[i - 1] == '--dist':
            assert word in shown, word
