"""Small shared helpers: atomic output files and one-line input errors."""
from .errors import InputError, run_cli  # noqa: F401
from .io import (atomic_path, check_writable_dir, save_json,  # noqa: F401
                 save_npy, save_npz, save_text)
