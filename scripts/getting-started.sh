#!/usr/bin/env bash
# The getting-started sample (docs/getting-started.md): Integrated Gradients on a small model, printing the
# attributions and the convergence delta.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
dotnet build samples/GettingStarted/GettingStarted.csproj -c "$CONFIGURATION" -nologo -v quiet >/dev/null
exec dotnet "samples/GettingStarted/bin/$CONFIGURATION/net10.0/GettingStarted.dll" "$@"
