"""pagerace.hunt: find races nobody described -- random scenarios, explored, deduplicated
by signature and minimised (docs/hunt.md).

``generate`` draws scenarios from the op grammar, biased towards superpage races;
``search`` explores one under a budget; ``signature_of`` says which bug a finding
is; ``shrink`` minimises a scenario keeping a signature; ``hunt`` runs it all in
parallel and writes ordinary scenario files.
"""

from pagerace.hunt.campaign import HuntOptions, hunt
from pagerace.hunt.generate import GenOptions, generate, touches_disjoint_pages
from pagerace.hunt.records import HuntResult, SignatureRecord, hunt_dict
from pagerace.hunt.search import Budget, Found, search
from pagerace.hunt.shrink import ShrinkBudget, shrink
from pagerace.hunt.signature import Signature, signature_of
from pagerace.hunt.write import scenario_toml

__all__ = [
    "Budget",
    "Found",
    "GenOptions",
    "HuntOptions",
    "HuntResult",
    "ShrinkBudget",
    "Signature",
    "SignatureRecord",
    "generate",
    "hunt",
    "hunt_dict",
    "scenario_toml",
    "search",
    "shrink",
    "signature_of",
    "touches_disjoint_pages",
]
