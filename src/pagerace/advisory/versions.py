"""Xen version strings and whether a version contains the XSA-345 fix.

`xl info` prints ``xen_major``, ``xen_minor`` and ``xen_extra``; ``xen_version`` is
``"%d.%d%s" % (major, minor, extra)`` (tools/xl/xl_info.c, output_xeninfo).  Real
``xen_extra`` values seen on hosts: ``.0``, ``.4``, ``.1-pre``, ``.0-rc``,
``-unstable``, ``.3-pre-atg08``, ``.1-4.el6`` (CentOS), ``.4OVM`` (Oracle); package
versions look like ``4.11.4+107-gef32c7afa2-1`` (Debian) or ``4.13.1_06-lp152``
(SUSE).

The fix is commit 1ce75e99d7 on unstable (first release 4.15.0) with stable
backports (the table ``FIX_COMMITS`` below).  Only released versions are trusted: a development tree
(``-pre``, ``-unstable``) may or may not hold the fix, and a vendor build may carry it
under an older version string.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from pagerace.errors import PageraceInputError
from pagerace.userio import one_line

__all__ = [
    "ADVISORY_PUBLISHED",
    "FIRST_AFFECTED",
    "FIXED_RELEASES",
    "FIX_COMMITS",
    "FixStatus",
    "VersionVerdict",
    "XenVersion",
    "fix_status",
    "parse_xen_version",
    "uncertain",
    "version_from_xl",
]

#: XSA-345 went public on this date (the fix commits were pushed the same day).
ADVISORY_PUBLISHED = "2020-10-20"

#: The advisory covers Xen 3.2 onwards.
FIRST_AFFECTED = (3, 2)

#: (major, minor) -> first release of that branch that contains the fix.
FIXED_RELEASES: dict[tuple[int, int], int] = {(4, 12): 4, (4, 13): 2, (4, 14): 1}

#: The first major.minor whose x.y.0 release contains the fix.
FIRST_FIXED_BRANCH = (4, 15)

#: Branch -> (refactor 1, refactor 2, fix) as committed on that branch.
FIX_COMMITS: dict[str, tuple[str, str, str]] = {
    "unstable": ("08e6c6f80b", "b733f8a8b8", "1ce75e99d7"),
    "4.14": ("b4271092f2", "809a70b161", "9e757fcdbb"),
    "4.13": ("a2c0c91b3e", "7f5d6760b6", "98ec9711e5"),
    "4.12": ("03926de91c", "1cec2531fb", "e461318da3"),
    "4.11": ("ad7d04055e", "f5ec9f287d", "7912bbe636"),
    "4.10": ("07ad8ff3b8", "c334b87cef", "75a05daf1d"),
}


class _Kind(enum.Enum):
    RELEASE = "release"  # x.y.z exactly
    PRE = "pre"  # x.y.z-pre: the stable branch between x.y.(z-1) and x.y.z
    RC = "rc"  # x.y.z-rcN: a release candidate
    UNSTABLE = "unstable"  # x.y-unstable: the development branch before x.y.0
    VENDOR = "vendor"  # x.y.z plus a distribution's suffix (patches unknown)
    INCOMPLETE = "incomplete"  # no patch level at all


@dataclass(frozen=True, slots=True)
class XenVersion:
    """A parsed Xen version: ``major.minor[.patch]`` and what follows it."""

    major: int
    minor: int
    patch: int | None
    suffix: str
    kind: str
    raw: str
    #: why the facts behind this version cannot be trusted (missing or contradictory);
    #: a version with a doubt is never counted as fixed
    doubt: str = ""

    def __str__(self) -> str:
        return self.raw

    @property
    def branch(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def git_snapshot(self) -> str | None:
        """The git commit of a Debian-style snapshot suffix (``+107-gef32c7afa2``)."""
        match = re.search(r"-g([0-9a-f]{7,40})\b", self.suffix)
        return match.group(1) if match else None


# ASCII digits only (\d would take other scripts' digits), at most 9 of them
_VERSION = re.compile(r"^\s*([0-9]{1,9})\.([0-9]{1,9})(?![0-9])(.*?)\s*$", re.ASCII)
_PATCH = re.compile(r"^\.([0-9]{1,9})(?![0-9])(.*)$", re.ASCII)
_RC = re.compile(r"^-?rc[0-9]*$", re.IGNORECASE | re.ASCII)


def uncertain(version: XenVersion, doubt: str) -> XenVersion:
    """``version`` marked as resting on missing or contradictory facts."""
    return replace(version, doubt=doubt)


def parse_xen_version(text: str) -> XenVersion:
    """Parse ``xen_version`` as printed by `xl info` (or a package version).

    Raises PageraceInputError for text that is not a Xen version at all.
    """
    match = _VERSION.match(text)
    if match is None:
        raise PageraceInputError(f"not a Xen version: {one_line(repr(text.strip()))}")
    major, minor, rest = int(match.group(1)), int(match.group(2)), match.group(3)
    return _from_parts(major, minor, rest, text.strip())


def version_from_xl(major: int, minor: int, extra: str) -> XenVersion:
    """Build the version from xl info's ``xen_major``/``xen_minor``/``xen_extra``."""
    extra = extra.strip()
    return _from_parts(major, minor, extra, f"{major}.{minor}{extra}")


def _from_parts(major: int, minor: int, rest: str, raw: str) -> XenVersion:
    patch_match = _PATCH.match(rest)
    if patch_match is None:
        patch = None
        suffix = rest
        if suffix == "-unstable":
            kind = _Kind.UNSTABLE
        elif _RC.match(suffix):
            kind = _Kind.RC
            patch = 0
        else:
            kind = _Kind.INCOMPLETE
        return XenVersion(major, minor, patch, suffix, kind.value, raw)
    patch = int(patch_match.group(1))
    suffix = patch_match.group(2)
    if suffix == "":
        kind = _Kind.RELEASE
    elif suffix.startswith("-pre"):
        kind = _Kind.PRE
    elif _RC.match(suffix):
        kind = _Kind.RC
    elif suffix == "-unstable":
        kind = _Kind.UNSTABLE
    else:
        kind = _Kind.VENDOR
    return XenVersion(major, minor, patch, suffix, kind.value, raw)


class FixStatus(enum.Enum):
    FIXED = "fixed"
    VULNERABLE = "vulnerable"
    UNCERTAIN = "uncertain"  # vulnerable unless the build carries a backport


@dataclass(frozen=True, slots=True)
class VersionVerdict:
    status: FixStatus
    reason: str

    @property
    def vulnerable(self) -> bool:
        """Safe side: an uncertain build counts as vulnerable."""
        return self.status is not FixStatus.FIXED


def _backport_hint(version: XenVersion) -> str:
    commits = FIX_COMMITS.get(version.branch)
    if commits is None:
        return (
            "vulnerable unless your vendor backported the XSA-345 fix "
            f"(upstream commit {FIX_COMMITS['unstable'][2]}; no upstream backport exists "
            f"for the {version.branch} branch)"
        )
    return (
        "vulnerable unless your vendor backported the XSA-345 fix "
        f"(stable-{version.branch} commits {', '.join(commits)}; the fix itself is "
        f"{commits[2]})"
    )


def _released(major: int, minor: int, patch: int) -> bool:
    """Does the release major.minor.patch contain the fix?"""
    if (major, minor) >= FIRST_FIXED_BRANCH:
        return True
    first = FIXED_RELEASES.get((major, minor))
    return first is not None and patch >= first


def _first_fixed(version: XenVersion) -> str:
    first = FIXED_RELEASES.get((version.major, version.minor))
    if first is not None:
        return f"{version.major}.{version.minor}.{first}"
    return f"none on the {version.branch} branch (fixed: 4.12.4, 4.13.2, 4.14.1, 4.15.0 and later)"


def fix_status(version: XenVersion) -> VersionVerdict:
    """Does this hypervisor version contain the XSA-345 fix?"""
    v = version
    if (v.major, v.minor) < FIRST_AFFECTED:
        return VersionVerdict(
            FixStatus.UNCERTAIN,
            f"Xen {v} predates 3.2, the oldest version the advisory names; "
            "it was not evaluated, so it is counted as vulnerable",
        )
    if v.doubt:
        return VersionVerdict(
            FixStatus.UNCERTAIN,
            f"Xen {v}: the version is not certain ({v.doubt}); counted as vulnerable: "
            + _backport_hint(v),
        )
    kind = _Kind(v.kind)
    if kind is _Kind.UNSTABLE:
        if (v.major, v.minor) > FIRST_FIXED_BRANCH:
            return VersionVerdict(
                FixStatus.FIXED, f"Xen {v}: development tree opened after the fix was merged"
            )
        if (v.major, v.minor) == FIRST_FIXED_BRANCH:
            return VersionVerdict(
                FixStatus.UNCERTAIN,
                f"Xen {v} is a development snapshot of 4.15; the fix "
                f"({FIX_COMMITS['unstable'][2]}) was merged on {ADVISORY_PUBLISHED}, "
                "so it is vulnerable unless the tree is from after that date",
            )
        return VersionVerdict(
            FixStatus.VULNERABLE,
            f"Xen {v} is a development snapshot from before the fix; " + _backport_hint(v),
        )
    if kind is _Kind.INCOMPLETE:
        if (v.major, v.minor) > FIRST_FIXED_BRANCH:
            return VersionVerdict(FixStatus.FIXED, f"Xen {v}: every {v.branch} tree is fixed")
        return VersionVerdict(
            FixStatus.UNCERTAIN,
            f"Xen {v} names no patch level (xen_extra {v.suffix!r}); " + _backport_hint(v),
        )
    assert v.patch is not None
    if kind is _Kind.RC:
        # Release candidates of x.y.0 come from unstable; of x.y.z from stable-x.y.
        if (v.major, v.minor) >= FIRST_FIXED_BRANCH:
            return VersionVerdict(
                FixStatus.FIXED, f"Xen {v}: release candidate cut after the fix was merged"
            )
        if _released(v.major, v.minor, v.patch):
            return VersionVerdict(
                FixStatus.UNCERTAIN,
                f"Xen {v} is a release candidate of a fixed release; an early candidate "
                "may predate the backport: " + _backport_hint(v),
            )
        return VersionVerdict(
            FixStatus.VULNERABLE,
            f"Xen {v} is a release candidate before the fix (first fixed release: "
            f"{_first_fixed(v)}); " + _backport_hint(v),
        )
    if kind is _Kind.PRE:
        if (v.major, v.minor) >= FIRST_FIXED_BRANCH:
            return VersionVerdict(
                FixStatus.FIXED, f"Xen {v}: every {v.branch} tree contains the fix"
            )
        if _released(v.major, v.minor, v.patch):
            return VersionVerdict(
                FixStatus.UNCERTAIN,
                f"Xen {v} is a pre-release of {v.major}.{v.minor}.{v.patch}, which contains "
                "the fix, but a -pre tree may predate the backport; " + _backport_hint(v),
            )
        return VersionVerdict(
            FixStatus.VULNERABLE,
            f"Xen {v} is a development tree before the fix (first fixed release: "
            f"{_first_fixed(v)}); " + _backport_hint(v),
        )
    base = f"{v.major}.{v.minor}.{v.patch}"
    if _released(v.major, v.minor, v.patch):
        if kind is _Kind.VENDOR:
            return VersionVerdict(
                FixStatus.FIXED, f"Xen {v}: vendor build of {base}, which contains the fix"
            )
        return VersionVerdict(FixStatus.FIXED, f"Xen {v} contains the XSA-345 fix")
    if kind is _Kind.VENDOR:
        snapshot = v.git_snapshot
        commits = FIX_COMMITS.get(v.branch)
        if snapshot is not None and commits is not None:
            how = (
                f"; this is a git snapshot at {snapshot}: it is fixed if "
                f"`git merge-base --is-ancestor {commits[2]} {snapshot}` succeeds in a "
                "xen.git clone"
            )
        else:
            how = "; check the package changelog for XSA-345"
        return VersionVerdict(
            FixStatus.UNCERTAIN,
            f"Xen {v} is a vendor build of {base} (first fixed release: {_first_fixed(v)}): "
            + _backport_hint(v)
            + how,
        )
    return VersionVerdict(
        FixStatus.VULNERABLE,
        f"Xen {v} predates the fix (first fixed release: {_first_fixed(v)}); " + _backport_hint(v),
    )
