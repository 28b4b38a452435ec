#!/bin/sh
# Create the virtualenv the benchmarks run DVC from, apart from the project's own venv,
# so DVC's dependencies never mix with Lineage's (and cannot change what Lineage imports).
# Usage: bench/setup_dvc_venv.sh            -> bench/.venv-dvc
#        DVC_VENV=/some/dir bench/setup_dvc_venv.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${DVC_VENV:-"$here/.venv-dvc"}
python=${PYTHON:-python3.11}
if [ -x "$venv/bin/dvc" ]; then
    echo "DVC already installed in $venv: $("$venv/bin/dvc" --version)"
    exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet "dvc==3.67.1"
echo "installed DVC $("$venv/bin/dvc" --version) in $venv"
