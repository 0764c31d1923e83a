"""Entry points used by the scripts under tools/ and wsi_workdir/."""
from .train import train  # noqa: F401
from .balance_sweep import run_balance_sweep  # noqa: F401,E402
from .knn import knn_eval_checkpoint  # noqa: F401,E402
