"""The nodered_bcrypt filter: a hash that verifies with bcrypt, kept while the password still verifies, renewed when
the password changed, and bad input named without the password. Pure Python (the real bcrypt package), no Node-RED;
the hash is verified by Node-RED itself in tests/integration/nodered/test_nodered_role.py (an editor user logs in).

Mutations tried (plugins/filter/nodered_bcrypt.py, each restored):
- the ``checkpw`` branch removed (a new salt every call) -> test_an_installed_hash_is_kept_while_it_verifies failed
- ``return existing`` for any existing hash, verified or not -> test_a_changed_password_gets_a_new_hash failed
- the 72-byte limit removed -> test_bad_input_is_named_without_the_password[too_long] failed
"""

import bcrypt
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.nodered_bcrypt import FilterModule, nodered_bcrypt


def test_the_hash_verifies_and_uses_the_cost_asked_for():
    hashed = nodered_bcrypt("correct horse battery", rounds=4)
    assert hashed.startswith("$2b$04$")
    assert bcrypt.checkpw(b"correct horse battery", hashed.encode())
    assert not bcrypt.checkpw(b"wrong horse battery", hashed.encode())


def test_an_installed_hash_is_kept_while_it_verifies():
    first = nodered_bcrypt("correct horse battery", rounds=4)
    assert nodered_bcrypt("correct horse battery", first, 4) == first


def test_a_changed_password_gets_a_new_hash():
    first = nodered_bcrypt("correct horse battery", rounds=4)
    second = nodered_bcrypt("another horse battery", first, 4)
    assert second != first and bcrypt.checkpw(b"another horse battery", second.encode())


def test_a_garbled_installed_hash_is_replaced():
    replaced = nodered_bcrypt("correct horse battery", "$2b$04$not-a-hash", 4)
    assert bcrypt.checkpw(b"correct horse battery", replaced.encode())


@pytest.mark.parametrize("password, words", [
    ("", ["nodered_admin_users (ops).password", "empty"]),
    ("x" * 73, ["nodered_admin_users (ops).password", "72 bytes"]),
], ids=["empty", "too_long"])
def test_bad_input_is_named_without_the_password(password, words):
    with pytest.raises(AnsibleFilterError) as error:
        nodered_bcrypt(password, "", 4, "nodered_admin_users (ops).password")
    for word in words:
        assert word in str(error.value)
    if password:
        assert password not in str(error.value)


def test_the_filter_is_registered():
    assert FilterModule().filters()["nodered_bcrypt"] is nodered_bcrypt
