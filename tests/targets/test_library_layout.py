"""`bnncc compile --layout library`: each library layout (CMake, Arduino, PlatformIO, Zephyr) builds
from a clean folder with arm-none-eabi-gcc for its board's core, warning-free."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bnncc.targets import get_target
from bnncc.targets.boards import get_board

ROOT = Path(__file__).resolve().parents[2]
CNN = ROOT / "examples" / "digits" / "cnn.onnx"
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]

needs_arm_gcc = pytest.mark.usefixtures("arm_gcc")  # fails (naming the package) if it is missing


def _library(tmp_path: Path, board: str) -> Path:
    built = tmp_path / "made"
    result = subprocess.run([sys.executable, "-m", "bnncc.cli", "compile", str(CNN), "-o", str(built),
                             "--board", board, "--layout", "library"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    clean = tmp_path / "clean" / "cnn"  # a clean folder: only what bnncc wrote, copied elsewhere
    shutil.copytree(built, clean)
    return clean


def _compile_sources(sources: list[Path], flags: list[str], include: Path, obj_dir: Path) -> None:
    obj_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["arm-none-eabi-gcc", *flags, *STRICT, "-O2", f"-I{include}", "-c",
                           *map(str, sources)], cwd=obj_dir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # warning-free
    assert len(list(obj_dir.glob("*.o"))) == len(sources)


def test_library_layout_files(tmp_path):
    lib = _library(tmp_path, "pico")
    names = {str(p.relative_to(lib)) for p in lib.rglob("*") if p.is_file()}
    assert {"CMakeLists.txt", "cmake/arm-none-eabi.cmake", "library.properties", "library.json",
            "zephyr/module.yml", "zephyr/CMakeLists.txt", "zephyr/Kconfig", "src/cnn.h", "src/cnn.c"} <= names
    assert not {"main.c", "startup.c", "linker.ld", "Makefile"} & names  # the vendor project owns those
    assert all(n.startswith("src/") for n in names if n.endswith((".c", ".h")))


def test_sdk_board_defaults_to_the_library_layout(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "bnncc.cli", "compile", str(CNN), "-o", str(out),
                             "--board", "pico"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (out / "src" / "cnn.c").is_file() and (out / "CMakeLists.txt").is_file()
    result = subprocess.run([sys.executable, "-m", "bnncc.cli", "compile", str(CNN), "-o", str(tmp_path / "p"),
                             "--board", "pico", "--layout", "project"], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 2 and "use --layout library" in result.stderr


@needs_arm_gcc
@pytest.mark.usefixtures("cmake_tool")
def test_cmake_subdirectory_library_builds_for_the_pico_core(tmp_path):
    lib = _library(tmp_path, "pico")
    app = lib.parent
    (app / "app.c").write_text(
        '#include "cnn.h"\n'
        "static float in[CNN_INPUT_SIZE], out[CNN_OUTPUT_SIZE];\n"
        "int app_infer(void);\n"
        "int app_infer(void) { return cnn_run(in, out); }\n")
    (app / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C)\n"
        "add_compile_options(-Wall -Wextra -Werror -pedantic)\n"
        "add_subdirectory(cnn)\nadd_library(app STATIC app.c)\n"
        "target_link_libraries(app PRIVATE cnn)\n")
    build = tmp_path / "build"
    configure = subprocess.run(
        ["cmake", "-S", str(app), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={lib / 'cmake' / 'arm-none-eabi.cmake'}",
         "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"],
        capture_output=True, text=True, timeout=300)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    made = subprocess.run(["cmake", "--build", str(build)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "warning" not in made.stdout + made.stderr
    assert (build / "cnn" / "libcnn.a").is_file() and (build / "libapp.a").is_file()
    commands = json.loads((build / "compile_commands.json").read_text())
    model = next(c["command"] for c in commands if c["file"].endswith("cnn.c") and "/src/" in c["file"])
    assert "-mcpu=cortex-m0plus" in model and "-ffp-contract=off" in model and "-std=c99" in model
    assert "-Werror" in model and "-pedantic" in model


@needs_arm_gcc
def test_arduino_library_builds_for_the_samd51_core(tmp_path):
    lib = _library(tmp_path, "adafruit-m4")
    props = dict(line.split("=", 1) for line in (lib / "library.properties").read_text().splitlines() if "=" in line)
    assert props["name"] == "cnn" and props["includes"] == "cnn.h" and props["architectures"] == "*"
    # Arduino compiles every .c under src/ with the include path src/.
    sources = sorted((lib / "src").rglob("*.c"))
    _compile_sources(sources, [*get_target("cortex-m4").cflags, "-ffp-contract=off"], lib / "src", tmp_path / "obj")


@needs_arm_gcc
def test_platformio_library_builds_for_the_nrf52840_core(tmp_path):
    lib = _library(tmp_path, "nrf52840-dk")
    manifest = json.loads((lib / "library.json").read_text())
    assert manifest["name"] == "cnn"
    build = manifest["build"]
    assert "-ffp-contract=off" in build["flags"]
    sources = sorted((lib / build["srcDir"]).glob("*.c"))
    _compile_sources(sources, [*get_target(get_board("nrf52840-dk").target).cflags,
                               *build["flags"]], lib / build["includeDir"], tmp_path / "obj")


@needs_arm_gcc
def test_zephyr_module_builds_for_the_h743_core(tmp_path):
    lib = _library(tmp_path, "nucleo-h743zi")
    module = (lib / "zephyr" / "module.yml").read_text()
    assert re.search(r"^build:\n  cmake: zephyr\n  kconfig: zephyr/Kconfig$", module, re.MULTILINE)
    kconfig = (lib / "zephyr" / "Kconfig").read_text()
    symbol = re.search(r"^config (\w+)$", kconfig, re.MULTILINE).group(1)
    cmake = (lib / "zephyr" / "CMakeLists.txt").read_text()
    assert f"if(CONFIG_{symbol})" in cmake and "zephyr_library_named(cnn)" in cmake
    flags = re.search(r"zephyr_library_compile_options\(([^)]*)\)", cmake).group(1).split()
    assert "-ffp-contract=off" in flags
    sources = sorted((lib / "src").glob("*.c"))  # zephyr_library_sources(../src/*.c)
    _compile_sources(sources, [*get_target("cortex-m7").cflags, *flags], lib / "src", tmp_path / "obj")
