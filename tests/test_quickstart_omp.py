"""tools/quickstart.sh runs its commands with OpenMP threads that sleep
while they wait (OMP_WAIT_POLICY=PASSIVE, a user's own setting kept): on 2
shared cores torch's spinning threads burned several times the CPU of the
work (benchmarks/RESULTS.md, "The quick start on 2 shared cores"). The
policy only says how an idle thread waits, so the numbers stay the same."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _policy_seen_by_python(tmp_path, env_extra):
    """The OMP_WAIT_POLICY the quick start's first ``python`` command gets:
    a stand-in ``python`` first on PATH writes it down and fails, which
    stops the script (set -e) before it writes anything."""
    fake = tmp_path / 'bin'
    fake.mkdir()
    seen = tmp_path / 'seen.txt'
    (fake / 'python').write_text(
        '#!/bin/sh\nprintf "%s" "${OMP_WAIT_POLICY-unset}" > "$SEEN"\n'
        'exit 3\n')
    (fake / 'python').chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != 'OMP_WAIT_POLICY'}
    env.update(env_extra, SEEN=str(seen),
               PATH=f"{fake}{os.pathsep}{env['PATH']}")
    before = sorted(os.listdir(REPO))
    proc = subprocess.run(['bash', os.path.join(REPO, 'tools',
                                                'quickstart.sh')],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert sorted(os.listdir(REPO)) == before
    return seen.read_text()


def test_quickstart_runs_its_commands_with_passive_omp_threads(tmp_path):
    assert _policy_seen_by_python(tmp_path, {}) == 'PASSIVE'


def test_quickstart_keeps_the_users_omp_wait_policy(tmp_path):
    assert _policy_seen_by_python(
        tmp_path, {'OMP_WAIT_POLICY': 'ACTIVE'}) == 'ACTIVE'


_STEP = r'''
import hashlib, torch
torch.set_num_threads(2)
torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16),
    torch.nn.ReLU(), torch.nn.Conv2d(16, 32, 3, stride=2),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 8))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
x = torch.randn(32, 3, 48, 48)
for _ in range(3):
    opt.zero_grad()
    loss = net(x).logsumexp(1).mean()
    loss.backward()
    opt.step()
h = hashlib.sha1(repr(loss.item()).encode())
for p in net.parameters():
    h.update(p.detach().numpy().tobytes())
print(h.hexdigest())
'''


def _training_digest(policy):
    env = dict(os.environ, OMP_WAIT_POLICY=policy)
    proc = subprocess.run([sys.executable, '-c', _STEP], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.skipif(os.cpu_count() < 2, reason='needs 2 threads to differ')
def test_the_wait_policy_leaves_two_thread_training_bitwise_the_same():
    """Three SGD steps of a small conv net with BatchNorm on 2 torch
    threads: the weights and the loss are the same bytes whether the
    OpenMP threads spin or sleep while they wait (the same threads split
    the same work)."""
    assert _training_digest('PASSIVE') == _training_digest('ACTIVE')
