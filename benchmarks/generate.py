"""Write N realistic campaigns (10 topics, 30 questions, 200 contacts each) into a folder.

    python benchmarks/generate.py OUT_DIR [--count 1000] [--contacts 200]

Deterministic: the same arguments always write the same bytes.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

TEAMS = ["engineering", "sales", "support", "finance", "people", "ops", "design", "legal"]
TOPICS = [
    "Onboarding",
    "Tools",
    "Workload",
    "Career growth",
    "Management",
    "Communication",
    "Recognition",
    "Wellbeing",
    "Processes",
    "Culture",
]
FIRST = ["Ana", "Ben", "Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivan", "Jia", "Kofi"]
LAST = ["Okafor", "Nowak", "Silva", "Tanaka", "Berg", "Haddad", "Kowalski", "Moreau", "Singh"]


def campaign_text(number: int, contacts: int, rng: random.Random) -> str:
    team = TEAMS[number % len(TEAMS)]
    lines = [
        "# yaml-language-server: $schema=../../schemas/campaign.schema.json",
        f"name: {team.title()} pulse survey {number:04d}",
        f"description: Quarterly check-in with the {team} team, wave {number}.",
        "goal: Find the two changes that would most improve how the team works.",
        "project_context: >",
        f"  The {team} team grew by a third this year; we want to hear what strains and",
        "  what helps before planning next quarter.",
        "channel: google_meet",
        f"interview_duration_minutes: {rng.choice([15, 20, 25, 30])}",
        "scheduling_mode: availability",
        "timeframe_start: 2027-03-01T08:00:00+01:00",
        "timeframe_end: 2027-03-31T18:00:00+01:00",
        "followup_enabled: true",
        "followup_intervals_hours: [48, 120]",
        "followup_deadline_days: [14]",
        "topics:",
    ]
    for priority, topic in enumerate(TOPICS, start=1):
        lines += [
            f"  - name: {topic}",
            f"    goal: What works and what gets in the way of {topic.lower()}.",
            f"    priority: {priority}",
            f"    success_threshold: {rng.choice([0.5, 0.6, 0.7, 0.8])}",
            f"    subtopics: [{topic.lower()} today, {topic.lower()} next quarter]",
        ]
    lines.append("questions:")
    for index in range(30):
        topic = TOPICS[index % len(TOPICS)]
        lines += [
            f"  - text: Question {index + 1} about {topic.lower()} - what would you change first?",
            f"    topic: {topic}",
        ]
    lines.append("contacts:")
    for index in range(contacts):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        lines += [
            f"  - name: {first} {last}",
            f"    email: {first.lower()}.{last.lower()}.{number}.{index}@example.org",
            f"    job_title: {rng.choice(['Engineer', 'Manager', 'Analyst', 'Specialist'])}",
            f"    department: {team.title()}",
            f"    seniority_level: {rng.randint(1, 5)}",
        ]
    return "\n".join(lines) + "\n"


def generate(out: Path, count: int = 1000, contacts: int = 200) -> list[Path]:
    rng = random.Random(count * 7919 + contacts)
    written = []
    for number in range(count):
        path = out / TEAMS[number % len(TEAMS)] / f"pulse-{number:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(campaign_text(number, contacts, rng))
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=200)
    args = parser.parse_args()
    paths = generate(args.out, args.count, args.contacts)
    size = sum(path.stat().st_size for path in paths)
    print(f"Wrote {len(paths)} campaigns ({size / 1_048_576:.1f} MiB) under {args.out}")


if __name__ == "__main__":
    main()
