"""Losses mmpretrain lacks: cross-modal and grade losses (balanced tuning), multi-positive SupCon and HiDisc (HLSS)."""
from .cross_modal import (CLIPInfoNCELoss, CrossModalTripletLoss,  # noqa: F401
                          NegativeTextPool)
from .task import GradeMSELoss  # noqa: F401
from .hidisc import LEVELS, HiDiscLoss, hierarchy_ids  # noqa: F401
from .supcon import (SupConLoss, gather_features, gather_with_grad,  # noqa: F401
                     supcon_loss)
