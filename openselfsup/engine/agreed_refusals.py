"""A refusal that one rank of a distributed run makes, told to the others.

Once the process group is up, each rank runs some checks of its own: the
files it reads (a checkpoint, a list) may be another node's copy, or not
there at all on its node. A rank that refused (an :class:`InputError`)
exited with its line, while the others went on to the next collective and
waited there for it: gloo's ``Connection closed by peer [addr]:port``
traceback on each, printed after (or instead of, on another machine) the
refusal that caused it.

:func:`refusals_agreed` wraps such checks: every rank reports, through one
all-reduce, whether it refused, before any rank raises (where one did, a
second collective gathers the lines), so the ranks that did not refuse
learn it from the collectives (never from a collective's error: a crash, a
peer killed, a network reset stay torch's errors) and raise one line of
their own that names the refusing rank and quotes its line.
"""
import hashlib
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Tuple

from ..utils import InputError
from ..utils.errors import one_line


def _world_size() -> int:
    """The process group's size; 1 without a group (one process)."""
    from mmengine.dist import get_world_size, is_distributed
    return get_world_size() if is_distributed() else 1


def peer_refusal_line(refused: List[Tuple[int, str]]) -> str:
    """The line of a rank that did not refuse, where the ranks of
    ``refused`` (``(rank, its line)``, by rank) did: the first one's rank
    and line, quoted (it may have been printed on another machine), and
    how many more refused."""
    rank, line = refused[0]
    more = len(refused) - 1
    more = f' ({more} more rank{"s" if more > 1 else ""} refused it ' \
        'too)' if more else ''
    return f'rank {rank} refused this run{more}: {line}'


def _digest(value: Any) -> int:
    """``value`` (its ``repr``) as a number of 60 bits (its negation fits
    an int64)."""
    return int(hashlib.sha1(repr(value).encode()).hexdigest()[:15], 16)


#: :meth:`RefusalAgreement.agree_on`'s ``compared`` not given: the value
_WHOLE = object()


class RefusalAgreement:
    """The agreement of :func:`refusals_agreed`; :meth:`settle` is one
    round of it."""

    def __init__(self) -> None:
        self._value: Any = None
        self._compared: Any = None
        self._differ: Optional[Callable[[List[Any]], str]] = None

    def agree_on(self, value: Any, differ: Callable[[List[Any]], str],
                 compared: Any = _WHOLE) -> None:
        """A choice each rank made alone (``value``: the checkpoint it
        resumes and what tells its file from another; a value that
        pickles) that every rank must have made alike: carried (the
        digest of ``compared``, by default ``value`` itself: a part of it
        where the rest may differ, a ``load_from``'s file's facts and not
        its path; its ``repr`` the same on every rank for the same
        choice) through the next rounds of :meth:`settle`; where the
        ranks' ``compared`` differ, every rank refuses, in the line
        ``differ`` words from every rank's ``value`` (by rank): every
        rank must give the same ``differ``."""
        self._value, self._differ = value, differ
        self._compared = value if compared is _WHOLE else compared

    def digest(self) -> int:
        """The digest this rank carries through :meth:`settle`'s rounds:
        of what it agrees on (:meth:`agree_on`'s ``compared``)."""
        return _digest(self._compared)

    def settle(self, line: Optional[str] = None) -> None:
        """One round of the agreement: every rank of the process group
        calls it at the same point of its checks, or, having refused
        (``line``, its refusal's line), where it refused. The round is one
        all-reduce (MAX) of a flag and the digest of what is agreed on
        (:meth:`agree_on`, :meth:`digest`) and its negation; only where a
        rank refused are the lines gathered, only where the digests differ
        the values. Nothing without a group of several processes.

        Raises:
            InputError: a rank that did not refuse (``line`` None) where
                another one did (:func:`peer_refusal_line`), or every rank
                where the values agreed on differ (their ``differ`` line),
                marked as agreed (:func:`is_agreed_refusal`).
        """
        if _world_size() == 1:
            return
        import torch
        from mmengine.dist import all_gather_object, all_reduce
        digest = self.digest()
        flags = torch.tensor([int(line is not None), digest, -digest],
                             dtype=torch.int64)
        all_reduce(flags, op='max')
        refused, highest, lowest = flags.tolist()
        if refused:
            lines = all_gather_object(line)
            if line is None:
                raise mark_agreed(InputError(peer_refusal_line(
                    [(r, ln) for r, ln in enumerate(lines)
                     if ln is not None])))
            return
        if highest != -lowest:
            values = all_gather_object(self._value)
            raise mark_agreed(InputError(self._differ(values)))


def mark_agreed(exc: BaseException) -> BaseException:
    """``exc`` marked as a refusal every rank knows of."""
    exc.agreed_refusal = True
    return exc


def agreed_as(new: BaseException, old: BaseException) -> BaseException:
    """``new``, raised in place of ``old`` (its line reworded), marked as
    agreed where ``old`` was (:func:`is_agreed_refusal`)."""
    return mark_agreed(new) if is_agreed_refusal(old) else new


def is_agreed_refusal(exc: Optional[BaseException]) -> bool:
    """Whether ``exc`` is a refusal that :func:`refusals_agreed` told
    every rank of: each rank raises one, and none waits in a collective
    for another (:func:`~openselfsup.engine.runner.ends_its_process_group`
    lets them all say their lines before any exits)."""
    return getattr(exc, 'agreed_refusal', False) is True


@contextmanager
def refusals_agreed() -> Iterator[RefusalAgreement]:
    """Around per-rank checks of a distributed run that hold no other
    collective (each :meth:`RefusalAgreement.settle` the body calls is a
    round of this one; a rank refusing before another collective of the
    body would wait in the round while its peers wait in that collective,
    until the group's timeout): an :class:`InputError` raised inside on
    some ranks is said by every rank, the refusing ranks their own line,
    the others :func:`peer_refusal_line`, all exit status 2, and no rank
    waits for a refused peer. The body ended, one round (one all-reduce)
    where the ranks go on. Any other exception passes through untouched,
    the peers then failing in the round as torch fails them (gloo's
    ``Connection closed by peer``, naming the peer's address): a crash is
    not a refusal. A refusing rank whose round fails so (a peer gone)
    still raises its own refusal, not marked as agreed. Without a group
    of several processes, the body alone."""
    agreement = RefusalAgreement()
    try:
        yield agreement
    except InputError as exc:
        if _world_size() > 1 and not is_agreed_refusal(exc):
            try:
                agreement.settle(one_line(exc))
            except Exception:  # noqa: BLE001 (the collective's failure)
                # this rank's line is still its own; nothing is said of
                # the peers, which may not have heard it
                raise exc from None
            mark_agreed(exc)
        raise
    agreement.settle()
