#!/bin/sh
# Create the virtualenv the drift benchmark and the Evidently parity test run Evidently from,
# apart from the project's own venv: Evidently 0.7.x does not import with pandas 3, which
# Lineage uses, so it gets pandas<3 here and never changes what Lineage imports.
# Usage: bench/setup_evidently_venv.sh                 -> bench/.venv-evidently
#        EVIDENTLY_VENV=/some/dir bench/setup_evidently_venv.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${EVIDENTLY_VENV:-"$here/.venv-evidently"}
python=${PYTHON:-python3.11}
if "$venv/bin/python" -c "import evidently" 2>/dev/null; then
    echo "Evidently already installed in $venv: $("$venv/bin/python" -c 'import evidently; print(evidently.__version__)')"
    exit 0
fi
"$python" -m venv "$venv"
# Keep the venv out of git without touching the project's .gitignore.
printf '*\n' > "$venv/.gitignore"
"$venv/bin/pip" install --quiet "evidently==0.7.*" "pandas<3" "pyarrow"
echo "installed Evidently $("$venv/bin/python" -c 'import evidently; print(evidently.__version__)') in $venv"
