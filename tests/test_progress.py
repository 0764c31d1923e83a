"""Progress bars: tqdm's own on a terminal, whole lines at a slow rate in a
log (the scripts run piped to ``tee``)."""
import io

import pytest


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


@pytest.mark.parametrize('leave', [True, False])
def test_terminal_gets_tqdms_own_bar(clock, leave):
    from tqdm import tqdm

    from openselfsup.utils.progress import progress_bar
    got, want = Terminal(), Terminal()
    start = clock[0]
    for _ in progress_bar(range(5), desc='t', file=got, leave=leave):
        clock[0] += 0.5
    clock[0] = start
    for _ in tqdm(range(5), desc='t', file=want, leave=leave):
        clock[0] += 0.5
    assert got.getvalue() == want.getvalue()
    assert got.getvalue().count('\r') >= 6  # one redraw per item
