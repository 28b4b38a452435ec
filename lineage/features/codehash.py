"""Normalised code hashes of feature functions: what changed in meaning, not in layout.

A model trained on a feature is silently wrong when the feature's logic changes under the
same name and dtype, so every feature's source is hashed and a changed hash is a major
change (docs/feature-semver.md). Hashing the raw text would call a reformatted file, a new
comment or a reworded docstring a change of meaning too; then every ``ruff format`` would
demand a major version and users would learn to ignore the signal. So the hash is taken over
the function's syntax tree, which is the same whatever the comments, blank lines, line
breaks, indentation, quote style or trailing commas.

What is removed before hashing, and why:

- docstrings and every other bare string statement: they are documentation, never executed;
- the decorators of the top-level definition: registration metadata (dtype, description)
  lives in the schema, where its own diff classifies it. Decorators of nested functions stay,
  because there they change behaviour (``functools.lru_cache``, ``numpy.vectorize``).

What stays: the function's name (it is the feature's name), its signature and its body.

The tree is written out by :func:`normalised_source` rather than by ``ast.dump``, because
``ast.dump`` prints differently on every Python minor version (3.12 adds ``type_params=[]``,
3.13 omits empty fields): with it, upgrading Python would flag every feature as changed. This
form omits empty and absent fields and the fields that carry no meaning (``type_comment``,
the ``u`` prefix of a string), so it stays the same wherever the syntax tree does.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lineage.errors import FeatureCodeError

CODE_HASH_ALGORITHM = "sha256"
_IGNORED_FIELDS = frozenset({"type_comment", "kind"})  # no effect on what the code computes
_STATEMENT_LISTS = ("body", "orelse", "finalbody")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LITERALS = (ast.Constant, ast.MatchSingleton)  # their None is a value, not an absent field


def normalised_source(source: str) -> str:
    """The text that :func:`code_hash` hashes: the feature's syntax tree, without layout or docs.

    It is one line of ``Node(field=value, ...)`` terms, deterministic for a given tree, so an
    auditor can recompute a hash, and two sources with equal normalised text mean the same.
    """
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError as exc:
        raise FeatureCodeError(
            f"feature source does not parse (line {exc.lineno}: {exc.msg}): give the complete source of one function"
        ) from None
    for node in tree.body:
        if isinstance(node, _DEFINITIONS):
            node.decorator_list = []
    _strip_docstrings(tree)
    return _dump(tree)


def code_hash(source: str) -> str:
    """``sha256:<hex>`` of :func:`normalised_source`: equal exactly when the trees are equal."""
    digest = hashlib.sha256(normalised_source(source).encode("utf-8")).hexdigest()
    return f"{CODE_HASH_ALGORITHM}:{digest}"


@dataclass(frozen=True)
class FeatureCode:
    """One feature function's source, kept verbatim for diffs, and its normalised hash."""

    name: str
    source: str
    code_hash: str

    @classmethod
    def from_source(cls, name: str, source: str) -> FeatureCode:
        """Build from source text (as stored with a registered version)."""
        source = textwrap.dedent(source)
        return cls(name=name, source=source, code_hash=code_hash(source))

    @classmethod
    def from_function(cls, fn: Callable[..., Any]) -> FeatureCode:
        """Read a function's source with ``inspect``; it must live in a file, not a REPL."""
        name = getattr(fn, "__name__", repr(fn))
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError) as exc:
            raise FeatureCodeError(
                f"cannot read the source of feature function '{name}' ({exc}): define it in a .py file"
            ) from None
        return cls.from_source(name, source)


def _strip_docstrings(tree: ast.AST) -> None:
    """Drop bare string statements everywhere; a block left empty becomes ``pass``."""
    for node in ast.walk(tree):
        for field in _STATEMENT_LISTS:
            statements = getattr(node, field, None)
            if not isinstance(statements, list) or not statements:
                continue
            kept = [s for s in statements if not _is_bare_string(s)]
            setattr(node, field, kept or [ast.Pass()])


def _is_bare_string(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _dump(value: object) -> str:
    """``ast.dump`` without positions, empty fields or meaningless fields, stable across Pythons."""
    if isinstance(value, ast.AST):
        fields = [
            f"{name}={_dump(item)}"
            for name, item in ast.iter_fields(value)
            if name not in _IGNORED_FIELDS and (item not in (None, []) or isinstance(value, _LITERALS))
        ]
        return f"{type(value).__name__}({', '.join(fields)})"
    if isinstance(value, list):
        return f"[{', '.join(_dump(item) for item in value)}]"
    return repr(value)
