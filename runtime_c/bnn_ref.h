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
void bnn_conv2d_f32_thresh_grouped_ref(const float *in, bnn_dims in_d, const uint32_t *weights,
                                       const float *thresh, const bnn_window *win, uint32_t *out,
                                       bnn_dims out_d);
void bnn_conv2d_f32_f32_grouped_ref(const float *in, bnn_dims in_d, const uint32_t *weights,
                                    const float *scale, const float *bias, const bnn_window *win,
                                    float *out, bnn_dims out_d);

void bnn_conv2d_u8_thresh_ref(const uint8_t *in, bnn_dims in_d, int32_t offset,
                              const uint32_t *weights, const int32_t *thresh,
                              const bnn_window *win, uint32_t *out, bnn_dims out_d);
void bnn_conv2d_s8_thresh_ref(const int8_t *in, bnn_dims in_d, int32_t offset,
                              const uint32_t *weights, const int32_t *thresh,
                              const bnn_window *win, uint32_t *out, bnn_dims out_d);
void bnn_conv2d_u8_thresh_fix_ref(const uint8_t *in, bnn_dims in_d, int32_t offset,
                                  const uint32_t *weights, const int32_t *thresh,
                                  const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                                  bnn_dims out_d);
void bnn_conv2d_s8_thresh_fix_ref(const int8_t *in, bnn_dims in_d, int32_t offset,
                                  const uint32_t *weights, const int32_t *thresh,
                                  const bnn_int_fix *fix, const bnn_window *win, uint32_t *out,
                                  bnn_dims out_d);
void bnn_cast_u8_f32_ref(const uint8_t *in, int32_t n, int32_t plane, const float *table, float *out);
void bnn_cast_s8_f32_ref(const int8_t *in, int32_t n, int32_t plane, const float *table, float *out);

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

/* Mixed-precision kernels (bnn.h, issue 8 section). */
void bnn_conv2d_f32w_f32_ref(const float *in, bnn_dims in_d, const float *weights,
                             const float *bias, int32_t groups, const bnn_window *win,
                             float *out, bnn_dims out_d);
void bnn_dense_f32w_f32_ref(const float *in, int32_t n_in, const float *weights,
                            const float *bias, int32_t n_out, float *out);
void bnn_scale_shift_f32_ref(const float *in, bnn_dims d, const float *scale,
                             const float *shift, float *out);
void bnn_add_f32_ref(const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                     bnn_dims d, float *out);
void bnn_sub_f32_ref(const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                     bnn_dims d, float *out);
void bnn_mul_f32_ref(const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                     bnn_dims d, float *out);
void bnn_div_f32_ref(const float *a, int32_t a_mode, const float *b, int32_t b_mode,
                     bnn_dims d, float *out);
void bnn_relu_f32_ref(const float *in, int32_t n, float *out);
void bnn_prelu_f32_ref(const float *in, bnn_dims d, const float *slope, float *out);
void bnn_leaky_relu_f32_ref(const float *in, int32_t n, float alpha, float *out);
void bnn_clip_f32_ref(const float *in, int32_t n, float lo, float hi, float *out);
void bnn_concat_f32_ref(const float *in, bnn_dims in_d, int32_t c_offset, float *out);
void bnn_concat_bits_ref(const uint32_t *const *ins, const int32_t *c, int32_t n_in, int32_t h,
                         int32_t w, uint32_t *out);
void bnn_avgpool_f32_ref(const float *in, bnn_dims in_d, const bnn_window *win,
                         int32_t pad_bottom, int32_t pad_right, int32_t count_include_pad,
                         float *out, bnn_dims out_d);
void bnn_avgpool_mlas_f32_ref(const float *in, bnn_dims in_d, const bnn_window *win,
                              int32_t pad_bottom, int32_t pad_right, int32_t count_include_pad,
                              float *out, bnn_dims out_d);
void bnn_global_avgpool_f32_ref(const float *in, bnn_dims d, float *out);
void bnn_reduce_mean_hw_f32_ref(const float *in, bnn_dims d, float *out);
void bnn_pack_thresh_chw_f32_ref(const float *in, bnn_dims d, const float *thresh,
                                 const uint32_t *flip, uint32_t *out);

#endif /* BNN_REF_H */
