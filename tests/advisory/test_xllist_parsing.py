"""`xl list -l` JSON -> DomainFacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagerace.advisory import XlListError, parse_xl_list, read_xl_list

DATA = Path(__file__).parent / "data"


def test_the_mixed_listing_yields_types_devices_and_hap_settings() -> None:
    doms = {d.name: d for d in read_xl_list(DATA / "xllist-mixed.json")}
    assert set(doms) == {
        "mail",
        "router",
        "fb-console",
        "serial-log",
        "win10-gpu",
        "legacy-shadow",
        "pvh-nvme",
        "hvm-plain-shadow",
        "pvh-web",
    }
    assert doms["router"].pci == ("0000:03:00.0", "0000:03:00.1")
    assert doms["fb-console"].iomem == ("0xfebf0,0x10",)
    assert doms["serial-log"].ioports == ("0x3f8-0x3ff",)
    assert doms["mail"].has_hardware is False
    assert doms["win10-gpu"].hap is True and doms["win10-gpu"].passthrough_mode == "sync_pt"
    assert doms["legacy-shadow"].hap is False
    assert doms["pvh-web"].hap is None  # left out of the JSON: libxl default
    assert doms["pvh-nvme"].type == "pvh"
    assert all(
        d.has_hardware for n, d in doms.items() if n in {"router", "fb-console", "serial-log"}
    )


def test_a_pvhv1_guest_of_old_libxl_is_read_as_pvh() -> None:
    (dom,) = read_xl_list(DATA / "xllist-pvhv1.json")
    assert dom.type == "pvh"


def test_a_stub_domain_device_model_is_noticed() -> None:
    (dom,) = read_xl_list(DATA / "xllist-stubdom.json")
    assert dom.stubdomain is True


def test_json_garbage_is_rejected_with_its_position() -> None:
    with pytest.raises(XlListError, match=r"line 1, column \d+: not valid JSON"):
        read_xl_list(DATA / "garbage.json")


def test_the_short_xl_list_table_is_not_json() -> None:
    with pytest.raises(XlListError, match="not valid JSON"):
        read_xl_list(DATA / "xl-list-not-long.txt")


def test_an_empty_file_is_rejected() -> None:
    with pytest.raises(XlListError, match="empty"):
        read_xl_list(DATA / "empty.txt")


def test_sxp_output_is_rejected_with_a_hint() -> None:
    with pytest.raises(XlListError, match="SXP"):
        parse_xl_list("(domain\n\t(domid 1)\n)\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"domid": 1}', "expected a JSON array"),
        ('[{"name": "x"}]', "expected keys domid and config"),
        ('[{"domid": -1, "config": {}}]', "non-negative integer"),
        ('[{"domid": 1, "config": {"c_info": {"type": "xen"}}}]', "c_info.type"),
        ('[{"domid": 1, "config": {"c_info": {"hap": "yes"}}}]', "c_info.hap"),
        ('[{"domid": 1, "config": {"c_info": {"passthrough": "maybe"}}}]', "c_info.passthrough"),
        ('[{"domid": 1, "config": {"b_info": {"iomem": [{"number": 1}]}}}]', "b_info.iomem"),
        ('[{"domid": 1, "config": {"pcidevs": {"bus": 1}}}]', "pcidevs"),
        ('[{"domid": 1, "config": {}}, {"domid": 1, "config": {}}]', "appears twice"),
    ],
)
def test_malformed_listings_name_the_key_and_the_reason(text: str, message: str) -> None:
    with pytest.raises(XlListError, match=message):
        parse_xl_list(text)
