#!/usr/bin/env bash
# Pull-request check: validate (annotations on the diff), then plan.
# Writes plan.md (the pull-request comment) and plan.json (the artifact) into $PLAN_DIR,
# and appends the plan to the job summary. Exits 0 with or without changes, 1 on error.
set -euo pipefail

out="${PLAN_DIR:-.}"
mkdir -p "$out"

campaignsync validate --format github

# With credentials, --refresh shows edits made in Ontora's web app and records what it saw.
# Pull requests from forks get no secrets: they are planned offline.
refresh=()
if [ -n "${ONTORA_API_KEY:-}${ONTORA_API_TOKEN:-}" ]; then
  refresh=(--refresh)
fi

status=0
campaignsync plan "${refresh[@]}" --format markdown --out "$out/plan.json" \
  --detailed-exitcode > "$out/plan.md" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  exit "$status"
fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out/plan.md" >> "$GITHUB_STEP_SUMMARY"
fi
