"""Every option of every module in plugins/modules whose name says it holds a secret has ``no_log=True``.

Real code, no double of the module: each module's own ``main()`` runs until it constructs its AnsibleModule, and the
test takes the argument spec it passes there (the spec exactly as the module builds it, with ``add_file_common_args``
applied as AnsibleModule would), then stops the module before it reads any argument or touches anything. For
ApiModule subclasses that spec must also equal ``module_argument_spec()`` of the class, the spec the class declares.
Suboptions are walked at any depth (``cameras[].password`` of sensingcam_firmware_info, ``users[].password`` of
mosquitto_passwd). A new module is covered as soon as its file is in plugins/modules.

Mutations tried: ``no_log=True`` removed from the camera ``password`` option (module_utils/sensingcam_module.py):
``test_every_secret_option_is_no_log`` fails for all seven sensingcam modules; removed from ``cameras[].password``
of sensingcam_firmware_info: that module's test fails.
"""

import importlib
import pkgutil
import re

import pytest
from ansible.module_utils import basic


from ansible_collections.sensingcam.ming.plugins import modules
from ansible_collections.sensingcam.ming.plugins.module_utils._api import ApiModule

MODULE_NAMES = sorted(info.name for info in pkgutil.iter_modules(modules.__path__))

# Words that name a secret value: passwords, passphrases, tokens, secrets, pre-shared and private keys, key
# material. Matched on the option's name and aliases, split at '_' and '-'.
SECRET_WORDS = {"password", "passwd", "pwd", "pass", "passphrase", "token", "secret", "psk", "credential",
                "credentials"}
SECRET_PATTERN = re.compile(r"password|passphrase|secret|token|private_?key|api_?key|key_(content|data|material)",
                            re.I)
# A path to a file or a flag is not itself secret (password_file: /etc/x; hash_upgrade: true).
NOT_A_SECRET_VALUE = {"path", "bool"}


class SpecCaptured(Exception):
    """Raised in place of AnsibleModule.__init__: carries the argument spec and keyword arguments it got."""

    def __init__(self, argument_spec, kwargs):
        super().__init__("argument spec captured")
        self.argument_spec = argument_spec
        self.kwargs = kwargs


def module_spec(name, monkeypatch):
    """(module object, full argument spec) of plugins/modules/<name>.py as its main() builds it."""
    module = importlib.import_module(f"{modules.__name__}.{name}")

    def capture(self, argument_spec, **kwargs):
        raise SpecCaptured(argument_spec, kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "__init__", capture)
    with pytest.raises(SpecCaptured) as captured:
        module.main()
    spec = dict(captured.value.argument_spec)
    if captured.value.kwargs.get("add_file_common_args"):
        for option, definition in basic.FILE_COMMON_ARGUMENTS.items():
            spec.setdefault(option, definition)
    return module, spec


def names_a_secret(option, definition):
    # A value from a fixed list of choices is public (influxdb_user's update_password: always|on_create).
    if definition.get("type", "str") in NOT_A_SECRET_VALUE or definition.get("choices"):
        return False
    for name in [option, *(definition.get("aliases") or [])]:
        if SECRET_PATTERN.search(name) or set(re.split(r"[_-]", name.lower())) & SECRET_WORDS:
            return True
    return False


def secret_options(spec, prefix=""):
    """{dotted option path: no_log} for every option (at any depth) whose name says it is secret."""
    found = {}
    for option, definition in spec.items():
        path = prefix + option
        if names_a_secret(option, definition):
            found[path] = definition.get("no_log") is True
        if definition.get("options"):
            found.update(secret_options(definition["options"], path + "[]." if definition.get("type") == "list"
                                        else path + "."))
    return found


def test_the_modules_are_found():
    assert "mosquitto_passwd" in MODULE_NAMES and "sensingcam_firmware_info" in MODULE_NAMES
    assert len(MODULE_NAMES) >= 8, MODULE_NAMES


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_every_secret_option_is_no_log(name, monkeypatch):
    _module, spec = module_spec(name, monkeypatch)
    secrets = secret_options(spec)
    leaking = sorted(path for path, no_log in secrets.items() if not no_log)
    assert not leaking, f"{name}: options that name a secret without no_log=True: {', '.join(leaking)}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_the_spec_is_the_one_the_module_class_declares(name, monkeypatch):
    """For ApiModule subclasses, what main() passes to AnsibleModule is the class's module_argument_spec()."""
    module, spec = module_spec(name, monkeypatch)
    classes = [value for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, ApiModule) and value.__module__ == module.__name__]
    if not classes:
        assert name == "mosquitto_passwd", f"{name} builds no ApiModule subclass: check how it builds its spec"
        return
    assert len(classes) == 1, classes
    assert spec == classes[0].module_argument_spec()


@pytest.mark.parametrize("name, secret", [
    ("sensingcam_config", "password"),
    ("sensingcam_firmware_info", "password"),
    ("sensingcam_firmware_info", "cameras[].password"),
    ("sensingcam_offload", "server_password"),
    ("sensingcam_backup", "passphrase"),
    ("mosquitto_passwd", "users[].password"),
])
def test_the_known_secrets_are_found(name, secret, monkeypatch):
    """The walk reaches the secrets we know of, at the top level and in suboptions (so it cannot pass by finding
    nothing)."""
    _module, spec = module_spec(name, monkeypatch)
    assert secret_options(spec).get(secret) is True


@pytest.mark.parametrize("option, definition, secret", [
    ("password", {"type": "str"}, True),
    ("admin_token", {}, True),
    ("client_secret", {"type": "str"}, True),
    ("tls_passphrase", {"type": "str"}, True),
    ("private_key", {"type": "str"}, True),
    ("key_content", {"type": "raw"}, True),
    ("login", {"aliases": ["pass"]}, True),
    ("password_file", {"type": "path"}, False),
    ("hash_upgrade", {"type": "bool"}, False),
    ("update_password", {"type": "str", "choices": ["always", "on_create"]}, False),
    ("passes", {"type": "int"}, False),
    ("username", {"type": "str"}, False),
])
def test_what_counts_as_a_secret_name(option, definition, secret):
    assert names_a_secret(option, definition) is secret
