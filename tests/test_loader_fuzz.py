"""Whatever bytes a campaign file holds, the loader answers with problems, never a crash."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from campaignsync.errors import ValidationFailed
from campaignsync.loader import load_campaigns
from campaignsync.spec import Campaign
from tests.conftest import REPO
from tests.mutations import mutated_bytes

FIELDS = sorted(Campaign.model_fields)
EXAMPLE_TEXTS = [path.read_text() for path in sorted((REPO / "campaigns").rglob("*.yaml"))]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["2027-01-01T00:00:00Z", "2027-01-01", "yes", "a@b.org", "not-a-uuid"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "text", "email", "topic", "x"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)
documents = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=12)), values, max_size=10
)


def check_loader_survives(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "campaigns").mkdir()
        target = root / "campaigns" / "fuzz.yaml"
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8", errors="surrogatepass")
        (root / "campaigns" / "people.csv").write_text("name,email\nAnn,ann@example.org\n")
        try:
            load_campaigns(root / "campaigns", root)
            problems = []
        except ValidationFailed as failed:
            problems = failed.problems
            assert problems, "a failure must say what failed"
        assert all(problem.message for problem in problems)


def dump(document: dict[str, Any]) -> str:
    from io import StringIO

    stream = StringIO()
    YAML(typ="safe", pure=True).dump(document, stream)
    return stream.getvalue()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_generated_documents_never_crash_the_loader(document: dict[str, Any]) -> None:
    check_loader_survives(dump(document))


def mutated_examples() -> st.SearchStrategy[bytes]:
    """An example campaign with a few bytes deleted, inserted or replaced."""
    return st.sampled_from(EXAMPLE_TEXTS).flatmap(
        lambda text: mutated_bytes(text.encode(), max_edits=6)
    )


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_examples())
def test_mutated_examples_never_crash_the_loader(text: bytes) -> None:
    check_loader_survives(text)
