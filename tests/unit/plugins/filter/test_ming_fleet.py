"""ming_fleet and ming_fleet_rollout: the fleet model of an inventory, its problems, and site.yml's roll-out order.

Real code only: the filter functions with plain dicts standing in for ``hostvars`` (each host's variables, group
variables already merged in, as Ansible hands them over) and ``groups``. The inventory below is the shape of
inventories/example-fleet: the central site with a broker pair, data and apps; plants north and south, each with a
broker pair, one data, one apps, one NVR host and cameras. Each test breaks one thing and checks that the message
names the variable, the hosts and the fix; a test that no message appears for valid input guards each check from
firing on good inventories.

Mutations tried (each fails a test here): the pair-without-VIP check removed; ``IPv4Address`` replaced by
``ip_address`` (an IPv6 VIP passes); the subnet test inverted and removed; the VIP-equals-a-host-address check
removed; the ``ming_broker_address`` required check removed; the prefix requirement removed; ``casefold()`` dropped
from the duplicate plant check; the central reference checks (not in inventory, not in the central site) removed
each; the priority tie check removed; the priority range widened to 0..255; the router id duplicate check removed;
the router id range check removed; the two-site-groups check removed; the ``ming_site_role`` value check removed; the
missing ``ming_plant`` check removed; the plant name pattern check removed; the homeless-host check removed;
``ONE_HOST_AT_A_TIME`` emptied (brokers rolled per plant batch); the central wave moved after the plants; the
``play_hosts`` filter dropped (a --limit ignored); the single-site pair check skipped; the VIP-disagreement check
removed; the ``ming_fleet_batch`` range check removed; the plant-group membership check removed; the per-host cache
of ``hostvars[host]`` removed (looked up once per variable).
"""

import copy

import pytest

from ansible_collections.sensingcam.ming.plugins.filter.ming_fleet import ming_fleet, ming_fleet_rollout

CENTRAL = {"ming_site_role": "central", "ming_plant": "central", "ming_broker_vip": "10.10.0.5",
           "keepalived_virtual_router_id": 10}
EDGE = {"ming_site_role": "edge", "ming_central_brokers": ["mqtt-1.central", "mqtt-2.central"],
        "ming_central_data": "data-1.central"}


def plant(name, net, router_id):
    """(host -> variables, functional group -> hosts) of one plant."""
    site = dict(EDGE, ming_plant=name, ming_broker_vip=f"10.{net}.0.5", keepalived_virtual_router_id=router_id)
    hosts = {
        f"mqtt-a.{name}": dict(site, ming_broker_address=f"10.{net}.0.11/24", keepalived_priority=150),
        f"mqtt-b.{name}": dict(site, ming_broker_address=f"10.{net}.0.12/24", keepalived_priority=100),
        f"data-1.{name}": dict(site, ansible_host=f"10.{net}.0.21"),
        f"apps-1.{name}": dict(site, ansible_host=f"10.{net}.0.31"),
        f"nvr-1.{name}": dict(site, ansible_host=f"10.{net}.0.41"),
        f"cam-{name}-st10": dict(site),
    }
    functions = {"ming_brokers": [f"mqtt-a.{name}", f"mqtt-b.{name}"], "ming_data": [f"data-1.{name}"],
                 "ming_apps": [f"apps-1.{name}"], "ming_nvr": [f"nvr-1.{name}"],
                 "sensingcams": [f"cam-{name}-st10"]}
    return hosts, functions


def fleet_inventory(plants=(("north", 21, 21), ("south", 22, 22))):
    hostvars = {
        "mqtt-1.central": dict(CENTRAL, ming_broker_address="10.10.0.11/24", keepalived_priority=150),
        "mqtt-2.central": dict(CENTRAL, ming_broker_address="10.10.0.12/24", keepalived_priority=100),
        "data-1.central": dict(CENTRAL, ansible_host="10.10.0.21"),
        "apps-1.central": dict(CENTRAL, ansible_host="10.10.0.31"),
    }
    groups = {"all": [], "ungrouped": [], "ming_central": list(hostvars), "ming_plants": [],
              "ming_brokers": ["mqtt-1.central", "mqtt-2.central"], "ming_data": ["data-1.central"],
              "ming_apps": ["apps-1.central"], "ming_nvr": [], "sensingcams": []}
    for name, net, router_id in plants:
        hosts, functions = plant(name, net, router_id)
        hostvars.update(hosts)
        groups[f"plant_{name}"] = list(hosts)
        groups["ming_plants"] += list(hosts)
        for group, members in functions.items():
            groups[group] += members
    groups["all"] = list(hostvars)
    return hostvars, groups


def errors_of(hostvars, groups):
    return ming_fleet(hostvars, groups)["errors"]


def only_error(hostvars, groups):
    errors = errors_of(hostvars, groups)
    assert len(errors) == 1, errors
    return errors[0]


def set_site(hostvars, groups, group, **variables):
    """Set group variables of a site group on each of its hosts (what a group_vars file does)."""
    for host in groups[group]:
        hostvars[host].update(variables)


# -- valid inventories: no message ---------------------------------------------------------------------------------
def test_the_example_fleet_model_is_read_without_problems():
    hostvars, groups = fleet_inventory()
    fleet = ming_fleet(hostvars, groups)
    assert fleet["errors"] == []
    assert fleet["central"] == "central"
    assert sorted(fleet["sites"]) == ["central", "north", "south"]
    north = fleet["sites"]["north"]
    assert north == {"role": "edge", "group": "plant_north", "brokers": ["mqtt-a.north", "mqtt-b.north"],
                     "data": ["data-1.north"], "apps": ["apps-1.north"], "nvr": ["nvr-1.north"],
                     "cameras": ["cam-north-st10"], "vip": "10.21.0.5", "router_id": 21}
    assert fleet["sites"]["central"]["role"] == "central" and fleet["sites"]["central"]["nvr"] == []


def test_a_single_site_with_one_broker_has_nothing_to_check():
    """The lab: one host in every group, no site group, no VIP, no keepalived variable."""
    groups = {"all": ["localhost", "cam1"], "ming_brokers": ["localhost"], "ming_data": ["localhost"],
              "ming_apps": ["localhost"], "ming_nvr": ["localhost"], "sensingcams": ["cam1"]}
    fleet = ming_fleet({"localhost": {}, "cam1": {}}, groups)
    assert fleet["errors"] == []
    assert fleet["central"] is None
    assert fleet["sites"] == {"site": {"role": None, "group": "all", "brokers": ["localhost"], "data": ["localhost"],
                                       "apps": ["localhost"], "nvr": ["localhost"], "cameras": ["cam1"],
                                       "vip": None, "router_id": None}}


def single_site_pair():
    """example-plant: two brokers, VIP 10.20.0.5, no site group."""
    common = {"ming_broker_vip": "10.20.0.5", "keepalived_virtual_router_id": "20"}
    hostvars = {"mqtt-a": dict(common, ming_broker_address="10.20.0.11/24", keepalived_priority=150),
                "mqtt-b": dict(common, ming_broker_address="10.20.0.12/24", keepalived_priority="100"),
                "data-1": {"ansible_host": "10.20.0.21"}}
    groups = {"all": list(hostvars), "ming_brokers": ["mqtt-a", "mqtt-b"], "ming_data": ["data-1"]}
    return hostvars, groups


def test_a_single_site_pair_is_checked_and_passes_when_complete():
    hostvars, groups = single_site_pair()
    fleet = ming_fleet(hostvars, groups)
    assert fleet["errors"] == []
    assert fleet["sites"]["site"]["vip"] == "10.20.0.5" and fleet["sites"]["site"]["router_id"] == 20


# -- broker pair -----------------------------------------------------------------------------------------------------
def test_a_pair_without_vip_names_the_variable_the_site_and_both_brokers():
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", ming_broker_vip="")
    message = only_error(hostvars, groups)
    assert message.startswith("ming_broker_vip is not set for north (plant_north)")
    assert "mqtt-a.north, mqtt-b.north" in message and "group variable of plant_north" in message


def test_a_single_site_pair_without_vip_fails_too():
    hostvars, groups = single_site_pair()
    for host in ("mqtt-a", "mqtt-b"):
        del hostvars[host]["ming_broker_vip"]
    message = only_error(hostvars, groups)
    assert "ming_broker_vip is not set for site site" in message and "mqtt-a, mqtt-b" in message


@pytest.mark.parametrize("vip", ["10.21.0.5/24", "fe80::5", "mqtt.north.example", "10.21.0.256"])
def test_a_vip_that_is_no_plain_ipv4_address_is_refused(vip):
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", ming_broker_vip=vip)
    message = only_error(hostvars, groups)
    assert f"ming_broker_vip of north (plant_north) is '{vip}', not an IPv4 address" in message
    assert "mqtt-a.north, mqtt-b.north" in message


def test_a_vip_outside_the_brokers_subnet_names_each_broker_and_its_address():
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", ming_broker_vip="10.21.1.5")
    message = only_error(hostvars, groups)
    assert "ming_broker_vip 10.21.1.5 of north (plant_north) is outside the subnet of" in message
    assert "mqtt-a.north (ming_broker_address 10.21.0.11/24)" in message
    assert "mqtt-b.north (ming_broker_address 10.21.0.12/24)" in message
    assert "10.21.0.0/24" in message


def test_a_vip_outside_one_brokers_subnet_names_that_broker_only():
    hostvars, groups = fleet_inventory()
    hostvars["mqtt-b.north"]["ming_broker_address"] = "10.21.0.12/28"
    set_site(hostvars, groups, "plant_north", ming_broker_vip="10.21.0.20")
    message = only_error(hostvars, groups)
    assert "mqtt-b.north (ming_broker_address 10.21.0.12/28)" in message and "mqtt-a.north" not in message


@pytest.mark.parametrize("vip, taken", [("10.21.0.11", "mqtt-a.north"), ("10.21.0.21", "data-1.north")])
def test_a_vip_that_a_host_already_uses_is_refused(vip, taken):
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", ming_broker_vip=vip)
    message = only_error(hostvars, groups)
    assert message.startswith(f"ming_broker_vip {vip} of north (plant_north) is the address of {taken}")


@pytest.mark.parametrize("address, expected", [
    (None, "ming_broker_address is not set on mqtt-b.north, a broker of the pair of north (plant_north)"),
    ("10.21.0.12", "ming_broker_address of mqtt-b.north is '10.21.0.12': give an IPv4 address with its prefix"),
    ("10.21.0.12/33", "ming_broker_address of mqtt-b.north is '10.21.0.12/33'"),
])
def test_each_broker_of_a_pair_needs_its_address_with_prefix(address, expected):
    hostvars, groups = fleet_inventory()
    if address is None:
        del hostvars["mqtt-b.north"]["ming_broker_address"]
    else:
        hostvars["mqtt-b.north"]["ming_broker_address"] = address
    assert only_error(hostvars, groups).startswith(expected)


def test_brokers_of_one_site_that_disagree_on_the_vip_are_named():
    hostvars, groups = fleet_inventory()
    hostvars["mqtt-b.north"]["ming_broker_vip"] = "10.21.0.6"
    message = only_error(hostvars, groups)
    assert "ming_broker_vip differs between the brokers of north (plant_north)" in message
    assert "10.21.0.5 on mqtt-a.north" in message and "10.21.0.6 on mqtt-b.north" in message


def test_a_priority_tie_names_the_variable_and_both_brokers():
    hostvars, groups = fleet_inventory()
    hostvars["mqtt-b.south"]["keepalived_priority"] = "150"
    message = only_error(hostvars, groups)
    assert message.startswith("keepalived_priority 150 is shared by mqtt-a.south, mqtt-b.south (pair of south "
                              "(plant_south))")


@pytest.mark.parametrize("priority", [0, 255, "high", True, None])
def test_a_priority_out_of_range_or_missing_is_refused(priority):
    hostvars, groups = fleet_inventory()
    if priority is None:
        del hostvars["mqtt-a.north"]["keepalived_priority"]
        expected = "keepalived_priority is not set on mqtt-a.north"
    else:
        hostvars["mqtt-a.north"]["keepalived_priority"] = priority
        expected = f"keepalived_priority of mqtt-a.north is {priority}: it must be an integer 1..254"
    assert only_error(hostvars, groups).startswith(expected)


def test_priorities_at_the_range_ends_are_accepted():
    hostvars, groups = fleet_inventory()
    hostvars["mqtt-a.north"]["keepalived_priority"] = 254
    hostvars["mqtt-b.north"]["keepalived_priority"] = 1
    assert errors_of(hostvars, groups) == []


def test_a_router_id_used_by_two_plants_names_both_and_their_brokers():
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_south", keepalived_virtual_router_id=21)
    message = only_error(hostvars, groups)
    assert message.startswith("keepalived_virtual_router_id 21 is used by north (plant_north), south (plant_south)")
    assert "mqtt-a.north, mqtt-b.north, mqtt-a.south, mqtt-b.south" in message


@pytest.mark.parametrize("router_id", [0, 256, "vrrp"])
def test_a_router_id_out_of_range_is_refused(router_id):
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", keepalived_virtual_router_id=router_id)
    assert only_error(hostvars, groups).startswith(
        f"keepalived_virtual_router_id of north (plant_north) is {router_id}: it must be an integer 1..255")


def test_router_ids_at_the_range_ends_are_accepted_and_a_missing_one_is_named():
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", keepalived_virtual_router_id=1)
    set_site(hostvars, groups, "plant_south", keepalived_virtual_router_id=255)
    assert errors_of(hostvars, groups) == []
    set_site(hostvars, groups, "plant_south", keepalived_virtual_router_id=None)
    assert only_error(hostvars, groups).startswith("keepalived_virtual_router_id is not set for south (plant_south)")


def test_a_site_with_one_broker_needs_no_pair_variables():
    hostvars, groups = fleet_inventory()
    groups["ming_brokers"].remove("mqtt-b.north")
    set_site(hostvars, groups, "plant_north", ming_broker_vip="", keepalived_virtual_router_id=None)
    del hostvars["mqtt-a.north"]["ming_broker_address"]
    assert errors_of(hostvars, groups) == []


# -- sites -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("other", ["north", "North", "NORTH"])
def test_two_plants_with_the_same_name_are_named_with_their_groups_and_hosts(other):
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_south", ming_plant=other)
    errors = errors_of(hostvars, groups)
    duplicate = [error for error in errors if " is used by " in error]
    assert len(duplicate) == 1, errors
    assert duplicate[0].startswith("ming_plant ") and "is used by plant_north, plant_south" in duplicate[0]
    assert other in duplicate[0].split(" is used by ")[0]
    assert "mqtt-a.north" in duplicate[0] and "cam-south-st10" in duplicate[0]


def test_a_plant_group_without_ming_plant_is_named():
    hostvars, groups = fleet_inventory()
    for host in groups["plant_south"]:
        del hostvars[host]["ming_plant"]
    message = only_error(hostvars, groups)
    assert message.startswith("ming_plant is not set for plant group plant_south (hosts: mqtt-a.south, ")
    assert "for example south" in message


@pytest.mark.parametrize("name", ["North", "1st", "north_plant", "n" * 32])
def test_a_plant_name_outside_the_pattern_is_refused(name):
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", ming_plant=name)
    assert only_error(hostvars, groups).startswith(f"ming_plant of plant group plant_north is '{name}'")


def test_a_host_in_two_site_groups_is_named_with_both_groups():
    hostvars, groups = fleet_inventory()
    groups["plant_south"].append("nvr-1.north")
    groups["ming_plants"].append("nvr-1.north")
    message = only_error(hostvars, groups)
    assert message.startswith("nvr-1.north is in more than one site group (plant_north, plant_south)")


def test_a_host_of_a_functional_group_outside_every_site_is_named():
    hostvars, groups = fleet_inventory()
    hostvars["nvr-2"] = dict(EDGE)
    groups["ming_nvr"].append("nvr-2")
    groups["all"].append("nvr-2")
    assert only_error(hostvars, groups).startswith("nvr-2 (in ming_nvr) is in no site group")


def test_a_plant_group_outside_ming_plants_and_a_loose_host_in_ming_plants_are_named():
    hostvars, groups = fleet_inventory()
    groups["ming_plants"] = [host for host in groups["ming_plants"] if host not in groups["plant_south"]]
    groups["ming_plants"].append("stray")
    hostvars["stray"] = {}
    errors = errors_of(hostvars, groups)
    assert any(error.startswith("plant group plant_south is not under ming_plants") for error in errors), errors
    assert any(error.startswith("stray is in ming_plants but in no plant group") for error in errors), errors


@pytest.mark.parametrize("role, expected", [
    ("Edge", "ming_site_role is Edge on data-1.north (in plant_north): it must be edge"),
    (None, "ming_site_role is unset on data-1.north (in plant_north)"),
    ("central", "ming_site_role is central on data-1.north, but plant_north is a plant group"),
])
def test_ming_site_role_must_match_the_site_group(role, expected):
    hostvars, groups = fleet_inventory()
    if role is None:
        del hostvars["data-1.north"]["ming_site_role"]
    else:
        hostvars["data-1.north"]["ming_site_role"] = role
    assert only_error(hostvars, groups).startswith(expected)


def test_ming_site_role_without_any_site_group_is_named():
    hostvars, groups = single_site_pair()
    hostvars["mqtt-a"]["ming_site_role"] = "edge"
    assert only_error(hostvars, groups).startswith("ming_site_role is edge on mqtt-a, but the inventory has no site "
                                                   "group")


# -- edges and the central site --------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, value, expected", [
    ("ming_central_brokers", ["mqtt-1.central", "mqtt-9.central"],
     "ming_central_brokers of plant north (plant_north) names mqtt-9.central, not in the inventory"),
    ("ming_central_data", "influx.central",
     "ming_central_data of plant north (plant_north) names influx.central, not in the inventory"),
    ("ming_central_brokers", ["mqtt-1.central", "mqtt-a.south"],
     "ming_central_brokers of plant north (plant_north) names mqtt-a.south, which is not in ming_brokers of the "
     "central site"),
    ("ming_central_data", "apps-1.central",
     "ming_central_data of plant north (plant_north) names apps-1.central, which is not in ming_data of the central"),
    ("ming_central_brokers", "mqtt-1.central", "ming_central_brokers of plant north is 'mqtt-1.central': give a list"),
    ("ming_central_brokers", [], "ming_central_brokers is not set for plant north (plant_north)"),
    ("ming_central_data", None, "ming_central_data is not set for plant north (plant_north)"),
])
def test_an_edge_whose_central_hosts_are_missing_or_elsewhere_is_named(key, value, expected):
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", **{key: value})
    message = only_error(hostvars, groups)
    assert message.startswith(expected), message


def test_an_edge_of_an_inventory_without_central_site_names_the_central_hosts_and_its_own():
    hostvars, groups = fleet_inventory()
    for host in groups.pop("ming_central"):
        del hostvars[host]
        for members in groups.values():
            if host in members:
                members.remove(host)
    errors = errors_of(hostvars, groups)
    assert len(errors) == 4, errors
    assert ("ming_central_brokers of plant north (plant_north) names mqtt-1.central, mqtt-2.central, not in the "
            "inventory: add the central site (ming_central)") in errors[0]
    assert "the plant's hosts mqtt-a.north, mqtt-b.north, data-1.north" in errors[0]
    assert ming_fleet(hostvars, groups)["central"] is None


def test_every_problem_is_listed_at_once():
    hostvars, groups = fleet_inventory()
    set_site(hostvars, groups, "plant_north", ming_broker_vip="")
    hostvars["mqtt-b.south"]["keepalived_priority"] = 150
    set_site(hostvars, groups, "plant_south", ming_central_data="nowhere")
    errors = errors_of(hostvars, groups)
    assert [error.split(" ")[0] for error in errors] == ["ming_broker_vip", "keepalived_priority",
                                                         "ming_central_data"], errors


def test_only_the_variables_of_the_model_are_read():
    """A secret in hostvars is never touched (a mapping that fails on any other key)."""

    class Guarded(dict):
        def __getitem__(self, key):
            if key.startswith("vault_") or "password" in key:
                raise AssertionError(f"read {key}")
            return dict.__getitem__(self, key)

    hostvars, groups = fleet_inventory()
    guarded = dict((host, Guarded(variables, vault_secret="x")) for host, variables in hostvars.items())
    assert errors_of(guarded, groups) == []


def test_each_hosts_variables_are_looked_up_once():
    """Ansible builds a host's variables on every ``hostvars[host]``: the filter asks once per host, whatever the
    number of variables it reads there (a fleet of many plants stays one pass)."""
    hostvars, groups = fleet_inventory()

    class Counting(dict):
        fetched = {}

        def __getitem__(self, host):
            self.fetched[host] = self.fetched.get(host, 0) + 1
            return dict.__getitem__(self, host)

    counting = Counting(hostvars)
    assert errors_of(counting, groups) == []
    assert counting.fetched and max(counting.fetched.values()) == 1, counting.fetched
    assert "cam-north-st10" not in counting.fetched, "the cameras' variables were read"


# -- roll-out order ----------------------------------------------------------------------------------------------------
def rollout(batch=1, play_hosts=None, plants=(("north", 21, 21), ("south", 22, 22), ("east", 23, 23))):
    hostvars, groups = fleet_inventory(plants)
    fleet = ming_fleet(hostvars, groups)
    assert fleet["errors"] == []
    return ming_fleet_rollout(fleet, groups["all"] if play_hosts is None else play_hosts, batch, 0)


def test_brokers_roll_central_first_then_one_host_per_plant_at_a_time():
    order = rollout()["brokers"]
    assert order["batches"] == [["mqtt-1.central"], ["mqtt-2.central"], ["mqtt-a.north"], ["mqtt-b.north"],
                                ["mqtt-a.south"], ["mqtt-b.south"], ["mqtt-a.east"], ["mqtt-b.east"]]
    assert order["serial"] == [1] * 8
    assert order["hosts"] == [host for batch in order["batches"] for host in batch]


def test_plants_roll_in_batches_each_batch_one_broker_per_plant_at_a_time():
    result = rollout(batch=2)
    assert result["brokers"]["batches"] == [["mqtt-1.central"], ["mqtt-2.central"], ["mqtt-a.north", "mqtt-a.south"],
                                            ["mqtt-b.north", "mqtt-b.south"], ["mqtt-a.east"], ["mqtt-b.east"]]
    assert result["brokers"]["serial"] == [1, 1, 2, 2, 1, 1]
    assert result["data"]["batches"] == [["data-1.central"], ["data-1.north", "data-1.south"], ["data-1.east"]]
    assert result["apps"]["batches"] == [["apps-1.central"], ["apps-1.north", "apps-1.south"], ["apps-1.east"]]
    assert result["nvr"]["batches"] == [["nvr-1.north", "nvr-1.south"], ["nvr-1.east"]]
    assert result["cameras"]["batches"] == [["cam-north-st10", "cam-south-st10"], ["cam-east-st10"]]
    assert result["paired_brokers"] == ["mqtt-1.central", "mqtt-2.central", "mqtt-a.north", "mqtt-b.north",
                                        "mqtt-a.south", "mqtt-b.south", "mqtt-a.east", "mqtt-b.east"]


def test_a_limit_leaves_out_hosts_and_a_play_without_hosts_gets_its_group():
    result = rollout(batch=2, play_hosts=["mqtt-b.south", "mqtt-a.north", "mqtt-b.north", "nvr-1.east"])
    # One broker per plant at a time: south's only broker in the limit goes with north's first.
    assert result["brokers"]["batches"] == [["mqtt-a.north", "mqtt-b.south"], ["mqtt-b.north"]]
    assert result["data"]["hosts"] == "ming_data" and result["data"]["serial"] == [1]
    assert result["nvr"]["hosts"] == ["nvr-1.east"]


def test_a_single_site_pair_rolls_one_broker_at_a_time():
    hostvars, groups = single_site_pair()
    result = ming_fleet_rollout(ming_fleet(hostvars, groups), groups["all"], 1, 0)
    assert result["brokers"]["batches"] == [["mqtt-a"], ["mqtt-b"]]
    assert result["paired_brokers"] == ["mqtt-a", "mqtt-b"] and result["errors"] == []


def test_the_lab_rolls_as_before_and_has_no_pair():
    groups = {"all": ["localhost"], "ming_brokers": ["localhost"]}
    result = ming_fleet_rollout(ming_fleet({"localhost": {}}, groups), ["localhost"], "1", "0")
    assert result["brokers"]["hosts"] == ["localhost"] and result["brokers"]["serial"] == [1]
    assert result["paired_brokers"] == [] and result["max_fail_percentage"] == 0


@pytest.mark.parametrize("batch, percent, expected", [
    (0, 0, "ming_fleet_batch is 0: it must be an integer 1..10000."),
    ("two", 0, "ming_fleet_batch is two: it must be an integer 1..10000."),
    (1, 101, "ming_fleet_max_fail_percentage is 101: it must be an integer 0..100."),
    (1, -1, "ming_fleet_max_fail_percentage is -1: it must be an integer 0..100."),
])
def test_bad_batch_settings_are_named(batch, percent, expected):
    hostvars, groups = fleet_inventory()
    result = ming_fleet_rollout(ming_fleet(hostvars, groups), groups["all"], batch, percent)
    assert result["errors"] == [expected]


def test_the_input_is_not_changed():
    hostvars, groups = fleet_inventory()
    before = copy.deepcopy((hostvars, groups))
    ming_fleet_rollout(ming_fleet(hostvars, groups), groups["all"], 2, 50)
    assert (hostvars, groups) == before
