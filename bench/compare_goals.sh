#!/bin/bash
# Issue #21's goal figures of two commits, alternated on one machine (bench_load.py --goals, one
# worker, PostgreSQL, a fresh database per run), so that before and after are measured as
# neighbours in time on a shared box:
#
#     bench/compare_goals.sh <base commit> [rounds=2] [clients=8]
#
# The base is checked out in a temporary git worktree and run with this checkout's virtualenv.
# Needs PostgreSQL on 127.0.0.1:5432 (trust authentication), as .ci/run provides.
set -euo pipefail
base=${1:?usage: bench/compare_goals.sh <base commit> [rounds] [clients]}
rounds=${2:-2}
clients=${3:-8}
here=$(cd "$(dirname "$0")/.." && pwd)
python=$here/.venv/bin/python
tree=$(mktemp -d)/base
git -C "$here" worktree add -q --detach "$tree" "$base"
trap 'git -C "$here" worktree remove --force "$tree"' EXIT
for round in $(seq "$rounds"); do
  for side in base head; do
    dir=$here; [ "$side" = base ] && dir=$tree
    db=compare_goals_${side}_${round}
    psql -h 127.0.0.1 -U postgres -qc "drop database if exists $db" -c "create database $db" 2>/dev/null
    echo "=== $side ($(git -C "$dir" rev-parse --short HEAD)) round $round, $(date -u +%T) UTC, load $(cut -d' ' -f1 /proc/loadavg)"
    (cd "$dir" && PYTHONPATH=$dir "$python" bench/bench_load.py --goals --seconds 1.5 --rounds 3 \
      --clients "$clients" --database-url "postgresql+psycopg://postgres@127.0.0.1:5432/$db")
    psql -h 127.0.0.1 -U postgres -qc "drop database $db" 2>/dev/null
  done
done
