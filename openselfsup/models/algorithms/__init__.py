"""Algorithms: short classes composing config-built parts."""
from .balanced import BalancedCrossModal, check_balance  # noqa: F401
