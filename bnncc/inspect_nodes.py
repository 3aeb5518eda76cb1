"""`bnncc inspect --nodes`: the fate of every node of the ONNX file, in file order.

Each node is one of: a layer of its own (binary, bits or float32, with the reason from the lowering), folded
into another layer (a threshold, an affine output or a Pack threshold), a view (no code), part of a
binarizer (the comparison of a Where), a constant evaluated at compile time, or rewritten by a producer-idiom
canonicalization (frontend/canonicalize/). Unnamed nodes are named `<op>_<index in the file>` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

from . import ir
from .frontend.canonicalize import canonicalize
from .frontend.canonicalize.graph_edit import computable_from_constants
from .frontend.fold import fold_constants
from .frontend.importer import import_proto
from .frontend.load import load_model
from .inspect import layer_rows
from .passes import run_pipeline

_VIEW_OPS = {"Flatten", "Reshape", "Identity", "Dropout", "Cast", "Squeeze", "Unsqueeze"}
_COMPARISONS = {"GreaterOrEqual", "Greater", "Less", "LessOrEqual"}


@dataclass(frozen=True)
class NodeFate:
    name: str
    op: str
    kind: str  # binary | bits | float32 | folded | view | binarizer-part | dropped | constant | rewritten
    detail: str


def node_fates(path: str | Path, target: str = "host", fast_real_conv: bool = False) -> tuple[list[NodeFate], ir.Graph]:
    model = load_model(path)
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    original = list(model.graph.node)
    constant = computable_from_constants(model.graph)
    trace: dict[str, str] = {}
    canonical = canonicalize(model, trace)
    _, live = fold_constants(canonical)
    live_names = {n.name for n in live}
    graph = run_pipeline(import_proto(canonical, name=Path(path).stem), target,
                         fast_real_conv=fast_real_conv)
    rows = layer_rows(graph)
    owner: dict[str, tuple[int, ir.Layer]] = {}
    for index, layer in enumerate(graph.nodes):
        for name in layer.source:
            owner.setdefault(name, (index, layer))
    constant_names = {n.name for n in original if all(o in constant for o in n.output)}
    fates = [_integer_cast(node, graph, rows) or _fate(node, owner, rows, live_names, constant_names, trace)
             for node in original]
    return [_with_reader(fate, node, original, constant_names) for fate, node in zip(fates, original)], graph


def _with_reader(fate: NodeFate, node: onnx.NodeProto, nodes: list[onnx.NodeProto], constant_names) -> NodeFate:
    """A constant names the first computed node its value reaches (the layer whose weights it is)."""
    if fate.kind != "constant":
        return fate
    frontier, seen = list(node.output), set()
    while frontier:
        tensor = frontier.pop(0)
        for reader in nodes:
            if tensor in reader.input and reader.name not in seen:
                seen.add(reader.name)
                if reader.name not in constant_names:
                    return NodeFate(fate.name, fate.op, fate.kind, f"{fate.detail} (an input of {reader.name})")
                frontier.extend(reader.output)
    return fate


def _integer_cast(node: onnx.NodeProto, graph: ir.Graph, rows) -> NodeFate | None:
    """The Cast of a uint8/int8 model input: which layer reads the integers, and why (passes/input_cast.py)."""
    if node.op_type != "Cast" or graph.input_dtype == "float32" or graph.input not in node.input:
        return None
    for index, layer in enumerate(graph.nodes):
        if graph.input in layer.inputs:
            kind = "folded" if isinstance(layer, ir.ConvLayer) else "float32"
            return NodeFate(node.name, node.op_type, kind, f"{graph.input_dtype} input read by layer {index}: "
                                                            f"{layer.kernel}; {rows[index].why}")
    return None


def _fate(node: onnx.NodeProto, owner, rows, live_names, constant_names, trace) -> NodeFate:
    name, op = node.name, node.op_type
    if name in owner:
        index, layer = owner[name]
        if layer.name == name:
            return NodeFate(name, op, _layer_kind(layer), f"layer {index}: {layer.kernel}; {rows[index].why}")
        into = ("threshold" if isinstance(getattr(layer, "out", None), ir.Threshold)
                or getattr(layer, "thresh", None) is not None
                else "affine output" if isinstance(getattr(layer, "out", None), ir.AffineOut) else "computation")
        return NodeFate(name, op, "folded", f"folded into the {into} of layer {index} ({layer.name}, {layer.kernel})")
    if name in trace and name not in constant_names:
        return NodeFate(name, op, "rewritten", trace[name])
    if name not in live_names:
        return NodeFate(name, op, "constant", "constant: evaluated at compile time")
    if op in _VIEW_OPS:
        return NodeFate(name, op, "view", "view: no code, its reader reads the same memory")
    if op in _COMPARISONS:
        return NodeFate(name, op, "binarizer-part", "the condition of a Where binarizer (part of that binarizer)")
    if op in ("Sign", "Where"):
        return NodeFate(name, op, "view", "view: a sign of values that are already +-1 bits (or a second sign "
                                          "of the same tensor)")
    if op == "Clip":
        return NodeFate(name, op, "dropped", "dropped: a Clip before a sign it cannot change")
    if op == "MaxPool":
        return NodeFate(name, op, "folded", "folded into the layer it follows")
    return NodeFate(name, op, "dropped", "no code: its value is not needed for the output")


def _layer_kind(layer: ir.Layer) -> str:
    if getattr(layer, "packed", None) is not None:
        return "binary"
    if isinstance(layer, ir.Pack) or getattr(layer, "on_bits", False):
        return "bits"
    return "float32"


def format_node_fates(fates: list[NodeFate]) -> str:
    header = ("ONNX node", "op", "became", "how / why")
    table = [header] + [(_clip(f.name, 40), f.op, f.kind, f.detail) for f in fates]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = ["  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]), row[3]]).rstrip()
             for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 9)
    counts: dict[str, int] = {}
    for fate in fates:
        counts[fate.kind] = counts.get(fate.kind, 0) + 1
    lines.append("")
    lines.append(f"{len(fates)} ONNX nodes: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
