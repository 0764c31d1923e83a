"""Lazy package attributes (PEP 562): a name is imported from its submodule
the first time it is read, so importing a package costs only what is used.
"""
import importlib
from typing import Callable, Mapping


def lazy_getattr(package: str, names: Mapping[str, str]) -> Callable:
    """A module ``__getattr__`` for ``package`` that imports ``name`` from
    the submodule ``names[name]`` (relative to ``package``) on first use."""

    def __getattr__(name):
        if name in names:
            module = importlib.import_module(f'.{names[name]}', package)
            return getattr(module, name)
        raise AttributeError(f'module {package!r} has no attribute {name!r}')

    return __getattr__
