#!/usr/bin/env bash
# Serves Captum Insights on 127.0.0.1 until stopped (Ctrl+C), building captum when needed:
#   scripts/insights.sh --port 8080
#   scripts/insights.sh --port 8080 --checkpoint vqa.pt --resnet resnet152.pt   # the tutorial's model
# Every option of `captum insights --help` is passed on.
exec bash "$(dirname "${BASH_SOURCE[0]}")/captum.sh" insights "$@"
