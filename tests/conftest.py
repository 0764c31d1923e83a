"""Shared fixtures: small synthetic datasets written once per test session."""
import gc
import logging
import os
import signal
import subprocess
import sys

import pytest

# The tools the tests start as processes (train.py, extract.py, the
# sweeps) run torch on its default threads; their OpenMP threads sleep
# while they wait, as tools/quickstart.sh has them (a spinning thread
# takes the core its partner needs on 2 shared cores: benchmarks/
# RESULTS.md, the quick start's profile). Set before torch loads, for
# this process too; a value set by the caller is kept. No result depends
# on it (the same threads split the same work:
# tests/test_quickstart_omp.py).
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
import torch  # noqa: E402

# One intra-op thread for the whole session. The models the tests run are
# tiny (widths of 8 to 32, 32-px images): a second thread costs more to wake
# than it saves, and far more where another job shares the 2 cores (an
# extraction test of 4 sets ran 160 s with 2 threads beside other work, its
# forward passes ~40 ms a convolution; a 16-convolution stack measured 510
# to 790 ms a pass with 2 threads, 14 to 35 ms with one, in one process).
# Tests that compare runs bit for bit make them all under this one count;
# code that picks its own count (the low-shot --threads) sets it itself.
torch.set_num_threads(1)

# yapf's formatting of config texts skipped, its parse kept
# (tests/_config_text.py: a tenth of the suite's CPU time)
import mmengine.config.config  # noqa: E402
from _config_text import PARSE_ONLY  # noqa: E402
_FORMAT_CODE = mmengine.config.config.FormatCode  # yapf's own
exec(PARSE_ONLY)


@pytest.fixture
def yapf_formatted_configs(monkeypatch):
    """yapf's formatting of config texts back, for a test that edits a
    config text as yapf lays it out (``tests/_config_text.py``)."""
    monkeypatch.setattr(mmengine.config.config, 'FormatCode',
                        _FORMAT_CODE)


@pytest.fixture(autouse=True, scope='module')
def _blas_on_one_thread():
    """The BLAS libraries loaded when a module starts (NumPy's, and
    SciPy's where it is imported by then) on one thread too, for the
    reason above:
    the references the tests compute (scikit-learn, scipy's L-BFGS-B on
    5-way tasks) call BLAS on vectors of a few hundred numbers, where a
    second OpenBLAS thread spins for the core another job holds (scipy's
    L-BFGS-B of a 325-variable problem: 0.43 s with 2 threads beside other
    work, 0.02 s with one; 47 s of one classifier test's 65). Entered at
    each module's start, after its imports, so it reaches every BLAS
    loaded by then (one first loaded inside a test keeps its threads:
    in a whole run every module is imported before the first test);
    subprocesses are left as users run them."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api='blas'):
        yield


@pytest.fixture(autouse=True, scope='module')
def _earlier_objects_out_of_the_collectors_sight():
    """MMEngine's datasets run ``gc.collect()`` at every build (before they
    serialise their data list); over a session the objects alive (imports,
    session fixtures, caches) made each call take about 0.4 s, some 14 s
    in one kNN test. At each module's start the garbage so far is collected
    and what is left is frozen (``gc.freeze``): the collector then looks
    only at the objects made since, and this module's garbage is collected
    as before."""
    _collect_and_freeze()
    yield


#: ``len(sys.modules)`` at the last freeze
_MODULES_AT_FREEZE = [0]


def _collect_and_freeze():
    gc.collect()
    gc.freeze()
    _MODULES_AT_FREEZE[0] = len(sys.modules)


@pytest.fixture(autouse=True)
def _new_imports_out_of_the_collectors_sight():
    """The same after a test that imported modules: most tests import the
    model stack inside their body (some 250,000 objects for
    ``openselfsup.apis`` with MMEngine and mmpretrain), after the
    module's freeze, and every later ``gc.collect()`` of the module's
    runner builds went through them again (about 0.8 s a call on the
    shared 2-core machine; 7 calls in 4 tests of test_foundation_train).
    A test that imported nothing new costs one length comparison."""
    yield
    if len(sys.modules) != _MODULES_AT_FREEZE[0]:
        _collect_and_freeze()


@pytest.fixture(autouse=True)
def _sigterm_as_a_new_process_has_it():
    """A runner built and never trained sets SIGTERM's handler (it raises
    until the run starts: ``utils.terminate_raises``) and gives the
    default action back when it is collected; dropped, it lives in
    reference cycles (MMEngine's objects, a ``pytest.raises``' traceback
    holding its frame) until the collector runs, and the tests after it
    met its handler (``test_a_failed_process_ends_the_launch_in_one_line``
    after ``test_check_config_refuses_a_cut_short_legacy_file_as_the_run``
    found it where it asserted the default action). After a test that
    leaves one of these handlers set, what it dropped is collected: the
    next test starts with the default action, as a process does. A test
    that left none costs one look at the handler."""
    yield
    if hasattr(signal.getsignal(signal.SIGTERM), 'terminate_callers'):
        gc.collect()


@pytest.fixture(autouse=True)
def _no_loader_workers_left_to_the_next_forks():
    """A test that left a data loader's workers running (a persistent
    iterator in a reference cycle: a runner's evaluation loaders, MMEngine's
    own Runner's training one) had them copied, with the iterator, into
    every process a later test forked (its loader's workers, a
    ``multiprocessing`` child), whose collector ran the old iterator's
    shut-down there: torch's 'can only test a child process', and in a
    worker importing numpy.random its end (KeyError in importlib's module
    lock; ``tests/test_batch_ring.py``, 1 run in 4 beside a busy process).
    After a test that leaves a child process running, what it dropped is
    collected (the iterators' finalisers end their workers), as the next
    test, a fresh process, would find it. A test that left none costs one
    look at this process's children (under a microsecond; a collection
    after every test took 3.5 ms a test on average, 244 ms at most, over
    690 tests of 6 files under ``-n 2``: some 12 s of CPU for the suite's
    3,466)."""
    yield
    import multiprocessing
    if multiprocessing.active_children():
        gc.collect()


class _Stdout:
    """``sys.stdout`` as it is at each write (the capture of the test
    running then)."""
    closed = False

    def write(self, text):
        return sys.stdout.write(text)

    def flush(self):
        sys.stdout.flush()


_STDOUT = _Stdout()


@pytest.fixture(autouse=True)
def _mmengine_loggers_write_to_the_running_tests_stdout():
    """MMEngine's loggers write to the ``sys.stdout`` of when they were
    made (``MMLogger``'s console handler), and the current one (the last
    made: a run's) is the one MMEngine and the library log to
    (``logger='current'``). One a test made wrote, in the tests after it,
    to that test's capture: under ``capsys`` a stream closed when the test
    ended, and each later warning to it was lost with a '--- Logging
    error ---' traceback on stderr (``ValueError: I/O operation on closed
    file``) among what the later test captured; made under the session's
    capture, the later test's ``capfd`` / ``capsys`` did not see it. After
    each test, the console handlers of MMEngine's loggers write to the
    ``sys.stdout`` of the test that runs, as a logger made in it would
    (``tests/test_isolation.py``)."""
    yield
    mmengine_logging = sys.modules.get('mmengine.logging')
    if mmengine_logging is None:
        return
    for logger in list(mmengine_logging.MMLogger._instance_dict.values()):
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and \
                    handler.stream is not _STDOUT:
                handler.stream = _STDOUT  # setStream flushes the old one


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _repo_files():
    """``{path: (mtime_ns, size)}`` of every file in the checkout that git
    lists as untracked or ignored (where runs write; ``__pycache__`` and
    pytest's cache left out; not the tracked files, which a developer
    may edit while the tests run), or None where the tests do not run in
    a git checkout. One ``git status``: some 0.1 s."""
    try:
        out = subprocess.run(
            ['git', '-C', REPO, 'status', '--porcelain', '-z',
             '--ignored=traditional', '--untracked-files=all'],
            capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    files, entries = {}, iter(os.fsdecode(out.stdout).split('\0'))
    for entry in entries:
        if not entry:
            continue
        if entry[0] in 'RC':
            next(entries, None)  # the rename's source
        path = entry[3:]
        if entry[:2] in ('??', '!!') and '__pycache__/' not in path and \
                not path.startswith('.pytest_cache/'):
            files[path] = _stat(path)
    return files


def _stat(path):
    try:
        st = os.lstat(os.path.join(REPO, path))
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@pytest.fixture(autouse=True, scope='session')
def _nothing_written_into_the_checkout():
    """The tests run from the repository root, where a user's own runs
    live (``work_dirs/<config>``, ``wsi_workdir/workdir``): a test that
    writes there (or into any other path of the checkout) can meet, and
    change, what the user left. Fails the session when a file of the
    checkout appeared, changed or went during it; outputs belong in
    ``tmp_path``. A file that only left git's list unchanged (committed
    meanwhile) is no change."""
    before = _repo_files()
    yield
    if before is None:
        return
    after = _repo_files() or {}
    changed = sorted(p for p in set(before) | set(after)
                     if p not in before or before[p] != after.get(
                         p, _stat(p)))
    if changed:
        pytest.fail(
            f'the tests wrote into the checkout {REPO} (write under '
            f'tmp_path instead): {len(changed)} path(s) appeared, changed '
            f'or went: ' + ', '.join(changed[:10])
            + (' ...' if len(changed) > 10 else ''), pytrace=False)


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """NCT / LC25000 / PAIP19 in the real layouts, 32 px, a few images each."""
    from openselfsup.datasets.synthetic import SyntheticSpec, make_synthetic
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic(str(root), SyntheticSpec(
        size=32, nct_train=12, nct_test=6, lc=8, paip_train_slides=2,
        paip_test_slides=1, paip_per_class=4, seed=0))
    return str(root)


#: the words of the tiny BERT's vocabulary (one token each)
TINY_WORDS = ('a', 'photo', 'of', 'dense', 'cells', 'and', 'more')


@pytest.fixture(scope='session')
def tiny_bert(tmp_path_factory):
    """A local Hugging Face folder of a random 1-layer BERT of width 8 with
    a word-level vocabulary (made here: nothing is downloaded), readable
    by HFMeanPoolText and, as a plain transformer with mean pooling, by
    SentenceTransformerText."""
    transformers = pytest.importorskip('transformers')
    path = tmp_path_factory.mktemp('tiny_bert')
    vocab = path / 'vocab.txt'
    vocab.write_text('\n'.join(('[PAD]', '[UNK]', '[CLS]', '[SEP]',
                                '[MASK]') + TINY_WORDS) + '\n')
    transformers.BertTokenizer(str(vocab)).save_pretrained(str(path))
    with torch.random.fork_rng():  # the other tests' draws untouched
        torch.manual_seed(0)
        transformers.BertModel(transformers.BertConfig(
            vocab_size=5 + len(TINY_WORDS), hidden_size=8,
            num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=64)).save_pretrained(str(path))
    return str(path)
