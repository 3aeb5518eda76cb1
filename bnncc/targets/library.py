"""The library layout (`bnncc compile --layout library`): the model and runtime in src/, plus the
manifests that let a vendor project take it in as a library. The vendor project (STM32CubeIDE,
Zephyr, the Pico SDK, Arduino, PlatformIO) supplies startup code, clocks and the linker script.

    CMakeLists.txt             add_subdirectory() -> a static library NAME with its include path
    cmake/arm-none-eabi.cmake  toolchain file with the core's flags, to build the folder on its own
    library.properties, src/   Arduino library
    library.json               PlatformIO library
    zephyr/                    Zephyr module (module.yml, CMakeLists.txt, Kconfig)
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from bnncc import __version__
from bnncc.resources import templates_dir
from bnncc.targets.targets import get_target

SOURCE_DIR = "src"
LAYOUTS = ("project", "library")
_FILES = {
    "CMakeLists.txt.j2": "CMakeLists.txt",
    "library.properties.j2": "library.properties",
    "library.json.j2": "library.json",
    "zephyr/module.yml.j2": "zephyr/module.yml",
    "zephyr/CMakeLists.txt.j2": "zephyr/CMakeLists.txt",
    "zephyr/Kconfig.j2": "zephyr/Kconfig",
}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "library")),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def kconfig_symbol(name: str) -> str:
    return f"BNNCC_{name.upper()}"


def write_library_files(out_dir: Path, name: str, target: str = "host") -> list[Path]:
    """Write the library manifests into out_dir (whose src/ holds the model); returns them."""
    tgt = get_target(target)
    context = {"name": name, "NAME": name.upper(), "KCONFIG": kconfig_symbol(name), "version": __version__,
               "target": tgt, "description": "any core" if tgt.is_host else tgt.description}
    env = _environment()
    written = []
    files = dict(_FILES)
    if not tgt.is_host:
        files["toolchain.cmake.j2"] = "cmake/arm-none-eabi.cmake"
    for template, filename in files.items():
        path = Path(out_dir) / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(template).render(**context))
        written.append(path)
    return written
