#!/usr/bin/env bash
# Pull-request check: validate (annotations on the diff), then plan.
# Writes plan.md (the pull-request comment) and plan.json (the artifact) into $PLAN_DIR,
# and appends the plan to the job summary. Exits 0 with or without changes, 1 on error.
# When campaignsync.yaml declares environments, each is planned in the order declared
# into $PLAN_DIR/NAME/plan.json and plan.md, and plan.md is every environment's marker
# line (its digest), then one section per environment with its own summary. The markers
# come first so that nothing a campaign file holds can precede, and pass for, one.
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

mapfile -t environments < <(campaignsync environments)

if [ "${#environments[@]}" -eq 0 ]; then
  status=0
  campaignsync plan "${refresh[@]}" --format markdown --out "$out/plan.json" \
    --detailed-exitcode > "$out/plan.md" || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
    exit "$status"
  fi
else
  if [ -n "${ONTORA_WORKSPACE_ID:-}" ]; then
    echo "::error::campaignsync.yaml declares environments, each with its own workspace_id," \
      "but ONTORA_WORKSPACE_ID is set, and it would send every environment to that one" \
      "workspace. Remove the ONTORA_WORKSPACE_ID secret and give each environment its" \
      "workspace_id in campaignsync.yaml."
    exit 1
  fi
  # One comment holds every section: share GitHub's 65,536 characters between them.
  max_chars=$(((64000 - 100 * ${#environments[@]}) / ${#environments[@]}))
  : > "$out/markers.md"
  : > "$out/sections.md"
  for environment in "${environments[@]}"; do
    mkdir -p "$out/$environment"
    status=0
    campaignsync plan --env "$environment" "${refresh[@]}" --format markdown \
      --max-chars "$max_chars" --out "$out/$environment/plan.json" \
      --detailed-exitcode > "$out/$environment/plan.md" || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
      exit "$status"
    fi
    head -n 1 "$out/$environment/plan.md" >> "$out/markers.md"
    printf '\n' >> "$out/sections.md"
    tail -n +2 "$out/$environment/plan.md" >> "$out/sections.md"
  done
  cat "$out/markers.md" "$out/sections.md" > "$out/plan.md"
fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out/plan.md" >> "$GITHUB_STEP_SUMMARY"
fi
