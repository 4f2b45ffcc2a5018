#!/usr/bin/env bash
# Runs the captum command from a checkout, building it when needed: scripts/captum.sh vqa --help
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dotnet build "$ROOT/src/Captum.Cli/Captum.Cli.csproj" -c "$CONFIGURATION" -nologo -v quiet >/dev/null
exec dotnet "$ROOT/src/Captum.Cli/bin/$CONFIGURATION/net10.0/captum.dll" "$@"
