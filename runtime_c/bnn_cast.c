/*
 * bnn_cast.c - an INTEGER (uint8 / int8) model input to float32 through a table: out[i] = the model's
 * Cast + normalization of in[i], tabulated at compile time with onnxruntime's float32 operations
 * (bnncc/passes/input_cast.py), so the float layers after it read exactly onnxruntime's values.
 * n values; a new table of 256 floats every `plane` values (one table for all: plane = n).
 */
#include "bnn.h"

void bnn_cast_u8_f32(const uint8_t *in, int32_t n, int32_t plane, const float *table, float *out)
{
    int32_t i, j;
    for (i = 0; i < n; i += plane, table += 256) {
        for (j = 0; j < plane; ++j) {
            out[i + j] = table[in[i + j]];
        }
    }
}

void bnn_cast_s8_f32(const int8_t *in, int32_t n, int32_t plane, const float *table, float *out)
{
    int32_t i, j;
    for (i = 0; i < n; i += plane, table += 256) {
        for (j = 0; j < plane; ++j) {
            out[i + j] = table[(int32_t)in[i + j] + 128];
        }
    }
}
