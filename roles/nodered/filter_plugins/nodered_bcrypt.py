# Copyright: contributors to sensingcam.ming
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nodered role's bcrypt hashes (adminAuth users, httpNodeAuth), made on the controller.

A hash is kept while its password still verifies against it, so a re-run writes the same file (a new salt on every
run would change auth.json, and so restart Node-RED, on every run)."""

from ansible.errors import AnsibleFilterError

try:
    import bcrypt
except ImportError:  # pragma: no cover - the message below says what to install
    bcrypt = None

INSTALL_HINT = ("the nodered role hashes passwords with the Python package bcrypt on the controller: install it in "
                "the interpreter that runs ansible-playbook (pip install 'bcrypt==5.0.0', pinned in "
                "requirements-dev.txt)")


def nodered_bcrypt(password, existing="", rounds=10, variable="password"):
    """bcrypt hash of ``password``: ``existing`` when the password verifies against it, else a new one. Node-RED
    (bcryptjs) reads the $2b$ prefix. ``variable`` names the setting in an error; the password is never shown."""
    if bcrypt is None:
        raise AnsibleFilterError(INSTALL_HINT)
    if not isinstance(password, str) or password == "":
        raise AnsibleFilterError(f"{variable} is empty: set it (vault-encrypted in a plant, from the lab secret store)")
    secret = password.encode("utf-8")
    if len(secret) > 72:
        raise AnsibleFilterError(f"{variable} is longer than 72 bytes, which bcrypt ignores past: use a shorter one")
    if isinstance(existing, str) and existing.startswith("$2"):
        try:
            if bcrypt.checkpw(secret, existing.encode("ascii")):
                return existing
        except ValueError:
            pass  # not a bcrypt hash after all: make a new one
    return bcrypt.hashpw(secret, bcrypt.gensalt(int(rounds))).decode("ascii")


class FilterModule:
    def filters(self):
        return {"nodered_bcrypt": nodered_bcrypt}
