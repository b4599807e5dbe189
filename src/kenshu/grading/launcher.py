"""Start a grading kernel inside its limits: ``python -m kenshu.grading.launcher [options] -- KERNEL_CMD``.

``ContainedKernelManager`` puts this module in front of the kernel command, so
the kernel process itself (not the grader) gets the limits. In order:

1. Resource limits. Memory is limited with ``RLIMIT_DATA`` (heap and
   private writable mappings), so numpy and torch raise ``MemoryError`` near
   the limit. An address-space limit (``RLIMIT_AS``) would also count the
   large virtual reservations of torch and OpenBLAS: measured here with
   torch 2.13, a 1 GiB ``RLIMIT_AS`` left about 320 MiB usable and a 1 GiB
   ``RLIMIT_DATA`` about 800 MiB. Also limited: the size of any file written,
   the number of processes of the kernel's user, and core dumps (none).
2. When started as root and given ``--uid``: a private mount namespace in
   which the given folders (the course's nbgrader root with the gradebook and
   source notebooks, the exchange, the other trainees' scratch folders) are
   covered by empty tmpfs mounts, and only the kernel's working folder, the
   Python installation and the course data are mounted back. Then the
   kernel's working folder is given to ``--uid``, the connection file is
   copied there, and the process drops to that uid with no supplementary
   groups and ``no_new_privs`` (setuid programs such as ``su`` stop working).
3. The kernel's environment: the number of threads numerical libraries
   may start (so parallel workers do not oversubscribe the cores), and a
   copy of the grader's matplotlib font cache in the kernel's private
   configuration folder, so no kernel spends a second rebuilding it.
4. ``exec`` of the kernel command, so the kernel keeps this process id, which
   is written to ``--pid-file`` for the grader to kill on a hard timeout.

If the mount namespace cannot be made (no CAP_SYS_ADMIN), file permissions
alone keep the kernel out: the grader makes the nbgrader root 0700.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import resource
import shutil
import stat
import sys
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode(), target.encode(), fstype.encode() if fstype else None, flags, data.encode() if data else None
        ),
        f"mount {source} on {target}",
    )


def _traversable_by(path: Path, uid: int) -> bool:
    info = path.stat()
    return info.st_uid == uid or bool(info.st_mode & stat.S_IXOTH)


def _blocking_ancestor(path: Path, uid: int) -> Path | None:
    """Return the outermost folder above *path* that *uid* cannot enter, or None."""
    for ancestor in reversed(path.parents):
        if not _traversable_by(ancestor, uid):
            return ancestor
    return None


def isolate_mounts(*, hide: list[Path], expose: list[Path], uid: int) -> None:
    """Cover *hide* with empty tmpfs mounts in a new mount namespace, keeping *expose* reachable for *uid*."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)

    # Hold each exposed folder by a file descriptor: once its parent is covered,
    # /proc/self/fd/N still reaches it as the source of a bind mount.
    exposed = [path for path in dict.fromkeys(expose) if path.is_dir()]
    handles = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in exposed}

    covers = {path for path in hide if path.is_dir()}
    for path in exposed:
        ancestor = _blocking_ancestor(path, uid)
        if ancestor is not None:
            covers.add(ancestor)
    # A cover inside another cover is already hidden by the outer one.
    outer = [path for path in covers if not any(other != path and other in path.parents for other in covers)]
    for path in sorted(outer, key=lambda item: len(item.parts)):
        _mount("tmpfs", str(path), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")

    for path in sorted(exposed, key=lambda item: len(item.parts)):
        path.mkdir(parents=True, exist_ok=True)
        _mount(f"/proc/self/fd/{handles[path]}", str(path), None, MS_BIND | MS_REC)
        os.close(handles[path])


def _give_to(folder: Path, uid: int) -> None:
    for root, directories, files in os.walk(folder):
        os.chown(root, uid, uid)
        for name in directories + files:
            os.lchown(os.path.join(root, name), uid, uid)


def _move_connection_file(command: list[str], folder: Path, uid: int) -> list[str]:
    """Copy the kernel's connection file (``-f PATH``) into *folder* for *uid*; return the new command."""
    command = list(command)
    for index, argument in enumerate(command[:-1]):
        if argument == "-f":
            copy = folder / ".kernel-connection.json"
            shutil.copyfile(command[index + 1], copy)
            os.chown(copy, uid, uid)
            os.chmod(copy, 0o600)
            command[index + 1] = str(copy)
    return command


# Variables that size the thread pools of OpenMP, OpenBLAS, MKL and numexpr (torch reads OMP_NUM_THREADS).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _seed_matplotlib_cache(cache: Path, config_dir: Path) -> None:
    """Copy matplotlib's font list from *cache* into *config_dir*, where the kernel's matplotlib looks first."""
    config_dir.mkdir(parents=True, exist_ok=True)
    for font_list in cache.glob("fontlist-*.json"):
        shutil.copyfile(font_list, config_dir / font_list.name)


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: python -m kenshu.grading.launcher [options] -- KERNEL_CMD")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="kenshu.grading.launcher")
    parser.add_argument("--memory-bytes", type=int, default=0)
    parser.add_argument("--file-bytes", type=int, default=0)
    parser.add_argument("--max-processes", type=int, default=0)
    parser.add_argument("--uid", type=int, default=-1)
    parser.add_argument("--pid-file", type=Path)
    parser.add_argument("--hide", type=Path, action="append", default=[])
    parser.add_argument("--expose", type=Path, action="append", default=[])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--matplotlib-cache", type=Path)
    return parser.parse_args(argv[:split]), argv[split + 1 :]


def main(argv: list[str] | None = None) -> None:
    """Apply the limits given on the command line and exec the kernel command."""
    options, command = _parse(sys.argv[1:] if argv is None else argv)
    workdir = Path.cwd()

    # 1. Resource limits, inherited through exec.
    # NOTE: RLIMIT_DATA is per process, so a kernel that starts child processes gets the limit
    # once per child; RLIMIT_NPROC bounds their number only when the kernel runs as its own uid.
    if options.memory_bytes:
        resource.setrlimit(resource.RLIMIT_DATA, (options.memory_bytes, options.memory_bytes))
    if options.file_bytes:
        resource.setrlimit(resource.RLIMIT_FSIZE, (options.file_bytes, options.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    if options.pid_file is not None:
        with open(options.pid_file, "a", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")

    # 2. Hide the instructor's files and drop root.
    if options.uid >= 0 and os.geteuid() == 0:
        # Seeded before the mounts, which may cover the folder the cache comes from.
        if options.matplotlib_cache is not None:
            _seed_matplotlib_cache(options.matplotlib_cache, workdir / ".config" / "matplotlib")
        try:
            isolate_mounts(hide=options.hide, expose=[workdir, *options.expose], uid=options.uid)
        except OSError as error:
            print(f"kenshu launcher: no mount namespace ({error}); relying on file permissions", file=sys.stderr)
        os.chdir(workdir)
        _give_to(workdir, options.uid)
        command = _move_connection_file(command, workdir, options.uid)
        if options.max_processes:
            resource.setrlimit(resource.RLIMIT_NPROC, (options.max_processes, options.max_processes))
        os.environ.update(
            HOME=str(workdir),
            USER=f"kenshu-sandbox-{options.uid}",
            LOGNAME=f"kenshu-sandbox-{options.uid}",
            MPLCONFIGDIR=str(workdir / ".config" / "matplotlib"),
            IPYTHONDIR=str(workdir / ".ipython"),
            JUPYTER_RUNTIME_DIR=str(workdir / ".jupyter-runtime"),
        )
        os.setgroups([])
        os.setgid(options.uid)
        os.setuid(options.uid)
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")

    # 3. Thread pools sized by the grader; the trainee's code may still change them.
    if options.threads > 0:
        os.environ.update({name: str(options.threads) for name in THREAD_VARIABLES})

    # 4. Become the kernel.
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
