"""Losses mmpretrain lacks: multi-positive SupCon and the hierarchical HiDisc loss."""
from .hidisc import LEVELS, HiDiscLoss, hierarchy_ids  # noqa: F401
from .supcon import SupConLoss, gather_with_grad, supcon_loss  # noqa: F401
