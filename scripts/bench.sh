#!/usr/bin/env bash
# Benchmarks one workload against raw TorchSharp doing the same passes:
#   scripts/bench.sh resnet18-ig|vqa-lig|mlp-steps --threads N [--repeats R]
#   scripts/bench.sh gpt2-llm-fa [--no-cache] [--long] --threads N [--repeats R]   (captum_bench.py's gpt2_llm_fa against raw; --long: a larger model and prompt; --smoke: a tiny run that only checks it works)
#   scripts/bench.sh adaptive --threads N      (adaptive integration against 50-step Gauss-Legendre; prints a table)
#   scripts/bench.sh influence-scale --threads N   (influence methods over 2,500 to 10,000 scene questions; prints a table)
#   scripts/bench.sh SIDE_BY_SIDE_WORKLOAD --threads N   (our side of scripts/bench-vs-captum.sh alone, e.g. resnet18_conductance;
#     also resnet18_lig_layer3 and resnet18_lig_layer4, which Captum's side lacks, and their _noprefix variants: LayerIG
#     forced onto the pass on expanded inputs, see docs/performance.md)
# The last line reads: workload=W threads=N seconds=S raw_seconds=R ratio=S/R peak_rss_mb=M
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dotnet build "$ROOT/bench/Captum.Bench/Captum.Bench.csproj" -c Release -nologo -v quiet >/dev/null
exec dotnet "$ROOT/bench/Captum.Bench/bin/Release/net10.0/Captum.Bench.dll" "$@"
