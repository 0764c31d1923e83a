"""The HiDisc loss across 2 CPU processes (gloo) equals the one-process loss
on the concatenated batch, and gradients flow through the all-gather."""
import os

import pytest
import torch
import torch.multiprocessing as mp

from openselfsup.models.losses import HiDiscLoss

from _foundation_helpers import free_port

SHAPE = (2, 2, 2, 2)  # per rank: B, S, P, V


def _features(world):
    g = torch.Generator().manual_seed(0)
    n = SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3]
    return torch.randn(world * n, 5, generator=g, dtype=torch.float64)


def _worker(rank, world, port, out):
    import torch.distributed as dist
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        feats = _features(world).chunk(world)[rank].clone().requires_grad_()
        losses = HiDiscLoss(temperature=0.1)({lv: feats for lv in (
            'patient', 'slide', 'patch')}, SHAPE)
        total = sum(losses.values())
        total.backward()
        out[rank] = (float(total.detach()), feats.grad.clone())
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_gathered_loss_equals_single_process_loss():
    world = 2
    port = free_port()
    out = mp.Manager().dict()
    # fork: the workers inherit the imported modules (spawn re-imports
    # mmpretrain in each, which is slow); but once CUDA work ran in this
    # process (other tests, on a GPU machine) autograd's device threads
    # exist and a forked child cannot run backward, so spawn then
    method = 'spawn' if torch.cuda.is_initialized() else 'fork'
    mp.start_processes(_worker, args=(world, port, out), nprocs=world,
                       join=True, start_method=method)
    feats = _features(world).requires_grad_()
    shape = (SHAPE[0] * world, ) + SHAPE[1:]
    ref = sum(HiDiscLoss(temperature=0.1)(
        {lv: feats for lv in ('patient', 'slide', 'patch')}, shape).values())
    ref.backward()
    grads = feats.grad.chunk(world)
    for rank in range(world):
        loss, grad = out[rank]
        assert loss == pytest.approx(ref.item(), rel=1e-10)
        # every rank computes the whole loss; the all-gather backward sums
        # the ranks' gradients, so each rank holds world x its share (DDP's
        # averaging of parameter gradients then gives the true gradient)
        torch.testing.assert_close(grad, world * grads[rank])
