#!/usr/bin/env bash
# The main job: the VQA model that ships with the plugin answers several questions about each scene in
# samples/scenes, and Layer Integrated Gradients explains every answer by the image's pixels and the
# question's words. Writes OUT/report.html (and OUT/result.json) and prints where it is. Then the story model
# of the text-generation plugin answers a short story, and LLM attribution (feature ablation, Captum's default)
# shows which words the answer rests on, added at the end of OUT/report.html (and on its own in OUT/llm/report.html,
# with OUT/llm/result.json).
# Usage: scripts/demo.sh [OUT]   (default: out/demo in the checkout)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
out="${1:-$ROOT/out/demo}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
dotnet build "$ROOT/src/Captum.Cli/Captum.Cli.csproj" -c "$CONFIGURATION" -nologo -v quiet >/dev/null
dotnet "$ROOT/src/Captum.Cli/bin/$CONFIGURATION/net10.0/captum.dll" vqa --batch "$ROOT/samples/scenes/scenes.json" --out "$out" --json
echo
dotnet "$ROOT/src/Captum.Cli/bin/$CONFIGURATION/net10.0/captum.dll" llm \
  --prompt "john went to the kitchen . mary went to the garden . john moved to the office . where is mary ?" \
  --out "$out/llm" --json --append-to "$out/report.html"
echo
echo "demo: open $out/report.html"
