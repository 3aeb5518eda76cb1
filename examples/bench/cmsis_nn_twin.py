"""Instructions per inference of the CMSIS-NN int8 twin of a bench model, beside bnncc's.

    python examples/bench/cmsis_nn_twin.py --cmsis-nn PATH [--models conv64,cnn,vgg_small] [--cores cortex-m4,cortex-m55]

PATH is a CMSIS-NN checkout (github.com/ARM-software/CMSIS-NN; it is not vendored here). The twin has
the same layers as the model, in int8 with random weights: every conv is arm_convolve_wrapper_s8
(3x3, stride 1, pad 1, per-channel requantization, ReLU as the output clamp), every max-pool
arm_max_pool_s8 (2x2, stride 2), every dense arm_fully_connected_s8. CMSIS-NN is compiled from PATH
with arm-none-eabi-gcc -O2 -mcpu=CORE (its DSP path on the M4, its Helium path on the M55). The
weights are filled from a fixed-seed generator before the measurement starts (CMSIS-NN's speed does
not depend on their values), in RAM, so that the VGG-small's 3.25 MB fit the emulated boards (the
M55 board's DDR). The inference is counted between two marks by the same QEMU plugin as `bnncc
bench`: exact guest instructions, not cycles. bnncc's figure is its whole inference at -O2 (float
input packed, output unpacked), from cortex_m_table.py.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STARTUP = REPO / "tests" / "runtime" / "c" / "qemu" / "startup.c"

# core -> (QEMU machine, float flags, code, code size, RAM, RAM size, big RAM for weights, size)
CORES = {
    "cortex-m0plus": ("mps2-an385", [], "0x00000000", "4M", "0x20000000", "512K", "0x20080000", "3584K"),
    "cortex-m4": ("mps2-an386", ["-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"], "0x00000000", "4M",
                  "0x20000000", "512K", "0x20080000", "3584K"),
    "cortex-m55": ("mps3-an547", ["-mfloat-abi=hard", "-mfpu=auto"], "0x10000000", "512K",
                   "0x30000000", "512K", "0x60000000", "16M"),
}
# CMSIS-NN sources the twin needs (the integer files of these folders; the linker keeps what is called)
SOURCE_DIRS = ["ConvolutionFunctions", "PoolingFunctions", "FullyConnectedFunctions", "NNSupportFunctions"]

# (kind, ...): conv (c_in, c_out, h, w), 3x3 pad 1; pool (c, h, w), 2x2 stride 2; fc (n_in, n_out)
ARCHITECTURES = {
    "conv64": [("conv", 64, 64, 16, 16)],
    "cnn": [("conv", 1, 32, 8, 8), ("conv", 32, 64, 8, 8), ("pool", 64, 8, 8), ("conv", 64, 64, 4, 4),
            ("pool", 64, 4, 4), ("fc", 256, 10)],
    "vgg_small": [("conv", 3, 64, 32, 32), ("conv", 64, 64, 32, 32), ("pool", 64, 32, 32),
                  ("conv", 64, 128, 16, 16), ("conv", 128, 128, 16, 16), ("pool", 128, 16, 16),
                  ("conv", 128, 256, 8, 8), ("conv", 256, 256, 8, 8), ("pool", 256, 8, 8),
                  ("fc", 4096, 512), ("fc", 512, 10)],
}

LINKER = """MEMORY {{ FLASH (rx) : ORIGIN = {code}, LENGTH = {code_len}
         RAM (rwx) : ORIGIN = {ram}, LENGTH = {ram_len}
         BIG (rw) : ORIGIN = {big}, LENGTH = {big_len} }}
_estack = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS {{
  .text : {{ KEEP(*(.isr_vector)) *(.text*) *(.rodata*) . = ALIGN(4); }} > FLASH
  .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
  _sidata = LOADADDR(.data);
  .data : {{ _sdata = .; *(.data*) . = ALIGN(4); _edata = .; }} > RAM AT > FLASH
  .bss : {{ _sbss = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; }} > RAM
  .big (NOLOAD) : {{ *(.big*) }} > BIG
  end = .; _end = .; __end__ = .;
}}
"""


def layer_sizes(arch: list[tuple]) -> tuple[int, int, int]:
    """(largest activation bytes, total weight bytes, total bias words) of an architecture."""
    act, weights, bias = 0, 0, 0
    for layer in arch:
        if layer[0] == "conv":
            _, c_in, c_out, h, w = layer
            act = max(act, c_in * h * w, c_out * h * w)
            weights += 9 * c_in * c_out
            bias += c_out
        elif layer[0] == "pool":
            act = max(act, layer[1] * layer[2] * layer[3])
        else:
            act = max(act, layer[1], layer[2])
            weights += layer[1] * layer[2]
            bias += layer[2]
    return act, weights, bias


def harness_source(arch: list[tuple]) -> str:
    """C of the int8 twin: random weights, then the inference between two marks."""
    act, weights, bias = layer_sizes(arch)
    lines = [
        "#include <stdio.h>",
        "#include \"arm_nnfunctions.h\"",
        f"static int8_t g_act[2][{act}];",
        f"static int8_t g_weights[{weights}] __attribute__((section(\".big\")));",
        f"static int32_t g_bias[{bias}];",
        f"static int32_t g_mult[{max(bias, 1)}], g_shift[{max(bias, 1)}];",
        "static int8_t g_buf[32768] __attribute__((aligned(16)));",
        "static uint32_t g_seed = 12345u;",
        "static uint32_t rnd(void) { g_seed = g_seed * 1664525u + 1013904223u; return g_seed >> 8; }",
        "__attribute__((noinline)) void bench_mark(void) { __asm__ volatile(\"\" ::: \"memory\"); }",
        "static int g_fail;",
        "static void check(arm_cmsis_nn_status s) { if (s != ARM_CMSIS_NN_SUCCESS) { g_fail = 1; } }",
        "static void run(void) {",
        "    cmsis_nn_context ctx = {g_buf, sizeof g_buf};",
        "    cmsis_nn_activation relu = {-128, 127};",
        "    const int8_t *w = g_weights; const int32_t *b = g_bias; int32_t *m = g_mult, *s = g_shift;",
        "    int src = 0;",
    ]
    for layer in arch:
        kind = layer[0]
        lines.append("    {")
        if kind == "conv":
            _, c_in, c_out, h, w = layer
            lines += [
                f"        cmsis_nn_conv_params p = {{128, -128, {{1, 1}}, {{1, 1}}, {{1, 1}}, {{-128, 127}}}};",
                "        cmsis_nn_per_channel_quant_params q = {m, s};",
                f"        cmsis_nn_dims in = {{1, {h}, {w}, {c_in}}}, f = {{{c_out}, 3, 3, {c_in}}};",
                f"        cmsis_nn_dims bd = {{1, 1, 1, {c_out}}}, out = {{1, {h}, {w}, {c_out}}};",
                "        if (arm_convolve_wrapper_s8_get_buffer_size(&p, &in, &f, &out) > (int32_t)sizeof g_buf) g_fail = 2;",
                "        check(arm_convolve_wrapper_s8(&ctx, &p, &q, &in, g_act[src], &f, w, &bd, b, &out, g_act[1 - src]));",
                f"        w += {9 * c_in * c_out}; b += {c_out}; m += {c_out}; s += {c_out};",
            ]
        elif kind == "pool":
            _, c, h, w = layer
            lines += [
                "        cmsis_nn_pool_params p = {{2, 2}, {0, 0}, {-128, 127}};",
                f"        cmsis_nn_dims in = {{1, {h}, {w}, {c}}}, f = {{1, 2, 2, 1}}, out = {{1, {h // 2}, {w // 2}, {c}}};",
                "        check(arm_max_pool_s8(&ctx, &p, &in, g_act[src], &f, &out, g_act[1 - src]));",
            ]
        else:
            _, n_in, n_out = layer
            lines += [
                "        cmsis_nn_fc_params p = {128, 0, -128, {-128, 127}};",
                "        cmsis_nn_per_tensor_quant_params q = {1288490188, -7};",
                f"        cmsis_nn_dims in = {{1, 1, 1, {n_in}}}, f = {{{n_in}, 1, 1, {n_out}}};",
                f"        cmsis_nn_dims bd = {{1, 1, 1, {n_out}}}, out = {{1, 1, 1, {n_out}}};",
                "        if (arm_fully_connected_s8_get_buffer_size(&f) > (int32_t)sizeof g_buf) g_fail = 2;",
                "        check(arm_fully_connected_s8(&ctx, &p, &q, &in, g_act[src], &f, w, &bd, b, &out, g_act[1 - src]));",
                f"        w += {n_in * n_out}; b += {n_out};",
            ]
        lines += ["        src = 1 - src;", "    }"]
    lines += [
        "    (void)relu; (void)m; (void)s;",
        "}",
        "int main(void) {",
        "    uint32_t i;",
        "    for (i = 0; i < sizeof g_weights; ++i) g_weights[i] = (int8_t)rnd();",
        "    for (i = 0; i < sizeof g_bias / 4; ++i) { g_bias[i] = (int32_t)(rnd() % 2048u) - 1024;",
        "        g_mult[i] = 1073741824 + (int32_t)(rnd() % 1073741824u); g_shift[i] = -8; }",
        "    for (i = 0; i < sizeof g_act[0]; ++i) g_act[0][i] = (int8_t)rnd();",
        "    bench_mark();",
        "    run();",
        "    bench_mark();",
        "    printf(\"cmsis-nn twin: %s\\n\", g_fail ? \"FAILED\" : \"ok\");",
        "    return g_fail;",
        "}",
    ]
    return "\n".join(lines) + "\n"


def build_library(cmsis: Path, core: str, out: Path) -> Path:
    """CMSIS-NN's sources of SOURCE_DIRS compiled for core into a static library."""
    _, fpu = CORES[core][:2]
    lib = out / f"libcmsis-nn-{core}.a"
    if lib.exists():
        return lib
    objs = []
    for folder in SOURCE_DIRS:
        for src in sorted((cmsis / "Source" / folder).glob("*.c")):
            if any(t in src.stem for t in ("_f16", "_f32", "_flt")):  # float kernels: not used
                continue
            obj = out / f"{core}-{src.stem}.o"
            subprocess.run(["arm-none-eabi-gcc", f"-mcpu={core}", "-mthumb", *fpu, "-O2", "-ffunction-sections",
                            "-fdata-sections", "-I", str(cmsis / "Include"), "-c", str(src), "-o", str(obj)],
                           check=True)
            objs.append(str(obj))
    subprocess.run(["arm-none-eabi-ar", "rcs", str(lib), *objs], check=True)
    return lib


def twin_instructions(cmsis: Path, model: str, core: str, work: Path) -> int:
    """Instructions of one int8 inference of model's twin on core (QEMU plugin count)."""
    from bnncc.targets.icount import plugin_args, read_marks, symbol_address

    machine, fpu, code, code_len, ram, ram_len, big, big_len = CORES[core]
    lib = build_library(cmsis, core, work)
    folder = work / f"{model}-{core}"
    folder.mkdir(exist_ok=True)
    (folder / "twin.c").write_text(harness_source(ARCHITECTURES[model]))
    (folder / "link.ld").write_text(LINKER.format(code=code, code_len=code_len, ram=ram, ram_len=ram_len,
                                                  big=big, big_len=big_len))
    elf = folder / "twin.elf"
    subprocess.run(["arm-none-eabi-gcc", f"-mcpu={core}", "-mthumb", *fpu, "-O2", "-I", str(cmsis / "Include"),
                    "--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles", "-Wl,--gc-sections",
                    "-T", str(folder / "link.ld"), str(STARTUP), str(folder / "twin.c"), str(lib), "-lm",
                    "-o", str(elf)], check=True)
    counts = folder / "icount.txt"
    run = subprocess.run(["qemu-system-arm", "-M", machine, "-nographic", "-semihosting-config",
                          "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf),
                          *plugin_args(symbol_address(elf, "bench_mark"), counts)],
                         capture_output=True, text=True, timeout=3600)
    if run.returncode != 0 or "twin: ok" not in run.stdout + run.stderr:
        raise RuntimeError(f"{model} twin on {core} failed ({run.returncode}):\n{run.stdout}{run.stderr}")
    marks, _ = read_marks(counts)
    return marks[1] - marks[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cmsis-nn", required=True, type=Path, help="path of a CMSIS-NN checkout")
    parser.add_argument("--models", default="conv64,cnn,vgg_small")
    parser.add_argument("--cores", default="cortex-m4,cortex-m55")
    parser.add_argument("--no-bnncc", action="store_true", help="only the CMSIS-NN column")
    args = parser.parse_args()
    if not (args.cmsis_nn / "Include" / "arm_nnfunctions.h").exists():
        sys.exit(f"{args.cmsis_nn} is not a CMSIS-NN checkout (no Include/arm_nnfunctions.h)")
    sys.path.insert(0, str(HERE))
    import cortex_m_table

    print("| model | core | bnncc instr / inference | CMSIS-NN int8 instr / inference | bnncc fewer by |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for model in args.models.split(","):
            for core in args.cores.split(","):
                int8 = twin_instructions(args.cmsis_nn, model, core, work)
                if args.no_bnncc:
                    print(f"| {model} | {core} | | {int8:,} | |", flush=True)
                    continue
                ours = cortex_m_table.bench(cortex_m_table.model_path(model, work), core)["total"]["instructions"]
                print(f"| {model} | {core} | {ours:,} | {int8:,} | {int8 / ours:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
