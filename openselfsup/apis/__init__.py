"""Entry points used by the scripts under tools/ and wsi_workdir/."""
from .train import load_config, train  # noqa: F401
