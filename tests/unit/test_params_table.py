"""The documented parameter table is the one generated from the model."""

from pathlib import Path

from sim.params import SimParams
from sim.params_table import parameter_table_markdown


def test_params_table_in_docs_is_current() -> None:
    doc = Path(__file__).parents[2] / "docs" / "parameters.md"
    assert doc.read_text() == parameter_table_markdown(), (
        "regenerate: python -m sim.params_table > docs/parameters.md"
    )


def test_params_table_lists_every_field_with_its_default() -> None:
    table = parameter_table_markdown()
    for name in SimParams.model_fields:
        if name not in ("record", "analysis"):
            assert f"| `{name}` |" in table
    assert "| `jei` | -150 | ≤ 0 |" in table
