"""A training config that validates (val_dataloader, val_cfg and
val_evaluator set) on a model without a 'predict' mode (the CLP MoCoV3,
HLSS / HiDisc, mmpretrain's self-supervisors) passed --check-config,
trained its first epoch and stopped at its first validation with a
traceback. It is refused before training now, and only it: the models that
predict (FSP's ImageClassifier, BalancedCrossModal) validate as before."""
import glob
import os
import sys
import types

import pytest

from _foundation_helpers import (MODEL_STACK_IMPORT, REPO, error_lines,
                                 run_tool, run_tool_here, small_config)

from openselfsup.utils import InputError

CLP_DEMO = os.path.join(REPO, 'configs', 'demo', 'clp_r18_demo.py')
FSP_DEMO = os.path.join(REPO, 'configs', 'demo', 'fsp_r18_demo.py')
HLSS_DEMO = os.path.join(REPO, 'configs', 'demo', 'hlss_rn50w8_synthetic.py')

#: the validation sections a config gives (the training set, as the
#: lead's reproduction; Accuracy reads the labels)
VALIDATION = '''
val_dataloader = dict(batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_base_.train_dataloader.dataset)
val_cfg = dict()
val_evaluator = dict(type='Accuracy')
'''


def _with_validation(path, base, train_cfg):
    with open(path, 'w') as f:
        f.write(f'_base_ = {base!r}\n{VALIDATION}train_cfg = {train_cfg}\n')
    return str(path)


#: the ways on of the CLP line (config._LOW_SHOT, as the kNN hook's
#: refusal words them)
LOW_SHOT = (
    'evaluate its encoder with the low-shot protocol instead: '
    'wsi_workdir/extract.py, then the meta-test (both run by '
    f'cd {REPO} && sh wsi_workdir/scripts/evaluate_encoder.sh MODEL '
    'CHECKPOINT; a demo encoder by '
    f'cd {REPO} && sh wsi_workdir/scripts/demo_lowshot.sh CHECKPOINT; '
    'CHECKPOINT is read from the root there: give it absolute)')
KNN = ('evaluate its encoder by kNN instead: a KNNEvalHook in custom_hooks '
       '(as configs/demo/hlss_rn50w8_synthetic.py has), or '
       'tools/knn_eval.py CONFIG CHECKPOINT on a checkpoint')


def _expected(config, kind, method, keys, when, instead):
    return (f"error: {config}: model.type {kind!r} ({method}) has no "
            "'predict' mode (its forward is mmpretrain's "
            "BaseSelfSupervisor.forward: 'tensor' and 'loss' alone), but "
            f'the run validates ({keys}): its first validation ({when}) '
            'would stop it with a traceback; remove the validation '
            '(--cfg-options val_dataloader=None val_cfg=None '
            f'val_evaluator=None), and {instead}')


#: per demo: its config, the training loop given, its model type and
#: method, the validation keys and first validation the line names, and
#: how its encoder is evaluated instead
DEMOS = {
    'clp': (CLP_DEMO, 'dict(max_epochs=1, val_interval=1)', 'MoCoV3',
            'MoCo-v3 contrastive pre-training', 'train_cfg.val_interval=1',
            'after epoch 1', LOW_SHOT),
    'hlss': (HLSS_DEMO, 'dict(val_begin=50, val_interval=100)', 'HLSS',
             'HLSS / HiDisc pre-training',
             'train_cfg.val_begin=50, train_cfg.val_interval=100',
             'after iteration 100', KNN),
}


@pytest.mark.parametrize('demo', sorted(DEMOS))
def test_a_validation_loop_on_a_model_without_predict_is_refused(tmp_path,
                                                                 demo):
    """The CLP demo (validating every epoch) and the HLSS demo (an
    iteration loop validating every 100 iterations, from 50 on) given a
    validation loop: refused by the launchers' --check-config and by the
    run, before the runner is built (the work dir never made: no
    checkpoint, nothing half-written), in one line naming the model, the
    keys, when it would have failed and the ways on. (Before: the check
    passed, exit 0, and the run trained its first epoch.) The data are
    not needed: the line comes first."""
    base, loop, kind, method, keys, when, instead = DEMOS[demo]
    config = _with_validation(tmp_path / f'{demo}_val.py', base, loop)
    expected = _expected(config, kind, method,
                         f'val_dataloader, val_cfg, val_evaluator, {keys}',
                         when, instead)
    work = tmp_path / 'work'
    for args in (['--check-config'], []):
        rc, _, err = run_tool(['tools/train.py', config, '--work-dir',
                               str(work), *args], first=MODEL_STACK_IMPORT)
        assert (rc, error_lines(err)) == (2, [expected]), (args, err[-3000:])
        assert not work.exists()


def test_the_advised_options_drop_the_validation(tmp_path):
    """The line's --cfg-options are a way on: with them the launchers'
    check passes (val_cfg=None alone does not: MMEngine's Runner takes the
    three sections all set or all None)."""
    config = _with_validation(tmp_path / 'clp_val.py', CLP_DEMO,
                              'dict(max_epochs=1, val_interval=1)')
    rc, _, err = run_tool(
        ['tools/train.py', config, '--check-config', '--no-data-check',
         '--cfg-options', 'val_dataloader=None', 'val_cfg=None',
         'val_evaluator=None'], first=MODEL_STACK_IMPORT)
    assert rc == 0, err[-3000:]


def _predict_dispatch(cls):
    """What ``cls.forward`` does with mode 'predict', run on a stand-in
    whose ``predict`` / ``loss`` / ``extract_feat`` answer: 'predict'
    where it dispatches to ``predict``, 'invalid' where it raises
    MMEngine's ``Invalid mode`` error (the reference the rule is held to;
    a forward that reads more of its model than those is 'other')."""
    stub = types.SimpleNamespace(predict=lambda *a, **k: 'predict',
                                 loss=lambda *a, **k: 'loss',
                                 extract_feat=lambda *a, **k: 'tensor')
    try:
        out = cls.forward(stub, None, None, mode='predict')
    except RuntimeError as exc:
        return 'invalid' if 'Invalid mode "predict"' in str(exc) else 'other'
    except Exception:  # noqa: BLE001
        return 'other'
    return out if out == 'predict' else 'other'


def test_the_rule_agrees_with_what_forward_does():
    """lacks_predict_mode says a class has no predict mode only where its
    forward raises for it, and the project's predicting classes (and a
    self-supervisor's subclass that adds the mode) dispatch to predict and
    are not judged: every class of mmpretrain's self-supervisors and the
    project's algorithms, against the stand-in's call."""
    import inspect

    import mmpretrain.models.selfsup as selfsup
    from mmpretrain.models import ImageClassifier as MMPretrainClassifier

    from openselfsup.models.algorithms import (HLSS, BalancedCrossModal,
                                               ImageClassifier, MoCoV3)
    from openselfsup.models.algorithms.modes import lacks_predict_mode

    class Predicting(MoCoV3):
        def forward(self, inputs, data_samples=None, mode='tensor'):
            if mode == 'predict':
                return self.predict(inputs, data_samples)
            return super().forward(inputs, data_samples, mode)

    classes = [getattr(selfsup, n) for n in selfsup.__all__
               if inspect.isclass(getattr(selfsup, n))]
    classes += [HLSS, MoCoV3, BalancedCrossModal, ImageClassifier,
                MMPretrainClassifier, Predicting]
    seen = {}
    for cls in classes:
        said = lacks_predict_mode(cls)
        done = _predict_dispatch(cls)
        seen[cls.__name__] = said
        if said:
            assert done == 'invalid', cls
    for cls in (BalancedCrossModal, ImageClassifier, MMPretrainClassifier,
                Predicting):
        assert _predict_dispatch(cls) == 'predict', cls
        assert not lacks_predict_mode(cls), cls
    assert seen['HLSS'] and seen['MoCoV3'] and seen['SimCLR']
    assert not lacks_predict_mode('MoCoV3')  # a name is not a class


def _validating(cfg, kind=None):
    """``cfg`` (a loaded config) with the three validation sections set
    and, given ``kind``, that model type."""
    cfg.val_dataloader = dict(cfg.train_dataloader)
    cfg.val_cfg = dict()
    cfg.val_evaluator = dict(type='Accuracy')
    if kind is not None:
        cfg.model.type = kind
    return cfg


def test_the_model_is_the_class_the_run_builds():
    """The type is resolved as the run resolves it (its default scope):
    'MoCoV3' under default_scope='mmpretrain' is mmpretrain's (refused),
    a user's subclass of MoCoV3 under its own name is judged by its class
    (refused, named as such) and one that adds the predict mode is not; a
    type of no class is left to the build; a run whose validation begins
    after its end, or whose sections are not all set (the Runner's own
    refusal), is not judged."""
    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import load_config
    from openselfsup.models.algorithms import MoCoV3
    from openselfsup.registry import MODELS

    @MODELS.register_module(name='H300PlainMoCoV3', force=True)
    class Plain(MoCoV3):
        pass

    @MODELS.register_module(name='H300PredictingMoCoV3', force=True)
    class Predicting(MoCoV3):
        def forward(self, inputs, data_samples=None, mode='tensor'):
            if mode == 'predict':
                return self.predict(inputs, data_samples)
            return super().forward(inputs, data_samples, mode)

    def refusal(cfg):
        try:
            check_validated_model(cfg, 'c.py')
        except InputError as exc:
            return str(exc)
        return None

    said = refusal(_validating(load_config(CLP_DEMO)))
    assert said.startswith("c.py: model.type 'MoCoV3' (MoCo-v3 contrastive "
                           "pre-training) has no 'predict' mode"), said
    assert '(val_dataloader, val_cfg, val_evaluator)' in said
    assert 'first validation (after epoch 1)' in said
    cfg = _validating(load_config(CLP_DEMO))
    cfg.default_scope = 'mmpretrain'
    assert refusal(cfg).startswith("c.py: model.type 'MoCoV3' (MoCo-v3 ")
    said = refusal(_validating(load_config(CLP_DEMO), 'H300PlainMoCoV3'))
    assert said.startswith(
        "c.py: model.type 'H300PlainMoCoV3' (a subclass of MoCoV3, MoCo-v3 "
        "contrastive pre-training) has no 'predict' mode"), said
    assert refusal(_validating(load_config(CLP_DEMO),
                               'H300PredictingMoCoV3')) is None
    assert refusal(_validating(load_config(CLP_DEMO), 'NoSuchModel')) is None
    cfg = _validating(load_config(CLP_DEMO))
    cfg.train_cfg.val_begin = cfg.train_cfg.max_epochs + 1
    assert refusal(cfg) is None
    cfg.train_cfg.val_begin = 3
    cfg.train_cfg.val_interval = 4
    assert '(after epoch 4)' in refusal(cfg)
    cfg = _validating(load_config(CLP_DEMO))
    cfg.val_evaluator = None
    assert refusal(cfg) is None
    cfg = _validating(load_config(FSP_DEMO))
    assert refusal(cfg) is None


def _val_step_outcome(cls):
    """What ``cls.val_step`` (the class's own code, MMEngine's
    ``BaseModel.val_step`` or a user's) does, run on a stand-in whose
    forward is ``cls.forward`` with the stand-in's ``predict`` / ``loss``
    / ``extract_feat``: 'invalid' where it stops on MMEngine's ``Invalid
    mode "predict"``, else 'ran' (the reference ``fails_validation`` is
    held to)."""
    stub = types.SimpleNamespace(
        predict=lambda *a, **k: [], loss=lambda *a, **k: {},
        extract_feat=lambda *a, **k: 'tensor',
        data_preprocessor=lambda data, training=False: data)
    stub._run_forward = lambda data, mode: cls.forward(stub, None, None,
                                                       mode=mode)
    try:
        cls.val_step(stub, dict(inputs=[None], data_samples=[]))
    except RuntimeError as exc:
        if 'Invalid mode "predict"' in str(exc):
            return 'invalid'
        raise
    return 'ran'


def test_a_model_or_loop_that_validates_its_own_way_is_not_judged():
    """Review r186: a user's MoCoV3 that writes its own val_step, and the
    shipped MoCoV3 under a val_cfg type of a loop whose run_iter never
    calls val_step, trained and validated (exit 0) before the check and
    were refused by it. Judged only where MMEngine's own ValLoop (val_cfg
    without a type, or one resolving to it, as the Runner builds it) calls
    BaseModel.val_step unchanged; the rule against what each val_step
    does on a stand-in."""
    from mmengine.runner import ValLoop

    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import load_config
    from openselfsup.models.algorithms import HLSS, MoCoV3
    from openselfsup.models.algorithms.modes import fails_validation
    from openselfsup.registry import LOOPS, MODELS

    @MODELS.register_module(name='H304ValStepMoCoV3', force=True)
    class ValStep(MoCoV3):
        def val_step(self, data):
            data = self.data_preprocessor(data, False)
            self.extract_feat(data['inputs'][0])
            return list(data['data_samples'])

    @LOOPS.register_module(name='H304FeatValLoop', force=True)
    class FeatLoop(ValLoop):
        def run_iter(self, idx, data_batch):
            pass

    for cls, fails in ((MoCoV3, True), (HLSS, True), (ValStep, False)):
        assert fails_validation(cls) is fails, cls
        assert _val_step_outcome(cls) == ('invalid' if fails else 'ran')

    def said(kind=None, loop=None):
        cfg = _validating(load_config(CLP_DEMO), kind)
        if loop is not None:
            cfg.val_cfg = loop
        try:
            check_validated_model(cfg, 'c.py')
        except InputError:
            return 'refused'
        return 'passed'

    assert said('H304ValStepMoCoV3') == 'passed'
    assert said(loop=dict(type='H304FeatValLoop')) == 'passed'
    assert said(loop=dict(type=FeatLoop)) == 'passed'
    # MMEngine's own ValLoop, however named: refused as untyped
    for loop in (dict(), dict(type='ValLoop'), dict(type='mmengine.ValLoop'),
                 dict(type=ValLoop)):
        assert said(loop=loop) == 'refused', loop
    # a type no registry holds: left to the build's KeyError
    assert said(loop=dict(type='NoSuchLoop')) == 'passed'

    # a subclass of ValLoop that keeps its run and run_iter calls the
    # model's val_step as ValLoop does (review r188: passed, and the run
    # stopped at its first validation)
    @LOOPS.register_module(name='H304LoggedValLoop', force=True)
    class LoggedLoop(ValLoop):
        pass
    assert said(loop=dict(type='H304LoggedValLoop')) == 'refused'
    assert LoggedLoop.run_iter is ValLoop.run_iter


_SCOPED_PACKAGE = {
    'registry.py': (
        'from mmengine.registry import Registry\n'
        'from openselfsup.registry import MODELS as PARENT\n'
        "MODELS = Registry('model', parent=PARENT, scope='h304scope')\n"),
    '__init__.py': (
        'from mmpretrain.models.selfsup import MoCoV3 as _MoCoV3\n'
        'from openselfsup.models.algorithms import ImageClassifier as _IC\n'
        'from .registry import MODELS\n\n\n'
        'class Built(Exception):\n'
        '    """raised by a build: which class it built"""\n\n\n'
        '@MODELS.register_module()\n'
        'class H304Scoped(_MoCoV3):\n'
        '    def __init__(self, *args, **kwargs):\n'
        '        raise Built(type(self))\n\n\n'
        "@MODELS.register_module(name='MoCoV3')\n"
        'class Predicting(_IC):\n'
        '    def __init__(self, *args, **kwargs):\n'
        '        raise Built(type(self))\n'),
}


def test_a_models_own_scope_is_where_its_type_is_looked_up(tmp_path,
                                                           monkeypatch):
    """Review r186: a model dict that sets _scope_ is built in that scope
    (MMEngine's build_from_cfg switches to it), but the check looked its
    type up in the run's default scope alone: a self-supervisor registered
    in a scope of its own passed, and a type named as the project's MoCoV3
    there was refused. Each against the class MMEngine's own build of the
    model dict makes under the run's scope (its __init__ says which)."""
    from mmengine.registry import MODELS, DefaultScope

    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import load_config
    from openselfsup.models.algorithms.modes import fails_validation
    package = tmp_path / 'h304scope'
    package.mkdir()
    for name, text in _SCOPED_PACKAGE.items():
        (package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    import h304scope

    for kind in ('H304Scoped', 'MoCoV3'):
        model = dict(type=kind, _scope_='h304scope')
        cfg = _validating(load_config(CLP_DEMO))
        cfg.model = model
        with DefaultScope.overwrite_default_scope(cfg.default_scope), \
                pytest.raises(h304scope.Built) as built:
            MODELS.build(dict(model))
        try:
            check_validated_model(cfg, 'c.py')
            refused = False
        except InputError:
            refused = True
        assert refused == fails_validation(built.value.args[0]), kind
        assert refused == (kind == 'H304Scoped')


class _Validated(Exception):
    """raised by the stand-in validation loop: when it ran"""


def _first_validation(train_cfg, cls=None, hooks=(), meta=None):
    """When MMEngine's own training loop of ``train_cfg`` (the class its
    type or ``by_epoch`` names, its ``run`` as MMEngine wrote it; given
    ``cls``, that loop class, a user's, as it runs) first runs the
    validation loop, on a stand-in runner whose steps do nothing and
    whose hooks are ``hooks`` (their own methods, called as the loop
    calls them): ``'after epoch N'`` / ``'after iteration N'``, or None
    where it never does (the reference for the refusal's words).
    ``meta``: a checkpoint's, whose ``epoch`` and ``iter`` the loop goes
    on from, as MMEngine's ``Runner.resume`` sets them."""
    import torch.utils.data
    from mmengine.runner import IterBasedTrainLoop, loops

    from openselfsup.config import train_loop_kind
    kind = train_loop_kind(train_cfg)
    args = {k: v for k, v in train_cfg.items() if k not in ('type',
                                                           'by_epoch')}
    cls = cls or getattr(loops, kind)
    iters = issubclass(cls, IterBasedTrainLoop)

    def validate():
        raise _Validated(f"after iteration {loop._iter}" if iters
                         else f'after epoch {loop._epoch}')

    class Runner(types.SimpleNamespace):
        """its ``iter`` the loop's, as MMEngine's Runner's is (review r192:
        fixed at 0, a hook validated whatever ``meta`` said)"""
        iter = property(lambda self: loop._iter)

    runner = Runner(
        call_hook=lambda name, **k: [getattr(h, name)(runner, **k)
                                     for h in hooks],
        visualizer=types.SimpleNamespace(),
        logger=types.SimpleNamespace(info=lambda *a: None),
        model=types.SimpleNamespace(train=lambda: None),
        val_loop=types.SimpleNamespace(run=validate))
    # no batch past the data (MMEngine's infinite iterator sleeps 2 s at
    # each restart)
    loop = cls(runner, torch.utils.data.DataLoader(
        list(range(args.get('max_iters', 1) + 1))), **args)
    if iters:
        loop.run_iter = lambda batch: setattr(loop, '_iter', loop._iter + 1)
    else:
        loop.run_iter = lambda idx, batch: None
    if meta is not None:  # Runner.resume's two lines
        loop._epoch, loop._iter = meta['epoch'], meta['iter']
    try:
        loop.run()
    except _Validated as exc:
        return str(exc)
    return None


def test_the_loop_defaults_are_mmengines_signatures():
    """train_loop_default, read from MMEngine's source without torch, is
    each training loop's own signature default (val_interval 1000 for the
    iteration loop, 1 for the epoch loop; val_begin 1)."""
    import inspect

    from mmengine.runner import loops

    from openselfsup.config import train_loop_default
    for loop in (dict(type='EpochBasedTrainLoop'), dict(by_epoch=True),
                 dict(type='IterBasedTrainLoop'), dict(by_epoch=False)):
        cls = getattr(loops, 'EpochBasedTrainLoop' if loop.get(
            'by_epoch', loop.get('type') == 'EpochBasedTrainLoop')
            else 'IterBasedTrainLoop')
        params = inspect.signature(cls).parameters
        for arg in ('val_begin', 'val_interval'):
            assert train_loop_default(loop, arg) == params[arg].default
    assert train_loop_default(dict(type='IterBasedTrainLoop'),
                              'val_interval') == 1000
    assert train_loop_default(dict(type='MyLoop'), 'val_interval') is None


@pytest.mark.parametrize('demo,train_cfg', [
    ('hlss', None),  # the demo's: 300 iterations, no val_interval
    ('hlss', dict(val_begin=301)),
    ('hlss', dict(val_begin=300)),
    ('hlss', dict(val_interval=100, val_begin=50)),
    ('clp', dict(_delete_=True, type='IterBasedTrainLoop', max_iters=3)),
    ('clp', dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2500)),
    ('clp', dict(max_epochs=3)),
    ('clp', dict(max_epochs=5, val_interval=2))])
def test_the_first_validation_is_when_mmengines_loop_runs_it(demo,
                                                             train_cfg):
    """Review r186: the line said an iteration loop without val_interval
    validated first after iteration 1, where MMEngine's IterBasedTrainLoop
    defaults it to 1000 and validates at its end too (the HLSS demo after
    iteration 300, an iteration CLP config of max_iters=3 after 3). The
    refusal (its words of the first validation, or none where the run
    never validates) against MMEngine's own loop run on a stand-in."""
    from mmengine.config import Config

    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import load_config
    cfg = _validating(load_config(HLSS_DEMO if demo == 'hlss'
                                  else CLP_DEMO))
    if train_cfg is not None:
        merged = Config(dict(train_cfg=cfg.train_cfg))
        merged.merge_from_dict(dict(train_cfg=train_cfg))
        cfg.train_cfg = merged.train_cfg
    expected = _first_validation(cfg.train_cfg.to_dict())
    try:
        check_validated_model(cfg, 'c.py')
        said = None
    except InputError as exc:
        said = str(exc).split('its first validation (')[1].split(')')[0]
    assert said == expected, (cfg.train_cfg, said)


@pytest.mark.parametrize('train_cfg,metas', [
    (dict(max_epochs=10, val_interval=3),
     [dict(epoch=e, iter=25 * e) for e in (1, 3, 4, 8, 9, 10, 12)]),
    (dict(max_epochs=10, val_begin=5, val_interval=2),
     [dict(epoch=e, iter=25 * e) for e in (2, 5, 6)] +
     # a checkpoint saved within an epoch (by iteration): the epoch loop
     # goes on from the epochs done
     [dict(epoch=3, iter=80)]),
    (dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2500),
     [dict(epoch=0, iter=i) for i in (1, 999, 1000, 2400, 2500)]),
    (dict(_delete_=True, type='IterBasedTrainLoop', max_iters=30,
          val_begin=10, val_interval=7),
     [dict(epoch=0, iter=i) for i in (5, 14, 28, 29)])])
def test_a_resumed_runs_first_validation_is_when_its_loop_runs_it(
        tmp_path, train_cfg, metas):
    """A run resumed past its start: the line said "the first due after
    the checkpoint it resumes from", though the checkpoint's meta (epoch,
    iter) is read for the run's hook, and a run resumed at its end, which
    trains no step and never validates, was refused. It names the epoch
    or iteration now, and passes the one that does not validate. The
    reference: MMEngine's own loop, its counts set from the meta as
    Runner.resume sets them, run on a stand-in (_first_validation); the
    meta read from a checkpoint file as the check reads it."""
    import torch
    from mmengine.config import Config

    from openselfsup.apis.train import (check_validated_model,
                                        resumed_past_start)
    from openselfsup.config import load_config
    cfg = _validating(load_config(CLP_DEMO))
    merged = Config(dict(train_cfg=cfg.train_cfg))
    merged.merge_from_dict(dict(train_cfg=train_cfg))
    cfg.train_cfg = merged.train_cfg
    for meta in metas:
        path = str(tmp_path / 'ckpt.pth')
        torch.save(dict(meta=meta, state_dict={}), path)
        expected = _first_validation(cfg.train_cfg.to_dict(), meta=meta)
        try:
            check_validated_model(cfg, 'c.py', resumed_past_start(path))
            said = None
        except InputError as exc:
            said = str(exc).split('its first validation (')[1].split(')')[0]
        assert said == expected, (meta, said)
    # a meta whose count is not a whole number: the checkpoint does not say
    torch.save(dict(meta=dict(epoch='3', iter='75'), state_dict={}), path)
    with pytest.raises(InputError, match=r'first validation \(the first '
                       'due after the checkpoint it resumes from\)'):
        check_validated_model(cfg, 'c.py', resumed_past_start(path))


def test_a_users_training_loop_is_judged_as_it_runs():
    """A train_cfg type of the user's own loop class was judged as
    validating 'at its first validation' whatever it did: a subclass of
    MMEngine's loop that only adds something (validating when MMEngine's
    does, or never where val_begin lies past the run) and one with a run
    of its own that never calls the validation loop were refused alike.
    The first is judged as the loop it subclasses, the second (and one
    that writes its own run_iter or __init__) is not judged. Against
    each class's own run on the stand-in runner (_first_validation),
    registered as a custom_imports module registers it."""
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import load_config
    from openselfsup.registry import LOOPS

    @LOOPS.register_module(name='H307AddingLoop', force=True)
    class Adding(EpochBasedTrainLoop):
        note = 'an attribute of its own'

        def described(self):
            return f'{self.note} at epoch {self._epoch}'

    @LOOPS.register_module(name='H307AddingIterLoop', force=True)
    class AddingIter(IterBasedTrainLoop):
        pass

    @LOOPS.register_module(name='H307OwnRunLoop', force=True)
    class OwnRun(EpochBasedTrainLoop):
        def run(self):  # trains, never validates
            self.runner.call_hook('before_train')
            while self._epoch < self._max_epochs:
                self.run_epoch()
            self.runner.call_hook('after_train')
            return self.runner.model

    @LOOPS.register_module(name='H307OwnInitLoop', force=True)
    class OwnInit(EpochBasedTrainLoop):
        def __init__(self, runner, dataloader, max_epochs, val_begin=1,
                     val_interval=1, dynamic_intervals=None):
            super().__init__(runner, dataloader, max_epochs, max_epochs + 1,
                             val_interval, dynamic_intervals)

    def said(train_cfg, kind=None):
        cfg = _validating(load_config(CLP_DEMO))
        cfg.train_cfg = dict(train_cfg, **({} if kind is None else
                                            dict(type=kind)))
        try:
            check_validated_model(cfg, 'c.py')
        except InputError as exc:
            return str(exc).split('its first validation (')[1].split(')')[0]
        return None

    for cls, train_cfg in (
            (Adding, dict(max_epochs=3, val_begin=2)),
            (Adding, dict(max_epochs=5, val_interval=2)),
            (Adding, dict(max_epochs=3, val_begin=4)),  # never
            (AddingIter, dict(max_iters=2500)),
            (AddingIter, dict(max_iters=30, val_begin=31)),  # never
            (AddingIter, dict(max_iters=30, val_interval=7))):
        expected = _first_validation(dict(train_cfg), cls)
        assert said(train_cfg, f'H307{cls.__name__}Loop') == expected, (
            cls, train_cfg)
        assert said(train_cfg, cls) == expected, (cls, train_cfg)
    assert _first_validation(dict(max_epochs=3, val_begin=4), Adding) is None
    # the loop's own: not judged (the first never validates, the second
    # after no epoch of 3)
    for cls in (OwnRun, OwnInit):
        assert _first_validation(dict(max_epochs=3), cls) is None, cls
        assert said(dict(max_epochs=3), f'H307{cls.__name__}Loop') is None
    # MMEngine's own loop, as before
    assert said(dict(max_epochs=3, val_begin=2),
                'EpochBasedTrainLoop') == 'after epoch 2'
    # a type no registry holds: left to the build's KeyError
    assert said(dict(max_epochs=3), 'NoSuchTrainLoop') is None


def test_a_users_own_run_loop_is_judged_by_its_validating_hook(monkeypatch):
    """Review r190: a train_cfg type that writes its own run was not
    judged at all, its ValidateBeforeTrainHook included, which validates
    in before_train whatever the loop (the run calls it): the CLP demo so
    passed --check-config and stopped at the hook's validation with a
    traceback. The reference: the loop's own run on a stand-in runner
    whose hooks are that hook (its own before_train, validating there)."""
    from mmengine.runner import EpochBasedTrainLoop

    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import load_config
    from openselfsup.engine import crossmodal_hooks
    from openselfsup.engine.validate_first import ValidateBeforeTrainHook
    from openselfsup.registry import LOOPS

    @LOOPS.register_module(name='H311OwnRunLoop', force=True)
    class OwnRun(EpochBasedTrainLoop):
        def run(self):  # never calls the validation loop itself
            self.runner.call_hook('before_train')
            while self._epoch < self._max_epochs:
                self.run_epoch()
            self.runner.call_hook('after_train')
            return self.runner.model

    def validated(runner):  # the hook's validation, as the check words it
        raise _Validated('before training')
    monkeypatch.setattr(crossmodal_hooks, 'validate_leaving_training',
                        validated)

    loop = dict(max_epochs=2, val_begin=5)  # validates after no epoch

    def said(hooked):
        cfg = _validating(load_config(CLP_DEMO))
        cfg.train_cfg = dict(loop, type='H311OwnRunLoop')
        cfg.custom_hooks = [dict(type='ValidateBeforeTrainHook')] \
            if hooked else []
        try:
            check_validated_model(cfg, 'c.py')
        except InputError as exc:
            return str(exc)
        return None

    assert _first_validation(loop, OwnRun) is None
    first = _first_validation(loop, OwnRun, [ValidateBeforeTrainHook()])
    assert first == 'before training'
    line = said(True)
    assert line is not None and f'first validation ({first})' \
        in line and '(val_dataloader, val_cfg, val_evaluator, ' \
        'custom_hooks.0 (ValidateBeforeTrainHook))' in line, line
    assert said(False) is None


def _saved_at_start(ckpt, folder):
    """The checkpoint ``ckpt`` as saved before the first step (meta epoch
    0, iteration 0, no optimizer or scheduler state), as MMEngine's
    ``CheckpointHook`` saves the best one at a validation before
    training: its path, in ``folder``."""
    import torch

    import openselfsup.engine  # noqa: F401 (the checkpoint's classes)
    saved = torch.load(ckpt, map_location='cpu', weights_only=False)
    saved['meta'].update(epoch=0, iter=0)
    for key in ('optimizer', 'param_schedulers'):
        saved.pop(key, None)
    path = str(folder / 'best_accuracy_top1_epoch_0.pth')
    torch.save(saved, path)
    return path


def _hook_validates_resumed(path, monkeypatch):
    """Whether the project's ValidateBeforeTrainHook validates in a run
    resumed from the checkpoint ``path``: its own ``before_train`` on a
    stand-in runner at the meta's iteration, as MMEngine's
    ``Runner.resume`` sets it (the reference)."""
    import torch

    from openselfsup.engine import crossmodal_hooks
    from openselfsup.engine.validate_first import ValidateBeforeTrainHook
    ran = []
    monkeypatch.setattr(crossmodal_hooks, 'validate_leaving_training',
                        lambda runner: ran.append(runner.iter))
    step = torch.load(path, map_location='cpu',
                      weights_only=False)['meta']['iter']
    ValidateBeforeTrainHook().before_train(types.SimpleNamespace(
        iter=step, val_loop=object(),
        logger=types.SimpleNamespace(info=lambda *a: None)))
    return bool(ran)


def test_a_resumed_runs_hook_does_not_validate(synthetic_root, tmp_path,
                                              capfd, monkeypatch):
    """Review r186: a run resumed from a checkpoint whose only validation
    is a ValidateBeforeTrainHook (which skips on resume past the first
    step; at iteration 0 it validates) was refused. The
    check knows it resumes from --resume (a path: it does; without one,
    once the work dir's newest checkpoint is looked for) or the config's
    resume = True, and names no epoch of a resumed run's first
    validation where the checkpoint does not say it (its meta's epoch:
    test_a_resumed_runs_first_validation_is_when_its_loop_runs_it). A
    tiny CLP run's checkpoint, then --check-config and the run's own
    check (prepare_config) on the hook's config."""
    from openselfsup.apis.train import check_validated_model, prepare_config
    from openselfsup.config import load_config
    base = small_config(CLP_DEMO, str(tmp_path / 'clp_small.py'),
                        os.path.join(synthetic_root, 'NCT') + '/')
    hooked = tmp_path / 'clp_vbt.py'
    hooked.write_text(
        f'_base_ = {base!r}\n{VALIDATION}'
        'train_cfg = dict(max_epochs=2, val_begin=3)\n'
        "custom_hooks = [dict(type='ValidateBeforeTrainHook')]\n")
    work = tmp_path / 'work'
    rc, _, err = run_tool(['tools/train.py', base, '--work-dir', str(work)],
                          first=MODEL_STACK_IMPORT)
    assert rc == 0, err[-3000:]
    ckpt = str(work / 'epoch_1.pth')
    empty = str(tmp_path / 'empty')
    for args, refused in (
            ([], True), (['--resume'], False), (['--resume', ckpt], False),
            (['--cfg-options', 'resume=True'], False),
            (['--resume', '--work-dir', empty], True)):  # a new run
        args = args if '--work-dir' in args else args + ['--work-dir',
                                                         str(work)]
        rc, _, err = run_tool_here(['tools/train.py', str(hooked),
                                    '--check-config', *args], capfd)
        assert (rc == 2) == refused, (args, err[-2000:])
        if refused:
            assert 'first validation (before training)' in err, err
    def run_refuses(work_dir, resume):
        # the run's own check, where the checkpoint is looked for
        try:
            prepare_config(load_config(str(hooked)), str(hooked), work_dir,
                           resume=resume)
        except InputError as exc:
            return 'first validation (before training)' in str(exc)
        return False

    for work_dir, refused in ((str(work), False), (empty, True)):
        assert run_refuses(work_dir, True) == refused, work_dir
    # a checkpoint saved before the first step (MMEngine's CheckpointHook
    # saves the best one at the validation before training with the meta
    # epoch 0, iter 0: this run's, as it would be saved): resumed from it,
    # the hook validates (it was passed, and the run stopped at the
    # hook's validation with a traceback). The reference: the hook's own
    # before_train on a stand-in runner at the meta's iteration, as
    # MMEngine's Runner.resume sets it
    start = _saved_at_start(ckpt, tmp_path)
    for path in (ckpt, start):
        validates = _hook_validates_resumed(path, monkeypatch)
        assert validates == (path == start), path
        rc, _, err = run_tool_here(['tools/train.py', str(hooked),
                                    '--check-config', '--resume', path,
                                    '--work-dir', empty], capfd)
        assert (rc == 2) == validates, (path, err[-2000:])
        assert run_refuses(empty, path) == validates, path
    # a resumed run that validates by its loop, its checkpoint's epoch
    # unknown (True): no epoch named, no hook
    cfg = load_config(str(hooked))
    cfg.train_cfg.val_begin = 2
    for resumes, when in ((False, 'before training'), (True, (
            'the first due after the checkpoint it resumes from'))):
        with pytest.raises(InputError) as said:
            check_validated_model(cfg, 'c.py', resumes)
        assert f'its first validation ({when})' in str(said.value)
        assert ('ValidateBeforeTrainHook' in str(said.value)) != resumes


def test_no_shipped_config_is_refused():
    """Every config under configs/ as shipped passes the check (the
    balance configs validate, on a model that predicts), and so do the
    balance demos through the launchers' whole check of a loaded config;
    the FSP demo given validation sections too."""
    from openselfsup.apis.train import (check_loaded_config,
                                        check_validated_model)
    from openselfsup.config import load_config
    configs = sorted(
        p for p in glob.glob(os.path.join(REPO, 'configs', '**', '*.py'),
                             recursive=True)
        if f'{os.sep}_base_{os.sep}' not in p)
    validating = []
    for path in configs:
        cfg = load_config(path)
        check_validated_model(cfg, path)
        if cfg.get('val_cfg') is not None:
            validating.append(os.path.basename(path))
    assert validating == ['balance_hipt_isup.py', 'balance_vit_captions.py',
                          'balance_slide_synthetic.py',
                          'balance_vit_tiny_synthetic.py'], validating
    for name in ('balance_slide_synthetic.py',
                 'balance_vit_tiny_synthetic.py'):
        path = os.path.join(REPO, 'configs', 'demo', name)
        check_loaded_config(load_config(path), path)
    check_validated_model(_validating(load_config(FSP_DEMO)), FSP_DEMO)


def _validated_before_training_by_more_workers_than_cores(path, base: str,
                                                          train_cfg: str,
                                                          extra: str = ''):
    """``path``, written as a config on ``base`` (with ``extra`` lines)
    whose ``train_cfg`` is ``dict(<train_cfg>)``, validated before training
    by ``ValidateBeforeTrainHook`` with a validation loader of one worker
    more than this process's cores (the loader-worker note's case)."""
    cores = len(os.sched_getaffinity(0))
    path.write_text(
        f'_base_ = {base!r}\n{extra}'
        f'train_cfg = dict({train_cfg})\n'
        f'val_dataloader = dict(num_workers={cores + 1})\n'
        "custom_hooks = [dict(type='ValidateBeforeTrainHook')]\n")
    return path


def test_a_model_the_check_passes_validates(synthetic_root, tmp_path,
                                            monkeypatch):
    """The rule against what happens: a tiny FSP run (ImageClassifier,
    which the check passes) given a validation loop trains and validates,
    its accuracy in the log."""
    base = small_config(FSP_DEMO, str(tmp_path / 'fsp_small.py'),
                        os.path.join(synthetic_root, 'NCT') + '/')
    config = _with_validation(tmp_path / 'fsp_val.py', base,
                              'dict(max_epochs=1, val_interval=1)')
    work = tmp_path / 'work'
    rc, out, err = run_tool(['tools/train.py', config, '--work-dir',
                             str(work)], first=MODEL_STACK_IMPORT)
    assert rc == 0, err[-3000:]
    logs = glob.glob(str(work / '*' / '*.log'))
    with open(logs[0]) as f:
        log = f.read()
    assert 'Epoch(val) [1]' in log and 'accuracy/top1' in log, log[-2000:]
    # resumed with a ValidateBeforeTrainHook alone: the note of loaders
    # of more workers than cores names the validation loader where the
    # hook validates (a checkpoint saved before the first step), not past
    # it (it named it in neither: taken to skip on every resume)
    import re

    from openselfsup.apis.train import prepare_config
    from openselfsup.config import load_config
    hooked = _validated_before_training_by_more_workers_than_cores(
        tmp_path / 'fsp_vbt.py', config, 'max_epochs=1, val_begin=2')
    ckpt = str(work / 'epoch_1.pth')
    seen = []
    for path in (ckpt, _saved_at_start(ckpt, tmp_path)):
        notes = prepare_config(load_config(str(hooked)), str(hooked),
                               str(tmp_path / 'resumed'), resume=path)
        named = [k for n in notes if 'num_workers=' in n
                 for k in re.findall(r'(\w+)\.num_workers=', n)]
        seen.append(_hook_validates_resumed(path, monkeypatch))
        assert ('val_dataloader' in named) == seen[-1], (path, notes)
    assert seen == [False, True]


@pytest.mark.parametrize('loop', ['train', 'val', 'test'])
def test_a_loop_set_in_part_is_refused_as_mmengines_runner_refuses_it(
        tmp_path, loop, capfd):
    """Some of a loop's three sections set and not the others
    (``--cfg-options val_cfg=None`` on a config that validates) passed
    ``--check-config`` and was refused by MMEngine's Runner when it was
    built, after a launcher had started its processes. The check refuses
    exactly the sets of sections that the Runner's own constructor refuses
    (each of the 8, against ``Runner(...)`` built with them), and
    ``tools/train.py --check-config`` says it in one line."""
    import itertools

    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    from _foundation_helpers import run_tool_here
    from openselfsup.apis.train import check_loop_sections
    sections = {f'{loop}_dataloader': dict(
        batch_size=1, dataset=dict(type='X'),
        sampler=dict(type='DefaultSampler', shuffle=False)),
        f'{loop}_cfg': dict(), f'{loop}_evaluator': dict(type='Accuracy')}
    if loop == 'train':  # the training loop's third is its optimiser
        del sections['train_evaluator']
        sections['optim_wrapper'] = dict(optimizer=dict(type='SGD', lr=0.1))
    for n, chosen in enumerate(itertools.product((False, True), repeat=3)):
        given = {k: (v if keep else None)
                 for keep, (k, v) in zip(chosen, sections.items())}
        try:
            Runner(model=torch.nn.Linear(1, 1),
                   work_dir=str(tmp_path / f'w{n}'),
                   experiment_name=f'{loop}{n}', default_scope=None,
                   **given)
            runner_refused = False
        except ValueError as e:
            assert 'should be either all None or not None' in str(e)
            runner_refused = True
        try:
            check_loop_sections(Config(given), 'c.py')
            refused = False
        except InputError as e:
            refused = True
            unset = [k for k, v in given.items() if v is None]
            assert str(e).startswith('c.py: ' + ', '.join(
                k for k in given if k not in unset) + ' set but '
                + ', '.join(unset) + ' not'), str(e)
            assert str(e).endswith(
                'set ' + ' and '.join(unset) if loop == 'train' else
                ' '.join(f'{k}=None' for k in given) + ')'), str(e)
        assert refused == runner_refused, given
        # a caller that runs the loop after training (the lambda sweep's
        # validation): the same sets refused, and only setting the others
        # offered (its own check refuses the loop's absence)
        try:
            check_loop_sections(Config(given), 'c.py', needed=(loop,))
            refused = False
        except InputError as e:
            refused = True
            unset = [k for k in given if given[k] is None]
            word = {'val': 'validation'}.get(loop, loop)
            assert str(e).endswith('set ' + ' and '.join(unset) + (
                '' if loop == 'train' else
                f' (the run is evaluated by its {word} loop)')), str(e)
        assert refused == runner_refused, given
    # the launchers' check says it (the balance demo trains, validates
    # and tests)
    config = os.path.join(REPO, 'configs', 'demo',
                          'balance_slide_synthetic.py')
    rc, _, err = run_tool_here(['tools/train.py', config, '--check-config',
                                '--cfg-options', f'{loop}_cfg=None'], capfd)
    assert rc == 2 and f'{loop}_cfg not: ' in err, (rc, err)


@pytest.mark.parametrize('loop', ['val', 'test'])
def test_an_api_caller_is_offered_no_loop_unless_it_needs_it(tmp_path,
                                                              loop):
    """Review r190: train() / build_runner() with their default
    evaluates=('val', 'test') (each where the config sets it) were told
    "the run is evaluated by its ... loop" for a loop set in part, and not
    offered removing all three, as the lambda sweep is (it cannot do
    without them). A caller that needs them says so
    (needs_evaluations=True); the default caller is offered both, and the
    way offered goes on (the runner is built, MMEngine's constructor
    taking the loop's three Nones)."""
    from openselfsup.apis.train import build_runner
    config = os.path.join(REPO, 'configs', 'demo',
                          'balance_slide_synthetic.py')
    word = 'validation' if loop == 'val' else 'test'
    sections = [f'{loop}_{k}' for k in ('dataloader', 'cfg', 'evaluator')]
    for needs, end in (
            (False, f'set {loop}_cfg, or none of them (--cfg-options ' +
             ' '.join(f'{k}=None' for k in sections) + ')'),
            (True, f'set {loop}_cfg (the run is evaluated by its {word} '
             'loop)')):
        with pytest.raises(InputError) as said:
            build_runner(config, work_dir=str(tmp_path / 'w'),
                         cfg_options={f'{loop}_cfg': None},
                         needs_evaluations=needs)
        assert str(said.value).endswith(end), (needs, str(said.value))
        assert not (tmp_path / 'w').exists()
    if loop == 'val':  # the way offered: the runner is built
        runner = build_runner(config, work_dir=str(tmp_path / 'w'),
                              cfg_options={k: None for k in sections})
        assert runner.val_loop is None


def _hooked_clp(tmp_path):
    """The CLP demo given a validation loop it never reaches (val_begin
    past its end) and a ValidateBeforeTrainHook: it validates where the
    hook does alone."""
    hooked = tmp_path / 'clp_vbt.py'
    hooked.write_text(
        f'_base_ = {CLP_DEMO!r}\n{VALIDATION}'
        'train_cfg = dict(max_epochs=2, val_begin=3)\n'
        "custom_hooks = [dict(type='ValidateBeforeTrainHook')]\n")
    return str(hooked)


def _meta_at(folder, step):
    """A checkpoint file in ``folder`` saved at iteration ``step`` (the
    training meta alone: what the validation check reads of it), as
    MMEngine's CheckpointHook names the best one saved at the validation
    before training."""
    import torch
    folder.mkdir(exist_ok=True)
    path = folder / f'best_accuracy_top1_epoch_{step}.pth'
    torch.save(dict(meta=dict(epoch=0, iter=step), state_dict={}), path)
    return str(path)


def test_a_url_checkpoint_is_judged_once_downloaded(tmp_path, monkeypatch):
    """Review r190: --resume URL of a checkpoint saved at iteration 0
    was taken to start past the first step (its meta unread before the
    download), so the hook's config passed, and the run downloaded the
    file, which it read locally, and stopped at the hook's validation with
    a traceback. The run judges it again once the file is local: refused
    before the runner is built, the download removed (the work dir made
    for it too). The launchers' check downloads nothing: it passes, as its
    docstring says. The reference: the hook's own before_train at the
    meta's iteration."""
    from _foundation_helpers import served

    from openselfsup.apis.train import build_runner, check_launch
    config = _hooked_clp(tmp_path)
    www = tmp_path / 'www'
    for step in (0, 5):
        name = os.path.basename(_meta_at(www, step))
        validates = _hook_validates_resumed(str(www / name), monkeypatch)
        assert validates == (step == 0)
        work = tmp_path / f'w{step}'
        with served(www, monkeypatch) as base:
            url = f'{base}/{name}'
            check_launch(config, resume=url, data_check=False)
            try:
                build_runner(config, work_dir=str(work), resume=url)
                said = ''
            except InputError as exc:
                said = str(exc)
        assert ('its first validation (before training)' in said) == \
            validates, (step, said)
        if validates:
            assert not work.exists(), list(work.rglob('*'))


def test_a_url_checkpoints_loader_note_is_judged_once_downloaded(
        tmp_path, monkeypatch):
    """The note of data loaders of more workers than cores took a
    ``--resume URL`` to start past its first step (its meta unread before
    the download), so a ValidateBeforeTrainHook's validation loader was
    never named, also where the run, resumed from a checkpoint saved at
    iteration 0, validates before training (the validation check judges
    such a URL once the file is local). The note now follows the same
    rule: the validation loader is named where the hook's own
    ``before_train`` validates at the downloaded file's iteration (the
    reference), in the run's log."""
    import re

    from _foundation_helpers import served

    from openselfsup.apis.train import build_runner
    config = _validated_before_training_by_more_workers_than_cores(
        tmp_path / 'fsp_vbt.py', FSP_DEMO, 'max_epochs=2, val_begin=3',
        VALIDATION)
    www = tmp_path / 'www'
    seen = []
    for step in (0, 5):
        name = os.path.basename(_meta_at(www, step))
        seen.append(_hook_validates_resumed(str(www / name), monkeypatch))
        work = tmp_path / f'w{step}'
        with served(www, monkeypatch) as base:
            runner = build_runner(str(config), work_dir=str(work),
                                  resume=f'{base}/{name}', evaluates=())
        with open(os.path.join(runner.log_dir,
                               f'{runner.timestamp}.log')) as f:
            log = f.read()
        named = [key for line in log.splitlines()
                 if 'torch suggests at most' in line
                 for key in re.findall(r'(\w+)\.num_workers=', line)]
        assert ('val_dataloader' in named) == seen[-1], (step, named)
    assert seen == [True, False]


def test_the_check_and_the_run_refuse_a_resumed_config_in_one_order(
        tmp_path, capfd):
    """Review r190: --resume of a checkpoint saved at iteration 0 (the
    hook validates) with a seed out of numpy's reach on two loader
    workers: --check-config said the seed, the run the validation (the
    check judged the seed before the checkpoint's step, the run after).
    The check's line is the run's."""
    from _foundation_helpers import run_tool_here
    config = _hooked_clp(tmp_path)
    ckpt = _meta_at(tmp_path / 'ckpts', 0)
    lines = []
    for check in (['--check-config'], []):
        rc, _, err = run_tool_here([
            'tools/train.py', config, '--resume', ckpt, '--work-dir',
            str(tmp_path / 'w'), *check, '--cfg-options',
            'randomness.seed=4294967295', 'train_dataloader.num_workers=2'],
            capfd)
        assert rc == 2, err[-2000:]
        lines.append(err.strip().splitlines()[-1])
    assert lines[0] == lines[1], lines
    assert 'its first validation (before training)' in lines[0], lines


def test_a_scope_set_by_custom_imports_is_where_the_model_is_looked_up(
        tmp_path, monkeypatch):
    """Review r192: ``default_scope = None`` beside ``custom_imports`` whose
    module makes the project's scope current (``init_default_scope``): the
    run builds HLSS there and stopped at its first validation
    (``AttributeError: 'tuple' object has no attribute 'float'``), but the
    check looked HLSS up in MMEngine's root registry, found none and
    passed. Refused in the line given under ``default_scope =
    'openselfsup'``; with the module not imported, not judged."""
    import sys

    from mmengine.registry import DefaultScope

    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import load_config
    (tmp_path / 'h314usermod.py').write_text(
        'from mmengine.registry import init_default_scope\n'
        'import openselfsup.models  # noqa: F401\n'
        "init_default_scope('openselfsup')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = _with_validation(tmp_path / 'hlss_val.py', HLSS_DEMO,
                              'dict(max_iters=2, val_interval=2)')
    lines = {}
    kept = DefaultScope._instance_dict.copy()
    try:
        for scope in (None, 'openselfsup'):
            cfg = load_config(config, allow_new_keys=True, cfg_options=dict(
                default_scope=scope, custom_imports=dict(
                    imports=['h314usermod'], allow_failed_imports=False)))
            with pytest.raises(InputError) as refused:
                check_validated_model(cfg, config)
            lines[scope] = str(refused.value)
        # not imported: the scope is not told, not judged
        sys.modules.pop('h314usermod')
        cfg.default_scope = None
        check_validated_model(cfg, config)
    finally:
        sys.modules.pop('h314usermod', None)
        DefaultScope._instance_dict = kept
    assert lines[None] == lines['openselfsup']
    assert "model.type 'HLSS'" in lines[None]
    assert "has no 'predict' mode" in lines[None]


def test_a_url_checkpoint_saved_at_the_runs_end_is_not_refused(
        tmp_path, monkeypatch):
    """Review r192: --resume URL of a checkpoint saved at the run's end (it
    trains no step, so never validates) was refused by the launchers'
    check and by the run before its download: a URL read as past the
    start, unknown where. Not known until downloaded
    (``checkpoint_from_url`` judges it then); the reference, the same
    file resumed from its local path, which both pass."""
    from _foundation_helpers import served

    from openselfsup.apis.train import build_runner, check_launch
    import torch
    config = _with_validation(tmp_path / 'clp_val.py', CLP_DEMO,
                              'dict(max_epochs=1, val_interval=1)')
    www = tmp_path / 'www'
    www.mkdir()
    name = 'epoch_1.pth'
    torch.save(dict(meta=dict(epoch=1, iter=100), state_dict={}),
               www / name)
    said = {}
    with served(www, monkeypatch) as base:
        for how, resume in (('local', str(www / name)),
                            ('url', f'{base}/{name}')):
            try:
                check_launch(config, resume=resume, data_check=False)
                build_runner(config, work_dir=str(tmp_path / how),
                             resume=resume)
                said[how] = ''
            except InputError as exc:
                said[how] = str(exc)
    assert said == dict(local='', url=''), said


def test_the_stand_in_runner_counts_as_its_loop_for_a_hook():
    """Review r192: ``_first_validation``'s stand-in runner had ``iter``
    fixed at 0 while ``meta`` set the loop's, so with both ``hooks`` and
    ``meta`` its ValidateBeforeTrainHook validated whatever the meta said.
    Now as the check judges the hooked config (its loop never validates):
    resumed at iteration 0 the hook validates, past it nothing does."""
    from openselfsup.apis.train import ResumedAt, check_validated_model
    from openselfsup.config import load_config
    from openselfsup.engine.validate_first import ValidateBeforeTrainHook
    loop = dict(type='EpochBasedTrainLoop', max_epochs=2, val_begin=3)
    for step in (0, 5):
        meta = dict(epoch=0, iter=step)
        first = _first_validation(loop, hooks=[ValidateBeforeTrainHook()],
                                  meta=meta)
        assert (first is not None) == (step == 0), (step, first)
    # the check's own answer, the same: refused at 0, passed past it
    cfg = load_config(CLP_DEMO)
    cfg.merge_from_dict(dict(
        val_dataloader=dict(batch_size=4, num_workers=0,
                            sampler=dict(type='DefaultSampler',
                                         shuffle=False),
                            dataset=cfg.train_dataloader.dataset),
        val_cfg=dict(), val_evaluator=dict(type='Accuracy'),
        train_cfg=dict(max_epochs=2, val_begin=3),
        custom_hooks=[dict(type='ValidateBeforeTrainHook')]))
    with pytest.raises(InputError):
        check_validated_model(cfg, 'c.py', False)
    check_validated_model(cfg, 'c.py', ResumedAt(0, 5))


def test_a_model_class_is_judged_where_the_scope_is_not_told(tmp_path):
    """Under ``default_scope = None`` beside a ``custom_imports`` module
    that failed to import (``allow_failed_imports=True``: the scope the run
    looks up in is not told, ``config.imported_scope`` None), a model given
    as a class needs no lookup and the MMEngine loop names build MMEngine's
    loops in every scope: HLSS validated is refused as it is without the
    import (review r194: the check returned early and passed it). The
    reference: the same config without ``custom_imports``."""
    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import imported_scope, load_config
    from openselfsup.registry import MODELS
    config = _with_validation(tmp_path / 'hv.py', HLSS_DEMO,
                              'dict(max_iters=2, val_interval=2)')
    said = {}
    for imports in (None, ['r319_no_such_module']):
        options = dict(default_scope=None)
        if imports:
            options['custom_imports'] = dict(imports=imports,
                                             allow_failed_imports=True)
        cfg = load_config(config, allow_new_keys=True, cfg_options=options)
        if imports:
            assert imported_scope(cfg) is None
        cfg.model.type = MODELS.get('HLSS')
        with pytest.raises(InputError, match="no 'predict' mode") as got:
            check_validated_model(cfg, config)
        said[bool(imports)] = str(got.value)
    assert said[True] == said[False]


def _scope_setting_module(tmp_path, monkeypatch, name, body=''):
    """A module ``name`` on the path that registers ``body`` and makes
    ``'openselfsup'`` the current scope on import, as a user's
    ``custom_imports`` may."""
    (tmp_path / f'{name}.py').write_text(
        'from mmengine.registry import init_default_scope\n'
        'from mmengine.runner import ValLoop\n'
        'import openselfsup.models  # noqa: F401\n'
        'from openselfsup.registry import LOOPS\n' + body +
        "init_default_scope('openselfsup')\n")
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize('run', [None, 'openselfsup'])
def test_a_loop_registered_by_an_imported_module_is_judged_in_its_scope(
        tmp_path, monkeypatch, run):
    """A user's ``ValLoop`` subclass registered in the project's ``LOOPS``
    by a ``custom_imports`` module that makes ``'openselfsup'`` current:
    under ``default_scope = None`` the run looks it up there
    (``config.imported_scope``), so HLSS validated through it is refused
    as under ``default_scope = 'openselfsup'`` (the reference; review r194:
    with ``run_scope`` the loop was looked up in MMEngine's root, found
    none, and the config passed)."""
    from mmengine.registry import DefaultScope

    from openselfsup.apis.train import check_validated_model
    from openselfsup.config import load_config
    name = f'r319loop{run or "none"}'
    _scope_setting_module(tmp_path, monkeypatch, name,
                          '@LOOPS.register_module(force=True)\n'
                          'class R319ValLoop(ValLoop):\n    pass\n')
    config = _with_validation(tmp_path / 'hlss_val.py', HLSS_DEMO,
                              'dict(max_iters=2, val_interval=2)')
    kept = DefaultScope._instance_dict.copy()
    try:
        cfg = load_config(config, allow_new_keys=True, cfg_options=dict(
            default_scope=run, val_cfg=dict(type='R319ValLoop'),
            custom_imports=dict(imports=[name],
                                allow_failed_imports=False)))
        with pytest.raises(InputError, match="no 'predict' mode"):
            check_validated_model(cfg, config)
    finally:
        sys.modules.pop(name, None)
        DefaultScope._instance_dict = kept


def test_a_model_named_in_an_imported_scope_is_not_refused_unregistered(
        tmp_path, monkeypatch):
    """``model.type='HLSS'`` under ``default_scope = None`` beside a
    ``custom_imports`` module that makes ``'openselfsup'`` current builds
    the project's HLSS (the reference: MMEngine's ``MODELS.build`` lookup
    in that scope finds it), so the kNN hook's unregistered-model check
    passes it, and refuses ``'HLSSS'``, which no scope holds (review r194:
    looked up in MMEngine's root it was refused as unregistered)."""
    from mmengine.registry import MODELS, DefaultScope

    from openselfsup.apis.train import _refuse_unregistered_model
    from openselfsup.config import load_config
    from openselfsup.models.algorithms.hlss import HLSS
    _scope_setting_module(tmp_path, monkeypatch, 'r319model')
    config = tmp_path / 'hlss_none.py'
    config.write_text(
        f'_base_ = {HLSS_DEMO!r}\ndefault_scope = None\n'
        "custom_imports = dict(imports=['r319model'], "
        'allow_failed_imports=False)\n')
    kept = DefaultScope._instance_dict.copy()
    try:
        cfg = load_config(str(config))
        with MODELS.switch_scope_and_registry(None) as found:
            assert found.get(cfg.model.type) is HLSS  # as the build does
        _refuse_unregistered_model(cfg, str(config))
        cfg.model.type = 'HLSSS'
        with pytest.raises(InputError, match='HLSSS'):
            _refuse_unregistered_model(cfg, str(config))
    finally:
        sys.modules.pop('r319model', None)
        DefaultScope._instance_dict = kept
