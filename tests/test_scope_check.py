"""``tools/train.py --check-config`` and the registry scope a run builds its
config's types in: a type this project registers, under a ``default_scope``
whose registries do not hold it, refused only where that scope is certain;
a type the project registers again, said; a kNN hook recognised by what
its type resolves to; the unregistered-model line naming the file given."""
import os

import pytest

from _foundation_helpers import REPO


def test_the_unregistered_model_line_names_the_config_as_given():
    """The line of a kNN hook's ``model.type`` no registry holds named
    ``cfg.filename`` (the file under another spelling, here absolute),
    not the file the check was given, as its other lines name it."""
    from mmengine.config import Config

    from openselfsup.apis.train import check_config_values
    from openselfsup.utils import InputError
    given = os.path.join('configs', 'demo', 'hlss_rn50w8_synthetic.py')
    cfg = Config.fromfile(os.path.join(REPO, given))
    cfg.model.type = 'SimCLRR'
    with pytest.raises(InputError) as exc:
        check_config_values(cfg, given, None)
    assert str(exc.value).startswith(
        f'{given}: the model or data could not be built'), str(exc.value)
