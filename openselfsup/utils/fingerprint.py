"""Fingerprints that artefacts record and readers compare.

Every artefact names what it was made from by these digests: an array's
(:func:`array_sha1`: dtype, shape and bytes), a file's bytes
(:func:`file_sha1`, :func:`file_sha256`) or a config section's settings
(:func:`config_sha1`).
"""
import hashlib
import json
from typing import Any

import numpy as np


def array_sha1(array: np.ndarray) -> str:
    """SHA-1 of an array's dtype, shape and bytes (C order)."""
    h = hashlib.sha1()
    h.update(f'{array.dtype.str}{array.shape}'.encode())
    # the bytes as a flat view (no copy: .tobytes() would double the time)
    h.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return h.hexdigest()


def _file_digest(path: str, algorithm: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.new(algorithm)
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def file_sha1(path: str) -> str:
    """Hex SHA-1 of a file's bytes."""
    return _file_digest(path, 'sha1')


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    return _file_digest(path, 'sha256')


def plain_value(value: Any) -> Any:
    """A config value as JSON holds it: a class or function (a config's
    ``type=SomeClass``) by its qualified name, which its ``repr`` (an
    address) is not; a set by its elements' JSON text in sorted order
    (``set({"a", "b"})``: its own order follows the process's string
    hashes, so its ``repr`` differs between runs); anything else that
    JSON cannot hold by its ``repr``."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (set, frozenset)):
        items = sorted(json.dumps(v, sort_keys=True, default=plain_value)
                       for v in value)
        return f'{type(value).__name__}({{{", ".join(items)}}})'
    name = getattr(value, '__qualname__', None)
    return f'{getattr(value, "__module__", "")}.{name}' if name else \
        repr(value)


def config_sha1(node: Any) -> str:
    """SHA-1 of a config section (a dict of settings, e.g. a resolved
    config's ``model``, as ``cfg.model.to_dict()``): of its JSON text with
    the keys sorted (:func:`plain_value` for what JSON cannot hold), so
    the same settings give the same digest whatever their order or the
    file they were read from."""
    text = json.dumps(node, sort_keys=True, default=plain_value)
    return hashlib.sha1(text.encode()).hexdigest()
