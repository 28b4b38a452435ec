#!/bin/bash
# Interleaved A/B of `lineage snapshot add` between another checkout and this one, with the floor.
#
# Why: on these VMs the time a copy costs swings from run to run (system time of 0.6 to 3 s per
# GiB), so two code versions are only comparable side by side: old, new, floor, old, new, ...
# Each run registers FILE into a fresh store, after reading FILE and importing that side's code
# (untimed) and a `sync`. Prints one line per run: side, wall s, user s, system s, peak RSS KB,
# then medians and paired ratios.
#
# WARM_MEMORY_GIB=3 touches that much fresh memory before each timed run (bench/_common.py:
# warm_memory explains why these VMs need it for copies to be compared fairly).
#
# Usage: bench/add_ab.sh OLD_CHECKOUT [RUNS] [FILE]
#   OLD_CHECKOUT  a checkout of the other version, e.g. `git worktree add /tmp/old <commit>`
#   RUNS          triples to run (default 5)
#   FILE          the file to register (default: bench/hashing.py's 1 GiB file)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
old="$(cd "$1" && pwd)"
runs="${2:-5}"
file="${3:-${BENCH_SCRATCH:-/work/bench-scratch}/bench-1gib.parquet}"
scratch="$(mktemp -d "${BENCH_SCRATCH:-/work/bench-scratch}/add-ab.XXXXXX")"
python="$here/.venv/bin/python"
lineage="$here/.venv/bin/lineage"
results="$scratch/results.txt"
warm_gib="${WARM_MEMORY_GIB:-0}"
trap 'rm -rf "$scratch/home" "$scratch/copy"' EXIT

warm_memory() {  # the scripts' own warm-up (bench/_common.py: warm_memory), right before a timed run
  [ "$warm_gib" = 0 ] || PYTHONPATH="$here/bench" "$python" -c "from _common import warm_memory; warm_memory($warm_gib)"
}
[ -f "$file" ] || { echo "no file $file: run bench/hashing.py once, or pass FILE" >&2; exit 2; }

for _ in $(seq 1 "$runs"); do
  for side in old new floor; do
    rm -rf "$scratch/home" "$scratch/copy"
    export LINEAGE_HOME="$scratch/home"
    code="$here"; [ "$side" = old ] && code="$old"
    cat "$file" > /dev/null
    if [ "$side" = floor ]; then
      openssl version > /dev/null; sync
      warm_memory
      /usr/bin/time -a -o "$results" -f "$side %e %U %S %M" \
        sh -c "openssl dgst -sha256 '$file' > /dev/null && cp '$file' '$scratch/copy' && sync '$scratch/copy'"
    else
      PYTHONPATH="$code" "$lineage" init > /dev/null
      PYTHONPATH="$code" "$python" -c "import lineage.cli, lineage.store, lineage.snapshots, lineage.tabular, lineage.fingerprint, pyarrow.parquet"
      sync
      warm_memory
      PYTHONPATH="$code" /usr/bin/time -a -o "$results" -f "$side %e %U %S %M" \
        "$lineage" snapshot add "$file" --dataset ab --version v1 --json > /dev/null
    fi
    tail -n 1 "$results"
  done
done

echo "raw results: $results"
"$python" - "$results" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
wall = {side: [float(r[1]) for r in rows if r[0] == side] for side in ("old", "new", "floor")}
for side, values in wall.items():
    cpu = [float(r[2]) + float(r[3]) for r in rows if r[0] == side]
    rss = [int(r[4]) / 1024 for r in rows if r[0] == side]
    print(f"{side:5} median wall {statistics.median(values):.2f} s, CPU {statistics.median(cpu):.2f} s, "
          f"peak RSS {statistics.median(rss):.1f} MB")
def paired(a, b):
    return statistics.median(x / y for x, y in zip(wall[a], wall[b], strict=True))
print(f"paired medians: new/old {paired('new', 'old'):.2f}, new/floor {paired('new', 'floor'):.2f}, "
      f"old/floor {paired('old', 'floor'):.2f}")
EOF
