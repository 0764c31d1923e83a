"""Say a thing once per process."""
from typing import Hashable


class Once:
    """The keys a message has been given for in this process, so that a
    warning that a loop or a rebuild would repeat is said the first time
    only (the HLSS split file's shared or repeated patients, an open_clip
    model built without weights).

    ``_SAID = Once()`` at module level, then ``if _SAID(key): print_log(
    ...)``; a test that counts the lines puts a new instance in its place.
    """

    def __init__(self):
        self._seen = set()

    def __call__(self, key: Hashable) -> bool:
        """True the first time ``key`` is asked, False every time after."""
        if key in self._seen:
            return False
        self._seen.add(key)
        return True
