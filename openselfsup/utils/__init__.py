"""Small shared helpers: atomic output files, one-line input errors,
fingerprints, a warning said once, a file read once per command.
(``utils.device``, which imports torch to ask about a GPU or make a
device, ``utils.cfg_options``, the ``--cfg-options`` reading, and
``utils.progress``, the progress bars, tqdm: import them explicitly.)"""
from .errors import (InputError, RawDefaultsHelpFormatter,  # noqa: F401
                     Terminated, cfg_options_here, check_filled,
                     check_distinct, check_finite, check_fraction,
                     check_seed, count_words, first_line,
                     given_twice, is_index_sequence, is_int,
                     is_number, run_cli,
                     settings_refused,
                     terminate_raises, terminate_raising, with_article)
from .fingerprint import (array_sha1, config_sha1,  # noqa: F401
                          data_folder_sha1, file_sha1, file_sha256,
                          files_sample_sha1, json_content_sha1,
                          read_json_digested,
                          library_version, plain_value)
from .io import (atomic_path, atomic_paths, check_file,  # noqa: F401
                 check_replaceable, close_entry, check_writable, check_writable_dir,
                 json_object_or_none, json_text, load_json, load_npy,
                 locked, missing_note, remove_set, save_json, save_npy,
                 save_npz, save_set, save_text, save_torch,
                 with_missing_note)
from .once import Once, read_once, reading_once  # noqa: F401
