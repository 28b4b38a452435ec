"""Find a feature set in a module given by dotted name or file path.

Feature logic must live in version-controlled modules: definitions from ``__main__``,
a notebook cell or an interactive prompt are refused, because nothing can re-run or
review them later (the "feature logic only in notebooks" anti-pattern).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from lineage.errors import FeatureCodeError
from lineage.features.definition import Feature, FeatureSet


def load_module(module_or_path: str) -> ModuleType:
    """Import ``pkg.module`` or ``path/to/file.py``; import failures become one line."""
    try:
        if module_or_path.endswith(".py") or "/" in module_or_path or "\\" in module_or_path:
            return _import_path(Path(module_or_path))
        if str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        return importlib.import_module(module_or_path)
    except FeatureCodeError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and module_or_path.startswith(exc.name):  # the module itself (or its package) is missing
            raise FeatureCodeError(
                f"module {module_or_path} cannot be imported: {exc}: check the name and sys.path"
            ) from None
        raise FeatureCodeError(f"module {module_or_path} failed to import at {_where(exc)}: {exc}") from None
    except SyntaxError as exc:
        raise FeatureCodeError(
            f"module {module_or_path} has a syntax error at {exc.filename}:{exc.lineno}: {exc.msg}"
        ) from None
    except Exception as exc:  # any error raised while the user's module runs
        raise FeatureCodeError(
            f"module {module_or_path} failed to import at {_where(exc)}: {type(exc).__name__}: {exc}"
        ) from None


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame outside the import machinery (the user's failing line)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith("<frozen") and "importlib" not in f.filename]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown location"


def _import_path(path: Path) -> ModuleType:
    file = path.resolve()
    if not file.is_file():
        raise FeatureCodeError(f"feature module {path} does not exist: give a .py file or a dotted module name")
    name = _module_name_for(file)  # executed afresh each time: the file may have changed
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise FeatureCodeError(f"{path} cannot be loaded as a Python module: give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _module_name_for(file: Path) -> str:
    """A dotted name relative to the working directory when possible (stable across runs)."""
    try:
        relative = file.relative_to(Path.cwd().resolve()).with_suffix("")
        return ".".join(relative.parts)
    except ValueError:
        return f"lineage_user_features.{file.stem}"


def find_feature_set(module: ModuleType, name: str) -> FeatureSet:
    """The module's FeatureSet called ``name``."""
    found = [value for value in vars(module).values() if isinstance(value, FeatureSet) and value.name == name]
    if not found:
        names = sorted({v.name for v in vars(module).values() if isinstance(v, FeatureSet)})
        available = f" (it defines: {', '.join(names)})" if names else " (it defines no FeatureSet)"
        raise FeatureCodeError(f"module {module.__name__} has no feature set '{name}'{available}: define it there")
    return found[0]


def require_module_code(feature_set: FeatureSet) -> None:
    """Refuse features defined in ``__main__``, a notebook cell or an interactive prompt."""
    for feature in feature_set.features.values():
        if _is_interactive(feature):
            raise FeatureCodeError(
                f"feature '{feature.name}' is defined in {feature.module} (a script run as __main__, a notebook "
                "or a prompt): move the feature set into a module file under version control and register that"
            )


def _is_interactive(feature: Feature) -> bool:
    code = getattr(feature.function, "__code__", None)
    filename = code.co_filename if code is not None else ""
    return (
        feature.module in ("__main__", "builtins")
        or filename.startswith("<")  # <stdin>, <string>, <ipython-input-…>
        or "ipykernel" in filename or "/tmp/ipykernel_" in filename
    )
