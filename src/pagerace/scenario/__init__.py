"""pagerace.scenario: scenario files (TOML) to a validated ``Scenario``.

``load_scenario`` / ``parse_scenario`` read and validate a file; values are written
in a small expression language (``evaluate``) whose names come from
``expression_names(geometry)``.  docs/scenarios.md is the user's guide.
"""

from pagerace.scenario.expr import ExprError, evaluate, expression_names
from pagerace.scenario.ops import (
    AccessOp,
    DestroyOp,
    LookupOp,
    MapOp,
    ModifyOp,
    Op,
    PopulateOp,
    flags_text,
)
from pagerace.scenario.schema import (
    FINDING_KINDS,
    KNOWN_VARIANTS,
    MAX_CPUS,
    STRATEGIES,
    ExploreDefaults,
    Scenario,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "FINDING_KINDS",
    "KNOWN_VARIANTS",
    "MAX_CPUS",
    "STRATEGIES",
    "AccessOp",
    "DestroyOp",
    "ExploreDefaults",
    "ExprError",
    "LookupOp",
    "MapOp",
    "ModifyOp",
    "Op",
    "PopulateOp",
    "Scenario",
    "evaluate",
    "expression_names",
    "flags_text",
    "load_scenario",
    "parse_scenario",
]
