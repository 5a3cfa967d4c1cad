# Copyright: sensingcam.ming contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep one iptables chain per published service: only the allowed sources reach its published ports.

Docker DNATs a published port in the nat table before the host firewall sees the packet, and the filter table's
FORWARD chain then sees the container's address and port. The chain written here is jumped to from DOCKER-USER,
the one chain Docker leaves to the administrator, and matches on the original destination that conntrack keeps
(``--ctorigdst``/``--ctorigdstport``): packets of the original direction to a published address and port pass
from an allowed source and are dropped from any other. Replies, container egress and everything not published by
the service are not looked at. IPv6 published ports, which Docker 20.10 serves through docker-proxy unless
ip6tables is enabled, are judged in INPUT as well.

    firewall.py --spec-json '<one service's spec>' [--check]   (the roll-out, one service)
    firewall.py --dir <base_dir>/firewall [--check]             (every service of the project: the boot hook)

A chain is rewritten (iptables-restore --noflush, one transaction) only when its rules differ from the wanted ones;
--check reports without changing anything. Prints one JSON object: changed, and each chain's rules before/after.
Uses the Python standard library only.
"""

import argparse
import glob
import ipaddress
import json
import os
import subprocess
import sys

TOOLS = {4: ("iptables", "iptables-restore"), 6: ("ip6tables", "ip6tables-restore")}


def run(argv, check=True, stdin=None):
    """Run one iptables tool (an argv list, never a shell)."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)  # noqa: S603
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def wanted_rules(spec, family):
    """The chain's rules as `iptables -S <chain>` prints them (canonical addresses and networks)."""
    chain = spec["chain"]
    lines = [f"-N {chain}", f"-A {chain} -i lo -j RETURN"]
    for port in spec["ports"]:
        for address in port["addresses"]:
            address = ipaddress.ip_address(address)
            if address.version != family:
                continue
            # A wildcard publishes on every local address: IPv4 through Docker's DNAT, IPv6 through docker-proxy
            # (INPUT) unless ip6tables is on.
            wildcard = "--ctstate DNAT " if family == 4 else ""
            target = wildcard if address.is_unspecified else f"--ctorigdst {address} "
            match = f"-p {port['protocol']} -m conntrack {target}--ctorigdstport {int(port['port'])} --ctdir ORIGINAL"
            for source in port["sources"]:
                network = ipaddress.ip_network(source, strict=False)
                if network.version == family:
                    lines.append(f"-A {chain} -s {network} {match} -j RETURN")
            lines.append(f"-A {chain} {match} -j DROP")
    return lines


def families(spec):
    return sorted({ipaddress.ip_address(address).version for port in spec["ports"] for address in port["addresses"]})


def live_rules(family, chain):
    done = run([TOOLS[family][0], "-w", "-S", chain], check=False)
    return done.stdout.splitlines() if done.returncode == 0 else []


def hook_chains(family):
    """Where the chain is jumped to from: DOCKER-USER (DNATed traffic) and, for IPv6, INPUT (docker-proxy)."""
    if family == 4:
        return ["DOCKER-USER"]
    hooks = ["INPUT"]
    if run([TOOLS[family][0], "-w", "-S", "DOCKER-USER"], check=False).returncode == 0:
        hooks.append("DOCKER-USER")
    return hooks


def jump_in_place(family, hook, chain):
    """The jump exists, once, before any RETURN of the hook chain (DOCKER-USER ends with Docker's RETURN)."""
    lines = [line for line in live_rules(family, hook) if line.startswith("-A ")]
    jump = f"-A {hook} -j {chain}"
    if lines.count(jump) != 1:
        return False
    returns = [index for index, line in enumerate(lines) if line == f"-A {hook} -j RETURN"]
    return not returns or lines.index(jump) < returns[0]


def place_jump(family, hook, chain):
    tool = TOOLS[family][0]
    if run([tool, "-w", "-S", hook], check=False).returncode != 0:
        # Before dockerd starts (the boot hook): Docker keeps an existing DOCKER-USER and its rules.
        run([tool, "-w", "-N", hook])
    while run([tool, "-w", "-D", hook, "-j", chain], check=False).returncode == 0:
        pass
    run([tool, "-w", "-I", hook, "1", "-j", chain])


def apply_spec(spec, check):
    report = {}
    changed = False
    for family in (4, 6):
        chain = spec["chain"]
        wanted = wanted_rules(spec, family) if family in families(spec) else []
        if not wanted:
            continue
        before = live_rules(family, chain)
        hooks = hook_chains(family)
        rules_differ = before != wanted
        jumps_missing = [hook for hook in hooks if not jump_in_place(family, hook, chain)]
        report[f"ipv{family} {chain}"] = {"before": before, "after": wanted, "jumps_placed": jumps_missing}
        if not rules_differ and not jumps_missing:
            continue
        changed = True
        if check:
            continue
        if rules_differ:
            rules = "\n".join(line for line in wanted if line.startswith("-A "))
            restore = f"*filter\n:{chain} - [0:0]\n{rules}\nCOMMIT\n"
            # Validated first, then applied in one transaction (the chain is flushed and refilled atomically).
            run([TOOLS[family][1], "-w", "--noflush", "--test"], stdin=restore)
            run([TOOLS[family][1], "-w", "--noflush"], stdin=restore)
        for hook in jumps_missing:
            place_jump(family, hook, chain)
        if live_rules(family, chain) != wanted:
            raise RuntimeError(f"{chain}: the live rules differ from the wanted ones after the update")
    return changed, report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec-json", help="one service's spec as JSON")
    parser.add_argument("--dir", help="directory of <service>.json specs (every service of the project)")
    parser.add_argument("--check", action="store_true", help="report what would change, change nothing")
    arguments = parser.parse_args()
    specs = []
    if arguments.spec_json:
        specs.append(json.loads(arguments.spec_json))
    if arguments.dir:
        for path in sorted(glob.glob(os.path.join(arguments.dir, "*.json"))):
            with open(path) as handle:
                specs.append(json.load(handle))
    changed = False
    report = {}
    try:
        for spec in specs:
            spec_changed, spec_report = apply_spec(spec, arguments.check)
            changed = changed or spec_changed
            report.update(spec_report)
    except (RuntimeError, ValueError, KeyError) as exc:
        print(json.dumps({"changed": changed, "failed": True, "msg": str(exc), "chains": report}))
        return 1
    print(json.dumps({"changed": changed, "chains": report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
