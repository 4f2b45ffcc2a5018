#!/usr/bin/env bash
# Packs every package of the repository into OUT_DIR: the libraries (CaptumSharp.Core, CaptumSharp.Attr, ...), the
# plugin SDK (CaptumSharp.Plugins.Sdk), the templates (CaptumSharp.Templates) and the captum tool (CaptumSharp.Cli and
# one CaptumSharp.Cli.<rid> per platform), with their .snupkg symbol packages. Every packable project of the solution
# is packed; tests, benchmarks, samples and plugins are no packages. docs/packaging.md tells how to use OUT_DIR as a feed.
# Usage: scripts/pack.sh OUT_DIR [dotnet pack arguments, e.g. -p:MinVerVersionOverride=1.2.3]
#   CAPTUM_TOOL_RIDS="linux-x64"   only these platforms' tool packages (default: linux-x64;win-x64;osx-arm64)
#   The version comes from the newest git tag vX.Y.Z (MinVer); without one it is 0.0.0-alpha.0.<commits>.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ $# -lt 1 ]; then
  echo "usage: scripts/pack.sh OUT_DIR [dotnet pack arguments]" >&2
  exit 2
fi
out="$1"
shift
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$ROOT"

rids="${CAPTUM_TOOL_RIDS:-linux-x64;win-x64;osx-arm64}"
# The solution: projects that are no packages (IsPackable=false) are skipped, and built only when a package needs them.
dotnet pack CaptumSharp.sln -c Release -o "$out" -nologo -v quiet \
  -p:ContinuousIntegrationBuild=true "-p:ToolPackageRuntimeIdentifiers=\"$rids\"" "$@"

echo "pack: $(ls "$out"/*.nupkg | wc -l) packages in $out"
ls "$out" | sed -n 's/^CaptumSharp\.Core\.\(.*\)\.nupkg$/pack: version \1/p'
