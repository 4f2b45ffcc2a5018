#!/usr/bin/env bash
# Runs the whole test suite from a fresh checkout: setup, restore, build, test.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
dotnet build CaptumSharp.sln -c "$CONFIGURATION" -nologo -v quiet
dotnet test CaptumSharp.sln -c "$CONFIGURATION" --no-build -nologo --logger "console;verbosity=normal" "$@"
