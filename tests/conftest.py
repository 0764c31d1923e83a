"""Shared fixtures: small synthetic datasets written once per test session."""
import gc
import os

import pytest
import torch

# CI has 2 cores; keep intra-op threads at that so tests do not oversubscribe.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True, scope='module')
def _earlier_objects_out_of_the_collectors_sight():
    """MMEngine's datasets run ``gc.collect()`` at every build (before they
    serialise their data list); over a session the objects alive (imports,
    session fixtures, caches) made each call take about 0.4 s, some 14 s
    in one kNN test. At each module's start the garbage so far is collected
    and what is left is frozen (``gc.freeze``): the collector then looks
    only at the objects made since, and this module's garbage is collected
    as before."""
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """NCT / LC25000 / PAIP19 in the real layouts, 32 px, a few images each."""
    from openselfsup.datasets.synthetic import SyntheticSpec, make_synthetic
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic(str(root), SyntheticSpec(
        size=32, nct_train=12, nct_test=6, lc=8, paip_train_slides=2,
        paip_test_slides=1, paip_per_class=4, seed=0))
    return str(root)


#: the words of the tiny BERT's vocabulary (one token each)
TINY_WORDS = ('a', 'photo', 'of', 'dense', 'cells', 'and', 'more')


@pytest.fixture(scope='session')
def tiny_bert(tmp_path_factory):
    """A local Hugging Face folder of a random 1-layer BERT of width 8 with
    a word-level vocabulary (made here: nothing is downloaded), readable
    by HFMeanPoolText and, as a plain transformer with mean pooling, by
    SentenceTransformerText."""
    transformers = pytest.importorskip('transformers')
    path = tmp_path_factory.mktemp('tiny_bert')
    vocab = path / 'vocab.txt'
    vocab.write_text('\n'.join(('[PAD]', '[UNK]', '[CLS]', '[SEP]',
                                '[MASK]') + TINY_WORDS) + '\n')
    transformers.BertTokenizer(str(vocab)).save_pretrained(str(path))
    with torch.random.fork_rng():  # the other tests' draws untouched
        torch.manual_seed(0)
        transformers.BertModel(transformers.BertConfig(
            vocab_size=5 + len(TINY_WORDS), hidden_size=8,
            num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=64)).save_pretrained(str(path))
    return str(path)
