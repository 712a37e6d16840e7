#!/usr/bin/env bash
# Merge to the default branch: plan again, check that it is the plan reviewed on the
# pull request ($APPROVED_DIGEST, from the plan comment's hidden marker), then apply it.
# The digest never covers what a refresh saw, so the marker's `overwrites=` says which
# edits made in Ontora the reviewed plan showed it would overwrite ($APPROVED_OVERWRITES:
# a short digest, `none`, or `unknown` for an offline plan). If this refreshed plan would
# overwrite any, the reviewed plan must have shown exactly those, or $ALLOW_OVERWRITES
# is `true` (the merged pull request's overwrite label); otherwise nothing is applied.
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

marker='^<!-- campaignsync-plan digest=\([0-9a-f]*\) overwrites=\([0-9a-z]*\) -->$'
digest=$(sed -n "s/$marker/\\1/p" "$out/plan.md")
overwrites=$(sed -n "s/$marker/\\2/p" "$out/plan.md")
if [ -z "${APPROVED_DIGEST:-}" ]; then
  echo "::warning::No reviewed plan was found on the merged pull request; applying the plan made now."
elif [ "$digest" != "$APPROVED_DIGEST" ]; then
  echo "::error::The plan at merge (digest $digest) is not the plan reviewed on the pull request (digest $APPROVED_DIGEST). Something changed in between: another merge, the state, or an edit in Ontora. Nothing was applied. Push to a new pull request (or re-run its plan check) to review the current plan."
  exit 1
fi

if [ "$overwrites" != none ] && [ "$overwrites" != "${APPROVED_OVERWRITES:-}" ]; then
  # Each campaign with the fields its requests would overwrite: "key (field, field)".
  list='import json, sys; plan = json.load(open(sys.argv[1], encoding="utf-8")); print("; ".join(c["key"] + " (" + ", ".join(c["overwrites"]) + ")" for c in plan["campaigns"] if c["overwrites"]))'
  edited=$(python -c "$list" "$out/plan.json")
  if [ "${ALLOW_OVERWRITES:-}" = true ]; then
    echo "::warning::Overwriting what was edited in Ontora since the reviewed plan, as the" \
      "pull request's overwrite label allows: $edited."
  else
    echo "::error::Applying now would overwrite what was edited in Ontora's web app, which" \
      "the plan reviewed on the pull request did not show: $edited. Nothing was applied." \
      "Follow 'When the merge refuses to overwrite an edit made in Ontora' in README.md:" \
      "re-run the pull request's plan check to review the overwrite, keep the edit in the" \
      "campaign file in a new pull request, or label the pull request 'campaignsync:" \
      "overwrite Ontora edits' to overwrite it, then re-run this job."
    exit 1
  fi
fi

if [ "$status" -eq 0 ]; then
  echo "No changes to apply."
  exit 0
fi
campaignsync apply "$out/plan.json"
