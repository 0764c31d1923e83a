"""The suite's processes skip yapf's formatting of config texts.

MMEngine formats a config's whole text with yapf wherever it reads
``Config.pretty_text``: the log at a runner's start, the dump in the work
dir, each checkpoint's ``meta`` (``openselfsup.engine.runner`` keeps the
last texts, so once a run). That is about 0.15 s a run of a demo config
on this machine, and the suite runs a few thousand: a py-spy profile of
its largest files put a tenth of their CPU time in yapf. Each test
process (``conftest.py``) and each fork server (``_foundation_helpers``)
replaces it with yapf's parse alone: the text must still be Python, as
MMEngine's ``SyntaxError('Failed to format the config file ...')``
checks, and it is written as MMEngine built it, unformatted (the same
statements: every reader of a dumped config or a checkpoint's ``cfg``
parses it). Commands the tests start cold (``run_tool`` without
``first``, the shell scripts' own interpreters) format as users' runs
do; ``tests/test_checkpoint_hook.py`` checks the formatting itself
against yapf.
"""

#: run in a process where ``mmengine.config.config`` is imported
PARSE_ONLY = r'''
import ast as _ast, sys as _sys
_cc = _sys.modules.get('mmengine.config.config')
if _cc is not None and not getattr(_cc.FormatCode, 'parse_only', False):
    def _parse_only(text, style_config=None, **kwargs):
        """yapf's FormatCode without the formatting: the text parsed
        (what fails yapf's parse fails here), returned as it came."""
        _ast.parse(text)
        return text, False
    _parse_only.parse_only = True
    _cc.FormatCode = _parse_only
'''
