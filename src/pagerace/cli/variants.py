"""``pagerace variants``: the modelled Xen versions and the releases each stands for.

The versions after the fix carry their releases themselves (pagerace.xen.versions);
which releases have the XSA-345 fix and which do not is the advisory's knowledge
(pagerace.advisory.versions), read here rather than repeated.
"""

from __future__ import annotations

import json
from typing import Any

import click

from pagerace.advisory.versions import FIRST_AFFECTED, FIRST_FIXED_BRANCH, FIXED_RELEASES
from pagerace.xen.versions import VERSIONS, Version

__all__ = ["releases_of", "variants"]


def releases_of(version: Version) -> list[str]:
    """The Xen releases whose mapping code ``version`` models."""
    if version.releases:
        return list(version.releases)
    branches = sorted(FIXED_RELEASES.items())
    if version.xsa345_fixed:
        out = [f"{a}.{b}.{first} and later {a}.{b}.x" for (a, b), first in branches]
        major, minor = FIRST_FIXED_BRANCH
        later = min(_branch(v.releases[0]) for v in VERSIONS.values() if v.releases)
        return [
            *out,
            f"{major}.{minor}.0 to {later[0]}.{later[1] - 1}.x have the fix too, with later"
            " changes that are not modelled release by release",
        ]
    (a0, b0), _ = branches[0]
    out = [f"every release from {FIRST_AFFECTED[0]}.{FIRST_AFFECTED[1]} to {a0}.{b0 - 1}.x"]
    for (a, b), first in branches:
        out.append(f"{a}.{b}.0" if first == 1 else f"{a}.{b}.0 to {a}.{b}.{first - 1}")
    return out


def _branch(release: str) -> tuple[int, int]:
    major, minor = release.split(".")[:2]
    return int(major), int(minor)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def variants(as_json: bool) -> None:
    """List the modelled Xen versions (variants) and the releases each stands for."""
    rows: list[dict[str, Any]] = [
        {
            "variant": v.name,
            "title": v.title,
            "source": v.source,
            "xsa345_fixed": v.xsa345_fixed,
            "locking": v.discipline.description,
            "releases": releases_of(v),
            "changes": list(v.changes),
        }
        for v in VERSIONS.values()
    ]
    if as_json:
        click.echo(json.dumps({"variants": rows}, indent=2))
        return
    for row in rows:
        fixed = "fixed" if row["xsa345_fixed"] else "vulnerable"
        click.echo(f"{row['variant']}: {row['title']}")
        click.echo(f"  code:     {row['source']}")
        click.echo(f"  XSA-345:  {fixed}; {row['locking']}")
        click.echo(f"  releases: {'; '.join(row['releases'])}")
        for change in row["changes"]:
            click.echo(f"  - {change}")
        click.echo("")
    click.echo("docs/versions.md explains each change with its step labels.")
