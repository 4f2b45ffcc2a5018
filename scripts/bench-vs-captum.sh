#!/usr/bin/env bash
# Side by side with Captum 0.8.0 on this machine, one workload, one after the other:
#   scripts/bench-vs-captum.sh WORKLOAD [--threads N] [--no-cache | --ours-default]
# WORKLOAD as in ../shared/bench/captum/captum_bench.py: resnet18_ig, vqa_lig, resnet18_conductance,
# resnet18_occlusion, resnet18_occlusion_ppe32, gpt2_llm_fa (ours with its key-value cache; --no-cache for ours
# without it, like for like with Captum's use_cached_outputs=False). --ours-default (resnet18_occlusion only) runs ours
# with PerturbationsPerEval not given (chosen from the memory budget) against Captum's default of 1.
# Prints Captum's line, ours, and last: workload=W threads=N time_ratio=T memory_ratio=M (CaptumSharp / Captum).
# Needs Debian's python3-torch and python3-torchvision (not installed by setup.sh: benchmarks only):
#   apt-get install -y python3-torch python3-torchvision python3-matplotlib python3-tqdm
# (Captum 0.8.0 imports matplotlib and tqdm at import time.)
# Run it on a quiet machine: nothing else building, testing or training.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
workload="${1:-}"
shift || true
threads=1
ours_suffix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
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
captum_line="$(CAPTUM_SRC="$captum_src" /usr/bin/python3 "$bench_dir/captum_bench.py" "$workload" "$threads" | tail -1)"
echo "captum:      $captum_line"
ours_line="$(dotnet "$ROOT/bench/Captum.Bench/bin/Release/net10.0/Captum.Bench.dll" "$workload$ours_suffix" --threads "$threads" | tail -1)"
echo "captumsharp: $ours_line"

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
awk -v w="$workload$ours_suffix" -v n="$threads" \
    -v cs="$(field seconds "$captum_line")" -v cm="$(field peak_rss_mb "$captum_line")" \
    -v os="$(field seconds "$ours_line")" -v om="$(field peak_rss_mb "$ours_line")" \
    'BEGIN { printf "workload=%s threads=%s time_ratio=%.3f memory_ratio=%.3f\n", w, n, os / cs, om / cm }'
