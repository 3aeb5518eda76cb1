"""Lower frontend nodes to kernel layers: fuse chains, pick tensor kinds, pack weights.

A fusable chain starts at a linear node (Conv, Dense) and follows single consumers through
per-channel elementwise steps (bias, BatchNorm, Add/Sub/Mul/Div) and MaxPools, optionally ending in
a binarizer:
    linear -> [steps | MaxPool]* -> Binarize   => one kernel with threshold output (BITS),
                                                  then bit max-pools (OR, or AND per channel)
    linear -> [steps | MaxPool]*               => one kernel with float output (REAL), then float pools
A MaxPool commutes with a monotone map: sign(max y) = OR of the signs, and max before a decreasing map
becomes AND (see thresholds.py for the direction of each channel).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import ir
from ..errors import BnnccError
from .binary_weights import split_binary
from .chain import compose_affine
from .exact_affine import exact_prefix
from .lower_real import RealLowering
from .pack import pack_conv_bits_input, pack_dense_bits_input, pack_rows, transpose_conv_weights
from .thresholds import float_thresholds, integer_thresholds


@dataclass
class _Chain:
    linear: ir.Node
    steps: list[tuple[ir.ChainStep, str]] = field(default_factory=list)  # (step, ONNX node name)
    pools: list[tuple[int, ir.MaxPool]] = field(default_factory=list)  # (steps before it, node)
    binarize: ir.Binarize | None = None
    twins: list[ir.Binarize] = field(default_factory=list)  # further signs of the same tensor
    nodes: list[ir.Node] = field(default_factory=list)  # absorbed nodes after the linear, in order
    output: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        names = [self.linear.name] + [name for _, name in self.steps]
        if self.binarize is not None:
            names.append(self.binarize.name)
        return tuple(names)


def lower(graph: ir.Graph) -> ir.Graph:
    """Frontend graph -> graph of kernel layers over REAL and BITS tensors."""
    return _Lowering(graph).run()


class _Lowering(RealLowering):
    def __init__(self, graph: ir.Graph):
        self.graph = graph
        self.kinds: dict[str, ir.Kind] = {graph.input: ir.Kind.REAL}
        self.view_of: dict[str, str] = {}  # flatten output -> storage tensor
        self.tensors: dict[str, ir.Tensor] = {}
        self.layers: list[ir.Layer] = []
        self.absorbed: set[int] = set()
        self.consumers = {name: graph.consumers(name) for name in graph.tensors}
        self.notes: list[str] = list(graph.notes)  # the input graph is never mutated
        self.packs: dict[tuple[str, bool], str] = {}  # (REAL tensor, strict) -> its shared packed copy

    def run(self) -> ir.Graph:
        g = self.graph
        self.tensors[g.input] = g.tensors[g.input]
        for node in g.nodes:
            if id(node) in self.absorbed:
                continue
            self._lower(node)
        output = self._storage(g.output)
        if output == g.input:
            raise BnnccError("the model output is its input: there is nothing to compile")
        if self.kinds[output] is ir.Kind.BITS:
            output = self._as_real(output)
        return ir.Graph(tensors=self.tensors, nodes=self.layers, input=g.input, output=output,
                        model_name=g.model_name, notes=self.notes, input_dtype=g.input_dtype)

    # -------------------------------------------------------------------------------- helpers
    def _storage(self, name: str) -> str:
        while name in self.view_of:
            name = self.view_of[name]
        return name

    def _kind(self, name: str) -> ir.Kind:
        return self.kinds[self._storage(name)]

    def _dims(self, name: str) -> tuple[int, int, int]:
        return self.tensors[self._storage(name)].chw

    def _add(self, name: str, shape: tuple[int, ...], kind: ir.Kind) -> None:
        self.tensors[name] = ir.Tensor(name, tuple(shape), kind)
        self.kinds[name] = kind

    def _single_consumer(self, tensor: str) -> ir.Node | None:
        users = self.consumers.get(tensor, [])
        if len(users) != 1 or tensor == self.graph.output:
            return None
        return users[0]

    # --------------------------------------------------------------------------------- nodes
    def _lower(self, node: ir.Node) -> None:
        if isinstance(node, (ir.Conv, ir.Dense)):
            if split_binary(node.weight) is None or getattr(node, "group", 1) != 1:
                self._lower_real_linear(node)
            else:
                self._lower_chain(self._collect(node))
        elif isinstance(node, ir.Binarize):
            self._lower_pack(node)
        elif isinstance(node, ir.MaxPool):
            self._lower_pool(node)
        elif isinstance(node, ir.Pad):
            self._lower_pad(node)
        elif isinstance(node, ir.Flatten):
            self.view_of[node.outputs[0]] = self._storage(node.inputs[0])
        elif isinstance(node, ir.Clip):
            self._lower_clip(node)
        elif isinstance(node, ir.LeakyRelu):
            self._lower_leaky(node)
        elif isinstance(node, ir.Binary):
            self._lower_binary(node)
        elif isinstance(node, ir.Concat):
            self._lower_concat(node)
        elif isinstance(node, ir.AvgPool):
            self._lower_avgpool(node)
        elif isinstance(node, ir.Softmax):
            x = self._as_real(node.inputs[0])
            self._add(node.outputs[0], self.graph.tensors[node.outputs[0]].shape, ir.Kind.REAL)
            self.layers.append(ir.SoftmaxLayer(node.name, [x], list(node.outputs), source=(node.name,),
                                               n=self.tensors[x].size, log=node.log))
        elif isinstance(node, ir.Affine):
            self._lower_affine(node)
        elif isinstance(node, ir.Transpose):
            self._lower_transpose(node)
        elif isinstance(node, ir.Layer):  # lowered by an earlier pass (passes/input_cast.py)
            self._add(node.outputs[0], self.graph.tensors[node.outputs[0]].shape, ir.Kind.REAL)
            self.layers.append(node)
        else:
            raise BnnccError("no lowering for this node", node.name, node.op)

    def _collect(self, linear: ir.Node) -> _Chain:
        chain = _Chain(linear)
        tensor = linear.outputs[0]
        while True:
            nxt = self._single_consumer(tensor)
            if nxt is None:
                # several signs of one tensor (same rule): one threshold layer, the other signs view its bits
                users = self.consumers.get(tensor, [])
                if (tensor != self.graph.output and len(users) > 1 and all(isinstance(u, ir.Binarize) for u in users)
                        and len({u.strict for u in users}) == 1):
                    chain.binarize, chain.twins = users[0], users[1:]
                    for user in users:
                        self.absorbed.add(id(user))
                        chain.nodes.append(user)
                    tensor = users[0].outputs[0]
                break
            if isinstance(nxt, ir.Affine):
                chain.steps.append((nxt.step, nxt.name))
            elif isinstance(nxt, ir.MaxPool):
                chain.pools.append((len(chain.steps), nxt))
            elif isinstance(nxt, ir.Binarize):
                chain.binarize = nxt
            elif isinstance(nxt, ir.Clip) and self._clip_before_signs(nxt):
                pass
            else:
                break
            self.absorbed.add(id(nxt))
            chain.nodes.append(nxt)
            tensor = nxt.outputs[0]
            if chain.binarize is not None:
                break
        chain.output = tensor
        return chain

    def _trim_real(self, chain: _Chain, prefix_steps: list[ir.ChainStep]) -> None:
        """A chain without a sign keeps only the steps that fold exactly into the layer's affine output
        (exact_affine.exact_prefix); the rest is given back to run as separate layers."""
        taken, _ = exact_prefix(prefix_steps + [step for step, _ in chain.steps], chain.linear.weight.shape[0])
        keep = 0
        for node in chain.nodes:
            if not isinstance(node, ir.Affine) or keep >= taken - len(prefix_steps):
                break
            keep += 1
        for node in chain.nodes[keep:]:
            self.absorbed.discard(id(node))
        chain.steps = chain.steps[:keep]
        chain.pools = []
        chain.nodes = chain.nodes[:keep]
        chain.output = chain.nodes[-1].outputs[0] if chain.nodes else chain.linear.outputs[0]

    def _clip_before_signs(self, clip: ir.Clip) -> bool:
        """A clip feeding only binarizers that it cannot change (sign(clip(x)) == sign(x)) is a no-op."""
        users = self.consumers.get(clip.outputs[0], [])
        return bool(users) and clip.outputs[0] != self.graph.output and all(
            isinstance(u, ir.Binarize) and clip.keeps_sign(u.strict) for u in users)

    def _lower_chain(self, chain: _Chain) -> None:
        linear = chain.linear
        x = self._storage(linear.inputs[0])
        binary_input = self._kind(x) is ir.Kind.BITS
        split = split_binary(linear.weight)
        if split is None:
            raise BnnccError("weights are not binary: " + describe_non_binary(linear.weight),
                             linear.name, linear.onnx_op)
        signs, alpha = split
        c_out = linear.weight.shape[0]
        steps: list[ir.ChainStep] = []
        if not np.all(alpha == 1.0):
            steps.append(ir.ChainStep("Mul", (alpha,)))
        if linear.bias is not None:
            steps.append(ir.ChainStep("Add", (np.broadcast_to(linear.bias, (c_out,)).astype(np.float32),)))
        if chain.binarize is None:
            self._trim_real(chain, steps)
        steps += [step for step, _ in chain.steps]
        n_prefix = len(steps) - len(chain.steps)

        if chain.binarize is not None:
            if binary_input:
                fan_in = int(np.prod(linear.weight.shape[1:]))
                out = integer_thresholds(steps, c_out, fan_in, chain.binarize.strict, linear.name)
            else:
                out = float_thresholds(steps, c_out, chain.binarize.strict, linear.name)
            if chain.binarize.onnx_op == "Sign" and out.zero_channels:
                self.notes.append(
                    f"{chain.binarize.name}: Sign meets an exact 0 on {out.zero_channels} channel(s) for reachable "
                    "accumulator values; ONNX gives 0 there, bnncc +1 (verify reports these separately)")
            signs = np.where(out.flipped.reshape((-1,) + (1,) * (signs.ndim - 1)), ~signs, signs)
            kind = ir.Kind.BITS
        else:
            taken, out = exact_prefix(steps, c_out)
            assert taken == len(steps)
            kind = ir.Kind.REAL

        # Each pool is OR (max) when the steps after it rise, AND when they fall (per channel).
        and_masks = []
        for before, pool in chain.pools:
            suffix_slope, _ = compose_affine(steps[n_prefix + before:], c_out)
            falling = suffix_slope < 0
            if kind is ir.Kind.REAL and np.any(falling):
                raise BnnccError("MaxPool before a decreasing per-channel map with a real output is not supported",
                                 pool.name, "MaxPool")
            and_masks.append(falling)

        unit_weights = bool(np.all(alpha == 1.0))
        scale = "+-1" if unit_weights else "+-alpha_c (scale folded)"
        why = (f"weights {scale}; input {'bits (XNOR-popcount)' if binary_input else 'real (first layer)'}; "
               + ("output bits via integer thresholds" if kind is ir.Kind.BITS and binary_input else
                  "output bits via float thresholds" if kind is ir.Kind.BITS else "output real (affine)"))
        final = chain.output
        conv_out = final if not chain.pools else f"{linear.name}:out"
        if isinstance(linear, ir.Conv):
            layer = self._conv_layer(linear, x, conv_out, signs, out, binary_input, chain.sources)
            layer.unit_weights = unit_weights
            out_shape = layer.out_dims
        else:
            layer = self._dense_layer(linear, x, conv_out, signs, out, binary_input, chain.sources)
            out_shape = (c_out,)
        layer.why = why
        self._add(conv_out, out_shape, kind)
        self.layers.append(layer)

        current = conv_out
        for index, ((_, pool), falling) in enumerate(zip(chain.pools, and_masks)):
            target = final if index == len(chain.pools) - 1 else f"{pool.name}:out"
            self._pool_layer(pool, current, target, kind, falling if np.any(falling) else None)
            current = target
        for twin in chain.twins:
            self.view_of[twin.outputs[0]] = final

    def _conv_layer(self, conv: ir.Conv, x, out_name, signs, out, binary_input, sources) -> ir.ConvLayer:
        c_in, h, w = self._dims(x)
        if c_in != conv.weight.shape[1]:
            raise BnnccError(f"input has {c_in} channels, weights expect {conv.weight.shape[1]}", conv.name, "Conv")
        oh, ow = conv.window.out_hw(h, w)
        packed = pack_conv_bits_input(signs) if binary_input else pack_rows(signs.reshape(signs.shape[0], -1))
        layer = ir.ConvLayer(conv.name, [x], [out_name], source=sources, in_dims=(c_in, h, w),
                             out_dims=(conv.weight.shape[0], oh, ow), window=conv.window,
                             binary_input=binary_input, packed=packed, out=out)
        if layer.sliced:
            # the bit-sliced kernel reads 32 output channels per word: transposed once, here
            layer.packed = transpose_conv_weights(packed, c_in)
        return layer

    def _dense_layer(self, dense: ir.Dense, x, out_name, signs, out, binary_input, sources) -> ir.DenseLayer:
        c, h, w = self._dims(x)
        k = c * h * w
        if binary_input:
            packed = pack_dense_bits_input(signs, (c, h, w))
            n_words = h * w * ir.words(c)
        else:
            packed = pack_rows(signs)
            n_words = ir.words(k)
        return ir.DenseLayer(dense.name, [x], [out_name], source=sources, k=k, n_words=n_words,
                             n_out=signs.shape[0], binary_input=binary_input, packed=packed, out=out)

    def _pool_layer(self, pool: ir.MaxPool, x: str, out_name: str, kind: ir.Kind, and_mask) -> None:
        c, h, w = self._dims(x)
        oh, ow = pool.window.out_hw(h, w)
        self._add(out_name, (c, oh, ow), kind)
        self.layers.append(ir.PoolLayer(pool.name, [x], [out_name], source=(pool.name,), in_dims=(c, h, w),
                                        out_dims=(c, oh, ow), window=pool.window,
                                        on_bits=kind is ir.Kind.BITS, and_mask=and_mask))

    def _lower_pack(self, node: ir.Binarize) -> None:
        x = self._storage(node.inputs[0])
        if self._kind(x) is ir.Kind.BITS:  # sign of +-1 values is the identity
            self.view_of[node.outputs[0]] = x
            return
        self._pack(x, node, [], (node.name,))

    def _lower_pad(self, node: ir.Pad) -> None:
        x = self._storage(node.inputs[0])
        on_bits = self._kind(x) is ir.Kind.BITS
        if on_bits and node.value not in (-1.0, 1.0):
            raise BnnccError(f"a Pad of binary values with value {node.value:g} is not +-1; a 0 pad is exact only "
                             "as the padding of the Conv that reads it (nothing may sit between them)",
                             node.name, node.onnx_op)
        c, h, w = self._dims(x)
        top, left, bottom, right = node.pads
        out_dims = (c, h + top + bottom, w + left + right)
        self._add(node.outputs[0], out_dims, ir.Kind.BITS if on_bits else ir.Kind.REAL)
        why = (f"constant {node.value:+g} padding on bits (a constant bit, exact)" if on_bits
               else f"constant {node.value:g} padding on real values")
        self.layers.append(ir.PadLayer(node.name, [x], list(node.outputs), source=(node.name,), why=why,
                                       in_dims=(c, h, w), out_dims=out_dims, pad_top=top, pad_left=left,
                                       value=node.value, on_bits=on_bits))

    def _lower_pool(self, node: ir.MaxPool) -> None:
        x = self._storage(node.inputs[0])
        self._pool_layer(node, x, node.outputs[0], self._kind(x), None)
