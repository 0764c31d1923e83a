"""utils.log_filters.warnings_left_out: a filter of its own, taken out
alone."""
import warnings

from openselfsup.utils.log_filters import warnings_left_out

MESSAGE = 'a test warning of 3 items'
PATTERN = r'a test warning of \d+ items'


def _shown() -> int:
    """How many times :data:`MESSAGE` is shown when warned once under the
    filters in force."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.warn(MESSAGE, UserWarning)
    return len([w for w in seen if str(w.message) == MESSAGE])


def test_nested_calls_of_one_pattern_each_take_out_their_own():
    """Two calls of one pattern, one inside the other: the inner one's
    end took the outer one's filter out too (``filterwarnings`` had
    removed the equal outer filter when the inner one was set), and the
    rest of the outer body showed the warning."""
    with warnings.catch_warnings():
        warnings.simplefilter('always')
        before = list(warnings.filters)
        assert _shown() == 1
        with warnings_left_out(PATTERN, UserWarning):
            with warnings_left_out(PATTERN, UserWarning):
                assert _shown() == 0
            assert _shown() == 0
        assert _shown() == 1
        assert warnings.filters == before


def test_an_equal_filter_set_before_is_left_in_place():
    """A user's filter equal to the call's (set before it) was removed by
    ``filterwarnings`` as the call set its own, and the warning it left
    out was shown after the call."""
    with warnings.catch_warnings():
        warnings.simplefilter('always')
        warnings.filterwarnings('ignore', message=PATTERN,
                                category=UserWarning)
        before = list(warnings.filters)
        with warnings_left_out(PATTERN, UserWarning):
            assert _shown() == 0
        assert warnings.filters == before
        assert _shown() == 0


def test_filters_set_in_the_body_stay_and_a_raising_body_cleans_up():
    """Only the call's filter is taken out: one set in the body (a
    library's, as it is imported) stays; a body that raises takes the
    filter out too."""
    with warnings.catch_warnings():
        warnings.simplefilter('always')
        with warnings_left_out(PATTERN, UserWarning):
            warnings.filterwarnings('ignore', message='other')
        assert warnings.filters[0][1].pattern == 'other'
        assert _shown() == 1
        before = list(warnings.filters)
        try:
            with warnings_left_out(PATTERN, UserWarning):
                raise RuntimeError('body')
        except RuntimeError:
            pass
        assert warnings.filters == before and _shown() == 1


def test_a_filter_added_just_after_the_calls_own_is_not_taken_for_it(
        monkeypatch):
    """The call took ``warnings.filters[0]`` after setting its filter as
    its own: a filter another thread added between the two (simulated
    here by a ``filterwarnings`` that adds one more after its own) was
    removed at the end in its place, and the call's filter stayed for
    the rest of the process."""
    from openselfsup.utils import log_filters
    real = warnings.filterwarnings

    def and_another_thread(*args, **kwargs):
        real(*args, **kwargs)
        real('ignore', message='a thread of its own')

    with warnings.catch_warnings():
        warnings.simplefilter('always')
        monkeypatch.setattr(log_filters.warnings, 'filterwarnings',
                            and_another_thread)
        with warnings_left_out(PATTERN, UserWarning):
            assert _shown() == 0
        monkeypatch.undo()
        patterns = [getattr(f[1], 'pattern', None) for f in warnings.filters]
        assert 'a thread of its own' in patterns
        assert not any(p and 'left out' in p for p in patterns)
        assert _shown() == 1
