"""Version strings and the fixed-release table."""

from __future__ import annotations

import pytest

from pagerace.advisory import FixStatus, fix_status, parse_xen_version
from pagerace.errors import PageraceInputError

FIXED, VULNERABLE, UNCERTAIN = FixStatus.FIXED, FixStatus.VULNERABLE, FixStatus.UNCERTAIN


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("3.2.0", VULNERABLE),
        ("4.4.1", VULNERABLE),
        ("4.10.4", VULNERABLE),
        ("4.11.4", VULNERABLE),
        ("4.12.0", VULNERABLE),
        ("4.12.3", VULNERABLE),
        ("4.12.4", FIXED),
        ("4.12.5", FIXED),
        ("4.13.0", VULNERABLE),
        ("4.13.1", VULNERABLE),
        ("4.13.2", FIXED),
        ("4.13.4", FIXED),
        ("4.14.0", VULNERABLE),
        ("4.14.1", FIXED),
        ("4.14.6", FIXED),
        ("4.15.0", FIXED),
        ("4.17.3", FIXED),
        ("5.0.0", FIXED),
    ],
)
def test_released_versions_follow_the_fixed_release_table(text: str, status: FixStatus) -> None:
    assert fix_status(parse_xen_version(text)).status is status


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("4.14.1-pre", UNCERTAIN),  # pre-release of a fixed version: may predate the backport
        ("4.13.2-pre", UNCERTAIN),
        ("4.14.0-pre", VULNERABLE),  # development tree before 4.14.0: before the fix
        ("4.14.0-rc", VULNERABLE),
        ("4.14.1-rc2", UNCERTAIN),
        ("4.15.0-rc", FIXED),  # 4.15 candidates were cut after the fix was merged
        ("4.15-unstable", UNCERTAIN),  # unstable before and after 2020-10-20
        ("4.14-unstable", VULNERABLE),
        ("4.16-unstable", FIXED),
        ("4.15.3-pre-atg08", FIXED),
        ("4.11.4+107-gef32c7afa2-1", UNCERTAIN),
        ("4.13.1_06-lp152", UNCERTAIN),
        ("4.4.1-4.el6", UNCERTAIN),
        ("4.4.4OVM", UNCERTAIN),
        ("4.14.1_02-lp153", FIXED),  # a vendor build of a fixed release
        ("4.13", UNCERTAIN),  # no patch level
        ("3.1.4", UNCERTAIN),  # older than the advisory's range: counted as vulnerable
    ],
)
def test_pre_releases_and_vendor_suffixes_are_classified_carefully(
    text: str, status: FixStatus
) -> None:
    verdict = fix_status(parse_xen_version(text))
    assert verdict.status is status
    assert verdict.vulnerable == (status is not FIXED)


def test_a_vulnerable_version_names_the_stable_branch_commits_of_the_backport() -> None:
    reason = fix_status(parse_xen_version("4.13.1")).reason
    assert "vulnerable unless your vendor backported" in reason
    for commit in ("a2c0c91b3e", "7f5d6760b6", "98ec9711e5"):
        assert commit in reason


def test_a_debian_snapshot_suggests_the_git_ancestry_check_for_its_commit() -> None:
    version = parse_xen_version("4.11.4+107-gef32c7afa2-1")
    assert (version.major, version.minor, version.patch) == (4, 11, 4)
    assert version.git_snapshot == "ef32c7afa2"
    reason = fix_status(version).reason
    assert "git merge-base --is-ancestor 7912bbe636 ef32c7afa2" in reason


def test_a_pre_release_of_a_fixed_version_explains_why_it_is_not_trusted() -> None:
    reason = fix_status(parse_xen_version("4.14.1-pre")).reason
    assert "pre-release of 4.14.1" in reason
    assert "9e757fcdbb" in reason


def test_the_suse_suffix_keeps_the_patch_level() -> None:
    version = parse_xen_version("4.13.1_06-lp152")
    assert (version.patch, version.suffix, version.kind) == (1, "_06-lp152", "vendor")


@pytest.mark.parametrize("text", ["", "xen", "four.ten", "4"])
def test_text_that_is_no_version_is_rejected(text: str) -> None:
    with pytest.raises(PageraceInputError):
        parse_xen_version(text)
