"""mosquitto_central_bridge: the edge-to-central bridge of a fleet inventory, derived for both ends in one place.

Real code only: the filter function with plain dicts standing in for ``hostvars`` and ``groups`` (a fleet of two
plants, each with a broker pair, and a central site with two brokers).

Mutations tried (each fails a test here): the user name built from the full inventory name instead of the short
one; the ming_broker_address prefix kept in the address; the ansible_host fallback removed; the central's own
mosquitto_tls_port ignored (always 8883); the edge's ``own`` values ignored in favour of hostvars; the empty
password check removed (edge and central side); the "not in the inventory" check of ming_central_brokers removed;
central users derived for edges that bridge to another central; the remote_prefix left out of the ACL topics; the
duplicate user name check removed; DEFAULT_TOPICS changed without the role's defaults.
"""

from pathlib import Path

import pytest
import yaml

from ansible_collections.sensingcam.ming.plugins.filter import mosquitto_central_bridge as module
from ansible_collections.sensingcam.ming.plugins.filter.mosquitto_central_bridge import mosquitto_central_bridge

DEFAULTS = Path(__file__).resolve().parents[4] / "roles" / "mosquitto" / "defaults" / "main.yml"


def fleet():
    edge = {"ming_site_role": "edge", "ming_central_brokers": ["central-1.example", "central-2"]}
    hostvars = {
        "north-a.plant.example": dict(edge, ming_plant="north", mosquitto_central_bridge_password="pw-north-a"),
        "north-b": dict(edge, ming_plant="north", mosquitto_central_bridge_password="pw-north-b"),
        "south-a": dict(edge, ming_plant="south", mosquitto_central_bridge_password="pw-south-a",
                        mosquitto_central_bridge_topics=[{"pattern": "factory/#", "remote_prefix": "plants/south/"}]),
        "central-1.example": {"ming_site_role": "central", "ming_plant": "central",
                              "ming_broker_address": "10.9.0.11/24", "ansible_host": "192.0.2.1"},
        "central-2": {"ming_site_role": "central", "ming_plant": "central", "ansible_host": "192.0.2.2",
                      "mosquitto_tls_port": 18883},
        "central-3": {"ming_site_role": "central", "ming_plant": "central"},
        "data-north": {"ming_site_role": "edge", "ming_plant": "north"},
    }
    groups = {"all": list(hostvars), "ming_brokers": [name for name in hostvars if not name.startswith("data")]}
    return hostvars, groups


def own(hostvars, host, **overrides):
    """What the role passes for the host itself: its role values (here: its hostvars, or the role default)."""
    values = {"enabled": True, "password": hostvars[host].get("mosquitto_central_bridge_password", ""),
              "topics": hostvars[host].get("mosquitto_central_bridge_topics", list(module.DEFAULT_TOPICS))}
    values.update(overrides)
    return values


def test_an_edge_bridges_to_every_central_by_address_with_its_own_identity():
    hostvars, groups = fleet()
    result = mosquitto_central_bridge(hostvars, groups, "north-a.plant.example", own(hostvars, "north-a.plant.example"))
    assert result["errors"] == []
    assert result["site_role"] == "edge"
    assert result["bridge"] == {
        "username": "bridge-north-north-a",
        # ming_broker_address without its prefix first, else ansible_host; each central's own TLS port.
        "addresses": ["10.9.0.11:8883", "192.0.2.2:18883"],
        # Without a remote_prefix of its own, the plant's topics land under ming/bridge/<plant>/ on central.
        "topics": [{"pattern": "factory/#", "direction": "out", "qos": 1, "remote_prefix": "ming/bridge/north/"}],
    }
    assert result["users"] == []


def test_the_two_brokers_of_a_pair_have_different_identities():
    hostvars, groups = fleet()
    names = {mosquitto_central_bridge(hostvars, groups, host, own(hostvars, host))["bridge"]["username"]
             for host in ("north-a.plant.example", "north-b")}
    assert names == {"bridge-north-north-a", "bridge-north-north-b"}


def test_a_central_without_address_variables_is_reached_by_its_inventory_name():
    hostvars, groups = fleet()
    hostvars["north-b"]["ming_central_brokers"] = ["central-3"]
    result = mosquitto_central_bridge(hostvars, groups, "north-b", own(hostvars, "north-b"))
    assert result["bridge"]["addresses"] == ["central-3:8883"]


def test_the_hosts_own_role_values_win_over_its_hostvars():
    hostvars, groups = fleet()
    topics = [{"pattern": "factory/line/#", "direction": "out", "qos": 1, "remote_prefix": ""}]
    result = mosquitto_central_bridge(hostvars, groups, "north-b", own(hostvars, "north-b", topics=topics))
    assert result["bridge"]["topics"] == topics
    disabled = mosquitto_central_bridge(hostvars, groups, "north-b", own(hostvars, "north-b", enabled=False))
    assert disabled["bridge"] is None and disabled["errors"] == []


def test_a_central_broker_gets_one_bridge_user_per_edge_broker_bridging_to_it():
    hostvars, groups = fleet()
    result = mosquitto_central_bridge(hostvars, groups, "central-2", own(hostvars, "central-2"))
    assert result["errors"] == []
    assert result["bridge"] is None
    assert result["users"] == [
        {"name": "bridge-north-north-a", "role": "bridge", "topics": ["ming/bridge/north/factory/#"],
         "password": "pw-north-a"},
        {"name": "bridge-north-north-b", "role": "bridge", "topics": ["ming/bridge/north/factory/#"],
         "password": "pw-north-b"},
        # The edge's remote prefix is part of the topic on central.
        {"name": "bridge-south-south-a", "role": "bridge", "topics": ["plants/south/factory/#"],
         "password": "pw-south-a"},
    ]


def test_a_central_broker_no_edge_bridges_to_gets_no_users():
    hostvars, groups = fleet()
    assert mosquitto_central_bridge(hostvars, groups, "central-3", {})["users"] == []
    hostvars["south-a"]["mosquitto_central_bridge_enabled"] = False
    names = [user["name"] for user in mosquitto_central_bridge(hostvars, groups, "central-2", {})["users"]]
    assert "bridge-south-south-a" not in names


def test_an_edge_without_a_central_in_the_inventory_fails_naming_ming_central_brokers():
    hostvars, groups = fleet()
    hostvars["north-b"]["ming_central_brokers"] = ["central-9"]
    errors = mosquitto_central_bridge(hostvars, groups, "north-b", own(hostvars, "north-b"))["errors"]
    assert len(errors) == 1 and "ming_central_brokers" in errors[0] and "central-9" in errors[0], errors
    del hostvars["north-b"]["ming_central_brokers"]
    errors = mosquitto_central_bridge(hostvars, groups, "north-b", own(hostvars, "north-b"))["errors"]
    assert len(errors) == 1 and "ming_central_brokers is not set" in errors[0] and "north-b" in errors[0], errors


@pytest.mark.parametrize("empty", ["", None])
def test_an_edge_without_its_bridge_password_fails_naming_the_variable(empty):
    hostvars, groups = fleet()
    errors = mosquitto_central_bridge(hostvars, groups, "north-b", own(hostvars, "north-b", password=empty or ""))
    assert len(errors["errors"]) == 1
    assert "mosquitto_central_bridge_password is empty for edge broker north-b" in errors["errors"][0]


def test_a_central_broker_fails_naming_the_edge_whose_password_is_missing():
    hostvars, groups = fleet()
    hostvars["north-b"]["mosquitto_central_bridge_password"] = ""
    result = mosquitto_central_bridge(hostvars, groups, "central-2", {})
    assert len(result["errors"]) == 1
    assert "mosquitto_central_bridge_password is empty for edge broker north-b" in result["errors"][0]
    assert [user["name"] for user in result["users"]] == ["bridge-north-north-a", "bridge-south-south-a"]


def test_two_edge_brokers_with_one_identity_fail_on_central():
    hostvars, groups = fleet()
    hostvars["north-a.other"] = dict(hostvars["north-b"])
    groups["ming_brokers"].append("north-a.other")
    errors = mosquitto_central_bridge(hostvars, groups, "central-2", {})["errors"]
    assert len(errors) == 1 and "bridge-north-north-a" in errors[0] and "north-a.other" in errors[0], errors


def test_no_error_message_shows_a_password():
    hostvars, groups = fleet()
    hostvars["north-b"]["ming_central_brokers"] = []
    result = mosquitto_central_bridge(hostvars, groups, "north-b", own(hostvars, "north-b"))
    assert result["errors"] and not any("pw-" in error for error in result["errors"])


def test_a_single_site_inventory_gets_nothing():
    hostvars = {"broker": {"mosquitto_central_bridge_password": ""}}
    assert mosquitto_central_bridge(hostvars, {"ming_brokers": ["broker"]}, "broker", {"enabled": False}) == {
        "site_role": "", "bridge": None, "users": [], "errors": []}


def test_plants_stay_apart_on_central_and_each_bridge_user_may_write_only_its_own_plant():
    """Mutation tried: the default remote prefix left out (every plant on factory/# at central, each plant's bridge
    user allowed to write the others' topics) -> fails."""
    hostvars, groups = fleet()
    users = mosquitto_central_bridge(hostvars, groups, "central-2", own(hostvars, "central-2"))["users"]
    north = [user["topics"] for user in users if user["name"].startswith("bridge-north-")]
    assert north == [["ming/bridge/north/factory/#"]] * 2
    hostvars["north-b"]["mosquitto_topic_roots"] = {"bridge": "plants"}
    result = mosquitto_central_bridge(hostvars, groups, "north-b", own(hostvars, "north-b"))
    assert result["bridge"]["topics"][0]["remote_prefix"] == "plants/north/"


def test_the_filters_defaults_are_the_roles():
    """Another host's role defaults are not in hostvars: the filter's copies must agree with defaults/main.yml."""
    defaults = yaml.safe_load(DEFAULTS.read_text())
    assert defaults["mosquitto_central_bridge_topics"] == list(module.DEFAULT_TOPICS)
    assert defaults["mosquitto_tls_port"] == module.DEFAULT_TLS_PORT
