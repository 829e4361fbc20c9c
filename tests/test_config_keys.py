"""Every key of the configuration model (``console.config.Config``) is read by the product.

A key that is validated and documented but reaches nothing misleads whoever tunes it. The check is
static: it reads the product's source (console, telephony, taxonomy, store, citybackend; never the
tests) with ``ast``, leaving ``console/config.py`` out, and counts ``<section>.<key>`` as read when
some file has an attribute access ``E.<key>`` (or ``getattr(E, "<key>")``) where ``E`` is known to
be that section:

* ``E`` is ``X.<section>`` with ``X`` a name declared somewhere in the product as a ``Config``
  (``config: Config``, so ``ctx.config.sip`` and ``self.config.sip`` count), or ``E`` is a name
  declared in the same file with the section's class (``sip: SipSection`` makes ``sip.codecs`` and
  ``self.sip.codecs`` count); declarations are parameters and annotated assignments, their types
  resolved through the file's imports, so ``telephony.sip.config.SipConfig`` is not the ``[sip]``
  section;
* inside the section's own class, when that class lives outside ``console/config.py``
  (``store.deadlines.DeadlinePolicy`` reads its own fields), ``self.<key>`` counts;
* ``sip.password_file`` and ``backend.api_key_file`` are read by the loader in ``console/config.py``
  (``_SECRET_FILES``): their file's text becomes the secret;
* a property or method of a section class of ``console/config.py`` (``resolved_file``,
  ``url_password``), or of ``Config`` (``secrets()``), read outside counts as reading the keys it
  reads through ``self``; ``E.model_dump(exclude={...})`` reads every key but those excluded.

Limits: it shows that a key is read, not that what it reads changes behaviour (the tests of each
key do that); declarations are matched by name per file, not per scope, so a name declared as a
section in one function and reused for something else in another would count; a section reached
through an undeclared variable (``s = config.sip; s.port``) is not seen (declare it). A nested table
(``[deadlines.default]``, ``[[deadlines.rules]]``) is one key, and ``[keymap]`` is one key: its
entries are binding ids that ``KeymapConfig.keys_over`` checks against the declared bindings.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, RootModel

from console.config import _SECRET_FILES, Config

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("console", "telephony", "taxonomy", "store", "citybackend")
CONFIG_MODULE = "console.config"
# keys the loader itself consumes: the file's text becomes the secret (sip.password, backend.api_key)
LOADER_KEYS: frozenset[tuple[str, str]] = frozenset(_SECRET_FILES)


@dataclass(frozen=True)
class Source:
    module: str  # dotted name, e.g. console.commands.agent
    text: str


@dataclass(frozen=True)
class Section:
    name: str  # the attribute of Config, e.g. "sip"
    cls: type[BaseModel]
    keys: tuple[str, ...]

    @property
    def qualname(self) -> tuple[str, str]:
        return (self.cls.__module__, self.cls.__name__)


def sections() -> list[Section]:
    """The sections of Config and their keys (a nested model or a keymap table is one key)."""
    out = []
    for name, info in Config.model_fields.items():
        cls = info.annotation
        assert isinstance(cls, type) and issubclass(cls, BaseModel), name
        keys = () if issubclass(cls, RootModel) else tuple(cls.model_fields)
        out.append(Section(name, cls, keys))
    return out


def product_sources() -> list[Source]:
    out = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
            out.append(Source(module, path.read_text(encoding="utf-8")))
    return out


# --- reading one file ------------------------------------------------------------------------------


def _imported_names(tree: ast.Module, module: str) -> dict[str, tuple[str, str]]:
    """Local name -> (module, name) for every ``from M import N [as L]`` of the file."""
    package = module.rpartition(".")[0]
    names: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                names[alias.asname or alias.name] = (base, alias.name)
    return names


def _annotation_names(annotation: ast.expr | None) -> set[str]:
    """The bare names an annotation mentions (``SipSection | None`` -> SipSection), strings parsed."""
    if annotation is None:
        return set()
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return set()
    return {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)}


def _declarations(tree: ast.Module) -> Iterator[tuple[str, ast.expr | None]]:
    """(declared name, annotation): parameters and annotated assignments (``self.x: T`` gives x)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            yield node.arg, node.annotation
        elif isinstance(node, ast.AnnAssign):
            target = node.target
            if isinstance(target, ast.Name):
                yield target.id, node.annotation
            elif isinstance(target, ast.Attribute):
                yield target.attr, node.annotation


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _attribute(node: ast.AST) -> tuple[ast.expr, str] | None:
    """``E.k`` or ``getattr(E, "k"[, default])`` as (E, k)."""
    if isinstance(node, ast.Attribute):
        return node.value, node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[0], node.args[1].value
    return None


@dataclass
class Reads:
    keys: set[tuple[str, str]] = field(default_factory=set)  # (section, key)
    config_names: set[str] = field(default_factory=set)  # names declared as Config


def _typed_names(source: Source, tree: ast.Module, qualname: tuple[str, str]) -> set[str]:
    """Names the file declares with the class ``qualname``."""
    imported = _imported_names(tree, source.module)
    local = {name for name, target in imported.items() if target == qualname}
    if source.module == qualname[0]:
        local.add(qualname[1])
    return {name for name, annotation in _declarations(tree) if _annotation_names(annotation) & local}


def _members(cls: type[BaseModel], tree: ast.Module) -> dict[str, set[str]]:
    """Method/property name -> the attributes it reads through ``self`` (in ``cls``'s class body)."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    out[item.name] = {
                        a.attr
                        for a in ast.walk(item)
                        if isinstance(a, ast.Attribute)
                        and isinstance(a.value, ast.Name)
                        and a.value.id == "self"
                    }
    return out


def _self_chains(cls: type[BaseModel], tree: ast.Module) -> dict[str, set[tuple[str, str]]]:
    """For Config's own methods: name -> the (section, member) pairs it reads as ``self.s.m``."""
    out: dict[str, set[tuple[str, str]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    out[item.name] = {
                        (a.value.attr, a.attr)
                        for a in ast.walk(item)
                        if isinstance(a, ast.Attribute)
                        and isinstance(a.value, ast.Attribute)
                        and isinstance(a.value.value, ast.Name)
                        and a.value.value.id == "self"
                    }
    return out


def _excluded(call: ast.Call) -> set[str]:
    for kw in call.keywords:
        if kw.arg == "exclude" and isinstance(kw.value, ast.Set | ast.List | ast.Tuple):
            return {
                e.value for e in kw.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
    return set()


def read_keys(sources: Iterable[Source], config_text: str) -> set[tuple[str, str]]:
    """Every (section, key) of Config that ``sources`` read (``config_text``: console/config.py)."""
    all_sections = sections()
    config_tree = ast.parse(config_text)
    members = {
        s.name: _members(s.cls, config_tree) for s in all_sections if s.cls.__module__ == CONFIG_MODULE
    }
    config_members = _self_chains(Config, config_tree)
    parsed = [(s, ast.parse(s.text)) for s in sources if s.module != CONFIG_MODULE]
    config_names: set[str] = set()
    for source, tree in parsed:
        config_names |= _typed_names(source, tree, (CONFIG_MODULE, "Config"))

    read: set[tuple[str, str]] = set()

    def reach(section: Section, key: str) -> None:
        if key in section.keys or (not section.keys and key == section.name):
            read.add((section.name, key))
        for field_name in members.get(section.name, {}).get(key, set()):
            if field_name in section.keys:
                read.add((section.name, field_name))

    by_name = {s.name: s for s in all_sections}
    for source, tree in parsed:
        section_names = {s.name: _typed_names(source, tree, s.qualname) for s in all_sections}
        for node in ast.walk(tree):
            # ``config.secrets()`` and the like: Config's own methods, read through self
            pair = _attribute(node)
            if pair is None:
                continue
            value, key = pair
            if _last_name(value) in config_names:
                if key in by_name:  # the section itself: ``config.keymap`` is the whole table
                    reach(by_name[key], key)
                for section_name, member in config_members.get(key, set()):
                    if section_name in by_name:
                        reach(by_name[section_name], member)
                continue
            for section in all_sections:
                inner = _attribute(value)
                is_section = (
                    inner is not None and inner[1] == section.name and _last_name(inner[0]) in config_names
                ) or _last_name(value) in section_names[section.name]
                if is_section:
                    reach(section, key)
        # ``E.model_dump(exclude=...)`` on a section reads every key but those excluded
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr != "model_dump":
                    continue
                inner = _attribute(node.func.value)
                for section in all_sections:
                    if (
                        inner is not None
                        and inner[1] == section.name
                        and _last_name(inner[0]) in config_names
                    ) or _last_name(node.func.value) in section_names[section.name]:
                        for key in set(section.keys) - _excluded(node):
                            read.add((section.name, key))
        # a section class outside console/config.py reads its own fields
        for section in all_sections:
            if section.cls.__module__ == source.module and section.cls.__module__ != CONFIG_MODULE:
                for fields_read in _members(section.cls, tree).values():
                    read.update((section.name, k) for k in fields_read & set(section.keys))
    return read


def all_keys() -> set[tuple[str, str]]:
    return {(s.name, k) for s in sections() for k in (s.keys or (s.name,))}


# --- the tests ---------------------------------------------------------------------------------------


def test_every_config_key_is_read_outside_the_config_module() -> None:
    config_text = (ROOT / "console" / "config.py").read_text(encoding="utf-8")
    unread = sorted(all_keys() - read_keys(product_sources(), config_text) - LOADER_KEYS)
    assert not unread, "keys read nowhere outside console/config.py: " + ", ".join(
        f"{s}.{k}" for s, k in unread
    )


def test_the_check_tells_the_sections_apart() -> None:
    config_text = (ROOT / "console" / "config.py").read_text(encoding="utf-8")
    sources = [
        Source(
            "console.example",
            "from console.config import Config, SipConfig as SipSection\n"
            "from telephony.sip.config import SipConfig\n"
            "def line(sip: SipSection, config: Config, phone: SipConfig) -> None:\n"
            "    sip.port\n"
            "    config.taxonomy.result_limit\n"
            "    config.logging.resolved_file\n"
            "    config.secrets()\n"
            "    config.sync.model_dump(exclude={'enabled'})\n"
            "    phone.codecs\n"  # the line's own config, not the [sip] section
            "    config.codecs\n"  # not a section
            "    getattr(config.ui, 'theme')\n",
        )
    ]
    read = read_keys(sources, config_text)
    assert {("sip", "port"), ("taxonomy", "result_limit"), ("logging", "file"), ("ui", "theme")} <= read
    assert {("sip", "password"), ("backend", "api_key"), ("store", "url")} <= read  # through secrets()
    assert ("sync", "batch_size") in read and ("sync", "enabled") not in read
    assert ("sip", "codecs") not in read and ("taxonomy", "recent_boost") not in read
