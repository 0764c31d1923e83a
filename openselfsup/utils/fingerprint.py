"""Fingerprints that artefacts record and readers compare.

Every artefact names what it was made from by these digests: an array's
(:func:`array_sha1`: dtype, shape and bytes) or a file's bytes
(:func:`file_sha1`, :func:`file_sha256`).
"""
import hashlib

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

