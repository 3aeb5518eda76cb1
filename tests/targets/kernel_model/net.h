/* Kernel model for the target tests: obeys the bnncc generated-C contract. */
#ifndef NET_H
#define NET_H

#define NET_INPUT_SIZE 64
#define NET_OUTPUT_SIZE 10
#define NET_ARENA_BYTES 136
#define NET_NUM_LAYERS 3

int net_run(const float *input, float *output);

#endif /* NET_H */
