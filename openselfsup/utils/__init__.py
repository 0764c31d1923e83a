"""Small shared helpers: atomic output files and one-line input errors."""
from .errors import InputError, run_cli  # noqa: F401
from .io import atomic_path, save_json, save_npy, save_npz, save_text  # noqa: F401
