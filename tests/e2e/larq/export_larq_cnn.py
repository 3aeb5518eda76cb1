"""Run in the Larq venv (tensorflow-cpu, tf-keras, larq, tf2onnx): build a small Larq binary CNN with random
weights and BatchNorm statistics and convert it to ONNX with tf2onnx. Usage: python export_larq_cnn.py OUT.onnx"""

import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # larq needs Keras 2 (tf-keras)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import larq as lq  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402

keras = tf.keras


def build():
    tf.random.set_seed(0)
    binary = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
                  use_bias=False)
    model = keras.Sequential([
        keras.layers.InputLayer(input_shape=(8, 8, 1), batch_size=1),
        lq.layers.QuantConv2D(16, 3, padding="same", kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
                              use_bias=False),
        keras.layers.BatchNormalization(),
        lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **binary),
        keras.layers.MaxPooling2D(2),
        keras.layers.BatchNormalization(),
        lq.layers.QuantConv2D(24, 3, padding="valid", **binary),
        keras.layers.BatchNormalization(),
        keras.layers.Flatten(),
        lq.layers.QuantDense(10, **binary),
        keras.layers.BatchNormalization(),
    ])
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n) * rng.choice([-1, 1], n), rng.standard_normal(n),
                               rng.standard_normal(n) * 3, rng.uniform(1, 20, n)])
    return model


def main(out):
    model = build()
    spec = (tf.TensorSpec((1, 8, 8, 1), tf.float32, name="input"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=out)


if __name__ == "__main__":
    main(sys.argv[1])
