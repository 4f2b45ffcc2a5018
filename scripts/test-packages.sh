#!/usr/bin/env bash
# The packages as a user outside the repository gets them (opt-in: minutes, so not part of scripts/test.sh):
#   1. scripts/pack.sh into a temporary local feed (the tool for linux-x64 only);
#   2. docs/plugins.md's project file, copied as is into a folder outside the repository with the minimal plugin's
#      source, builds against that feed plus the usual registry into a plugin of a few MB at most that holds only its
#      own files (nothing the host shares);
#   3. the captum tool, installed from the feed, lists and runs that plugin (--plugins DIR), and has the third-party
#      notices and libtorch's licence beside the command;
#   4. a plugin made by `dotnet new captum-plugin` (CaptumSharp.Templates) builds the same way (as small, as much its
#      own) and runs;
#   5. a console app made of the package readme's code (CaptumSharp.Attr + TorchSharp-cpu) runs;
#   6. the standalone samples (samples/ImageClassifier, samples/TextClassifier), copied outside the repository, run
#      against the feed and write their reports.
# Prints one line per check and `packages: N passed, N failed`; exits non-zero when a check fails.
# Usage: scripts/test-packages.sh [WORK_DIR]   (default: a new folder under /tmp, deleted unless a check failed)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="${1:-$(mktemp -d /tmp/captum-packages.XXXXXX)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
case "$work" in "$ROOT"|"$ROOT"/*) echo "test-packages: WORK_DIR must be outside the repository" >&2; exit 2;; esac
feed="$work/feed"
passed=0
failed=0
check() { # check NAME COMMAND...: runs the command, its output in $work/NAME.log
  local name="$1"
  shift
  # In a subshell with errexit, so a failing step inside a check function fails the check. Not inside an `if` or
  # `||`: there bash ignores errexit even where a subshell sets it.
  local status
  set +e
  (set -e; "$@") >"$work/$name.log" 2>&1
  status=$?
  set -e
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name (see $work/$name.log)"
    tail -n 20 "$work/$name.log" | sed 's/^/     /'
  fi
}

# 1. The packages.
rm -rf "$feed"
CAPTUM_TOOL_RIDS=linux-x64 bash "$ROOT/scripts/pack.sh" "$feed" >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; exit 1; }
version=$(ls "$feed" | sed -n 's/^CaptumSharp\.Core\.\(.*\)\.nupkg$/\1/p')
if [ -z "$version" ] || [ "$(wc -l <<<"$version")" -ne 1 ]; then
  echo "test-packages: expected one CaptumSharp.Core package in $feed, found: ${version:-none}" >&2
  exit 1
fi
echo "test-packages: version $version in $feed"
# What every package promises (docs/packaging.md): one version; the licence, readme and repository in its nuspec; a
# symbol package beside each library; libraries that depend on TorchSharp, never on a libtorch backend package.
package_metadata() {
  python3 - "$feed" "$version" "$ROOT" <<'PY'
import glob, os, re, sys, zipfile, xml.etree.ElementTree as ET
feed, version, root = sys.argv[1:4]
problems, seen = [], 0
for path in sorted(glob.glob(os.path.join(feed, "*.nupkg"))):
    name = os.path.basename(path)
    if not name.endswith("." + version + ".nupkg"):
        problems.append(f"{name}: not version {version}")
        continue
    seen += 1
    with zipfile.ZipFile(path) as z:
        nuspec = next(n for n in z.namelist() if n.endswith(".nuspec"))
        xml = re.sub(r'\sxmlns="[^"]+"', "", z.read(nuspec).decode("utf-8"), count=1)
        meta = ET.fromstring(xml).find("metadata")
        files = set(z.namelist())
    def text(tag):
        e = meta.find(tag)
        return e.text if e is not None else None
    pid = text("id")
    lic = meta.find("license")
    if lic is None or lic.get("type") != "expression" or lic.text != "BSD-3-Clause":
        problems.append(f"{pid}: licence is not the expression BSD-3-Clause")
    if not text("readme") or text("readme") not in files:
        problems.append(f"{pid}: no readme in the package")
    repo = meta.find("repository")
    if repo is None or not repo.get("url") or repo.get("type") != "git":
        problems.append(f"{pid}: no git repository url")
    elif os.path.isdir(os.path.join(root, ".git")) and not repo.get("commit"):
        problems.append(f"{pid}: the repository element has no commit")
    library = any(n.startswith("lib/") and n.endswith(".dll") for n in files)
    if library:
        if not os.path.exists(path[: -len(".nupkg")] + ".snupkg"):
            problems.append(f"{pid}: no .snupkg beside it")
        deps = {d.get("id") for d in meta.iter("dependency")}
        backends = sorted(d for d in deps if d and (d.startswith("libtorch") or d.startswith("TorchSharp-")))
        if backends:
            problems.append(f"{pid}: depends on a libtorch backend package: {', '.join(backends)}")
    print(f"{pid}: {'library' if library else 'package'}, {len(files)} files")
if seen < 8:
    problems.append(f"only {seen} packages of version {version} in {feed}")
print("\n".join(problems) or "every package keeps its promises")
sys.exit(1 if problems else 0)
PY
}
check package-metadata package_metadata

# A version packed before from other sources (same commit height) must not be taken from the package cache.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/captumsharp.*/"$version"

# The local feed beside the usual registry, as docs/packaging.md shows.
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="captumsharp-local" value="$feed" />
  </packageSources>
</configuration>
XML

# 2. The doc's plugin, outside the repository.
# A reused WORK_DIR starts clean: nothing left from an earlier run may make a check pass.
rm -rf "$work/plugin" "$work/plugins" "$work/tool" "$work/hive" "$work/template" "$work/app" "$work/app-linux"
mkdir -p "$work/plugin" "$work/plugins"
python3 - "$ROOT/docs/plugins.md" "$work/plugin/Captum.Plugins.Minimal.csproj" <<'PY'
import re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"<!-- begin: samples/MinimalPlugin/Captum\.Plugins\.Minimal\.csproj -->\s*```xml\n(.*?\n)```", doc, re.S)
if not m:
    sys.exit("docs/plugins.md lost its marked project file")
open(sys.argv[2], "w", encoding="utf-8").write(m.group(1))
PY
cp "$ROOT/samples/MinimalPlugin/MinimalPlugin.cs" "$work/plugin/"
from_feed() { # from_feed PROJECT_DIR: every CaptumSharp package the project restored is the feed's version
  python3 - "$1/obj/project.assets.json" "$version" <<'PY'
import json, sys
assets, version = sys.argv[1:3]
ours = [name for name in json.load(open(assets, encoding="utf-8"))["libraries"] if name.lower().startswith("captumsharp.")]
other = [name for name in ours if name.split("/", 1)[1] != version]
print("\n".join(ours))
if not ours or other:
    sys.exit(f"not the feed's version {version}: {', '.join(other) or 'no CaptumSharp package restored'}")
PY
}
# Its *-* takes the newest version of every source: that must be the feed's, not one published on the registry.
plugin_builds() {
  dotnet build "$work/plugin" -c Release -nologo -o "$work/plugins/Captum.Plugins.Minimal"
  from_feed "$work/plugin"
}
check plugin-builds plugin_builds
plugin_size() { # plugin_size NAME: plugins/NAME, a plugin without private dependencies, is small and all its own
  local folder="$work/plugins/$1" bytes file others=""
  bytes=$(du -sb "$folder" | cut -f1)
  echo "plugin folder: $bytes bytes"; ls -la "$folder"
  [ "$bytes" -lt $((5 * 1024 * 1024)) ] || { echo "over 5 MB"; return 1; }
  # Nothing the host shares (TorchSharp, libtorch, the CaptumSharp assemblies, SkiaSharp, ImageSharp, ...): with no
  # private dependency, nothing but the plugin's own files (NAME.dll, .pdb, .deps.json, .runtimeconfig.json).
  for file in "$folder"/* "$folder"/.[!.]*; do
    [ -e "$file" ] || continue
    case "$(basename "$file")" in "$1".*) ;; *) others="$others $(basename "$file")";; esac
  done
  [ -z "$others" ] || { echo "not the plugin's own:$others"; return 1; }
}
check plugin-is-small plugin_size Captum.Plugins.Minimal

# 3. The tool from the feed loads it.
check tool-installs dotnet tool install CaptumSharp.Cli --version "$version" --tool-path "$work/tool" --configfile "$work/nuget.config"
captum() { "$work/tool/captum" --plugins "$work/plugins" "$@"; }
tool_lists_plugin() {
  local listing
  listing="$(captum plugins)"
  echo "$listing"
  grep -q "command minimal-score" <<<"$listing" && grep -q "model bag-of-words" <<<"$listing"
}
check tool-lists-plugin tool_lists_plugin
tool_runs_plugin() { [ "$(captum minimal-score --text "good movie" | tr -d '\r')" = positive ]; }
check tool-runs-plugin tool_runs_plugin
# The tool's files are one platform's libtorch (440 MiB) and little else; over 600 MiB means something else came with
# them. (The store also keeps NuGet's two copies of the downloaded package, which are not the tool's.)
tool_size() {
  local tools
  tools="$(find "$work/tool/.store" -type d -name tools -path "*captumsharp.cli.*" | head -n 1)"
  du -sh "$work/tool/.store"
  du -sh "$tools"
  [ -n "$tools" ] && [ "$(du -sm "$tools" | cut -f1)" -lt 600 ]
}
check tool-size tool_size
# The third-party notices and libtorch's licence beside the command (THIRD-PARTY-NOTICES.txt, docs/packaging.md).
tool_notices() {
  local command_folder
  command_folder="$(dirname "$(find "$work/tool/.store" -name captum.dll -path "*captumsharp.cli.*" | head -n 1)")"
  ls -la "$command_folder"/*.txt
  cmp "$ROOT/THIRD-PARTY-NOTICES.txt" "$command_folder/THIRD-PARTY-NOTICES.txt" &&
  grep -q "From PyTorch" "$command_folder/LICENSE-LIBTORCH.txt"
}
check tool-notices tool_notices

# 4. The template.
template() {
  # One step a statement, so that the first failing one fails the check (errexit skips all but an && list's last).
  dotnet new install "$feed/CaptumSharp.Templates.$version.nupkg" --debug:custom-hive "$work/hive"
  dotnet new captum-plugin -n Acme.Words --pluginName acme -o "$work/template/Acme.Words" --debug:custom-hive "$work/hive"
  # The SDK of the template's own version, that of the tool installed above.
  grep -q "Include=\"CaptumSharp.Plugins.Sdk\" Version=\"$version\"" "$work/template/Acme.Words/Acme.Words.csproj"
  dotnet build "$work/template/Acme.Words" -c Release -nologo -o "$work/plugins/Acme.Words"
  local answer
  answer="$(captum acme-explain --text "great movie")"
  echo "$answer"
  grep -q '^positive' <<<"$answer"
}
check template-plugin-runs template
check template-plugin-is-small plugin_size Acme.Words

# 5. The package readme's code in a console app, with TorchSharp-cpu (every platform's libtorch) and with TorchSharp and
#    Linux's libtorch alone.
app() { # app NAME BACKEND_PACKAGE...
  local name="$1" references="" package
  shift
  for package in "$@"; do
    references="$references    <PackageReference Include=\"${package%@*}\" Version=\"${package#*@}\" />"$'\n'
  done
  mkdir -p "$work/$name"
  cat > "$work/$name/$name.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="CaptumSharp.Attr" Version="$version" />
$references  </ItemGroup>
</Project>
XML
  python3 - "$ROOT/src/package-readme.md" "$work/$name/Program.cs" <<'PY'
import re, sys
m = re.search(r"```csharp\n(.*?)```", open(sys.argv[1], encoding="utf-8").read(), re.S)
open(sys.argv[2], "w", encoding="utf-8").write(m.group(1))
PY
  dotnet run --project "$work/$name" -c Release && du -sh "$work/$name/bin/Release/net10.0"
}
check readme-app-runs app app TorchSharp-cpu@0.107.0
check readme-app-linux-only-runs app app-linux TorchSharp@0.107.0 libtorch-cpu-linux-x64@2.10.0

# 6. The standalone samples, as a user copies them: their own project files, the feed through $work/nuget.config.
sample() { # sample NAME: runs samples/NAME outside the repository; its report must have been written
  # Starts clean like the rest: no report, copied file or build output of an earlier run.
  rm -rf "$work/$1" "$work/$1.html"
  mkdir -p "$work/$1"
  git -C "$ROOT" ls-files "samples/$1" | while read -r file; do cp "$ROOT/$file" "$work/$1/"; done
  dotnet run --project "$work/$1" -c Release -- "$work/$1.html"
  grep -q "</html>" "$work/$1.html"
  # Its *-* references, like the plugin's, took the feed's packages.
  from_feed "$work/$1"
}
check image-classifier-sample-runs sample ImageClassifier
check text-classifier-sample-runs sample TextClassifier

echo "packages: $passed passed, $failed failed"
if [ "$failed" -eq 0 ] && [ $# -eq 0 ]; then
  rm -rf "$work"
fi
[ "$failed" -eq 0 ]
