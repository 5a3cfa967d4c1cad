"""Helpers shared by the module unit tests."""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    patch_module_args = None


class ModuleExit(Exception):
    """Raised instead of sys.exit by exit_json so a test can read the result."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result


class ModuleFailure(ModuleExit):
    """Raised instead of sys.exit by fail_json."""


@pytest.fixture
def run_module(monkeypatch):
    """Run a module's main() with the given arguments and return (failed, result)."""

    # module.warn() goes to a process-wide store whose behaviour depends on what else the test session loaded
    # (controller-side Ansible prints instead of storing); recording it here keeps tests order-independent.
    recorded_warnings = []

    def warn(self, warning):
        recorded_warnings.append(warning)

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        kwargs["warnings"] = list(recorded_warnings)
        raise ModuleExit(kwargs)

    def fail_json(self, **kwargs):
        kwargs["failed"] = True
        kwargs["warnings"] = list(recorded_warnings)
        raise ModuleFailure(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "warn", warn)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def _run(main, args, check_mode=False, diff=False):
        recorded_warnings.clear()
        args = dict(args)
        args["_ansible_check_mode"] = check_mode
        args["_ansible_diff"] = diff
        try:
            if patch_module_args is not None:
                with patch_module_args(args):
                    main()
            else:
                monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
                main()
        except ModuleFailure as failure:
            return True, failure.result
        except ModuleExit as done:
            return False, done.result
        raise AssertionError("module returned without exit_json or fail_json")

    return _run
