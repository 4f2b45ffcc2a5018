#!/usr/bin/env bash
# Side by side with Captum 0.8.0 on this machine, one workload, one after the other:
#   scripts/bench-vs-captum.sh WORKLOAD [--threads N] [--runs R] [--no-cache | --ours-default]
# WORKLOAD as in ../shared/bench/captum/captum_bench.py: resnet18_ig, vqa_lig, resnet18_conductance,
# resnet18_occlusion, resnet18_occlusion_ppe32, gpt2_llm_fa (ours with its key-value cache; --no-cache for ours
# without it, like for like with Captum's use_cached_outputs=False). --ours-default (resnet18_occlusion only) runs ours
# with PerturbationsPerEval not given (chosen from the memory budget) against Captum's default of 1.
# Prints Captum's line, ours, and last: workload=W threads=N time_ratio=T memory_ratio=M (CaptumSharp / Captum).
# --runs R (default 1) runs the pair R times, alternating the two sides, each in a fresh process, prints every line,
# and computes the ratios from each side's medians (seconds and peak MB separately): on a 2-core machine one timed
# call moves by 20 % between runs, so a single pair's time ratio within about 0.15 of 1 says nothing.
# Needs Debian's python3-torch and python3-torchvision (not installed by setup.sh: benchmarks only):
#   apt-get install -y python3-torch python3-torchvision python3-matplotlib python3-tqdm
# (Captum 0.8.0 imports matplotlib and tqdm at import time.)
# Run it on a quiet machine: nothing else building, testing or training.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
workload="${1:-}"
shift || true
threads=1
runs=1
ours_suffix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --no-cache) ours_suffix="_nocache"; shift ;;
    --ours-default) ours_suffix="_auto"; shift ;;
    *) echo "bench-vs-captum: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case "$workload" in
  resnet18_ig|vqa_lig|resnet18_conductance|resnet18_occlusion_ppe32) [ -z "$ours_suffix" ] || { echo "bench-vs-captum: --no-cache is for gpt2_llm_fa only, --ours-default for resnet18_occlusion only" >&2; exit 2; } ;;
  resnet18_occlusion) [ "$ours_suffix" != "_nocache" ] || { echo "bench-vs-captum: --no-cache is for gpt2_llm_fa only" >&2; exit 2; } ;;
  gpt2_llm_fa) [ "$ours_suffix" != "_auto" ] || { echo "bench-vs-captum: --ours-default is for resnet18_occlusion only" >&2; exit 2; } ;;
  *) echo "bench-vs-captum: WORKLOAD must be one of resnet18_ig, vqa_lig, resnet18_conductance, resnet18_occlusion, resnet18_occlusion_ppe32, gpt2_llm_fa; not '$workload'" >&2; exit 2 ;;
esac
case "$threads" in ''|*[!0-9]*|0) echo "bench-vs-captum: --threads must be a positive whole number, not '$threads'" >&2; exit 2 ;; esac
case "$runs" in ''|*[!0-9]*|0) echo "bench-vs-captum: --runs must be a positive whole number, not '$runs'" >&2; exit 2 ;; esac

bench_dir="$ROOT/../shared/bench/captum"
reference="$ROOT/../shared/reference/captum-0.8.0-src.tar.gz"
[ -f "$bench_dir/captum_bench.py" ] || { echo "bench-vs-captum: Captum's side is missing: $bench_dir/captum_bench.py" >&2; exit 1; }
if ! /usr/bin/python3 -c "import torch, torchvision, matplotlib, tqdm" 2>/dev/null; then
  echo "bench-vs-captum: Captum's side needs Debian's PyTorch and what Captum imports: apt-get install -y python3-torch python3-torchvision python3-matplotlib python3-tqdm" >&2
  exit 1
fi
captum_src="$ROOT/out/captum-src"
if [ ! -d "$captum_src/captum" ]; then
  [ -f "$reference" ] || { echo "bench-vs-captum: Captum's source is missing: $reference" >&2; exit 1; }
  mkdir -p "$captum_src"
  tar -xzf "$reference" -C "$captum_src"
fi

dotnet build "$ROOT/bench/Captum.Bench/Captum.Bench.csproj" -c Release -nologo -v quiet >/dev/null
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cs_all=""; cm_all=""; os_all=""; om_all=""
for ((run = 1; run <= runs; run++)); do
  captum_line="$(CAPTUM_SRC="$captum_src" /usr/bin/python3 "$bench_dir/captum_bench.py" "$workload" "$threads" | tail -1)"
  echo "captum:      $captum_line"
  ours_line="$(dotnet "$ROOT/bench/Captum.Bench/bin/Release/net10.0/Captum.Bench.dll" "$workload$ours_suffix" --threads "$threads" | tail -1)"
  echo "captumsharp: $ours_line"
  for pair in "Captum's:$captum_line" "ours:$ours_line"; do
    for key in seconds peak_rss_mb; do
      [ -n "$(field "$key" "${pair#*:}")" ] || { echo "bench-vs-captum: ${pair%%:*} side printed no $key= (run $run): ${pair#*:}" >&2; exit 1; }
    done
  done
  cs_all+="$(field seconds "$captum_line")"$'\n'; cm_all+="$(field peak_rss_mb "$captum_line")"$'\n'
  os_all+="$(field seconds "$ours_line")"$'\n'; om_all+="$(field peak_rss_mb "$ours_line")"$'\n'
done

cs="$(printf '%s' "$cs_all" | median)"; cm="$(printf '%s' "$cm_all" | median)"
os="$(printf '%s' "$os_all" | median)"; om="$(printf '%s' "$om_all" | median)"
[ "$runs" -eq 1 ] || echo "medians of $runs runs: captum seconds=$cs peak_rss_mb=$cm; captumsharp seconds=$os peak_rss_mb=$om"
awk -v w="$workload$ours_suffix" -v n="$threads" -v cs="$cs" -v cm="$cm" -v os="$os" -v om="$om" \
    'BEGIN { printf "workload=%s threads=%s time_ratio=%.3f memory_ratio=%.3f\n", w, n, os / cs, om / cm }'
