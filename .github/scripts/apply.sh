#!/usr/bin/env bash
# Merge to the default branch: plan again, check that it is the plan reviewed on the
# pull request ($APPROVED_DIGEST, from the plan comment's hidden marker), then apply it.
# State is written after every request, so whatever happens, commit it afterwards.
set -euo pipefail

out="${PLAN_DIR:-.}"
mkdir -p "$out"

status=0
campaignsync plan --refresh --format markdown --out "$out/plan.json" \
  --detailed-exitcode > "$out/plan.md" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  exit "$status"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out/plan.md" >> "$GITHUB_STEP_SUMMARY"
fi

digest=$(sed -n 's/^<!-- campaignsync-plan digest=\([0-9a-f]*\) -->$/\1/p' "$out/plan.md")
if [ -z "${APPROVED_DIGEST:-}" ]; then
  echo "::warning::No reviewed plan was found on the merged pull request; applying the plan made now."
elif [ "$digest" != "$APPROVED_DIGEST" ]; then
  echo "::error::The plan at merge (digest $digest) is not the plan reviewed on the pull request (digest $APPROVED_DIGEST). Something changed in between: another merge, the state, or an edit in Ontora. Nothing was applied. Push to a new pull request (or re-run its plan check) to review the current plan."
  exit 1
fi

if [ "$status" -eq 0 ]; then
  echo "No changes to apply."
  exit 0
fi
campaignsync apply "$out/plan.json"
