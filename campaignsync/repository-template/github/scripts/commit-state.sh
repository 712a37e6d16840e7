#!/usr/bin/env bash
# After an apply (successful or not): commit the state file and push it to the branch
# that was applied. Other commits may have reached that branch since this run checked it
# out (another merge, a bot): the one state commit is rebased onto the branch's tip before
# each push, and a rejected push is tried again a few times. If the state file itself
# changed there, the two states cannot be merged by a machine: stop loudly, leaving this
# run's state file untouched (the workflow then keeps it as an artifact).
set -euo pipefail

state="${CAMPAIGNSYNC_STATE:-campaignsync.state.json}"
branch="${GITHUB_REF_NAME:-$(git symbolic-ref --short HEAD)}"
attempts=5

# The checkout keeps no credentials; with $GITHUB_TOKEN, only this script's fetch and
# push are given it, the way actions/checkout would have stored it.
auth=()
if [ -n "${GITHUB_TOKEN:-}" ]; then
  basic=$(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 | tr -d '\n')
  auth=(-c "http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader=AUTHORIZATION: basic $basic")
fi

if [ ! -e "$state" ]; then
  echo "No state file $state: nothing was recorded, nothing to commit."
  exit 0
fi

git config user.name "campaignsync"
git config user.email "campaignsync@users.noreply.github.com"
git add -- "$state"
if git diff --cached --quiet; then
  echo "The state file is unchanged; nothing to commit."
  exit 0
fi
# [skip ci]; and pushes made with GITHUB_TOKEN never start workflows.
git commit --quiet -m "campaignsync: record applied state [skip ci]" -- "$state"

for attempt in $(seq 1 "$attempts"); do
  if [ "$attempt" -gt 1 ]; then
    sleep "$((attempt + RANDOM % 3))"  # another push won the race: let it settle
  fi
  git "${auth[@]}" fetch --quiet origin "$branch"
  # A state file changed there too is never merged line by line: two applies' records
  # cannot be combined by text, and a wrong merge would forget campaigns.
  if ! git diff --quiet "$(git merge-base HEAD FETCH_HEAD)" FETCH_HEAD -- "$state" ||
    ! git -c rebase.autoStash=true rebase --quiet FETCH_HEAD; then
    git rebase --abort 2>/dev/null || true
    echo "::error::The state file $state changed on $branch while this run applied, so" \
      "this run's state cannot be put on top of it and was NOT pushed. Nothing is lost:" \
      "the job keeps this run's $state as the artifact campaignsync-state. Before anything" \
      "else is merged, follow 'When the state cannot be pushed' in README.md."
    exit 1
  fi
  if git "${auth[@]}" push --quiet origin "HEAD:refs/heads/$branch"; then
    echo "Pushed the state to $branch."
    exit 0
  fi
done
echo "::error::Could not push the state to $branch after $attempts attempts. This run's" \
  "$state is kept as the artifact campaignsync-state; follow 'When the state cannot be" \
  "pushed' in README.md before anything else is merged."
exit 1
