"""URL rules whose builders are compiled when first used.

Werkzeug compiles two URL builders (Python code generated through ``ast`` and ``compile``) for every rule as
the rule is added: for our ~1,000 rules that is nine tenths of ``create_app`` (0.40 s of 0.43 s on 2 cores),
paid by every ``flask`` command, every worker start and every test. A page builds a few dozen URLs, so each
builder is compiled on its first ``url_for`` instead, once per rule, with the same result. Matching (the
rule's regular expression) is untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compile_now = super()._compile_builder
        compiled: Callable[..., tuple[str, str]] | None = None

        def build(rule: Rule, *args: Any, **values: Any) -> tuple[str, str]:
            nonlocal compiled
            if compiled is None:
                compiled = compile_now(append_unknown)
            return compiled(rule, *args, **values)

        return build
