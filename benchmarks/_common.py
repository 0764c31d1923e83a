"""Small helpers shared by the benchmarks: machine description, peak memory,
JSON output."""
import datetime
import os
import platform
import resource
import subprocess

import torch

from openselfsup.utils import json_text


def load_average() -> list:
    """1, 5 and 15-minute load averages (runnable threads, all cores)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    """CPU model, core count, load average, torch threads, GPU (if any)."""
    cpu = platform.processor()
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        cpu = next(line.split(':', 1)[1].strip() for line in out.splitlines()
                   if line.startswith('Model name')) or cpu
    except Exception:  # lscpu missing: keep platform's answer
        pass
    return {
        'date_utc': datetime.datetime.now(datetime.timezone.utc)
        .strftime('%Y-%m-%d %H:%M'),
        'cpu': cpu, 'cores': os.cpu_count(),
        'load_average': load_average(),
        'torch': torch.__version__, 'torch_threads': torch.get_num_threads(),
        'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available()
        else None,
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` as standard JSON (NaN as ``null``), if
    ``path`` is given."""
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, 'w') as f:
            f.write(json_text(data, indent=1))
        print(f'wrote {path}')
