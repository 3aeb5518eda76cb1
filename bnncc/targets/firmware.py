"""Build a model folder plus a harness into an ELF for one target (or a host executable)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bnncc.errors import BnnccError
from bnncc.targets.render import PROJECT_C_FILES, STATIC_FILES, target_context, template_text, write_rendered
from bnncc.targets.targets import Machine, Target

ARM_GCC = "arm-none-eabi-gcc"
HOST_CC = "cc"
QEMU = "qemu-system-arm"
# The generated model must stay C99; harness files use inline assembly (GNU C).
# The generated model and runtime promise warning-free C99: every build holds them to it.
# -ffp-contract=off: no FMA contraction in float code (gnu modes and clang would fuse a*b+c).
MODEL_CFLAGS = ("-std=c99", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffunction-sections", "-fdata-sections")
HARNESS_CFLAGS = ("-std=gnu99", "-ffp-contract=off", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections")
# newlib-nano for the odd memcpy/libm call; nosys stubs because I/O goes through bnn_semihost.c.
ARM_LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections")
# Machines with at most this much RAM get all free RAM as stack (the microbit's 16 KiB).
SMALL_RAM_BYTES = 64 * 1024


@dataclass(frozen=True)
class Firmware:
    elf: Path
    map_file: Path | None
    machine: Machine | None  # None for the host
    build_dir: Path
    model_objects: tuple[str, ...]  # object file names built from the model folder


def tool_missing(tool: str) -> bool:
    return shutil.which(tool) is None


def model_sources(model_dir: Path) -> list[Path]:
    """The model's C files: everything but the build files write_project_files() adds."""
    sources = sorted(p for p in Path(model_dir).glob("*.c") if p.name not in PROJECT_C_FILES)
    if not sources:
        raise BnnccError(f"no C sources in {model_dir}")
    return sources


def _run(cmd: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise BnnccError(f"{cmd[0]} not found; install it to {what}") from None
    if done.returncode != 0:
        raise BnnccError(f"{what} failed:\n{' '.join(cmd)}\n{done.stderr.strip()}")
    return done


def _write_harness(build_dir: Path, name: str, target: Target, machine: Machine | None) -> list[Path]:
    """Render the harness sources into build_dir; returns the .c files to compile."""
    context = target_context(name, target, machine)
    for filename in STATIC_FILES:
        (build_dir / filename).write_text(template_text(filename))
    sources = [write_rendered(build_dir / "bnnh_main.c", "harness_main.c.j2", **context)]
    if target.is_host:
        sources.append(build_dir / "bnn_host_io.c")
    else:
        sources.append(write_rendered(build_dir / "bnnh_startup.c", "startup.c.j2", **context))
        sources.append(build_dir / "bnn_semihost.c")
    return sources


def _compile(
    compiler: str, flags: list[str], sources: list[Path], include_dirs: list[Path], obj_dir: Path
) -> list[Path]:
    obj_dir.mkdir(parents=True, exist_ok=True)
    includes = [f"-I{d}" for d in include_dirs]
    _run([compiler, *flags, *includes, "-c", *map(str, sources)], obj_dir, f"compiling with {compiler}")
    return [obj_dir / (s.stem + ".o") for s in sources]


def build_firmware(
    model_dir: Path,
    name: str,
    target: Target,
    build_dir: Path,
    *,
    opt: str = "-O2",
    defines: tuple[str, ...] = (),
    machines: tuple[Machine, ...] | None = None,
) -> Firmware:
    """Compile model_dir/*.c with the harness for target; tries the target's machines (or the
    given ones, e.g. a board's) in order and keeps the first whose flash and RAM the firmware fits
    (the linker checks the regions)."""
    model_dir = Path(model_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = model_sources(model_dir)
    defs = [f"-D{d}" for d in defines]
    if target.is_host:
        harness = _write_harness(build_dir, name, target, None)
        exe = build_dir / "bnn_host.exe"
        cmd = [HOST_CC, opt, *HARNESS_CFLAGS, *defs, f"-I{model_dir}", f"-I{build_dir}",
               *map(str, sources), *map(str, harness), "-lm", "-o", str(exe)]
        _run(cmd, build_dir, "building the host harness")
        return Firmware(exe, None, None, build_dir, tuple(s.stem + ".o" for s in sources))

    # Model objects do not depend on the machine: compile once.
    model_objs = _compile(ARM_GCC, [*target.cflags, opt, *MODEL_CFLAGS, *defs], sources,
                          [model_dir], build_dir / "model_obj")
    errors = []
    for machine in (target.machines if machines is None else machines):
        mdir = build_dir / machine.label
        mdir.mkdir(exist_ok=True)
        harness = _write_harness(mdir, name, target, machine)
        harness_objs = _compile(ARM_GCC, [*target.cflags, opt, *HARNESS_CFLAGS, *defs], harness,
                                [model_dir, mdir], mdir / "obj")
        objects = [*model_objs, *harness_objs]
        done = _link(target, machine, opt, objects, mdir, machine.stack_bytes)
        if done.returncode == 0:
            if machine.ram_bytes <= SMALL_RAM_BYTES and machine.stack_origin is None:
                _grow_stack(target, machine, opt, objects, mdir)
            return Firmware(mdir / "firmware.elf", mdir / "firmware.map", machine, mdir,
                            tuple(o.name for o in model_objs))
        if "overflow" not in done.stderr:
            raise BnnccError(f"linking firmware for {target.name} failed:\n{done.stderr.strip()}")
        errors.append(f"{machine.label}: {done.stderr.strip()}")
    where = f"board {machines[0].label}" if machines else f"any emulated machine of {target.name}"
    raise BnnccError(f"model '{name}' does not fit {where}:\n" + "\n".join(errors))


def _link(target: Target, machine: Machine, opt: str, objects: list[Path], mdir: Path,
          stack_bytes: int) -> subprocess.CompletedProcess:
    context = target_context("", target, machine)
    context["stack_bytes"] = stack_bytes
    write_rendered(mdir / "bnnh_linker.ld", "linker.ld.j2", **context)
    cmd = [ARM_GCC, *target.cflags, opt, *ARM_LDFLAGS, f"-T{mdir / 'bnnh_linker.ld'}",
           f"-Wl,-Map={mdir / 'firmware.map'}", *map(str, objects), "-lm",
           "-o", str(mdir / "firmware.elf")]
    return subprocess.run(cmd, cwd=mdir, capture_output=True, text=True, timeout=300)


def _grow_stack(target: Target, machine: Machine, opt: str, objects: list[Path], mdir: Path) -> None:
    """On a small-RAM machine give the stack everything .data/.bss leave free (relink once)."""
    from bnncc.targets.sizes import elf_sizes

    free = machine.ram_bytes - elf_sizes(mdir / "firmware.elf").ram
    stack = free - free % 8
    if stack > machine.stack_bytes:
        done = _link(target, machine, opt, objects, mdir, stack)
        if done.returncode != 0:
            raise BnnccError(f"relinking with a {stack} B stack failed:\n{done.stderr.strip()}")
