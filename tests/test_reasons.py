"""Reason codes (contract section 3): allocation.csv's reason cell is written from a structured
Reason and read back into the same Reason; a cell we never write is bad input at its cell."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort_solver.domain.reasons import (
    INELIGIBLE_WORDS,
    KEPT_OUT_WORDS,
    WITHDRAWN,
    Blocker,
    Ineligible,
    KeptOut,
    Reason,
)
from cohort_solver.errors import InputError
from cohort_solver.stages.export.tables import ALLOCATION_COLUMNS, read_allocation

from .conftest import write_csv

# Ring-fence names are free text: they may hold the separators of the cell itself. (A name
# holding ";" and then a whole code, "x;south=places", is the one cell that reads two ways.)
fence_names = st.text(alphabet="ab;=: -", min_size=1, max_size=6).filter(
    lambda name: "ring_fence:" not in name
)
cohort_ids = st.text(alphabet="nsx-", min_size=1, max_size=4)


@st.composite
def blockers(draw: st.DrawFn) -> Blocker:
    code = draw(st.sampled_from(list(KeptOut)))
    return Blocker(code, draw(fence_names) if code is KeptOut.RING_FENCE else None)


@st.composite
def reasons(draw: st.DrawFn) -> Reason:
    kind = draw(st.sampled_from(["ineligible", "selected", "kept_out", "none"]))
    if kind == "ineligible":
        failed = draw(st.sets(st.sampled_from(list(Ineligible)), min_size=1))
        return Reason(failures=tuple(r for r in Ineligible if r in failed))
    if kind == "selected":
        of = draw(st.integers(1, 500))
        return Reason(rank=(draw(st.integers(1, of)), of))
    if kind == "none":
        return Reason()
    per_cohort = draw(st.dictionaries(cohort_ids, blockers(), min_size=1, max_size=4))
    return Reason.per_cohort(per_cohort)


@pytest.mark.slow
@given(reasons())
def test_every_reason_reads_back_as_itself(reason: Reason) -> None:
    assert Reason.parse(str(reason)) == reason


def test_the_cells_of_the_contract() -> None:
    assert str(Reason(failures=(Ineligible.GRADE, Ineligible.NOT_SCORED))) == "grade;not_scored"
    assert str(Reason(rank=(4, 25))) == "selected: score rank 4 of 25 eligible"
    assert str(WITHDRAWN) == "withdrawn"
    same = Reason.per_cohort({"north": Blocker(KeptOut.LOTTERY), "south": Blocker(KeptOut.LOTTERY)})
    assert str(same) == "lottery" and same.blocker("south") == Blocker(KeptOut.LOTTERY)
    split = Reason.per_cohort(
        {"north": Blocker(KeptOut.RING_FENCE, "women"), "south": Blocker(KeptOut.PREFERENCE)}
    )
    assert str(split) == "north=ring_fence:women;south=preference"
    assert split.blocker("north") == Blocker(KeptOut.RING_FENCE, "women")
    assert str(Blocker(KeptOut.MAX_PER_SERVICE_AREA)) == "spread:max_per_service_area"


def test_every_code_has_its_words() -> None:
    assert set(INELIGIBLE_WORDS) == set(Ineligible)
    assert set(KEPT_OUT_WORDS) == set(KeptOut)


def test_a_reason_we_never_write_is_bad_input_at_its_cell(tmp_path: Path) -> None:
    path = tmp_path / "allocation.csv"
    write_csv(
        path, list(ALLOCATION_COLUMNS), [("A1", "not_selected", "", "", "", "", "bribery", "")]
    )
    with pytest.raises(InputError) as caught:
        read_allocation(path)
    assert "allocation.csv:2:7: reason is not one cohort-solver writes" in str(caught.value)
