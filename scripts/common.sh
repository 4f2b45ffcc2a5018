#!/usr/bin/env bash
# Shared by the scripts: repository root, setup, and dotnet settings.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
CONFIGURATION="${CONFIGURATION:-Release}"
bash "$ROOT/scripts/setup.sh"
