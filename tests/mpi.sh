#!/usr/bin/env bash
# The CLI sharded over MPI ranks (README, "Many processes: MPI"), against one process without
# mpirun: ctest runs one case per entry (mpi.bytes, mpi.reductions, mpi.failure, mpi.memory).
#   bytes       per-particle outputs of draw, sample (with trajectories, from draws and from --in),
#               score, loglik and burgers-residual are byte-identical (cmp) for 1, 2 and 3 ranks
#               and other batch sizes;
#   reductions  the summaries (check's worst errors, burgers-residual's worst and median, loglik's
#               mean, sample's occupations) and bandwidth's table and CSV equal one process's;
#   failure     one rank failing (its output folder refusing it, injected with
#               SCOREFIELD_TEST_UNWRITABLE_RANK; a bad particle only its rank reads) stops every
#               rank: exit 2, one message naming the rank, no output and no temporary file left,
#               an existing output kept; mpirun interrupted: the shared temporary file removed;
#   memory      a run of 6e6 particles stays within each rank's memory: what every rank's peak RSS
#               adds to that of a run of 3000 particles is far below its share of the array (32 MB).
# This machine has fewer cores than ranks: --oversubscribe. As root, OpenMPI needs the two
# OMPI_ALLOW_RUN_AS_ROOT variables, set here for these runs only.
# Usage: tests/mpi.sh SCOREFIELD MPIEXEC EXAMPLES_DIR CASE
set -euo pipefail
cli=$1 mpiexec=$2 examples=$3 case=$4
work=$(mktemp -d)
launcher="" # a run in the background, ended if the script stops first
trap '[ -z "$launcher" ] || kill -TERM "$launcher" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mix=$examples/three_kinds.json

fail() { echo "FAIL: $*" >&2; exit 1; }
ranks() { local np=$1; shift; "$mpiexec" -np "$np" --oversubscribe "$cli" "$@"; }
# stdout without the lines that legitimately differ: the ranks line, timings, the output names
summary() { grep -v -e '^  ranks ' -e ' s, ' -e 'particles/s' -e '^  wrote ' -e '^  figures ' "$1" || true; }
same_bytes() { cmp "$1" "$2" || fail "$2 differs from the one-process $1"; }
same_summary() { diff <(summary "$1") <(summary "$2") || fail "the summary of $2 differs from the one-process $1"; }
no_leftovers() { if ls | grep -q '\.tmp\.'; then ls; fail "temporary files left: $(ls | grep '\.tmp\.')"; fi; }

case_bytes() {
  "$cli" draw --mixture "$mix" --schedule vp-linear --t 0.5 --n 1001 --seed 3 --out d.npy --quiet
  "$cli" sample --mixture "$mix" --schedule vp-linear --sampler em --steps 20 --n 301 --seed 4 --out s.npy \
    --trajectory tr.npy --every 6 --quiet
  "$cli" sample --mixture "$mix" --schedule vp-linear --sampler ddim --eta 0.5 --steps 10 --in d.npy --seed 5 --out si.npy --quiet
  "$cli" score --mixture "$mix" --schedule vp-linear --t 0.3 --in d.npy --out sc.npy --logp lp.npy --resp r.npy \
    --hessian h.npy --quiet
  "$cli" loglik --mixture "$mix" --schedule vp-linear --t0 0.05 --in d.npy --out ll.npy --quiet
  "$cli" burgers-residual --mixture "$mix" --schedule vp-linear --t 0.3 --in d.npy --out br.npy --scale bs.npy --quiet
  for np in 1 2 3; do
    for batch in 64 100000; do
      ranks "$np" draw --mixture "$mix" --schedule vp-linear --t 0.5 --n 1001 --seed 3 --out d.$np.npy --batch $batch --quiet
      same_bytes d.npy d.$np.npy
      ranks "$np" sample --mixture "$mix" --schedule vp-linear --sampler em --steps 20 --n 301 --seed 4 --out s.$np.npy \
        --trajectory tr.$np.npy --every 6 --batch $batch --quiet
      same_bytes s.npy s.$np.npy
      same_bytes tr.npy tr.$np.npy
      same_bytes tr.times.npy tr.$np.times.npy
      ranks "$np" score --mixture "$mix" --schedule vp-linear --t 0.3 --in d.npy --out sc.$np.npy --logp lp.$np.npy \
        --resp r.$np.npy --hessian h.$np.npy --batch $batch --quiet
      for f in sc lp r h; do same_bytes $f.npy $f.$np.npy; done
    done
    ranks "$np" sample --mixture "$mix" --schedule vp-linear --sampler ddim --eta 0.5 --steps 10 --in d.npy --seed 5 \
      --out si.$np.npy --batch 50 --quiet
    same_bytes si.npy si.$np.npy
    ranks "$np" loglik --mixture "$mix" --schedule vp-linear --t0 0.05 --in d.npy --out ll.$np.npy --quiet
    same_bytes ll.npy ll.$np.npy
    ranks "$np" burgers-residual --mixture "$mix" --schedule vp-linear --t 0.3 --in d.npy --out br.$np.npy \
      --scale bs.$np.npy --quiet
    same_bytes br.npy br.$np.npy
    same_bytes bs.npy bs.$np.npy
  done
  no_leftovers
}

# |a - b| <= 1e-12 |a| for the numbers of two lines
close_numbers() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == b) exit 0; d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a;
                                    exit !(d <= 1e-12 * m) }' || fail "$3: $1 (one process) against $2"
}

case_reductions() {
  "$cli" draw --mixture "$mix" --schedule vp-linear --t 0.3 --n 5003 --seed 7 --out x.npy --quiet
  # loglik's points go to ranks in whole blocks of 4096: 5003 points give two ranks work
  "$cli" loglik --mixture "$mix" --schedule vp-linear --t0 0.1 --in x.npy --out ll.npy >loglik.txt
  "$cli" check --backend cpu --n 3001 --kinds all >check.txt
  "$cli" burgers-residual --mixture "$mix" --schedule vp-linear --t 0.3 --in x.npy --out br.npy --curl 3 >br.txt
  "$cli" sample --mixture "$mix" --schedule vp-linear --sampler heun --steps 10 --n 3001 --out s.npy >sample.txt
  "$cli" bandwidth --points 3 --n 3000 --out-dir bw >bw.txt
  mean() { sed -n 's/^  mean log p_t0  \([^ ]*\).*/\1/p' "$1"; }
  for np in 1 2 3; do
    ranks "$np" loglik --mixture "$mix" --schedule vp-linear --t0 0.1 --in x.npy --out ll.$np.npy >loglik.$np.txt
    grep -q "^  ranks      $np rank" loglik.$np.txt || fail "loglik does not name the $np ranks"
    close_numbers "$(mean loglik.txt)" "$(mean loglik.$np.txt)" "loglik's mean log p over $np ranks"
    diff <(grep 'max |ODE' loglik.txt) <(grep 'max |ODE' loglik.$np.txt) || fail "loglik's worst error over $np ranks"
    ranks "$np" check --backend cpu --n 3001 --kinds all >check.$np.txt
    same_summary check.txt check.$np.txt
    ranks "$np" burgers-residual --mixture "$mix" --schedule vp-linear --t 0.3 --in x.npy --out br.$np.npy --curl 3 >br.$np.txt
    same_summary br.txt br.$np.txt
    ranks "$np" sample --mixture "$mix" --schedule vp-linear --sampler heun --steps 10 --n 3001 --out s.$np.npy >sample.$np.txt
    same_summary sample.txt sample.$np.txt
    ranks "$np" bandwidth --points 3 --n 3000 --out-dir bw.$np >bw.$np.txt
    same_summary bw.txt bw.$np.txt
    same_bytes bw/bandwidth.csv bw.$np/bandwidth.csv
  done
  grep -q "^  ranks      3 ranks (MPI): rank 0 particles 0\.\.1001, rank 1 particles 1001\.\.2001, rank 2 particles 2001\.\.3001" \
    check.3.txt || fail "check's summary does not name the ranks and their ranges"
}

case_failure() {
  "$cli" draw --mixture "$mix" --schedule vp-linear --t 0.5 --n 1000 --seed 3 --out x.npy --quiet
  echo "an older result" >keep.npy
  # rank 1's folder refuses it: every rank stops, the existing file is kept, nothing else is left
  set +e
  SCOREFIELD_TEST_UNWRITABLE_RANK=1 ranks 3 score --mixture "$mix" --schedule vp-linear --t 0.3 --in x.npy --out keep.npy \
    --logp new.npy 2>err.txt
  status=$?
  set -e
  [ $status -eq 2 ] || { cat err.txt; fail "exit status $status, not 2, when rank 1 cannot write"; }
  grep -q '^scorefield: rank 1 of 3: .*Permission denied' err.txt || { cat err.txt; fail "no message naming rank 1"; }
  [ "$(grep -c '^scorefield: ' err.txt)" -eq 1 ] || { cat err.txt; fail "the error is not printed exactly once"; }
  [ "$(cat keep.npy)" = "an older result" ] || fail "the existing output was replaced"
  [ ! -e new.npy ] || fail "an output of the failed run exists"
  no_leftovers
  # a particle only rank 2 reads is not finite: bad input, named by rank and global index
  python3 - <<'EOF'
data = bytearray(open("x.npy", "rb").read())
header = data[8] + 256 * data[9] + 10
at = header + (950 * 2) * 8  # particle 950, coordinate 0
data[at:at + 8] = bytes([0, 0, 0, 0, 0, 0, 0xF8, 0x7F])  # NaN
open("bad.npy", "wb").write(data)
EOF
  set +e
  ranks 3 score --mixture "$mix" --schedule vp-linear --t 0.3 --in bad.npy --out s.npy 2>err.txt
  status=$?
  set -e
  [ $status -eq 2 ] || { cat err.txt; fail "exit status $status, not 2, for a bad particle of rank 2"; }
  grep -q '^scorefield: rank 2 of 3: bad.npy: particle 950, coordinate 0 is not finite' err.txt || { cat err.txt; fail "message"; }
  [ ! -e s.npy ] || fail "an output of the failed run exists"
  no_leftovers
  # the same in sample, whose frame times file rank 0 writes alone
  set +e
  SCOREFIELD_TEST_UNWRITABLE_RANK=2 ranks 3 sample --mixture "$mix" --schedule vp-linear --sampler em --n 100 \
    --out s.npy --trajectory t.npy 2>err.txt
  status=$?
  set -e
  [ $status -eq 2 ] && grep -q '^scorefield: rank 2 of 3: ' err.txt || { cat err.txt; fail "sample: status $status"; }
  [ ! -e s.npy ] && [ ! -e t.npy ] && [ ! -e t.times.npy ] || fail "sample left an output"
  no_leftovers
  # mpirun interrupted (it passes SIGTERM to the ranks): rank 0 removes the shared temporary file
  "$mpiexec" -np 3 --oversubscribe "$cli" sample --mixture "$mix" --schedule vp-linear --sampler ddim --steps 5000 \
    --n 30000 --out long.npy --quiet 2>err.txt &
  launcher=$!
  local waited=0
  until ls | grep -q '^long\.npy\.tmp\.' || [ $waited -ge 600 ]; do sleep 0.1; waited=$((waited + 1)); done # 60 s: a loaded machine starts 3 ranks slowly
  ls | grep -q '^long\.npy\.tmp\.' || fail "no temporary file appeared"
  sleep 0.5
  kill -TERM $launcher
  if wait $launcher; then fail "an interrupted run succeeded"; fi
  launcher=""
  [ "$(grep -c 'interrupted by SIGTERM' err.txt)" -eq 1 ] || { cat err.txt; fail "not one interruption message"; }
  [ ! -e long.npy ] || fail "the interrupted run left its output"
  no_leftovers
}

# Each rank's peak RSS (kB) in rss.R, for a command run under mpirun -np 3.
peak_rss() {
  local rss='import os, resource, subprocess, sys
status = subprocess.call(sys.argv[1:])
with open("rss.%s" % os.environ["OMPI_COMM_WORLD_RANK"], "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(status)'
  rm -f rss.*
  "$mpiexec" -np 3 --oversubscribe python3 -c "$rss" "$cli" "$@"
}

case_memory() {
  # 96 MB of particles, 32 MB per rank, against the same commands on 3000 particles: what a rank
  # adds for the large run must stay far below its share (the process itself, with MPI and, in
  # CUDA builds, the CUDA runtime, takes tens to hundreds of MB whatever N is, and varies by a few
  # MB from run to run: the bound, 24 MB, is what a rank holding its 32 MB share would exceed)
  local n=6000000 small=3000
  for command in draw score; do
    declare -A base=()
    for size in $small $n; do
      if [ $command = draw ]; then
        peak_rss draw --mixture "$mix" --schedule vp-linear --t 0.5 --n $size --out big.$size.npy --batch 65536 --quiet
      else
        peak_rss score --mixture "$mix" --schedule vp-linear --t 0.5 --in big.$size.npy --out score.$size.npy \
          --batch 65536 --quiet
      fi
      for r in 0 1 2; do
        kb=$(cat rss.$r)
        if [ $size = $small ]; then base[$r]=$kb; continue; fi
        echo "$command: rank $r peak RSS $kb kB, $((kb - ${base[$r]})) kB more than for $small particles"
        [ $((kb - ${base[$r]})) -lt 24000 ] || fail "$command: rank $r grew by $((kb - ${base[$r]})) kB: not far below its 32 MB share"
      done
    done
  done
  [ "$(stat -c %s big.$n.npy)" -eq $((128 + n * 16)) ] && [ "$(stat -c %s score.$n.npy)" -eq $((128 + n * 16)) ] ||
    fail "the files do not have the size of $n particles"
}

"case_$case"
echo "mpi.$case: ok"
