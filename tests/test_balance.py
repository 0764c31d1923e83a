"""Balanced cross-modal tuning: losses, model, metrics, data, sweep."""
import json
import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from sklearn.metrics import (average_precision_score, cohen_kappa_score,
                             precision_recall_fscore_support)
from torch import nn

from openselfsup.engine.crossmodal_metrics import (
    CrossModalMetric, average_precision, mean_pair_cosine, multilabel_prf,
    quadratic_weighted_kappa, recall_at_k, retrieval_kappa)
from openselfsup.models.losses import (CLIPInfoNCELoss, CrossModalTripletLoss,
                                       sample_other_label)
from openselfsup.models.text_encoders import (HashedBagOfWords,
                                              _FrozenTextEncoder)
from openselfsup.registry import DATASETS, MODELS
from openselfsup.utils import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True, scope='module')
def _scope():
    # datasets and pipelines built outside a Runner look up this scope
    from mmengine.registry import init_default_scope
    init_default_scope('openselfsup')


@pytest.fixture(scope='module')
def crossmodal_root(tmp_path_factory):
    from openselfsup.datasets.synthetic import (CaptionedImagesSpec,
                                                SlideReportsSpec,
                                                make_captioned_images,
                                                make_slide_reports)
    root = tmp_path_factory.mktemp('crossmodal')
    make_captioned_images(str(root / 'images'), CaptionedImagesSpec(
        size=32, train=16, val=8, captions=2, seed=1))
    make_slide_reports(str(root / 'slides'), SlideReportsSpec(
        train=24, val=12, feat_dim=8, min_regions=2, max_regions=3, seed=1))
    return root


def slide_model(balance, contrastive=None, text=None, **kw):
    return MODELS.build(dict(
        type='BalancedCrossModal', balance=balance,
        backbone=dict(type='LocalGlobalSlideTransformer', in_channels=8,
                      embed_dims=16, num_heads=2, attn_hidden=8),
        head=dict(type='LinearTaskHead', in_channels=16, num_outputs=1,
                  activation='identity', output_scale=5.0,
                  loss=dict(type='GradeMSELoss', scale=5.0)),
        text_encoder=text or dict(type='HashedBagOfWords', dim=24),
        contrastive_loss=contrastive or dict(type='CLIPInfoNCELoss'),
        data_preprocessor=dict(type='BaseDataPreprocessor'), **kw))


def vit_model(balance):
    return MODELS.build(dict(
        type='BalancedCrossModal', balance=balance,
        backbone=dict(type='VisionTransformer',
                      arch=dict(embed_dims=16, num_layers=1, num_heads=2,
                                feedforward_channels=32),
                      img_size=32, patch_size=8, out_type='cls_token'),
        head=dict(type='LinearTaskHead', in_channels=16, num_outputs=6,
                  activation='sigmoid',
                  loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
        text_encoder=dict(type='HashedBagOfWords', dim=24),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[128] * 3,
                               std=[64] * 3)))


def slide_batch(root, split='train', n=8):
    ds = DATASETS.build(dict(
        type='SlideReports', data_root=str(root / 'slides'),
        ann_file=f'{split}.json', feat_dim=8,
        data_prefix=dict(feat_path='features'),
        pipeline=[dict(type='LoadRegionFeatures'),
                  dict(type='PackInputs', input_key='feats',
                       algorithm_keys=('target', ),
                       meta_keys=('case_id', 'captions'))]))
    return pseudo_collate([ds[i] for i in range(min(n, len(ds)))]), ds


def image_batch(root, n=8):
    ds = DATASETS.build(dict(
        type='CaptionedImages', data_root=str(root / 'images'),
        ann_file='train.json', classes='classes.txt', img_suffix='.png',
        data_prefix=dict(img_path='images'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs', algorithm_keys=('target', ),
                       meta_keys=('img_id', 'captions'))]))
    return pseudo_collate([ds[i] for i in range(n)]), ds


def _loss(model, batch):
    data = model.data_preprocessor(batch, True)
    return model(**data, mode='loss'), data


# ------------------------------------------------------------------ losses
def test_clip_loss_closed_form_on_orthonormal_pairs():
    b = 5
    q, _ = torch.linalg.qr(torch.randn(8, 8, dtype=torch.float64,
                                       generator=torch.Generator()
                                       .manual_seed(0)))
    img = q[:b] * 3.0               # scale is normalised away
    txt = q[:b].clone()
    for t in (0.07, 0.5):
        got = CLIPInfoNCELoss(temperature=t)(img, txt)
        # every row: logit 1/T on the diagonal, 0 elsewhere
        want = math.log(1 + (b - 1) * math.exp(-1 / t))
        assert got.item() == pytest.approx(want, rel=1e-9)
    t = 0.07
    # and against an explicit softmax on a non-orthogonal case
    img, txt = torch.randn(4, 3), torch.randn(4, 3)
    logits = F.normalize(img, dim=1) @ F.normalize(txt, dim=1).T / t
    p_i = torch.log_softmax(logits, 1).diag()
    p_t = torch.log_softmax(logits, 0).diag()
    want = -(p_i.mean() + p_t.mean()) / 2
    assert CLIPInfoNCELoss(t)(img, txt).item() == pytest.approx(
        want.item(), rel=1e-5)


def test_triplet_value_by_hand():
    img = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    labels = torch.tensor([0, 1])          # the only negative is the other
    loss = CrossModalTripletLoss(margin=2.0)(img, txt, labels)
    # anchor 0: d+ = 1, d- = 5 -> max(0, 1 - 5 + 2) = 0
    # anchor 1: d+ = sqrt(13), d- = 1 -> sqrt(13) - 1 + 2
    want = (0.0 + (math.sqrt(13) - 1 + 2)) / 2
    assert loss.item() == pytest.approx(want, rel=1e-6)
    # no anchor has a negative: zero, still differentiable
    img.requires_grad_(True)
    same = CrossModalTripletLoss()(img, txt, torch.tensor([3, 3]))
    assert same.item() == 0.0
    same.backward()


@pytest.mark.parametrize('multi_hot', [False, True])
def test_negatives_always_carry_another_label(multi_hot):
    g = torch.Generator().manual_seed(0)
    for trial in range(200):
        b = int(torch.randint(1, 12, (1, ), generator=g))
        if multi_hot:
            labels = (torch.rand(b, 3, generator=g) < 0.4).float()
        else:
            labels = torch.randint(0, 3, (b, ), generator=g)
        idx, valid = sample_other_label(labels, g)
        lab = labels.view(b, -1)
        for i in range(b):
            others = [j for j in range(b) if not torch.equal(lab[j], lab[i])]
            assert bool(valid[i]) == bool(others)
            if valid[i]:
                assert not torch.equal(lab[idx[i]], lab[i])


# ------------------------------------------------------------------- model
def test_lambda_zero_is_exactly_task_loss_without_contrastive_grad(
        crossmodal_root):
    batch, _ = image_batch(crossmodal_root)
    torch.manual_seed(0)
    model = vit_model(0.0)
    assert isinstance(model.vision_proj, nn.Linear)   # 16 -> 24 projection
    losses, data = _loss(model, batch)
    # the total is the task term, and the task term is BCE of the logits
    assert losses['loss'].item() == losses['task'].item()
    logits = model(data['inputs'], mode='tensor')
    target = torch.stack([torch.as_tensor(d.target)
                          for d in data['data_samples']])
    assert losses['task'].item() == pytest.approx(
        F.binary_cross_entropy_with_logits(logits, target).item(), rel=1e-6)
    assert losses['contrastive'].item() > 0           # logged all the same
    losses['loss'].backward()
    assert model.vision_proj.weight.grad is None      # no contrastive grad
    # backbone gradient equals that of the task loss alone
    got = model.backbone.cls_token.grad.clone()
    model.zero_grad()
    F.binary_cross_entropy_with_logits(
        model(data['inputs'], mode='tensor'), target).backward()
    torch.testing.assert_close(got, model.backbone.cls_token.grad)


def test_lambda_one_is_exactly_contrastive_and_mix_is_weighted(
        crossmodal_root):
    batch, _ = slide_batch(crossmodal_root)
    torch.manual_seed(0)
    model = slide_model(1.0)
    losses, data = _loss(model, batch)
    assert losses['loss'].item() == losses['contrastive'].item()
    # independent recomputation from the parts (one report per case)
    feats = model.extract_feat(data['inputs'])
    texts = [d.captions[0] for d in data['data_samples']]
    txt = HashedBagOfWords(dim=24).encode(texts)
    want = CLIPInfoNCELoss(0.07)(model.vision_proj(feats),
                                 model.text_proj(txt))
    assert losses['loss'].item() == pytest.approx(want.item(), rel=1e-6)
    losses['loss'].backward()
    assert all(p.grad is None for p in model.head.parameters())
    for lam in (0.3, 0.8):
        model.balance = lam
        out, _ = _loss(model, batch)
        assert out['loss'].item() == pytest.approx(
            lam * out['contrastive'].item() +
            (1 - lam) * out['task'].item(), rel=1e-6)


@pytest.mark.parametrize('bad', [-0.1, 1.5, 'half'])
def test_lambda_outside_unit_interval_is_rejected(bad):
    with pytest.raises(InputError, match='balance'):
        slide_model(bad)


@MODELS.register_module(force=True)
class _TestLinearText(_FrozenTextEncoder):
    """A frozen text encoder with weights: hashed words, then a linear map."""

    def __init__(self, dim=24):
        super().__init__()
        self.words = HashedBagOfWords(dim=32)
        self.lin = nn.Linear(32, dim)
        self.dim = dim
        self._freeze()

    def _encode(self, texts):
        return self.lin(self.words.encode(texts))


def test_frozen_text_encoder_does_not_change_in_a_step(crossmodal_root):
    batch, _ = slide_batch(crossmodal_root)
    torch.manual_seed(0)
    model = slide_model(0.5, text=dict(type='_TestLinearText', dim=24),
                        embed_dim=12)
    enc = model.text_encoder
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    vis_before = model.vision_proj.weight.clone()
    txt_before = model.text_proj.weight.clone()
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
    model.train()
    model.train_step(batch, ow)
    for k, v in enc.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not enc.training
    assert not any(p is q for p in model.parameters()
                   for q in enc.parameters())
    assert not torch.equal(model.vision_proj.weight, vis_before)
    assert not torch.equal(model.text_proj.weight, txt_before)  # trainable
    assert not any(k.startswith('text_encoder') for k in model.state_dict())


def test_optimizer_steps_once_per_accumulation_window(crossmodal_root):
    batch, _ = slide_batch(crossmodal_root, n=4)
    torch.manual_seed(0)
    model = slide_model(0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = []
    orig = opt.step
    opt.step = lambda *a, **k: (steps.append(len(steps)), orig(*a, **k))[1]
    ow = OptimWrapper(opt, accumulative_counts=3)
    ow.initialize_count_status(model, 0, 7)
    w0 = model.head.fc[1].weight.clone()
    seen = []
    for it in range(7):
        model.train_step(batch, ow)
        seen.append(len(steps))
        if it < 2:   # inside the first window nothing moves
            assert torch.equal(model.head.fc[1].weight, w0)
    # steps after iterations 3 and 6, then the last (short) window at 7
    assert seen == [0, 0, 1, 1, 1, 2, 3]


@pytest.mark.skipif(not torch.cuda.is_available(), reason='AMP needs a GPU')
def test_amp_optim_wrapper_step_on_gpu(crossmodal_root):
    from mmengine.optim import AmpOptimWrapper
    batch, _ = slide_batch(crossmodal_root)
    model = slide_model(0.5).cuda()
    ow = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(),
                                                   lr=0.1))
    out = model.train_step(batch, ow)
    assert torch.isfinite(out['loss'])


def test_slide_backbone_padding_does_not_change_outputs():
    torch.manual_seed(0)
    net = MODELS.build(dict(type='LocalGlobalSlideTransformer',
                            in_channels=8, embed_dims=16, num_heads=2,
                            attn_hidden=8)).eval()
    a, b = torch.randn(2, 64, 8), torch.randn(5, 64, 8)
    together = net([a, b])[0]
    torch.testing.assert_close(together[0], net([a])[0][0], atol=1e-5,
                               rtol=0)
    torch.testing.assert_close(together[1], net(b)[0][0], atol=1e-5, rtol=0)


# ----------------------------------------------------------------- metrics
def _brute_recall(sim, owner, k):
    i2t = np.mean([any(owner[j] == i for j in np.argsort(-sim[i])[:k])
                   for i in range(sim.shape[0])])
    t2i = np.mean([owner[j] in np.argsort(-sim[:, j])[:k]
                   for j in range(sim.shape[1])])
    return i2t, t2i


def test_recall_at_k_on_hand_made_similarities():
    # 3 images; texts 0, 1 belong to image 0, text 2 to image 1, 3 to 2
    owner = np.array([0, 0, 1, 2])
    sim = np.array([[0.1, 0.9, 0.5, 0.2],     # image 0: own text 1 is top-1
                    [0.8, 0.1, 0.3, 0.2],     # image 1: own text 2 at rank 2
                    [0.7, 0.6, 0.4, 0.1]])    # image 2: own text 3 last
    r = recall_at_k(sim, owner, ks=(1, 2, 4))
    assert r['i2t_R@1'] == pytest.approx(1 / 3)
    assert r['i2t_R@2'] == pytest.approx(2 / 3)
    assert r['i2t_R@4'] == 1.0
    # text->image: t0 best image 1 (own 0 rank 3); t1 own 0 top; t2 own 1
    # rank 3; t3 own 2 rank 3
    assert r['t2i_R@1'] == pytest.approx(1 / 4)
    assert r['t2i_R@2'] == pytest.approx(1 / 4)
    assert r['t2i_R@4'] == 1.0
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 9))
        owner = np.concatenate([np.arange(n),
                                rng.integers(0, n, int(rng.integers(0, 6)))])
        sim = rng.normal(size=(n, len(owner)))
        r = recall_at_k(sim, owner, ks=(1, 3))
        for k in (1, 3):
            i2t, t2i = _brute_recall(sim, owner, k)
            assert r[f'i2t_R@{k}'] == pytest.approx(i2t)
            assert r[f't2i_R@{k}'] == pytest.approx(t2i)


def test_kappa_matches_sklearn_and_retrieval_kappa():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 6, 40)
        p = np.clip(y + rng.integers(-2, 3, 40), 0, 5)
        assert quadratic_weighted_kappa(y, p, 6) == pytest.approx(
            cohen_kappa_score(y, p, weights='quadratic'))
    sim = rng.normal(size=(10, 10))
    y_img, y_txt = rng.integers(0, 6, 10), rng.integers(0, 6, 10)
    want = cohen_kappa_score(y_img, [y_txt[np.argmax(s)] for s in sim],
                             weights='quadratic')
    assert retrieval_kappa(sim, y_img, y_txt, 6) == pytest.approx(want)


def test_multilabel_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y = (rng.random((50, 5)) < 0.4).astype(int)
    y[0] = 1
    s = np.clip(y * 0.3 + rng.random((50, 5)) * 0.7, 0, 1)
    p, r, f, _ = precision_recall_fscore_support(
        y, (s >= 0.5).astype(int), average='macro', zero_division=0)
    got = multilabel_prf(s, y, 0.5)
    assert got['precision'] == pytest.approx(p)
    assert got['recall'] == pytest.approx(r)
    assert got['f1'] == pytest.approx(f)
    assert average_precision(s, y) == pytest.approx(
        average_precision_score(y, s, average='macro'))
    img, txt = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    owner = np.array([0, 1, 2, 2, 0])
    cos = [img[o] @ t / np.linalg.norm(img[o]) / np.linalg.norm(t)
           for o, t in zip(owner, txt)]
    assert mean_pair_cosine(img, txt, owner) == pytest.approx(np.mean(cos))


def test_metric_end_to_end_from_model_predictions(crossmodal_root):
    batch, ds = slide_batch(crossmodal_root, 'val', n=12)
    model = slide_model(0.5)
    data = model.data_preprocessor(batch, False)
    preds = model(**data, mode='predict')
    metric = CrossModalMetric(task='grade', ks=(1, 5))
    metric.process(batch, [p.to_dict() for p in preds])
    out = metric.compute_metrics(metric.results)
    y = np.array([int(p.target) for p in preds])
    g = np.clip(np.rint([float(p.pred_score) for p in preds]), 0, 5)
    assert out['kappa'] == pytest.approx(
        cohen_kappa_score(y, g.astype(int), weights='quadratic'))
    assert {'ret_kappa', 'i2t_R@1', 't2i_R@5', 'mean_cos'} <= set(out)


# -------------------------------------------------------------------- data
def test_synthetic_data_labels_captions_and_features(crossmodal_root):
    from openselfsup.datasets.synthetic.crossmodal import IMAGE_CLASSES
    fold = json.load(open(crossmodal_root / 'images' / 'train.json'))
    for entry in fold.values():
        assert 1 <= len(entry['labels']) <= 3
        for cap in entry['captions']:
            named = {c for c, w in IMAGE_CLASSES.items() if w in cap}
            assert named == set(entry['labels'])
    cases = json.load(open(crossmodal_root / 'slides' / 'train.json'))
    for cid, entry in cases.items():
        t = torch.load(crossmodal_root / 'slides' / 'features' / f'{cid}.pt')
        assert t.shape[1:] == (64, 8) and 2 <= t.shape[0] <= 3
        if entry['label'] == 0:
            assert 'benign' in entry['report'].lower()
        else:
            assert f"grade group {entry['label']}" in entry['report']


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def test_bad_input_one_line_errors(crossmodal_root, tmp_path):
    img_root = crossmodal_root / 'images'
    fold = json.load(open(img_root / 'train.json'))
    some = next(iter(fold))

    def build_images(ann):
        return DATASETS.build(dict(
            type='CaptionedImages', data_root=str(img_root), ann_file=ann,
            classes='classes.txt', img_suffix='.png',
            data_prefix=dict(img_path='images')))

    no_cap = _write(tmp_path / 'nocap.json',
                    {some: dict(labels=fold[some]['labels'], captions=[])})
    with pytest.raises(InputError, match=f'"{some}" has no caption'):
        build_images(no_cap)
    no_lab = _write(tmp_path / 'nolab.json',
                    {some: dict(captions=['a caption'])})
    with pytest.raises(InputError, match=f'"{some}" has no label'):
        build_images(no_lab)

    slides = crossmodal_root / 'slides'

    def build_slides(ann, feat_dim=8):
        return DATASETS.build(dict(
            type='SlideReports', data_root=str(slides), ann_file=ann,
            feat_dim=feat_dim, data_prefix=dict(feat_path='features')))

    missing = _write(tmp_path / 'missing.json',
                     {'case_x': dict(label=2, report='grade group 2')})
    with pytest.raises(InputError, match='case_x.pt not found'):
        build_slides(missing)
    with pytest.raises(InputError, match=r'expected \[M, 64, 16\]'):
        build_slides(str(slides / 'val.json'), feat_dim=16)
    no_report = _write(tmp_path / 'norep.json',
                       {'case_00000': dict(label=1)})
    with pytest.raises(InputError, match='has no report'):
        build_slides(no_report)
    with pytest.raises(InputError) as info:
        build_slides(missing)
    assert '\n' not in str(info.value) and 'missing.json' in str(info.value)


# ------------------------------------------------------------------- sweep
@pytest.mark.slow
def test_sweep_writes_table_json_and_plot(crossmodal_root, tmp_path):
    from openselfsup.apis import run_balance_sweep
    cfg = os.path.join(ROOT, 'configs/demo/balance_slide_synthetic.py')
    opts = {
        'train_dataloader.dataset.data_root': str(crossmodal_root / 'slides'),
        'val_dataloader.dataset.data_root': str(crossmodal_root / 'slides'),
        'train_dataloader.dataset.feat_dim': 8,
        'val_dataloader.dataset.feat_dim': 8,
        'model.backbone.in_channels': 8,
        'model.backbone.embed_dims': 16, 'model.head.in_channels': 16,
        'train_dataloader.batch_size': 8, 'train_cfg.max_epochs': 1,
        'default_hooks.checkpoint.interval': 100}
    res = run_balance_sweep(cfg, [0, 1], work_dir=str(tmp_path / 'sweep'),
                            baseline_epochs=1, cfg_options=opts)
    rows = json.load(open(res['paths']['json']))['rows']
    assert [r['name'] for r in rows] == ['baseline', 'lambda=0', 'lambda=1']
    assert all('kappa' in r['metrics'] and 'ret_kappa' in r['metrics']
               for r in rows)
    assert open(res['paths']['png'], 'rb').read(4) == b'\x89PNG'
    assert res['table'].count('\n') == 5
    with pytest.raises(InputError, match='balance'):
        run_balance_sweep(cfg, [0.5, 2.0], work_dir=str(tmp_path / 'bad'))


def test_sweep_cli_rejects_bad_lambda(capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'balance_sweep_cli', os.path.join(ROOT, 'tools/balance_sweep.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from openselfsup.utils import run_cli
    code = run_cli(mod.main, [os.path.join(
        ROOT, 'configs/demo/balance_slide_synthetic.py'), '--lambdas', '1.2'])
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'lambda' in err


def test_configs_parse_and_demo_models_build(crossmodal_root):
    from mmengine.config import Config
    for name in ('balance/balance_vit_captions.py',
                 'balance/balance_hlgs_isup.py'):
        cfg = Config.fromfile(os.path.join(ROOT, 'configs', name))
        assert cfg.model.type == 'BalancedCrossModal'
        assert cfg.model.text_encoder.type == 'SentenceTransformerText'
    cfg = Config.fromfile(os.path.join(
        ROOT, 'configs/demo/balance_vit_tiny_synthetic.py'))
    model = MODELS.build(cfg.model)
    assert model.backbone.embed_dims == 32 and model.text_encoder.dim == 64
    batch, _ = image_batch(crossmodal_root, n=4)
    losses, _ = _loss(model, batch)
    assert torch.isfinite(losses['loss'])


def test_triplet_variant_trains_the_slide_model(crossmodal_root):
    batch, _ = slide_batch(crossmodal_root)
    torch.manual_seed(0)
    model = slide_model(0.5, contrastive=dict(type='CrossModalTripletLoss',
                                              margin=2.0))
    losses, _ = _loss(model, batch)
    assert losses['contrastive'].item() > 0
    losses['loss'].backward()
    assert model.vision_proj.weight.grad is not None
