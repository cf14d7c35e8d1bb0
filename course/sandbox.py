"""The sandbox around a grading kernel: bubblewrap, an unprivileged user and resource limits.

nbgrader runs a submission with the instructor's rights, inside the course folder: without a
sandbox a student's cell can read every solution and hidden test in modules/, rewrite the
gradebook, or delete other students' work. Here the kernel runs under Debian's bubblewrap
(`bwrap`, the sandbox Flatpak is built on): a fresh mount namespace that holds only what
grading needs, read-only (the Python installation, the grading package, the datasets, the
course's grading guard, the submission's own folder), a private /tmp, and a folder for the
kernel's sockets; no network (its own empty network namespace), its own process namespace,
and it dies with the grader. Inside, the kernel drops to a user id of its own when the grader
is root (util-linux's setpriv; a fresh id from a range no account uses), so a limit on
processes counts only its own processes, not those of the kernels grading beside it, and runs
under limits on address space, processes, file size and open files (util-linux's prlimit).

bubblewrap was chosen because it is a small, well-kept, unprivileged tool packaged by Debian,
needs no daemon or image (unlike Docker, which Otter-Grader uses), and starts in
milliseconds, so it can wrap every kernel that nbgrader starts, unchanged otherwise.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Integer, List, Unicode

# Each sandboxed kernel gets its own user and group id from this range (no account has them):
# the process limit is counted per user, and kernels grading side by side must not share it.
SANDBOX_IDS = range(2_000_000, 3_000_000)


def fresh_id() -> int:
    return SANDBOX_IDS.start + secrets.randbelow(len(SANDBOX_IDS))
# What the kernel may use. Threads count as processes: ipykernel runs about ten.
LIMITS = {
    "as": 4 * 2**30,       # address space (bytes): a memory bomb gets a MemoryError
    "nproc": 96,           # processes and threads of the sandbox's user: a fork bomb stops
    "fsize": 256 * 2**20,  # the largest file it can write (in its /tmp), bytes
    "nofile": 512,         # open files
}


class SandboxUnavailable(RuntimeError):
    """bubblewrap or util-linux is missing: grading must not run unsandboxed by accident."""


def tools() -> dict[str, str]:
    found = {name: shutil.which(name) for name in ("bwrap", "setpriv", "prlimit")}
    missing = [name for name, path in found.items() if not path]
    if missing:
        raise SandboxUnavailable(
            f"the grading sandbox needs {', '.join(missing)} (Debian: apt-get install bubblewrap "
            "util-linux). Install them, or grade unsandboxed on purpose with "
            "`--GradingExecute.sandbox=False` (never for students' submissions)")
    return found


def system_paths() -> list[str]:
    """Read-only system folders a Python program needs (a /lib that is a symlink stays one)."""
    return [p for p in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32")
            if os.path.lexists(p)]


def python_paths() -> list[str]:
    """The interpreter's installation and the virtual environment it runs in."""
    paths = {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent.parent)}
    return sorted(p for p in paths if not any(p.startswith(s + "/") for s in ("/usr",)))


def command(argv: list[str], *, readable: list[str], writable: list[str], cwd: str,
            limits: dict[str, int] = LIMITS, user: int | None = None) -> list[str]:
    """`argv` wrapped in the sandbox: bwrap, then (as root) setpriv to `user` (a fresh id if
    None), then prlimit."""
    found = tools()
    root = os.geteuid() == 0
    wrapped = [found["bwrap"], "--die-with-parent", "--new-session", "--unshare-pid",
               "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    # As root, setpriv below drops to another user (a user namespace would allow no other);
    # otherwise bwrap makes a user namespace, and the kernel keeps no capabilities in it.
    wrapped += [] if root else ["--unshare-user", "--cap-drop", "ALL"]
    wrapped += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    # In its own process namespace the kernel's parent is pid 1, which ipykernel's watch of
    # the grader's pid takes for "the grader has gone". Parent 1 switches that watch off
    # (--die-with-parent does its job here) and keeps the kernel's start-up banner quiet.
    wrapped += ["--setenv", "JPY_PARENT_PID", "1"]
    for path in system_paths():
        if os.path.islink(path):
            wrapped += ["--symlink", os.readlink(path), path]
        else:
            wrapped += ["--ro-bind", path, path]
    readable = list(dict.fromkeys(python_paths() + readable + [cwd]))
    for folder in ancestors(readable + writable):  # bwrap would make them private (0700)
        wrapped += ["--perms", "0755", "--dir", folder]
    for path in readable:
        wrapped += ["--ro-bind", path, path]
    for path in writable:
        wrapped += ["--bind", path, path]
    wrapped += ["--chdir", cwd, "--"]
    if root:
        user = fresh_id() if user is None else user
        wrapped += [found["setpriv"], f"--reuid={user}", f"--regid={user}",
                    "--clear-groups", "--inh-caps=-all", "--no-new-privs", "--"]
    wrapped += [found["prlimit"], *(f"--{name}={value}" for name, value in limits.items()), "--"]
    return wrapped + list(argv)


def ancestors(paths: list[str]) -> list[str]:
    """The folders above `paths` (not / and not the system's), shallowest first."""
    found = {str(parent) for path in paths for parent in Path(path).parents}
    skip = {"/", "/tmp", *system_paths()}
    return sorted((f for f in found if f not in skip), key=lambda f: (f.count("/"), f))


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in the sandbox, talking over Unix sockets.

    TCP would need the network, which the sandbox does not have; the sockets and the
    connection file live in `runtime`, the one folder the kernel can write besides /tmp.
    """

    runtime = Unicode(help="a private folder for the connection file and the sockets")
    readable = List(Unicode(), help="folders the kernel may read (besides Python and the system)")
    cwd = Unicode(help="the kernel's working folder (read-only)")
    limits = Dict(default_value=LIMITS, help="prlimit's limits").tag(config=True)
    nproc_headroom = Integer(96, help="processes allowed beyond those the user already has, "
                                      "when the grader is not root").tag(config=True)

    async def _async_signal_kernel(self, signum: int) -> None:
        """Signal the kernel itself: bwrap would not pass the interrupt on (the kernel runs in
        a session of its own, so that it cannot reach the grader's terminal)."""
        launched = getattr(self.provisioner, "pid", None)
        kernel = kernel_pid(launched) if launched else None
        if kernel is None:
            return await super()._async_signal_kernel(signum)
        os.kill(kernel, signum)

    def format_kernel_cmd(self, extra_arguments=None):
        argv = super().format_kernel_cmd(extra_arguments)
        limits = dict(self.limits)
        user = None
        if os.geteuid() == 0:  # the kernel runs as a user of its own: let it read its files
            user = fresh_id()
            for path in [self.runtime, *Path(self.runtime).iterdir()]:
                os.chown(path, user, user)
        else:  # the same user: count the processes it already runs
            limits["nproc"] = running_processes(os.getuid()) + self.nproc_headroom
        return command(argv, readable=list(self.readable), writable=[self.runtime],
                       cwd=self.cwd, limits=limits, user=user)


def running_processes(uid: int) -> int:
    """How many tasks (processes and threads) the user runs now."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(list((entry / "task").iterdir()))
            except OSError:
                pass
    return count


def children() -> dict[int, list[int]]:
    """pid -> its child processes, read from /proc."""
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            if state != "Z":  # a zombie has ended already; its parent just has not noticed
                found.setdefault(int(parent), []).append(int(entry.name))
    return found


def kernel_pid(launched: int, tree: dict[int, list[int]] | None = None) -> int | None:
    """The kernel's pid: the shallowest Python running ipykernel under `launched` (bwrap, or
    the kernel itself when there is no sandbox)."""
    tree = children() if tree is None else tree
    level = [launched]
    while level:
        kernel = next((pid for pid in level if _is_kernel(_cmdline(pid))), None)
        if kernel:
            return kernel
        level = [child for pid in level for child in tree.get(pid, [])]
    return None


def kill_strays(launched: int, kernel: int) -> int:
    """Kill every process under `launched` but `kernel` and the sandbox's own: a cell's
    processes must not outlive it (a fork bomb's copies of the kernel would answer the
    grader's next request, and orphans move up to the sandbox's first process). Passes are
    repeated until none is left, as a fork bomb's copies may fork while they are killed.
    Returns how many were killed."""
    killed = 0
    for _ in range(50):
        tree = children()
        keep, parent_of = {kernel}, {c: p for p, cs in tree.items() for c in cs}
        pid = kernel
        while pid != launched and pid in parent_of:  # the chain from bwrap down to the kernel
            pid = parent_of[pid]
            keep.add(pid)
        strays, stack = [], list(tree.get(launched, []))
        while stack:
            pid = stack.pop()
            if pid not in keep:
                strays.append(pid)
            stack += tree.get(pid, [])
        if not strays:
            return killed
        for pid in strays:
            try:
                os.kill(pid, 9)
                killed += 1
            except OSError:
                pass
    return killed


def _is_kernel(cmdline: bytes) -> bool:
    """Python running ipykernel (not bwrap, setpriv or prlimit, whose arguments name it too)."""
    program = cmdline.split(b"\0", 1)[0]
    return os.path.basename(program).startswith(b"python") and b"ipykernel" in cmdline


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
