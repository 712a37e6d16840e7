#!/usr/bin/env bash
# After an apply (successful or not): commit the state file and push it to the branch
# that was applied. Other commits may have reached that branch since this run checked it
# out (another merge, a bot): the one state commit is rebased onto the branch's tip before
# each push, and a rejected push is tried again a few times. If the state file itself
# changed there, the two states cannot be merged by a machine: stop loudly, leaving this
# run's state file untouched (the workflow then keeps it as an artifact).
# With environments declared, every environment's state file is committed in one commit.
# State kept in PostgreSQL is stored by every write: nothing to commit, and its URL,
# which may hold a password, is never printed.
set -euo pipefail

# The state files: each environment's (a state kept in PostgreSQL has none), or the one.
listed=$(campaignsync environments --format json)
files='import json, sys; print("\n".join(e["state_file"] for e in json.load(sys.stdin) if e["state_file"]))'
mapfile -t states < <(printf '%s' "$listed" | python -c "$files")
if [ "$listed" = "[]" ]; then
  state="${CAMPAIGNSYNC_STATE:-campaignsync.state.json}"
  case "$(printf '%s' "$state" | tr '[:upper:]' '[:lower:]')" in
    postgresql://* | postgres://*)
      echo "The state is kept in PostgreSQL and was stored as it was written: nothing to commit."
      exit 0
      ;;
  esac
  states=("$state")
fi
# For the step that keeps the state files as an artifact if this job fails.
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "state-files<<STATE_FILES"; printf '%s\n' "${states[@]}"; echo "STATE_FILES"; } >> "$GITHUB_OUTPUT"
fi
existing=()
for file in "${states[@]}"; do
  if [ -e "$file" ]; then
    existing+=("$file")
  fi
done
if [ "${#existing[@]}" -eq 1 ]; then
  named="The state file ${existing[0]}"
else
  named="One of the state files ${existing[*]}"
fi
branch="${GITHUB_REF_NAME:-$(git symbolic-ref --short HEAD)}"
attempts=5

# The checkout keeps no credentials; with $GITHUB_TOKEN, only this script's fetch and
# push are given it, the way actions/checkout would have stored it.
auth=()
if [ -n "${GITHUB_TOKEN:-}" ]; then
  basic=$(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 | tr -d '\n')
  auth=(-c "http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader=AUTHORIZATION: basic $basic")
fi

if [ "${#existing[@]}" -eq 0 ]; then
  echo "No state file ${states[*]}: nothing was recorded, nothing to commit."
  exit 0
fi

git config user.name "campaignsync"
git config user.email "campaignsync@users.noreply.github.com"
git add -- "${existing[@]}"
if git diff --cached --quiet; then
  echo "The state file is unchanged; nothing to commit."
  exit 0
fi
# [skip ci]; and pushes made with GITHUB_TOKEN never start workflows.
git commit --quiet -m "campaignsync: record applied state [skip ci]" -- "${existing[@]}"

for attempt in $(seq 1 "$attempts"); do
  if [ "$attempt" -gt 1 ]; then
    sleep "$((attempt + RANDOM % 3))"  # another push won the race: let it settle
  fi
  git "${auth[@]}" fetch --quiet origin "$branch"
  # A state file changed there too is never merged line by line: two applies' records
  # cannot be combined by text, and a wrong merge would forget campaigns.
  if ! git diff --quiet "$(git merge-base HEAD FETCH_HEAD)" FETCH_HEAD -- "${existing[@]}" ||
    ! git -c rebase.autoStash=true rebase --quiet FETCH_HEAD; then
    git rebase --abort 2>/dev/null || true
    echo "::error::$named changed on $branch while this run applied, so" \
      "this run's state cannot be put on top of it and was NOT pushed. Nothing is lost:" \
      "the job keeps this run's ${existing[*]} as the artifact campaignsync-state. Before" \
      "anything else is merged, follow 'When the state cannot be pushed' in README.md."
    exit 1
  fi
  if git "${auth[@]}" push --quiet origin "HEAD:refs/heads/$branch"; then
    echo "Pushed the state to $branch."
    exit 0
  fi
done
echo "::error::Could not push the state to $branch after $attempts attempts. This run's" \
  "${existing[*]} is kept as the artifact campaignsync-state; follow 'When the state cannot be" \
  "pushed' in README.md before anything else is merged."
exit 1
