"""Losses that mmpretrain lacks (balanced tuning: cross-modal and grade losses)."""
from .cross_modal import (CLIPInfoNCELoss, CrossModalTripletLoss,  # noqa: F401
                          sample_other_label)
from .task import GradeMSELoss  # noqa: F401
