/*
 * bnn_ref.h - plain reference twins of every bnn.h kernel (same signatures, suffix _ref).
 *
 * Written to be obviously correct, not fast: one output at a time, one tap at a time, bit by
 * bit. Tests hold every optimized kernel equal to its twin. Not copied into generated output.
 */
#ifndef BNN_REF_H
#define BNN_REF_H

#include "bnn.h"

void bnn_pack_chw_f32_ref(const float *in, bnn_dims d, uint32_t *out);
void bnn_unpack_bits_chw_f32_ref(const uint32_t *in, bnn_dims d, float *out);

void bnn_conv2d_bin_thresh_ref(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                               const int32_t *thresh, const bnn_window *win, uint32_t *out,
                               bnn_dims out_d);
void bnn_conv2d_bin_thresh_sliced_ref(const uint32_t *in, bnn_dims in_d, const uint32_t *tw,
                                      const int32_t *thresh, const bnn_window *win,
                                      uint32_t *out, bnn_dims out_d);
void bnn_conv2d_bin_f32_ref(const uint32_t *in, bnn_dims in_d, const uint32_t *weights,
                            const float *scale, const float *bias, const bnn_window *win,
                            float *out, bnn_dims out_d);

void bnn_conv2d_f32_thresh_ref(const float *in, bnn_dims in_d, const uint32_t *weights,
                               const float *thresh, const bnn_window *win, uint32_t *out,
                               bnn_dims out_d);
void bnn_conv2d_f32_f32_ref(const float *in, bnn_dims in_d, const uint32_t *weights,
                            const float *scale, const float *bias, const bnn_window *win,
                            float *out, bnn_dims out_d);

void bnn_dense_bin_thresh_ref(const uint32_t *in, int32_t n_words, int32_t k,
                              const uint32_t *weights, const int32_t *thresh, int32_t n_out,
                              uint32_t *out);
void bnn_dense_bin_thresh_sliced_ref(const uint32_t *in, int32_t n_words, int32_t k,
                                     const uint32_t *tw, const int32_t *thresh, int32_t n_out,
                                     uint32_t *out);
void bnn_dense_bin_f32_ref(const uint32_t *in, int32_t n_words, int32_t k,
                           const uint32_t *weights, const float *scale, const float *bias,
                           int32_t n_out, float *out);
void bnn_dense_f32_thresh_ref(const float *in, int32_t n_in, const uint32_t *weights,
                              const float *thresh, int32_t n_out, uint32_t *out);
void bnn_dense_f32_f32_ref(const float *in, int32_t n_in, const uint32_t *weights,
                           const float *scale, const float *bias, int32_t n_out, float *out);

void bnn_maxpool_bits_ref(const uint32_t *in, bnn_dims in_d, const bnn_window *win,
                          const uint32_t *and_mask, uint32_t *out, bnn_dims out_d);
void bnn_maxpool_f32_ref(const float *in, bnn_dims in_d, const bnn_window *win, float *out,
                         bnn_dims out_d);

/* Softmax twins use libm (expf / logf); the optimized versions must not. */
void bnn_softmax_f32_ref(const float *in, int32_t n, float *out);
void bnn_log_softmax_f32_ref(const float *in, int32_t n, float *out);

#endif /* BNN_REF_H */
