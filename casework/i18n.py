"""The templates' constant words translated once, when a template is compiled, per language (issue 18).

A case page says about a hundred words through ``_("…")``. Each one was a call at every render: Jinja's ``_``
alias, the newstyle ``gettext`` wrapper (which copies the template's whole context when it runs inside a block
or loop that sets a variable), then the catalogue; on the case page, more than half of its template's time.
A word without variables has one translation per language, so each language gets an overlay of the app's Jinja
environment whose compiled templates hold the translated text instead of the call; the request's language
(Flask-Babel's ``get_locale``: what ``select_locale`` chose, or a ``force_locale``) picks the overlay when a
template is loaded, and the templates it extends, includes and imports come from the same overlay.

The result is exactly what Jinja's newstyle gettext gives at run time: the text is marked safe where autoescaping
is on, ``%(name)s`` variables are filled (and escaped) when the page renders, and a lone ``%%`` becomes ``%``.
``_``, ``gettext`` and ``pgettext`` with constant strings are folded; anything else (a message held in a
variable, ``ngettext``, a macro or template that assigns one of those names itself) stays a call at render time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from flask import Flask, has_app_context
from flask.templating import Environment
from flask_babel import force_locale, get_locale, get_translations
from jinja2 import Template, nodes

# The callables whose constant calls are folded, and how many leading string arguments each takes.
_FOLDED = {"_": 1, "gettext": 1, "pgettext": 2}


class LocaleEnvironment(Environment):
    """The app's Jinja environment: templates are loaded from the overlay of the request's language.

    The overlays share the base's loader, globals, filters and tests; each has its own cache of compiled templates.
    Outside an app context, or for a language without an overlay, templates come from the base, unfolded.
    """

    locales: frozenset[str] = frozenset()  # the languages that get an overlay (set by ``install``)
    translations: Any = None  # set on an overlay: the catalogue its templates are compiled with

    def get_template(self, name, parent=None, globals=None):  # noqa: A002 - Jinja's own signature
        env = self._for_locale()
        if globals is not None or env.auto_reload or not isinstance(name, str):
            return super(LocaleEnvironment, env).get_template(name, parent, globals)
        # Without reloading, a template once loaded is the one Jinja's cache would give: kept in a plain mapping
        # of the environment (a page asks for three to five; Jinja's cache takes a lock and makes a weak
        # reference for each, about 1 % of a page, issue 18). Bounded by the app's templates.
        name = name if parent is None else env.join_path(name, parent)
        loaded: dict[str, Template] = env.__dict__.setdefault("_loaded", {})
        template = loaded.get(name)
        if template is None:
            template = loaded[name] = super(LocaleEnvironment, env).get_template(name)
        return template

    def select_template(self, names, parent=None, globals=None):  # noqa: A002 - Jinja's own signature
        return super(LocaleEnvironment, self._for_locale()).select_template(names, parent, globals)

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        if self.translations is not None and isinstance(source, str):
            source = self.parse(source, name, filename)
            _fold(source, self.translations, frozenset())
        return super().compile(source, name, filename, raw, defer_init)

    def language_environments(self) -> list[Environment]:
        """The overlay of every language (built now if needed; it takes an app context), for warming up."""
        return [self._overlay(code) for code in sorted(self.locales)]

    def _for_locale(self) -> Environment:
        if self.translations is not None or not self.locales:
            return self  # an overlay, or translation folding not installed
        locale = get_locale()  # None outside an app context
        code = str(locale) if locale is not None else None
        return self._overlay(code) if code in self.locales else self

    def _overlay(self, code: str) -> LocaleEnvironment:
        overlays: dict[str, LocaleEnvironment] = self.__dict__.setdefault("_overlays", {})
        env = overlays.get(code)
        if env is None:
            env = overlays[code] = self._make_overlay(code)
        return env

    def _make_overlay(self, code: str) -> LocaleEnvironment:
        # A cache of its own: a copy of the base's would hold templates compiled without folding.
        size = getattr(self.cache, "capacity", -1 if isinstance(self.cache, dict) else 0)
        env: LocaleEnvironment = self.overlay(cache_size=size)
        if not has_app_context():  # Flask-Babel would give an empty catalogue: every page in English
            raise RuntimeError("a language's templates are compiled in an app context")
        with force_locale(code):
            env.translations = get_translations()  # Flask-Babel's catalogue for the language, cached per process
        env.__dict__.pop("_overlays", None)
        env.__dict__.pop("_loaded", None)  # the base's templates are compiled without folding
        return env


def install(app: Flask, locales: Iterable[str]) -> None:
    """Make ``app.jinja_env`` a :class:`LocaleEnvironment` with an overlay per language in ``locales``.

    Call it before Flask-Babel's ``init_app`` (which installs its callables on the environment); the
    globals, filters and tests that extensions set on the environment Flask made first are carried over."""
    before = app.jinja_env
    app.jinja_environment = LocaleEnvironment
    env = cast(LocaleEnvironment, app.create_jinja_environment())  # Flask builds its ``jinja_environment``
    for name, value in before.__dict__.items():
        if name in ("globals", "filters", "tests", "policies"):
            getattr(env, name).update(value)
    for extension in before.extensions.values():
        env.add_extension(type(extension))
    env.locales = frozenset(locales)
    app.jinja_env = env  # type: ignore[method-assign]  # Flask's cached property takes an assignment


def _fold(node: nodes.Node, translations: Any, shadowed: frozenset[str]) -> None:
    """Replace the foldable calls below ``node`` by their translation, except under a name a template assigns.

    A name assigned anywhere outside a macro is treated as assigned in the whole template; one assigned in a
    macro or a ``{% call %}`` body, in that macro only (Jinja's scopes)."""
    if isinstance(node, nodes.Template):
        shadowed = shadowed | _assigned(node, outside_macros=True)
    if "gettext" in shadowed:
        shadowed = shadowed | {"_"}  # Jinja's ``_`` calls whatever ``gettext`` names
    for field in node.fields:
        value = getattr(node, field, None)
        if isinstance(value, list):
            for i, child in enumerate(value):
                if isinstance(child, nodes.Node):
                    value[i] = _fold_child(child, translations, shadowed)
        elif isinstance(value, nodes.Node):
            setattr(node, field, _fold_child(value, translations, shadowed))


def _fold_child(node: nodes.Node, translations: Any, shadowed: frozenset[str]) -> nodes.Node:
    if isinstance(node, (nodes.Macro, nodes.CallBlock)):
        shadowed = shadowed | _assigned(node, outside_macros=False)
    _fold(node, translations, shadowed)
    if isinstance(node, nodes.Call):
        return _translated(node, translations, shadowed) or node
    return node


def _translated(call: nodes.Call, translations: Any, shadowed: frozenset[str]) -> nodes.Node | None:
    func = call.node
    if not isinstance(func, nodes.Name) or func.name not in _FOLDED or func.name in shadowed:
        return None
    count = _FOLDED[func.name]
    if (call.dyn_args is not None or call.dyn_kwargs is not None or len(call.args) != count
            or not all(isinstance(a, nodes.Const) and isinstance(a.value, str) for a in call.args)):
        return None
    strings = [a.value for a in call.args]  # type: ignore[attr-defined]  # checked Const above
    text = translations.ugettext(strings[0]) if count == 1 else translations.upgettext(*strings)
    if not call.kwargs:
        try:
            text = text % {}  # newstyle gettext always formats: "%%" is "%"
        except (KeyError, TypeError, ValueError):
            return None  # it fails at render time, as it did
        new: nodes.Node = nodes.MarkSafeIfAutoescape(nodes.Const(text))
    else:
        new = nodes.Mod(nodes.MarkSafeIfAutoescape(nodes.Const(text)),
                        nodes.Dict([nodes.Pair(nodes.Const(k.key), k.value) for k in call.kwargs]))
    new.set_lineno(call.lineno)
    if call.environment is not None:
        new.set_environment(call.environment)
    return new


def _assigned(node: nodes.Node, outside_macros: bool) -> frozenset[str]:
    """The foldable names ``node`` assigns (a set, a loop or macro argument, an import as …, a macro's name)."""
    found: set[str] = set()

    def walk(n: nodes.Node) -> None:
        if isinstance(n, nodes.Name) and n.ctx in ("store", "param"):
            found.add(n.name)
        elif isinstance(n, nodes.Macro):
            found.add(n.name)
        elif isinstance(n, nodes.Import):
            found.add(n.target)
        elif isinstance(n, nodes.FromImport):
            found.update(name[1] if isinstance(name, tuple) else name for name in n.names)
        for child in n.iter_child_nodes():
            if outside_macros and isinstance(child, (nodes.Macro, nodes.CallBlock)):
                if isinstance(child, nodes.Macro):
                    found.add(child.name)
                continue
            walk(child)

    walk(node)
    return frozenset(found) & _FOLDED.keys()
