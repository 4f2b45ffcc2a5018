#!/usr/bin/env bash
# Runs samples/notebooks/getting-started.ipynb in a real .NET Interactive kernel (the dotnet-repl tool) against this
# checkout's packages, packed into a local feed, as a reader of the notebook would, and fails when a cell fails or
# the notebook does not show Captum's numbers, the chart and the report. Opt-in, not part of scripts/test.sh: it packs
# every package (about two minutes) and the kernel restores TorchSharp-cpu (once per machine); the test suite compiles
# and runs the notebook's code itself (GettingStartedNotebookTests).
# Usage: scripts/run-notebook.sh [WORK_DIR]   (default: out/notebook; the run's notebook is WORK_DIR/run.ipynb)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="${1:-$ROOT/out/notebook}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
feed="$work/feed"
tools="$work/tools"

if [ ! -x "$tools/dotnet-repl" ]; then
  dotnet tool install dotnet-repl --version 0.3.259 --tool-path "$tools" >/dev/null
fi

rm -rf "$feed"
CAPTUM_TOOL_RIDS=linux-x64 bash "$ROOT/scripts/pack.sh" "$feed" >/dev/null
version=$(ls "$feed" | sed -n 's/^CaptumSharp\.Core\.\(.*\)\.nupkg$/\1/p')
[ -n "$version" ] || { echo "run-notebook: pack.sh made no CaptumSharp.Core package in $feed" >&2; exit 1; }
# A version packed before (the same commit, other changes) would be taken from the NuGet cache, not from the feed.
packages=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
rm -rf "$packages"/captumsharp.*/"$version"

# The notebook as a reader runs it after packing: the markdown cell's #i line, with this feed, above the #r lines.
notebook="$work/notebook.ipynb"
awk -v feed="$feed" '
  !done && /"#r \\"nuget: CaptumSharp.Attr/ { match($0, /^ */); printf "%s\"#i \\\"nuget: %s\\\"\\n\",\n", substr($0, 1, RLENGTH), feed; done = 1 }
  { print }
' "$ROOT/samples/notebooks/getting-started.ipynb" > "$notebook"
grep -q "#i \\\\\"nuget: $feed" "$notebook" || { echo "run-notebook: the notebook has no #r line for CaptumSharp.Attr" >&2; exit 1; }

run="$work/run.ipynb"
rm -f "$run"
# dotnet-repl's exit code does not tell a failed cell from a good run: the cells' outputs are checked below.
"$tools/dotnet-repl" --run "$notebook" --exit-after-run --output-path "$run" >"$work/repl.log" 2>&1 || true
[ -s "$run" ] || { echo "run-notebook: the kernel wrote no notebook (see $work/repl.log)" >&2; exit 1; }

status=0
check() { grep -q -- "$2" "$run" || { echo "run-notebook: $1 missing from $run" >&2; status=1; }; }
if grep -Eq '"output_type": ?"error"' "$run"; then
  echo "run-notebook: a cell failed; its error is in $run" >&2
  status=1
fi
check "Captum's attributions (IG Attributions: [[-0.59222, -1.5497, -1.0067] ...)" 'IG Attributions: \[\[-0.59222, -1.5497, -1.0067\]'
check "the completeness check" 'Sum of attributions: *\[-3.1486, -5.421\]'
check "the bar chart (SVG)" '<svg xmlns=\\"http://www.w3.org/2000/svg\\"'
check "the report (iframe)" '<iframe style=\\"width: 100%'
[ "$status" -eq 0 ] && echo "run-notebook: every cell ran in the .NET Interactive kernel with CaptumSharp $version; outputs in $run"
exit "$status"
