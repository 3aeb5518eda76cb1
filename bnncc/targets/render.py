"""Render the target templates (templates/target/) for one model and machine."""

from __future__ import annotations

from pathlib import Path

import jinja2

from bnncc.resources import templates_dir
from bnncc.targets.targets import Machine, Target

# Files copied verbatim (no template variables).
STATIC_FILES = ("bnn_target_io.h", "bnn_semihost.c", "bnn_host_io.c")
# C files write_project_files() may add to a model folder; harness builds leave them out.
PROJECT_C_FILES = frozenset({"main.c", "startup.c", "bnn_semihost.c", "bnn_host_io.c"})


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "target")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, **context) -> str:
    return _environment().get_template(template).render(**context)


def template_text(filename: str) -> str:
    return (templates_dir() / "target" / filename).read_text()


def write_rendered(path: Path, template: str, **context) -> Path:
    path.write_text(render(template, **context))
    return path


def target_context(name: str, target: Target, machine: Machine | None) -> dict:
    """Variables every target template may use."""
    return {
        "name": name,
        "NAME": name.upper(),
        "target": target,
        "machine": machine,
        "description": target.description,
        "stack_bytes": machine.stack_bytes if machine is not None else 0,
    }
