"""The low-shot scripts' settings and the sweep flags they become.

The experiment scripts (``wsi_workdir/scripts/*.sh``, settings in
``_env.sh``) pass their environment settings to ``wsi_workdir/sweep.py`` as
flags (``SHOTS`` as ``--near_shots`` / ``--mixture_shots``, ``DOMAINS`` as
``--task``, ...). ``evaluate_encoder.sh`` checks them first with
``sweep.py --check --as_script "$0"``: a refusal there names the setting
the user gave and its value, as a line of the script (``error: <script>:
SHOTS="0" is refused by the sweep's check ...: --near_shots 0: ...``), not
a flag the user never typed; argparse's refusals too, without its usage
lines (:func:`script_terms`).
"""
import os
import re
from contextlib import contextmanager
from typing import Iterator, List, Mapping, Optional, Sequence

from ..utils import InputError
from ..utils.errors import one_line
from .spec import TASKS

#: the scripts' shots setting of each domain (:data:`~.spec.TASKS`): SHOTS
#: gives the near and mixture domains their shots, OUT_SHOTS the out
#: domain, OUT_HOMO_SHOTS out_homo; the one place of this rule: the shell
#: reads it from the lines :func:`shell_rules` writes into
#: ``wsi_workdir/scripts/_env.sh`` (a test checks them there)
DOMAIN_SHOTS = {'near': 'SHOTS', 'mixture': 'SHOTS', 'out': 'OUT_SHOTS',
                'out_homo': 'OUT_HOMO_SHOTS'}


def _shots_flags(setting: str) -> tuple:
    """The sweep.py flags of the domains ``setting`` gives their shots
    (``--near_shots``, ``--mixture_shots`` of SHOTS)."""
    return tuple(f'--{t}_shots' for t in TASKS if DOMAIN_SHOTS[t] == setting)


#: each setting of the scripts and the sweep.py flags it becomes (or a
#: refusal names for it); its value is read from the first of its flags in
#: the command (each carries the setting's value; MODEL's is --model's, the
#: scripts' --model_template is their own)
FLAG_SETTINGS = (
    # SHOTS, OUT_SHOTS, OUT_HOMO_SHOTS (DOMAIN_SHOTS); --shots is SHOTS
    *((name, ('--shots', ) * (name == 'SHOTS') + _shots_flags(name))
      for name in dict.fromkeys(DOMAIN_SHOTS[t] for t in TASKS)),
    ('DOMAINS', ('--task', )),
    ('NOVEL_CLASSES', ('--novel_classes', '--novel_class')),
    ('SEED', ('--seed', '--task_seed', '--dict_seed')),
    ('MODEL', ('--model', '--model_template')),
    ('NUM_TASK', ('--num_task', )),
    ('NUM_PROTOTYPES', ('--num_prototypes', )),
    ('NUM_SHIFT_VECTORS', ('--num_shift_vectors', )),
    ('NUM_AUG_SHOTS', ('--num_aug_shots', )),
    ('CLFS', ('--clfs', )),
    ('MODES', ('--modes', )),
    ('DEVICE', ('--device', )),
    ('WORKDIR', ('--workdir', )),
)



def shell_rules() -> str:
    """The lines of ``wsi_workdir/scripts/_env.sh`` that give the shell
    this module's rules, as they must read there (no script starts a
    python process before its checks of the settings): ``DOMAIN_NAMES``,
    the domains (:data:`~.spec.TASKS`), and ``DOMAIN_SHOTS``, each
    domain's shots setting as ``DOMAIN:SETTING`` (:data:`DOMAIN_SHOTS`)."""
    return (f'DOMAIN_NAMES="{" ".join(TASKS)}"\n'
            'DOMAIN_SHOTS="'
            + ' '.join(f'{t}:{DOMAIN_SHOTS[t]}' for t in TASKS) + '"\n')


#: a script's own name of a setting: demo_lowshot.sh's one novel class is
#: NOVEL (it sets NOVEL_CLASSES from it)
SCRIPT_NAMES = {'demo_lowshot.sh': {'NOVEL_CLASSES': 'NOVEL'}}

#: the flag that names the script a check runs for
AS_SCRIPT = '--as_script'

_NEGATIVE = re.compile(r'^-\d+$|^-\d*\.\d+$')  # a value, as argparse reads it


def first_flag(message: str) -> Optional[str]:
    """The first word of ``message`` that is a long flag (``--near_shots``
    of ``'--near_shots 0: ...'``, ``--modes`` of ``'argument --modes:
    ...'``), without what follows its name; None if it names none."""
    for word in message.split(' '):
        m = re.match(r'--[a-z][a-z_-]*', word)
        if m:
            return m.group(0)
    return None


def flag_values(argv: Sequence[str], flag: str) -> Optional[List[str]]:
    """The values given after the last ``flag`` in ``argv`` (up to the next
    option; a negative number is a value), None if it is not given."""
    values = None
    for i, arg in enumerate(argv):
        if arg == flag:
            values = []
            for v in argv[i + 1:]:
                if v.startswith('-') and not _NEGATIVE.match(v):
                    break
                values.append(v)
    return values


def script_of(argv: Sequence[str]) -> Optional[str]:
    """The script ``argv`` names after :data:`AS_SCRIPT` (None: none)."""
    values = flag_values(argv, AS_SCRIPT)
    return values[0] if values else None


def script_refusal(script: str, message: str, argv: Sequence[str],
                   environ: Optional[Mapping[str, str]] = None) -> str:
    """The refusal ``message`` of the sweep's check of ``argv``, as the
    line of ``script`` (its path, as the script's own refusals name it):
    the setting the first flag of the message came from and its value, as
    the user gave it in ``environ`` (the script's environment) where its
    words are those the command got (``SHOTS="1  0"``, its blanks as
    given: the shell split it into the flag's values, and the line said
    ``"1 0"``), else as the command got them (a script's own default, or
    an argument: evaluate_encoder.sh's MODEL); without such a flag, the
    message as the check's."""
    flag = first_flag(message)
    setting = values = None
    for name, flags in FLAG_SETTINGS:
        if flag in flags:
            given = [flag_values(argv, f) for f in flags]
            values = next((v for v in given if v is not None), None)
            setting = name
            break
    if values is not None:
        setting = SCRIPT_NAMES.get(script.rsplit('/', 1)[-1],
                                   {}).get(setting, setting)
        value = (environ or {}).get(setting)
        if value is None or value.split() != values:
            value = ' '.join(values)
        line = (f'{script}: {setting}="{value}" is refused by '
                "the sweep's check of this script's settings (sweep.py "
                f'--check, before any extraction): {message}')
    else:  # a flag of no setting, or of one the command did not get
        line = (f"{script}: the sweep's check of this script's settings "
                '(sweep.py --check, before any extraction) refuses them: '
                f'{message}')
    # one line, as the scripts' own refusals (a value holding a newline)
    return line.replace('\n', '\\n')


def parse_error(message: str) -> None:
    """An argparse parser's ``error`` for :func:`script_terms`: the message
    as an InputError (argparse printed its usage lines, which name flags
    the script's user never typed, and exited)."""
    raise InputError(message)


@contextmanager
def script_terms(argv: Sequence[str]) -> Iterator[Optional[str]]:
    """Where ``argv`` names a script (:data:`AS_SCRIPT`), an
    :class:`InputError` raised inside becomes that script's line
    (:func:`script_refusal`); yields the script (None: errors pass as they
    are)."""
    script = script_of(argv)
    if script is None:
        yield None
        return
    try:
        yield script
    except InputError as exc:
        raise InputError(script_refusal(script, one_line(exc), argv,
                                        os.environ)) from None
