#!/usr/bin/env bash
# Runs every golden case (Captum 0.8.0's own answers) and prints a summary line:
#   golden: N cases, P passed, F failed, S skipped
# Usage: scripts/golden.sh [DIR]   (default: $CAPTUM_GOLDEN_DIR, else ../shared/golden/captum-0.8.0)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
dotnet build tests/Captum.Golden/Captum.Golden.csproj -c "$CONFIGURATION" -nologo -v quiet >/dev/null
exec dotnet "tests/Captum.Golden/bin/$CONFIGURATION/net10.0/Captum.Golden.dll" "$@"
