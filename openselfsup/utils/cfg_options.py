"""``--cfg-options KEY=VALUE ...``: read as MMEngine's ``DictAction``
reads its values, without importing MMEngine until a value is read.

A command's ``--help`` (``tools/train.py``) builds its parser with
:class:`CfgOptionsAction` and answers without ``mmengine.config`` (about
0.3 s of CPU); a command line that gives the flag reads its values with
:func:`parse_cfg_options`, which imports ``DictAction`` then.
``openselfsup.config`` re-exports these names.
"""
import argparse
import re
from typing import Any, Dict, List, Optional, Tuple

from .errors import InputError


def _split_top(text: str, sep: str) -> List[str]:
    """``text`` split at each ``sep`` outside brackets (``()``, ``[]``,
    ``{}``)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in '([{':
            depth += 1
        elif char in ')]}':
            depth -= 1
        elif char == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def _dict_items(path: Tuple[str, ...], value: str, flag: str, item: str
                ) -> List[Tuple[Tuple[str, ...], str]]:
    """``(key path, value text)`` of the items a dict value stands for:
    ``{a: 1, b: {c: [1, 2]}}`` under ``x`` is ``x.a=1`` and
    ``x.b.c=[1, 2]``, the keys MMEngine's merge of that dict into the
    config sets (a dict value is merged, not put in place of the config's
    dict); any other value is itself.

    Raises:
        InputError: braces that do not pair (in any value), an empty
            dict, an entry that is not ``KEY: VALUE``.
    """
    if value.count('{') != value.count('}'):
        raise InputError(f'{flag} {item!r}: the brackets of the value do '
                         'not pair')
    text = value.strip().strip('\'"').strip()
    if not (text.startswith('{') and text.endswith('}')):
        return [(path, value)]
    entries = [e for e in _split_top(text[1:-1], ',') if e.strip()]
    if not entries:
        raise InputError(
            f'{flag} {item!r}: an empty dict changes nothing (MMEngine '
            'merges a dict into the config\'s); give the keys to change, '
            f'{".".join(path)}.KEY=VALUE')
    items = []
    for entry in entries:
        name, *rest = _split_top(entry, ':')
        name = name.strip().strip('\'"').strip()
        if not rest or not name:
            raise InputError(f'{flag} {item!r}: {entry.strip()!r} in the '
                             'dict is not KEY: VALUE')
        items += _dict_items(path + (name,), ':'.join(rest).strip(' '),
                             flag, item)
    return items


def _split_dict(value: Any) -> bool:
    """Whether a value ``DictAction`` parsed holds a dict it split as text
    (``[{a: 1, b: 2}]``: the strings ``'{a:1'`` and ``'b:2}'``)."""
    if isinstance(value, (list, tuple)):
        return any(_split_dict(v) for v in value)
    return isinstance(value, str) and (
        value.count('{') != value.count('}') or
        value.startswith('{') and value.endswith('}'))


#: stands in for a space inside an item while ``DictAction`` reads a
#: value (no argv string can hold it)
_KEPT_SPACE = '\0'
#: spaces between two characters that are no separator of DictAction's
#: (``,()[]``): inside an item, where it would remove them
_INNER_SPACES = re.compile(r'(?<=[^ ,()\[\]]) +(?=[^ ,()\[\]])')


def _restore_spaces(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(_restore_spaces(v) for v in value)
    return value.replace(_KEPT_SPACE, ' ') if isinstance(value, str) \
        else value


def parse_option_value(text: str) -> Any:
    """One ``--cfg-options`` VALUE read as MMEngine's ``DictAction`` reads
    it (numbers, booleans, None, lists, tuples, quotes stripped), but for
    its spaces: ``DictAction`` removes every one, so ``da ta/NCT`` was
    read as ``data/NCT``, another folder, without a word. Here a value
    that is no list or tuple keeps the spaces inside it (those at its
    ends dropped, as ``DictAction`` drops them and as a list item's are:
    ``'data/NCT '`` is ``data/NCT``; a number, boolean or None is read
    from it so), and an item of a list or
    tuple keeps the spaces inside it (``[a b, c]`` is ``['a b', 'c']``;
    an item with a space inside is a string: ``[1 2]`` is ``['1 2']``,
    not ``[12]``), the spaces beside commas and brackets (``[1, 2]``)
    dropped as before.

    Args:
        text (str): the text after the first ``=`` of an item.

    Raises:
        AssertionError: brackets that do not pair (``DictAction``'s).
        RecursionError: brackets inside an item not itself in brackets.
    """
    from mmengine.config import DictAction
    val = text.strip('\'"')
    bare = val.replace(' ', '')
    if ',' not in bare and not (bare[:1] + bare[-1:] in ('()', '[]')):
        return DictAction._parse_int_float_bool(val.strip(' '))
    return _restore_spaces(DictAction._parse_iterable(
        _INNER_SPACES.sub(lambda m: _KEPT_SPACE * len(m.group()), val)))


def parse_cfg_options(items, flag: str = '--cfg-options',
                      dotted: bool = True) -> Optional[Dict[str, Any]]:
    """``--cfg-options KEY=VALUE ...`` strings (or those of another
    ``flag``) to a dict, with MMEngine's ``DictAction`` value parsing
    (numbers, lists, tuples, booleans, None; a later item of one key wins)
    but for the spaces it removes, kept here (:func:`parse_option_value`);
    for commands that parse their flags before importing MMEngine, and for
    those that parse them with :class:`CfgOptionsAction`. A dict value,
    ``'x={a: 1, b: [1, 2]}'``, which ``DictAction`` split into strings
    or recursed on without end, is read as its keys (:func:`_dict_items`):
    with ``dotted``, as ``x.a=1 x.b=[1,2]`` (config overrides, each key
    checked as given that way); else as the nested dict (keyword
    arguments).

    Raises:
        InputError: an item without ``=``, a value whose brackets do not
            pair (``DictAction`` asserts), a dict inside a list, or
            brackets ``DictAction`` cannot read (a RecursionError: a comma
            inside brackets of an item not itself in brackets,
            ``a[1,2]``), naming ``flag`` and the item.
    """
    if not items:
        return None
    opts: Dict[str, Any] = {}
    for item in items:
        if '=' not in item:
            raise InputError(f'{flag} {item!r}: expected KEY=VALUE')
        key, value = item.split('=', 1)
        for path, text in _dict_items((key,), value, flag, item):
            try:
                parsed = parse_option_value(text)
            except AssertionError:  # its one check: '(' / ')', '[' / ']'
                raise InputError(
                    f'{flag} {item!r}: the brackets of the value do not '
                    'pair (quote the item for the shell: \'key=[1, 2]\')'
                ) from None
            except RecursionError:
                raise InputError(
                    f'{flag} {item!r}: cannot read the value (brackets '
                    'inside an item not itself in brackets, or a dict '
                    'inside a list); bracket a list whole, \'key=[1, [2, '
                    '3]]\', and give a dict as \'key={a: 1}\' or key.a=1'
                ) from None
            if isinstance(parsed, (list, tuple)) and _split_dict(parsed):
                raise InputError(
                    f'{flag} {item!r}: a dict inside a list or tuple is not '
                    'read; set it in the config file, or its keys one by '
                    'one (key.0.a=1)')
            if dotted:
                opts['.'.join(path)] = parsed
                continue
            node = opts
            for part in path[:-1]:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node[path[-1]] = parsed
    return opts


class CfgOptionsAction(argparse.Action):
    """``--cfg-options`` for an argparse parser, read as
    :func:`parse_cfg_options` reads it: a bad item is one line
    (:class:`~openselfsup.utils.InputError`, which the tools' ``run_cli``
    prints), where MMEngine's ``DictAction`` raised a traceback (an item
    without ``=``: ValueError; brackets that do not pair: AssertionError).
    Given twice, the items add up, as with ``DictAction``."""

    def __call__(self, parser, namespace, values, option_string=None):
        opts = dict(getattr(namespace, self.dest, None) or {})
        opts.update(parse_cfg_options(values, option_string or self.dest)
                    or {})
        setattr(namespace, self.dest, opts)
