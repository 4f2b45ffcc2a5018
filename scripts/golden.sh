#!/usr/bin/env bash
# Runs every golden case (Captum 0.8.0's own answers) after the kernel check (a first line `libtorch: ...` where it
# switched oneDNN off on this CPU): one line per failing or skipped case, then per folder
#   golden FOLDER: N cases, P passed, F failed, S skipped (METHOD count, ... for the skipped cases)
# and, with several folders, a last line `golden: ...` for all of them.
# Usage: scripts/golden.sh [DIR...]
#   default: the attribution cases ($CAPTUM_GOLDEN_DIR, else ../shared/golden/captum-0.8.0), then the other modules'
#   cases ($CAPTUM_GOLDEN_MODULES_DIR, else ../shared/golden/captum-0.8.0-modules: robustness, LLM attribution and
#   TracIn cases). A case of a method the runner does not replay is skipped with the method's name.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
dotnet build tests/Captum.Golden/Captum.Golden.csproj -c "$CONFIGURATION" -nologo -v quiet >/dev/null
exec dotnet "tests/Captum.Golden/bin/$CONFIGURATION/net10.0/Captum.Golden.dll" "$@"
