"""One-line errors for bad input.

Library code raises :class:`InputError` with a message that names the file
(and line) and the problem. Command-line scripts wrap their ``main`` with
:func:`run_cli`, which prints that one line to stderr and exits non-zero
instead of showing a traceback from deep inside numpy or torch; a Ctrl-C
or a SIGTERM made an exception (:func:`terminate_raises`) is one line too.
"""
import _thread
import argparse
import atexit
import dis
import gc
import os
import signal
import sys
import threading
import time
from collections import abc
from contextlib import contextmanager
from typing import Any, Callable, Hashable, Iterable, Iterator, List, \
    Optional, Sequence, Tuple, Type

import numpy as np


class InputError(Exception):
    """Bad input from the user: a file, a flag, a config value.

    The message is a single line that names what is wrong and, where there is
    one, the command that fixes it.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM (what torchrun sends the other processes when one fails,
    what Slurm sends on ``scancel``), raised by :func:`terminate_raises`'s
    handler so that the ``except`` / ``finally`` clean-ups between it and
    :func:`run_cli` run. A KeyboardInterrupt, not an Exception: an
    ``except Exception`` on the way does not catch it, and
    :func:`run_cli` finds it as it finds a Ctrl-C (also behind an error a
    library raised while handling it). Raised only in the process that
    installed the handler: a DataLoader worker (a forked child) is ended by
    the SIGTERM itself (:func:`terminate_raises`)."""


def _send_later(pid: int, signum: int, delay: float = 0.01) -> None:
    """Send ``signum`` to ``pid`` after ``delay`` seconds (run in a thread
    of its own by :func:`terminate_raises`'s hook)."""
    time.sleep(delay)
    os.kill(pid, signum)


def terminate_raises(active: Callable[[], bool]) -> Callable[[], None]:
    """Make SIGTERM raise :class:`Terminated` while ``active()`` is true
    (its default action ends the process where it stands, no clean-up
    run); once ``active()`` is false, and in a forked child (a DataLoader
    worker: the clean-up is its parent's), a SIGTERM ends the process as
    before.

    Installed only in the main thread (elsewhere handlers cannot be set)
    and only where SIGTERM has its default action (a handler someone set
    is theirs), or one of these handlers whose every ``active()`` has
    ended. Where one of these handlers is set and active, the call joins
    it: SIGTERM raises while any of its callers' ``active()`` holds, and
    the default action comes back when the last of them restores (a
    runner built, dropped and not yet collected, whose restore comes when
    the garbage collector takes it: before callers joined, a later
    ``train()`` in the process set no handler of its own, and once the
    collector took the runner, during the run's dataset build, SIGTERM
    ended that run where it stood, its clean-up not run). SIGKILL cannot
    be caught; a SIGTERM that arrives while the process waits inside a C
    call (a collective waiting for a dead peer) is acted upon when that
    call returns.

    A Terminated raised where Python cannot raise it (the handler run
    inside a finaliser: a ``__del__``, a ``weakref.finalize`` callback of
    the garbage collector), which Python prints as 'Exception ignored' and
    drops, is caught by ``sys.unraisablehook`` (set with the handler,
    put back by its last restore: the hook from before it, that of an
    ended handler it replaced standing for the one that handler
    replaced), which sends the signal again, acted upon in
    the main flow: dropped, the SIGTERM was lost and the run went on to
    its end.

    Returns:
        callable: ends this call's ``active()``; the last of a handler's
        callers to end restores the default action (if the handler is
        still the one set); a no-op where nothing was installed or
        joined, and when called again.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    call = (active,)  # this call's entry (a restore ends this one alone)
    current = signal.getsignal(signal.SIGTERM)
    callers = getattr(current, 'terminate_callers', None)
    if callers is not None and current.terminate_active():
        # the restore made before the call joins: a SIGTERM raised at the
        # join (a Python handler runs at any call) ends the call it made,
        # where the call left among the callers kept the handler set
        # after the last of the others restored
        restore = _ender(current, call)
        try:
            callers.append(call)
        except BaseException:
            restore()
            raise
        return restore
    # a handler someone set is theirs; one of these handlers whose
    # callers' active() have all ended (a runner built and never trained,
    # its restore never called) stands for the default action: left in
    # place, it made every later call here a no-op
    if current != signal.SIG_DFL and callers is None:
        return lambda: None
    owner = os.getpid()
    callers = [call]

    def raises() -> bool:
        return os.getpid() == owner and any(c[0]() for c in list(callers))

    def handler(signum, frame):
        if raises():
            raise Terminated('terminated (SIGTERM)')
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signum)

    previous_hook = sys.unraisablehook
    # an ended handler's hook, still set, stands for the hook it replaced,
    # as the handler stands for the default action: kept as the one to
    # put back, it was put back after the ended handler's own restore had
    # come and gone, and stayed (r135)
    ended = getattr(current, 'terminate_hooks', None)
    if ended is not None and previous_hook is ended[0]:
        previous_hook = ended[1]

    def unraisable(info):
        # the handler ran in a finaliser, where its Terminated is dropped:
        # the signal again, sent from another thread a moment later, so
        # that the handler runs once this hook and the finaliser have
        # returned, in the main flow (sent from here, or waited for, as
        # threading.Thread.start waits, it ran in the hook, where a raise
        # is dropped too; dropped again in a later finaliser, it comes
        # here again)
        if (isinstance(info.exc_value, Terminated)
                and os.getpid() == owner
                and signal.getsignal(signal.SIGTERM) is handler):
            _thread.start_new_thread(_send_later, (owner, signal.SIGTERM))
        else:
            previous_hook(info)

    handler.terminate_callers = callers
    handler.terminate_active = raises
    handler.terminate_hooks = (unraisable, previous_hook)
    # a SIGTERM acted upon as soon as the handler is set (at the next
    # call) raises before the caller holds the restore: restored here,
    # where the handler stayed set, raising for a caller that had gone
    restore = _ender(handler, call)
    try:
        signal.signal(signal.SIGTERM, handler)
        sys.unraisablehook = unraisable
    except BaseException:
        restore()
        raise
    return restore


def _ender(handler: Callable, call: tuple) -> Callable[[], None]:
    """:func:`terminate_raises`' restore of one call: takes ``call`` out
    of ``handler``'s callers; the last one out puts SIGTERM's default
    action back (where ``handler`` is still the one set) and the
    unraisable hook from before the handler (where the handler's is still
    the one set)."""
    callers = handler.terminate_callers

    def restore():
        for i, c in enumerate(callers):
            if c is call:
                del callers[i]
                break
        if callers:
            return
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) is handler):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        unraisable, previous_hook = handler.terminate_hooks
        if sys.unraisablehook is unraisable:
            sys.unraisablehook = previous_hook
    return restore


@contextmanager
def terminate_raising() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` throughout the body (as a
    decorator: the function's call), :func:`terminate_raises`' handler
    set before and its default action back after (unless a caller that
    joined it inside is still on: that caller's restore brings it back):
    for a process that
    runs several runs one after the other (the lambda sweep), whose
    training sets the handler for each run only (``apis.train.train``),
    so that a SIGTERM between two runs (an evaluation, a save) ends it as
    Ctrl-C does, its clean-ups run, not where it stood. Inside, a run's
    own :func:`terminate_raises` finds this handler set and joins it."""
    restore = terminate_raises(lambda: True)
    try:
        yield
    finally:
        restore()


class cleaned_up:
    """``clean()`` once the body has ended, however it ends; where the
    body raised (an exception, a Ctrl-C), an ``Exception`` of ``clean``
    is dropped and the body's error is the one raised (a failed clean-up
    does not hide why the work failed), where a ``finally`` raised the
    clean-up's. A class, not a generator: a ``StopIteration`` of
    ``clean`` after the body is raised as itself, where a generator's
    context manager turns it into a RuntimeError (PEP 479; r185)."""

    def __init__(self, clean: Callable[[], Any]):
        self.clean = clean

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:
        if kind is None:
            self.clean()
            return False
        try:
            self.clean()
        except Exception:  # noqa: BLE001 (the body's error is raised)
            pass
        return False


def given_twice(values: Iterable,
                key: Optional[Callable[[Any], Hashable]] = None) -> List[List]:
    """The values of a list that stand for the same thing (the same
    ``key``; the value itself without one), one group per such key in the
    order the key first appears, each group the values as given (their
    spellings may differ: ``out/a.npy``, ``./out/a.npy``).

    Args:
        values (iterable): e.g. a list flag's values.
        key (callable, optional): what decides that two values are one
            (a lambda's run name, an output's real path); hashable.

    Returns:
        list of list: empty when every key is given once.
    """
    groups = {}
    for v in values:
        groups.setdefault(v if key is None else key(v), []).append(v)
    return [g for g in groups.values() if len(g) > 1]


def check_distinct(flag: str, values: Iterable,
                   key: Optional[Callable[[Any], Hashable]] = None,
                   show: Callable[[Any], str] = str,
                   why: str = '') -> None:
    """Refuse a value given twice in a list flag (``--shots 1 1``, two
    ``--output`` that are one file): one line that names the flag and the
    values (:func:`given_twice`).

    Args:
        flag (str): the flag as the user types it (``--shots``).
        values (iterable): its values.
        key (callable, optional): as :func:`given_twice`.
        show (callable): a value as the message writes it.
        why (str): why a value counts once (added in brackets).

    Raises:
        InputError: ``<flag>: <value> given twice (<why>)``; values of one
            key written differently are each shown (``a and b``).
    """
    groups = given_twice(values, key)
    if not groups:
        return
    shown = ', '.join(' and '.join(dict.fromkeys(show(v) for v in g))
                      for g in groups)
    raise InputError(f'{flag}: {shown} given twice'
                     + (f' ({why})' if why else ''))


def check_filled(given: Any, placeholder: str, flag: str,
                 what: str) -> None:
    """Refuse ``given``, the value of ``flag``, where it is a printed
    command's ``placeholder`` left as printed (``DATA_ROOT``, ``DATA``:
    where a line does not know a folder it names one for the user to fill
    in); read, it named a folder of that name in the current folder, made
    or read without a word. Only the bare word: a folder of that name
    spelt as a path (``./DATA``, absolute) is taken.

    Raises:
        InputError: ``<flag><placeholder>: a placeholder of a printed
            command; give <what> in its place (a folder named
            <placeholder>: ./<placeholder>, or its absolute path)``.
    """
    if given == placeholder:
        raise InputError(
            f'{flag}{placeholder}: a placeholder of a printed command; give '
            f'{what} in its place (a folder named {placeholder}: '
            f'./{placeholder}, or its absolute path)')


def is_int(value: Any) -> bool:
    """An int that is not a bool (``True`` is an int in Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_index_sequence(value: Any) -> bool:
    """Whether MMEngine's BaseDataset takes ``value`` (its ``indices``) as
    the sequence of the samples it keeps (a list, a tuple, a ``range``;
    not a string)."""
    return isinstance(value, abc.Sequence) and not isinstance(value, str)


def is_number(value: Any) -> bool:
    """An int or float that is not a bool (NaN and infinities included:
    a caller that refuses them says so)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_seed(seed: Any, flag: str = '--seed') -> None:
    """Refuse a seed that is not an integer in [0, 2^63): the one check of
    every seed flag (the low-shot commands', ``extract.py``'s,
    ``knn_eval.py``'s, the attribute export's). ``torch.manual_seed``
    wrapped ``-1`` to 2**64 - 1 without a word and raised a traceback
    beyond 2**64; 2^63 is numpy's and torch's common range.

    Raises:
        InputError: ``<flag> must be an integer in [0, 2^63), got <seed>``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 2 ** 63:
        raise InputError(f'{flag} must be an integer in [0, 2^63), got '
                         f'{seed!r}')


def check_fraction(value: Any, name: str) -> float:
    """``value`` as a float in [0, 1] (a weight such as balanced tuning's
    lambda), or a one-line InputError naming the setting ``name`` it came
    from (``--lambdas``, ``model.balance (lambda)``)."""
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        raise InputError(f'{name} must be a number in [0, 1], '
                         f'got {value!r}') from None
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f'{name} must be in [0, 1], got {fraction}')
    return fraction


def check_finite(features: np.ndarray, source: str,
                 what: str = 'NaN or inf',
                 rows: Optional[np.ndarray] = None,
                 paths: Optional[Sequence[str]] = None) -> None:
    """Refuse rows holding NaN or inf, in one line naming ``source``, the
    first such row and their count.

    Args:
        features (np.ndarray): ``[N, D]``.
        source (str): where the features came from.
        what (str): what the bad values are called in the line.
        rows (np.ndarray, optional): the row of ``source`` each row of
            ``features`` came from (the line names the source's first);
            default: the same row.
        paths (list[str], optional): the image path of each row of
            ``source``, named beside it.

    Raises:
        InputError: a row with NaN or inf.
    """
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        first = int((np.flatnonzero(bad) if rows is None
                     else np.asarray(rows)[bad]).min())
        where = f'{first} ({paths[first]})' if paths is not None else first
        raise InputError(f'{source}: {what} in the features (first at row '
                         f'{where}, {int(bad.sum())} rows in all)')


#: the capitals whose names begin with a vowel sound, as an acronym's
#: first letter is said (an HLSS, an MLP; a CLIP)
_VOWEL_SOUND_LETTERS = frozenset('AEFHILMNORSX')


def with_article(name: str) -> str:
    """``name`` after 'a' or 'an', by how it is said: a class or algorithm
    name (``'an ImageClassifier'``, ``'an OpenCLIPImageTower'``, ``'a
    ResNet'``) by its first letter, a vowel or not; an acronym (two
    capitals first: ``'an HLSS'``, ``'a CLIP...'``) by the name of its
    first letter."""
    acronym = len(name) > 1 and name[:2].isupper()
    vowel = (name[:1].upper() in _VOWEL_SOUND_LETTERS if acronym
             else name[:1].lower() in 'aeiou')
    return f'{"an" if vowel else "a"} {name}'


def count_words(n: int, noun: str) -> str:
    """``'5 settings'``, ``'1 setting'``: a count and its noun (``noun``
    singular; an ``s`` added for any count but 1)."""
    return f'{n} {noun}{"" if n == 1 else "s"}'


def first_line(exc: BaseException, with_type: bool = False) -> str:
    """The first line of ``exc``'s message (its type name if empty), after
    ``'<type name>: '`` with ``with_type``: for library errors quoted
    inside a one-line refusal."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    return f'{type(exc).__name__}: {lines[0]}' if with_type else lines[0]


#: what a class raises for a setting it refuses (mmpretrain's ResNet depth
#: 19: KeyError; a type name not in a registry: KeyError; an optimizer
#: momentum below 0: ValueError; an argument the class does not take:
#: TypeError)
SETTING_ERRORS = (KeyError, AssertionError, TypeError, ValueError)


#: this package's folder: an error hit (not raised) by a line in it is a bug
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _last_frame(exc: BaseException):
    """The last entry of ``exc``'s traceback (the line that raised or
    hit it), or None where it has none."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb


def own_bug(exc: BaseException) -> bool:
    """Whether ``exc`` was hit by a line of this package's own code rather
    than raised there (``raise`` / ``assert``): a ``TypeError`` of a wrong
    call, a ``KeyError`` of a missing key in openselfsup itself is a bug,
    not a setting; what it raises on purpose, and what the libraries
    raise, may be."""
    tb = _last_frame(exc)
    if tb is None:
        return False
    code = tb.tb_frame.f_code
    if not os.path.abspath(code.co_filename).startswith(_PACKAGE + os.sep):
        return False
    return dis.opname[code.co_code[tb.tb_lasti]] not in ('RAISE_VARARGS',
                                                          'RERAISE')


@contextmanager
def settings_refused(config, what: str,
                     also: Tuple[Type[BaseException], ...] = (),
                     file: Optional[str] = None) -> Iterator[None]:
    """Turn a setting refused while ``what`` is built from ``config`` into
    one :class:`InputError` line that quotes the library's error (a
    traceback from deep inside mmengine or mmpretrain before; an error
    without a message is named by the function that raised it:
    :func:`raised_in`); ``OPENSELFSUP_DEBUG=1`` keeps the traceback (a bug
    rather than a setting), as does an error hit by a line of
    openselfsup's own code (:func:`own_bug`). An InputError passes
    unchanged.

    The line ends by pointing at the settings: the config's, and the
    ``--cfg-options`` given, named, where there were any (it said 'check
    the settings changed from the shipped config (--cfg-options)' of
    every run, one of a config of the user's own without any too).

    Args:
        config (Config or str): the config (``load_config``'s, whose
            record names the ``--cfg-options`` given), or its file: named
            in the line.
        what (str): what is built, e.g. ``'model or data'``.
        also (tuple[type]): errors refused as settings here beside
            :data:`SETTING_ERRORS` (an optimizer constructor's
            ``NotImplementedError`` for a model it cannot split).
        file (str, optional): the config's file as the user gave it,
            named in place of ``config``'s ``filename`` (the file another
            spelling of its path was read under).
    """
    try:
        yield
    except InputError:
        raise
    except SETTING_ERRORS + tuple(also) as exc:
        if os.environ.get('OPENSELFSUP_DEBUG') or own_bug(exc):
            raise
        said = first_line(exc) if str(exc).strip() else raised_in(exc)
        raise InputError(
            f'{file or _config_file(config)}: the {what} could not be '
            f'built from the config ({type(exc).__name__}: {said}); '
            f'{_settings_to_check(config)}, or run with OPENSELFSUP_DEBUG=1 '
            'for the traceback') from exc


def _config_file(config) -> str:
    """The file of ``config`` (a Config, or its file), for a refusal."""
    if isinstance(config, str):
        return config
    return getattr(config, 'filename', None) or 'the config'


def _settings_to_check(config) -> str:
    """What :func:`settings_refused`'s line says to check: the config's
    settings, and the ``--cfg-options`` given to ``config`` where there
    were any (a file alone: whatever were given)."""
    if isinstance(config, str):
        return "check the config's settings and any --cfg-options given"
    given = options_given(config)
    if not given:
        return "check the config's settings"
    return ("check the --cfg-options given (" + ', '.join(given) +
            ") and the config's settings")


#: the attribute of a :func:`~openselfsup.config.load_config` config that
#: records the keys its ``--cfg-options`` set
#: (:func:`~openselfsup.config.option_setting`); here, below the config
#: layer, as the refusal of a setting reads it
OPTIONS_SET = '_openselfsup_options_set'

#: the attribute of a :func:`~openselfsup.config.load_config` config that
#: records the keys of its ``--cfg-options`` the user gave, where a caller
#: added its own
OPTIONS_GIVEN = '_openselfsup_options_given'


def options_given(cfg) -> List[str]:
    """The ``--cfg-options`` keys the user gave for ``cfg`` (to
    :func:`~openselfsup.config.load_config`; ``given`` where its caller
    added its own), in their order (empty: none, or ``cfg`` not made by
    ``load_config``): :func:`settings_refused` names them."""
    given = vars(cfg).get(OPTIONS_GIVEN)
    if given is not None:
        return list(given)
    return list(dict.fromkeys((vars(cfg).get(OPTIONS_SET) or {}).values()))


def raised_in(exc: BaseException) -> str:
    """``'raised in <function>'``: the qualified name of the function
    whose line raised ``exc`` (the last frame of its traceback; a bare
    ``raise NotImplementedError`` says nothing else), or its type name
    where it has no traceback."""
    tb = _last_frame(exc)
    if tb is None:
        return type(exc).__name__
    code = tb.tb_frame.f_code
    return f'raised in {getattr(code, "co_qualname", code.co_name)}'


def one_line(exc: BaseException) -> str:
    """The one-line message of ``exc``.

    An InputError raised inside a DataLoader worker reaches the main process
    re-raised with the worker's traceback in its message; its last line is
    ``openselfsup.utils.errors.InputError: <the original message>`` (or
    the module and name of the InputError's own class, which torch
    re-raises).
    """
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    if len(lines) == 1:
        return lines[0]
    last = lines[-1].strip()
    for kind in {InputError, type(exc)}:
        prefix = f'{kind.__module__}.{kind.__qualname__}: '
        if issubclass(kind, InputError) and last.startswith(prefix):
            return last[len(prefix):]
    return last


#: the environment variable a script that runs a command sets to say how
#: its user gives the command's ``--cfg-options`` there (a script argument,
#: an environment variable): :func:`cfg_options_here`
CFG_OPTIONS_AS = 'OPENSELFSUP_CFG_OPTIONS_AS'


def cfg_options_here(line: str) -> str:
    """What :func:`run_cli` appends to a refusal ``line`` that names
    ``--cfg-options`` when a script runs the command: ``' (<how>)'``, how
    the script takes them (the :data:`CFG_OPTIONS_AS` environment variable:
    ``demo_lowshot.sh`` takes them as its third argument, the other scripts
    in ``EXTRACT_OPTS``); ``''`` when it is not set (the command run
    directly: the line is its own) or the line names no ``--cfg-options``."""
    how = os.environ.get(CFG_OPTIONS_AS, '').strip()
    return f' ({how})' if how and '--cfg-options' in line else ''


class RawDefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter,
                                argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` that keeps the description's and epilog's lines as
    written (an example command, a table of the files written) and adds
    each option's default, where ``ArgumentDefaultsHelpFormatter`` alone
    re-wrapped them into one paragraph. Here, beside :func:`run_cli`,
    not in :mod:`openselfsup.config`: the data generators use it and
    load no mmengine."""


def say(line: str, stream=None) -> None:
    """Write ``line`` and its newline to stderr (or ``stream``: stdout for
    a command's result line) in one write. ``print``
    writes them apart, and where stderr is unbuffered
    (``PYTHONUNBUFFERED=1``, as in many containers and CI) each is a
    write of its own to the file: the ranks of a distributed run that say
    their lines at once into the launcher's one stderr (torchrun's) ran
    them together now and then, the newlines after both. One write of a
    line under the pipe's atomic size (4096 bytes on Linux) is not
    split."""
    (stream or sys.stderr).write(line + '\n')


def run_cli(main: Callable[[Optional[Sequence[str]]], Optional[int]],
            argv: Optional[Sequence[str]] = None,
            memory_line: bool = True,
            freeze_start_up: bool = False) -> int:
    """Run ``main(argv)``; turn an :class:`InputError` into one stderr line.

    Args:
        main: the script's entry point; returns an exit code or None.
        argv: arguments without the program name (None: ``sys.argv[1:]``).
        memory_line: a failed allocation is the one line (a count given
            far beyond the machine); False keeps its traceback (training:
            where it ran out of memory is what to read).
        freeze_start_up: the start-up's full collections freeze what the
            imports leave, up to the work's start
            (:func:`freeze_imports_once_collected`): for the commands whose
            work begins where :func:`work_begins` is called (a training
            run's runner, an extraction's or a kNN evaluation's model:
            ``tools/train.py``, ``tools/balance_sweep.py``,
            ``tools/knn_eval.py``, ``wsi_workdir/extract.py``), each in its
            own process; not for a call from a test or a notebook.

    An InputError's line that names ``--cfg-options`` ends with how the
    script running the command takes them, where one says so
    (:func:`cfg_options_here`).

    The process's exit then skips the collector's walks over the heap
    (:func:`freeze_heap_at_exit`). An InputError that carries
    :data:`AFTER_SAID` has it called with the exit status once its line
    is printed and stdout and stderr flushed (a distributed run's rank
    waits there for its peers to say theirs, then exits).

    Returns:
        int: the exit code: ``main``'s, 0 for None, 2 for an InputError
        or (``memory_line``) a MemoryError (one line: the allocation that
        failed), 130 for Ctrl-C, 143 for a :class:`Terminated` (128 +
        SIGTERM, what a shell reports for a process SIGTERM ended).
    """
    freeze_heap_at_exit()
    if freeze_start_up:
        freeze_imports_once_collected()
    _SAYING_LINES.append(True)
    try:
        code = main(argv)
    except InputError as exc:
        line = one_line(exc)
        say(f'error: {line}{cfg_options_here(line)}')
        then = getattr(exc, AFTER_SAID, None)
        if then is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            then(2)
        return 2
    except KeyboardInterrupt as exc:
        return _stopped(exc)
    except Exception as exc:
        stop = interruption(exc)
        if stop is None:
            why = _out_of_memory(exc) if memory_line else None
            if why is None:
                raise
            # a count or size far beyond the machine (--num_task
            # 1000000000, --num_aug_shots 30000000) was numpy's or torch's
            # allocation traceback; nothing is written before the work ends
            say(f'error: out of memory ({why}); give smaller counts or '
                'sizes')
            return 2
        # a library's bare ``except:`` turned Ctrl-C into another error
        # (MMEngine's config formatting raises SyntaxError)
        return _stopped(stop)
    finally:
        _SAYING_LINES.pop()
    return 0 if code is None else int(code)


#: one entry per :func:`run_cli` running in this process
_SAYING_LINES: List[bool] = []

#: the attribute of an :class:`InputError` that holds what :func:`run_cli`
#: calls with the exit status once the error's line is printed and flushed
#: (a distributed run's ranks wait there for each other to say theirs:
#: :func:`~openselfsup.engine.runner.ends_its_process_group`)
AFTER_SAID = 'after_said'


def says_lines() -> bool:
    """Whether a :func:`run_cli` of this process prints the line of an
    :class:`InputError` raised now, and calls its :data:`AFTER_SAID`."""
    return bool(_SAYING_LINES)


#: whether :func:`freeze_heap_at_exit` has registered its exit handler
_HEAP_FROZEN_AT_EXIT = [False]


def freeze_heap_at_exit() -> None:
    """At this process's exit, freeze its heap (``gc.freeze``), so that
    the interpreter's shutdown no longer walks it: with torch, MMEngine
    and mmpretrain loaded (some 400,000 objects), the shutdown's
    collections, the last one over every module set to None, took 1 to
    3 s after a command's last line (up to 9 s on a loaded machine).
    Registered once, an ``atexit`` handler; the handlers registered
    earlier run after it as before: logging's flush and close of the log
    files, ``weakref.finalize`` (the runner's DataLoader shut-down),
    multiprocessing's worker clean-up. Nothing changes while the process
    runs (a test that calls :func:`run_cli` in its own process keeps its
    collector), and the exit status is the same. What is left is freed
    by the operating system, as after ``os._exit``, without its skipping
    of the flush and the exit handlers. Not collected first: that walk
    cost 1 to 2 s of the 2 to 3 s saved, and found no object with a
    finaliser (``__del__``) after a training or an extraction (1611 and
    66 objects); such a finaliser is not promised at exit (Python's
    data model), and the project's clean-ups are exit handlers. What that
    gives up (review r125): an object still in a reference cycle at exit
    (one a module global holds too, collected only by the shutdown) no
    longer has its ``__del__`` run, so a progress bar or a temporary file
    held in such a cycle is not closed or removed at exit; the project's
    bars are closed by reference counting or in ``finally``."""
    if not _HEAP_FROZEN_AT_EXIT[0]:
        _HEAP_FROZEN_AT_EXIT[0] = True
        atexit.register(gc.freeze)


def freeze_imports_once_collected() -> None:
    """From now on in this process, up to :func:`work_begins`, a full
    collection (generation 2) that runs inside an import freezes the
    objects that survived it (``gc.freeze``), so that later collections
    no longer walk them. A command's start-up imports torch, MMEngine and
    mmpretrain (some 400,000 objects, 3,500 modules): the collector's full
    collections as the imports grew the heap, each walking all of it,
    took about 2 s of CPU of a tiny ``tools/train.py`` run (of 10 to 12 s)
    on a loaded 2-core machine, and MMEngine's ``gc.collect()`` at each
    dataset it builds (``BaseDataset._serialize_data``) walked it again
    (timed by a ``gc.callbacks`` entry: 2.2 to 3.4 s in all, 0.27 to
    0.31 s with the freeze). A collection outside an import freezes
    nothing: the objects a command makes and drops in reference cycles
    stay collectable as before; an import while the work runs (a lazy
    one) freezes nothing once the work has begun. What is given up: an
    object alive at such a collection that later ends in a reference
    cycle is not freed before the exit (a module's objects are kept for
    the process's life anyway). Registered once, a ``gc.callbacks``
    entry, taken out at the exit (the shutdown's collections run with no
    frame); only :func:`run_cli` calls it, for the commands whose work
    begins where :func:`work_begins` is called (``freeze_start_up``):
    a command that never reached it would freeze at its work's lazy
    imports too (review r208: a cycle holding a 200 MB tensor, alive at
    such a collection, was never freed)."""
    if _freeze_after_imports not in gc.callbacks:
        gc.callbacks.append(_freeze_after_imports)
        atexit.register(work_begins)


def work_begins() -> None:
    """A command's start-up is over, its work (a training run's runner,
    with its model, its wrapper and its process group) begins: the start-
    up's objects are frozen one last time and no collection freezes
    anything after (:func:`freeze_imports_once_collected`), so that what
    the work makes in reference cycles (a runner, a DDP wrapper that holds
    the process group: :func:`~openselfsup.engine.runner.ends_its_process_group`
    collects it) is collected as before. Called where a run's runner is
    built (``train()``) and where extraction (a config's model or a
    library's, ``--model-source``) and the kNN evaluation build a model.
    Nothing where the freezing was never registered (a test's or
    a notebook's process)."""
    if _freeze_after_imports in gc.callbacks:
        gc.callbacks.remove(_freeze_after_imports)
        gc.freeze()


def _freeze_after_imports(phase: str, info: dict) -> None:
    """The ``gc.callbacks`` entry of :func:`freeze_imports_once_collected`:
    after a full collection run inside an import (a frame of importlib's
    ``_find_and_load`` below), freeze."""
    if phase != 'stop' or info['generation'] != 2:
        return
    frame = sys._getframe().f_back  # None at the shutdown
    while frame is not None:
        code = frame.f_code
        if code.co_name == '_find_and_load' and \
                code.co_filename == '<frozen importlib._bootstrap>':
            gc.freeze()
            return
        frame = frame.f_back


def _out_of_memory(exc: BaseException) -> Optional[str]:
    """The failed allocation ``exc`` reports, if it is one: numpy's
    ``MemoryError``, torch's ``OutOfMemoryError`` (CUDA) or its CPU
    allocator's ``RuntimeError`` (``DefaultCPUAllocator: can't allocate
    memory: you tried to allocate N bytes``); else None."""
    text = one_line(exc)
    if isinstance(exc, MemoryError):
        return text
    # torch.OutOfMemoryError (a RuntimeError: a CUDA allocation), known by
    # name: this module does not import torch
    if isinstance(exc, RuntimeError) and \
            type(exc).__name__ == 'OutOfMemoryError':
        # 'CUDA out of memory. Tried to allocate X. GPU 0 has a total
        # capacity of Y of which Z is free.', then (one line too) the
        # allocator's figures and advice on fragmentation
        return '. '.join(first_line(exc).split('. ')[:3]).rstrip('.')
    if isinstance(exc, RuntimeError) and "can't allocate memory" in text:
        return text[text.find('DefaultCPUAllocator'):] \
            if 'DefaultCPUAllocator' in text else text
    return None


def note_interruption(exc: BaseException, note: str) -> None:
    """Add ``note`` (what was left unfinished, how to continue) to the
    Ctrl-C (or :class:`Terminated`) ``exc`` is or was raised while
    handling: :func:`run_cli` prints it on the ``interrupted`` line.
    Nothing for another exception."""
    stop = interruption(exc)
    if stop is not None:
        stop.add_note(note)


def _stopped(stop: KeyboardInterrupt) -> int:
    """Report a Ctrl-C or a :class:`Terminated` as one line, with the
    notes added to it (:func:`note_interruption`); the exit code.
    """
    notes = '; '.join(getattr(stop, '__notes__', ()))
    notes = f': {notes}' if notes else ''
    if isinstance(stop, Terminated):
        # torchrun's SIGTERM (to the process group) and Slurm's (to every
        # process) end the DataLoader workers too: torch's SIGCHLD handler
        # would print each death as a traceback while this process exits
        if hasattr(signal, 'SIGCHLD') and \
                threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        say('terminated (SIGTERM)' + notes)
        return 128 + signal.SIGTERM
    say('interrupted' + notes)
    return 130


def interruption(exc: BaseException) -> Optional[KeyboardInterrupt]:
    """The Ctrl-C (or :class:`Terminated`) ``exc`` is or was raised while
    handling, else None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
