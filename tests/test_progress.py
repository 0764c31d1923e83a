"""Progress bars: tqdm's own on a terminal, whole lines at a slow rate in a
log (the scripts run piped to ``tee``)."""
import io

import pytest
import torch


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    """tqdm's clock, moved by hand: ``clock[0] += seconds``."""
    import tqdm.std
    now = [1000.0]
    monkeypatch.setattr(tqdm.std, 'time', lambda: now[0])
    return now


def _lines(text):
    assert '\r' not in text and '\x1b' not in text
    assert text == '' or text.endswith('\n')
    return text.splitlines()


@pytest.mark.parametrize('leave', [True, False])
def test_log_gets_a_line_per_interval_and_one_at_the_end(clock, leave):
    from openselfsup.utils.progress import LOG_INTERVAL, progress_bar
    out = io.StringIO()
    for _ in progress_bar(range(100), desc='work', unit='img', file=out,
                          leave=leave):
        clock[0] += 1.0  # 100 s in all: 30, 60, 90 s, then the end
    lines = _lines(out.getvalue())
    assert LOG_INTERVAL == 30
    assert [line.split('|')[2].split()[0] for line in lines] == \
        ['30/100', '60/100', '90/100', '100/100']
    assert all(line.startswith('work: ') for line in lines)
    assert lines[-1].endswith('[01:40<00:00,  1.00img/s]')


def test_short_run_adds_one_line_and_manual_updates_no_repeat(clock):
    from openselfsup.utils.progress import progress_bar
    out = io.StringIO()
    for _ in progress_bar(range(1000), desc='fast', file=out, leave=False):
        clock[0] += 0.001
    assert len(_lines(out.getvalue())) == 1
    out = io.StringIO()
    bar = progress_bar(total=4, desc='chunks', file=out)
    for _ in range(4):
        clock[0] += 20.0  # lines at 40 and 80 s; close says nothing new
        bar.update()
    bar.close()
    assert [line.split('|')[2].split()[0]
            for line in _lines(out.getvalue())] == ['2/4', '4/4']


def _stopped_at_49(clock, iterable, **kwargs):
    """The log of a bar over ``iterable`` (a second per item) that an error
    stops at its 50th item."""
    from openselfsup.utils.progress import progress_bar
    out = io.StringIO()
    with pytest.raises(RuntimeError):
        for i in progress_bar(iterable, file=out, **kwargs):
            clock[0] += 1.0
            if i == 49:
                raise RuntimeError('stop')
    return _lines(out.getvalue())


def test_bar_stopped_short_adds_no_last_line(clock):
    from openselfsup.utils.progress import progress_bar
    assert [line.split('|')[2].split()[0] for line in _stopped_at_49(
        clock, range(100), desc='work')] == ['30/100']
    out = io.StringIO()
    bar = progress_bar(total=5, desc='chunks', file=out)
    bar.update(2)
    bar.close()  # as meta-test's ``finally`` closes it on an error
    assert out.getvalue() == ''  # no line for 2 of 5


def test_bar_of_unknown_length_stopped_short_adds_no_last_line(clock):
    """An iterable without a length (no ``total``): n < total could not
    tell a bar stopped short, which wrote its last line before the error
    (a refusal then followed a line saying the work was done). Its end is
    the iterable's: a break or an error adds none, the end one."""
    from openselfsup.utils.progress import progress_bar

    def items(n):
        yield from range(n)
    assert [line.split()[1] for line in _stopped_at_49(
        clock, items(100), desc='g')] == ['30it']
    out = io.StringIO()
    for i in progress_bar(items(10), desc='g', file=out):
        if i == 3:
            break
    assert out.getvalue() == ''
    bar = progress_bar(items(3), desc='g', file=out)
    assert list(bar) == [0, 1, 2]
    assert [line.split()[1] for line in _lines(out.getvalue())] == ['3it']
    # a bar iterated again walks its iterable again, as tqdm's does
    bar = progress_bar(['a', 'b'], file=out)
    assert list(bar) == list(bar) == ['a', 'b']


def test_disable_and_tqdm_write_keep_the_log_clean(clock):
    import tqdm
    from openselfsup.utils.progress import progress_bar
    out = io.StringIO()
    assert list(progress_bar(range(3), file=out, disable=True)) == [0, 1, 2]
    # None: tqdm's "not on a terminal", as open_clip's text bar asks
    assert list(progress_bar(range(3), file=out, disable=None)) == [0, 1, 2]
    assert out.getvalue() == ''
    bar = progress_bar(total=2, desc='w', file=out)
    tqdm.tqdm.write('a message', file=out)  # clears the bars it knows
    bar.update(2)
    bar.close()
    assert _lines(out.getvalue()) == ['a message', 'w: 100%|' + '#' * 10 +
                                      '| 2/2 [00:00<?, ?it/s]']


def test_postfix_and_description_wait_for_the_interval(clock):
    """set_postfix / set_description refresh at once by default: in a log
    they wait for the next line, as an update does."""
    import tqdm
    from openselfsup.utils.progress import progress_bar
    out = io.StringIO()
    bar = progress_bar(total=100, desc='fit', file=out)
    for i in range(100):
        clock[0] += 1.0  # lines at 30, 60, 90 s (the refresh before the
        # update writes them) and the end
        bar.set_postfix(loss=f'{i:.1f}')
        bar.set_description(f'fit {i // 50}')
        if i == 70:  # a message after the interval: the bar's next line
            tqdm.tqdm.write('note', file=out)
        bar.update()
    bar.close()
    lines = _lines(out.getvalue())
    assert [line.split(':')[0] for line in lines] == \
        ['fit 0', 'fit 1', 'note', 'fit 1', 'fit 1']
    assert [line.split('|')[2].split()[0] for line in lines
            if line != 'note'] == ['29/100', '59/100', '89/100', '100/100']
    assert 'loss=29.0' in lines[0] and 'loss=99.0' in lines[-1]


class OutStream(io.StringIO):
    """As ipykernel.iostream.OutStream, a Jupyter cell's output: not a
    terminal by isatty, yet a notebook draws tqdm's redraws in place."""

    def isatty(self):
        return False


OutStream.__module__ = 'ipykernel.iostream'


@pytest.mark.parametrize('stream', [Terminal, OutStream])
@pytest.mark.parametrize('leave', [True, False])
def test_terminal_and_jupyter_get_tqdms_own_bar(clock, stream, leave):
    from tqdm import tqdm

    from openselfsup.utils.progress import progress_bar
    got, want = stream(), Terminal()
    start = clock[0]
    for _ in progress_bar(range(5), desc='t', file=got, leave=leave):
        clock[0] += 0.5
    clock[0] = start
    for _ in tqdm(range(5), desc='t', file=want, leave=leave):
        clock[0] += 0.5
    assert got.getvalue() == want.getvalue()
    assert got.getvalue().count('\r') >= 6  # one redraw per item


def _err_lines(capsys):
    err = capsys.readouterr().err  # pytest's stderr: not a terminal
    return _lines(err)


# -- the library's bars, run as a piped script runs them ---------------------
def test_feature_extraction_logs_one_line(capsys):
    from openselfsup.models.extraction import compute_features

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 3)

        def data_preprocessor(self, batch, training):
            return batch

        def extract_feat(self, x):
            return (self.fc(x),)

    loader = [{'inputs': torch.ones(2, 2), 'data_samples': []}] * 5
    feats, _ = compute_features(Tiny(), loader, progress=True,
                                desc='extract', with_labels=False)
    assert feats.shape == (10, 3)
    lines = _err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith('extract: 100%')
    compute_features(Tiny(), loader, progress=False, with_labels=False)
    assert _err_lines(capsys) == []


def test_meta_test_logs_one_line(tmp_path, capsys):
    from lowshot_data import make_workdir
    from openselfsup.lowshot.meta_test import Inputs, evaluate
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    wd = make_workdir(str(tmp_path / 'w'), dim=8)
    spec = RunSpec('clp', 'near', 1, clf='nearest_centroid', num_task=6)
    generate_task_store(wd, spec.tasks)
    capsys.readouterr()
    assert evaluate(Inputs(wd), spec, chunk_size=2,
                    progress=True)['num_task'] == 6
    lines = _err_lines(capsys)
    assert len(lines) == 1 and '3/3' in lines[0], lines


def test_synthetic_data_logs_a_line_per_set(tmp_path, capsys):
    from openselfsup.datasets.synthetic import SyntheticSpec, make_synthetic
    make_synthetic(str(tmp_path / 'd'), SyntheticSpec(
        size=8, nct_train=1, nct_test=1, lc=1, paip_train_slides=1,
        paip_test_slides=1, paip_per_class=1, seed=0))
    lines = _err_lines(capsys)
    assert 1 <= len(lines) <= 3 and all('100%' in line for line in lines)
