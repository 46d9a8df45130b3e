"""``grader doctor``: what this machine can enforce around the worker, and what it gets.

Every line is a probe, not a guess: bubblewrap runs a trivial sandbox, seccomp and the
namespaces are tried in a throwaway child, and the last section is the record of a real worker
started on a one-line submission, exactly as grading would start it. The exit code is 0
whatever is missing: it reports, it does not judge.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from grader.batch.mps import mps_state
from grader.sandboxed.limits import Limits, landlock_abi
from grader.sandboxed.lockdown import libseccomp_path
from grader.worker import sandbox as sandboxing
from grader.worker.memory import disk_enforcement, enforcement

_GRADER_PARENT = str(Path(__file__).resolve().parents[1])
_CLONE_NEWUSER, _CLONE_NEWPID = 0x10000000, 0x20000000
_SECCOMP_PROBE = (
    "import socket, sys; sys.path.insert(0, sys.argv[1])\n"
    "from grader.sandboxed.lockdown import seccomp_restrict\n"
    "seccomp_restrict()\n"
    "try:\n    socket.socket(socket.AF_INET)\nexcept PermissionError:\n    print('refused')\n"
    "else:\n    print('allowed')\n"
)
_UNSHARE_PROBE = ("import ctypes, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                  "sys.exit(0 if libc.unshare(int(sys.argv[1])) == 0 else ctypes.get_errno())")


def _child(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-c", code, *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def _seccomp() -> dict:
    path = libseccomp_path()
    if path is None:
        return {"libseccomp": None, "filter_loads": False, "error": "libseccomp.so.2 not found"}
    run = _child(_SECCOMP_PROBE, _GRADER_PARENT)
    ok = run.stdout.strip() == "refused"
    error = "" if ok else (run.stderr.strip().splitlines() or [run.stdout.strip()])[-1]
    return {"libseccomp": path, "filter_loads": ok, "error": error}


def _unshare(flags: int) -> dict:
    run = _child(_UNSHARE_PROBE, str(flags))
    return {"works": run.returncode == 0,
            "error": "" if run.returncode == 0 else os.strerror(run.returncode)}


def _user_namespaces() -> dict:
    try:
        limit = int(Path("/proc/sys/user/max_user_namespaces").read_text())
    except (OSError, ValueError):
        limit = None
    return {"max": limit, **_unshare(_CLONE_NEWUSER)}


def _worker_record(mode: str) -> dict | str:
    """The isolation record of a real worker, started as grading starts it."""
    from grader.worker.client import Worker

    with tempfile.TemporaryDirectory(prefix="grader-doctor-") as folder:
        path = Path(folder) / "solution.py"
        path.write_text("def f():\n    return 1\n")
        worker = Worker(path, Path(folder), limits=Limits(load_timeout_s=60), sandbox=mode)
        try:
            worker.start()
            return worker.isolation
        except Exception as exc:  # noqa: BLE001 - the report says what went wrong
            return f"the worker could not start: {type(exc).__name__}: {exc}"
        finally:
            worker.stop()


def checks() -> dict[str, Any]:
    """Everything ``grader doctor`` reports, as JSON-ready data."""
    probe = sandboxing.probe_bwrap()
    root = os.geteuid() == 0
    try:
        mode = sandboxing.requested_mode()
    except sandboxing.SandboxError as exc:
        mode = f"invalid: {exc}"
    pid_flags = _CLONE_NEWPID if root else _CLONE_NEWUSER | _CLONE_NEWPID
    return {
        "bubblewrap": {"path": probe.path, "version": probe.version, "works": probe.works,
                       "error": probe.error},
        "root": root,
        "user_switch": (f"a dedicated uid per worker ({sandboxing.UID_BASE}-"
                        f"{sandboxing.UID_BASE + sandboxing.UID_COUNT - 1})" if root else
                        "no (not root): the worker keeps the grader's uid"),
        "landlock_abi": landlock_abi(),
        "seccomp": _seccomp(),
        "rlimits": ["as", "cpu", "fsize", "nofile", "core"] +
                   (["nproc"] if root or probe.works else []),
        "user_namespaces": _user_namespaces(),
        "pid_namespace": _unshare(pid_flags),
        "mode": mode,
        "memory": enforcement(),
        "mps": mps_state(),
        "disk": disk_enforcement()
                + ("; /dev/shm is a private tmpfs of 256 MB under bubblewrap" if probe.works
                   else ""),
        "worker": _worker_record(mode) if not mode.startswith("invalid") else mode,
    }


def _yes(ok: bool, detail: str = "", error: str = "") -> str:
    return ("yes" if ok else "no") + (f" ({detail})" if detail else "") + \
        (f": {error}" if error and not ok else "")


def render(report: dict[str, Any]) -> str:
    """The report for people."""
    bw, sc = report["bubblewrap"], report["seccomp"]
    users, pid = report["user_namespaces"], report["pid_namespace"]
    abi = report["landlock_abi"]
    rows = [
        ("bubblewrap", _yes(bw["works"], f"{bw['path']}, {bw['version']}" if bw["path"] else "",
                            bw["error"])),
        ("running as root", _yes(report["root"])),
        ("user switch", report["user_switch"]),
        ("landlock", f"ABI {abi}" if abi else "not available on this kernel"),
        ("seccomp", _yes(sc["filter_loads"], sc["libseccomp"] or "", sc["error"]) +
         (": the filter loads, inet sockets are refused" if sc["filter_loads"] else "")),
        ("rlimits", ", ".join(report["rlimits"])),
        ("user namespaces", _yes(users["works"], f"max {users['max']}", users["error"])),
        ("pid namespace", _yes(pid["works"], "", pid["error"])),
        ("GRADER_SANDBOX", report["mode"]),
        ("memory_mb", report["memory"]),
        ("disk_mb", report["disk"]),
        ("CUDA MPS", report["mps"]),
    ]
    lines = ["What this machine can enforce around the worker:", ""]
    lines += [f"  {name:<18} {value}" for name, value in rows]
    lines += ["", "The worker gets (a real worker was started):", ""]
    worker = report["worker"]
    if isinstance(worker, dict):
        lines += [f"  {key:<18} {value}" for key, value in worker.items()]
    else:
        lines.append(f"  {worker}")
    canary = report.get("canary")
    if canary:
        lines += ["", "The canary (the reference graded here as students are):", ""]
        if canary["ok"]:
            lines.append(f"  full marks: {canary['score']:g}/{canary['max_score']:g} on the "
                         "tests that ran")
        else:
            lines.append(f"  FAILED: {canary['score']:g}/{canary['max_score']:g}; students "
                         "must not be graded here until this is fixed:")
            lines += [f"  - {name}: {(msg.strip().splitlines() or [''])[0][:300]}"
                      for name, msg in canary["failures"][:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader doctor", description=__doc__)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--assignment", help="also grade this pack's reference here (the "
                                             "canary); exit 1 if it loses points")
    args = parser.parse_args(argv)
    return run(as_json=args.json, assignment=args.assignment)


def run(as_json: bool = False, assignment: str | None = None) -> int:
    """Print the report; with ``assignment``, run the canary too (fresh, not from the cache)
    with the options ``grader gradescope`` uses, and return 1 when the reference fails."""
    report = checks()
    if assignment:
        from grader.canary import run_canary
        from grader.packs import load_pack
        from grader.runner import GradeOptions

        # fresh, and remembered when it passes: grading here then does not repeat it
        canary = run_canary(load_pack(assignment), GradeOptions(gpu_tests="auto"), reuse=False)
        report["canary"] = {"ok": canary.ok, "score": canary.score,
                            "max_score": canary.max_score, "failures": canary.failures}
    print(json.dumps(report, indent=2) if as_json else render(report))
    return 0 if report.get("canary", {}).get("ok", True) else 1
