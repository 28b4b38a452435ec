"""The docs and the architecture rules stay true: they fail when code and README drift apart."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import click

from lineage.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _quick_start() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def _commands(group: click.Group, prefix: str = "lineage") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            names.extend(_commands(command, full))
        else:
            names.append(full)
    return names


def test_quick_start_is_exactly_two_commands_install_and_run() -> None:
    blocks = _quick_start()
    assert len(blocks) == 2 and all("\n" not in b for b in blocks)
    dashboard, tests = blocks
    assert dashboard.startswith("python3.11 -m venv .venv && .venv/bin/pip install -r requirements.txt -e .")
    assert "lineage demo" in dashboard and dashboard.endswith("streamlit run app.py")
    assert tests.endswith("-m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    assert _quick_start()[1] in (ROOT / ".ci" / "run").read_text()


def test_every_cli_command_is_documented() -> None:
    missing = [c for c in _commands(cli_main) if c not in README]
    assert not missing, f"README does not document: {missing}"


def test_every_setting_is_documented() -> None:
    from lineage.config import Settings

    missing = [f"LINEAGE_{name.upper()}" for name in Settings.model_fields if f"LINEAGE_{name.upper()}" not in README]
    assert not missing


def test_readme_python_example_runs(tmp_path: Path) -> None:
    example = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    script = tmp_path / "example.py"
    script.write_text(example)
    result = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("customers_clean@v1.0 3548e4768044 4992")


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_library_never_imports_streamlit() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "lineage").rglob("*.py") if "streamlit" in _imports(p)]
    assert not offenders


def test_pages_hold_no_sql() -> None:
    pages = [ROOT / "app.py", *(ROOT / "pages").glob("*.py")]
    offenders = [
        str(p.relative_to(ROOT)) for p in pages
        if {"sqlmodel", "sqlalchemy", "sqlite3", "psycopg"} & _imports(p) or re.search(r"(?<![\w.])select\(", p.read_text())
    ]
    assert not offenders


def test_linked_docs_exist() -> None:
    for link in re.findall(r"\]\(((?:docs|bench)/[^)#]+)\)", README):
        assert (ROOT / link).exists(), link


DEPLOY = (ROOT / "docs" / "deploy.md").read_text()


def test_readme_links_the_team_deployment_guide() -> None:
    assert "(docs/deploy.md)" in README


def test_deploy_guide_names_only_real_commands_settings_and_streamlit_flags() -> None:
    from streamlit import config

    from lineage.config import Settings

    top_level = {name for name in cli_main.commands}
    named = set(re.findall(r"(?<![\w/.-])lineage ([a-z]+)\b", DEPLOY))
    assert named and named <= top_level, named - top_level
    settings = {f"LINEAGE_{name.upper()}" for name in Settings.model_fields}
    variables = set(re.findall(r"LINEAGE_[A-Z_]+", DEPLOY))
    assert variables and variables <= settings, variables - settings
    flags = set(re.findall(r"--((?:server|browser|client)\.\w+)", DEPLOY))
    assert {"server.maxUploadSize", "server.headless", "browser.gatherUsageStats", "server.address"} <= flags
    unknown = {flag for flag in flags if flag not in config._config_options_template}
    assert not unknown, unknown


def test_deploy_guide_states_the_shipped_streamlit_config() -> None:
    """The "shipped value" column matches .streamlit/config.toml, so the guide cannot drift from it."""
    import tomllib

    shipped = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    rows = re.findall(r"^\| `--(\w+)\.(\w+)` \| `([^`]+)`", DEPLOY, re.M)
    checked = 0
    for section, key, value in rows:
        if key in shipped.get(section, {}):
            assert str(shipped[section][key]).lower() == value.lower(), (section, key, value)
            checked += 1
    assert checked >= 4
