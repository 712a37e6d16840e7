#!/usr/bin/env bash
# Merge to the default branch: plan again, check that it is the plan reviewed on the
# pull request ($APPROVED_DIGEST, from the plan comment's hidden marker), then apply it.
# The digest never covers what a refresh saw, so the marker's `overwrites=` says which
# edits made in Ontora the reviewed plan showed it would overwrite ($APPROVED_OVERWRITES:
# a short digest, `none`, or `unknown` for an offline plan). If this refreshed plan would
# overwrite any, the reviewed plan must have shown exactly those, or $ALLOW_OVERWRITES
# is `true` (the merged pull request's overwrite label); otherwise nothing is applied.
# When campaignsync.yaml declares environments, each is planned, checked against its own
# section's marker ($APPROVED_ENVIRONMENTS: one "NAME DIGEST OVERWRITES" line each) and
# applied, in the order declared, stopping at the first that fails.
# State is written after every request: kept in a file, the workflow commits it afterwards
# whatever happens (commit-state.sh); kept in PostgreSQL (a CAMPAIGNSYNC_STATE secret
# holding a postgresql:// URL), every write is already stored and nothing is committed.
set -euo pipefail

out="${PLAN_DIR:-.}"
mkdir -p "$out"

# apply_one DIR APPROVED_DIGEST APPROVED_OVERWRITES WHERE [--env NAME]
# Plans into DIR, checks the plan against the reviewed one, applies it. WHERE starts each
# message ("" without environments, "Environment NAME: " with them).
apply_one() {
  local dir=$1 approved_digest=$2 approved_overwrites=$3 where=$4
  shift 4
  local status=0 marker digest overwrites list edited
  mkdir -p "$dir"
  campaignsync plan "$@" --refresh --format markdown --out "$dir/plan.json" \
    --detailed-exitcode > "$dir/plan.md" || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
    return "$status"
  fi
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$dir/plan.md" >> "$GITHUB_STEP_SUMMARY"
  fi

  marker='^<!-- campaignsync-plan \(env=[a-z0-9_-]* \)\{0,1\}digest=\([0-9a-f]*\) overwrites=\([0-9a-z]*\) -->$'
  digest=$(sed -n "s/$marker/\\2/p" "$dir/plan.md")
  overwrites=$(sed -n "s/$marker/\\3/p" "$dir/plan.md")
  if [ -z "$approved_digest" ]; then
    echo "::warning::${where}No reviewed plan was found on the merged pull request; applying the plan made now."
  elif [ "$digest" != "$approved_digest" ]; then
    echo "::error::${where}The plan at merge (digest $digest) is not the plan reviewed on the pull request (digest $approved_digest). Something changed in between: another merge, the state, or an edit in Ontora. Nothing was applied. Push to a new pull request (or re-run its plan check) to review the current plan."
    return 1
  fi

  if [ "$overwrites" != none ] && [ "$overwrites" != "$approved_overwrites" ]; then
    # Each campaign with the fields its requests would overwrite: "key (field, field)".
    list='import json, sys; plan = json.load(open(sys.argv[1], encoding="utf-8")); print("; ".join(c["key"] + " (" + ", ".join(c["overwrites"]) + ")" for c in plan["campaigns"] if c["overwrites"]))'
    edited=$(python -c "$list" "$dir/plan.json") || return 1
    if [ "${ALLOW_OVERWRITES:-}" = true ]; then
      echo "::warning::${where}Overwriting what was edited in Ontora since the reviewed plan, as the" \
        "pull request's overwrite label allows: $edited."
    else
      echo "::error::${where}Applying now would overwrite what was edited in Ontora's web app, which" \
        "the plan reviewed on the pull request did not show: $edited. Nothing was applied." \
        "Follow 'When the merge refuses to overwrite an edit made in Ontora' in README.md:" \
        "re-run the pull request's plan check to review the overwrite, keep the edit in the" \
        "campaign file in a new pull request, or label the pull request 'campaignsync:" \
        "overwrite Ontora edits' to overwrite it, then re-run this job."
      return 1
    fi
  fi

  if [ "$status" -eq 0 ]; then
    echo "${where}No changes to apply."
    return 0
  fi
  campaignsync apply "$@" "$dir/plan.json"
}

mapfile -t environments < <(campaignsync environments)

if [ "${#environments[@]}" -eq 0 ]; then
  apply_one "$out" "${APPROVED_DIGEST:-}" "${APPROVED_OVERWRITES:-}" ""
  exit
fi

if [ -n "${ONTORA_WORKSPACE_ID:-}" ]; then
  echo "::error::campaignsync.yaml declares environments, each with its own workspace_id," \
    "but ONTORA_WORKSPACE_ID is set, and it would send every environment to that one" \
    "workspace. Nothing was applied. Remove the ONTORA_WORKSPACE_ID secret and give each" \
    "environment its workspace_id in campaignsync.yaml."
  exit 1
fi
reviewed="${APPROVED_DIGEST:-}${APPROVED_ENVIRONMENTS:-}"
for environment in "${environments[@]}"; do
  where="Environment $environment: "
  section=$(printf '%s\n' "${APPROVED_ENVIRONMENTS:-}" | awk -v name="$environment" '$1 == name { print; exit }')
  if [ -n "$reviewed" ] && [ -z "$section" ]; then
    echo "::error::${where}the plan reviewed on the pull request has no section for this" \
      "environment, so nothing was applied to it (nor to the environments after it). Re-run" \
      "the pull request's plan check to review a plan of every environment."
    exit 1
  fi
  read -r _ approved_digest approved_overwrites <<< "$section"
  echo "Applying environment $environment."
  status=0
  apply_one "$out/$environment" "$approved_digest" "$approved_overwrites" "$where" \
    --env "$environment" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "::error::${where}stopped here; the environments after it were not applied."
    exit "$status"
  fi
done
