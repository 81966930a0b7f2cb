"""pagerace.scenario: scenario files (TOML) to a validated ``Scenario``.

``load_scenario`` / ``parse_scenario`` read and validate a file; values are written
in a small expression language (``evaluate``) whose names come from
``expression_names(geometry)``; ``[expect]`` becomes an ``Expectation`` per variant,
which ``judge`` holds a run against.  docs/scenarios.md is the user's guide.
"""

from pagerace.scenario.expect import (
    MET,
    NOT_ESTABLISHED,
    NOT_MET,
    Expectation,
    Verdict,
    judge,
)
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
    EXPLORE_KEYS,
    FINDING_KINDS,
    KNOWN_VARIANTS,
    MAX_CPUS,
    STRATEGIES,
    Scenario,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "EXPLORE_KEYS",
    "FINDING_KINDS",
    "KNOWN_VARIANTS",
    "MAX_CPUS",
    "MET",
    "NOT_ESTABLISHED",
    "NOT_MET",
    "STRATEGIES",
    "AccessOp",
    "DestroyOp",
    "Expectation",
    "ExprError",
    "LookupOp",
    "MapOp",
    "ModifyOp",
    "Op",
    "PopulateOp",
    "Scenario",
    "Verdict",
    "evaluate",
    "expression_names",
    "flags_text",
    "judge",
    "load_scenario",
    "parse_scenario",
]
