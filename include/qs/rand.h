/* See LICENSE file for copyright and license details. */
#ifndef QS_RAND_H
#define QS_RAND_H

#include <stdint.h>

/* xoshiro256** seeded through splitmix64: small, fast, reproducible. */
struct qs_rand {
	uint64_t s[4];
};

void qs_rand_seed(struct qs_rand *r, uint64_t seed);
/* A seed from the system's entropy source, or the clock if it has none. */
uint64_t qs_rand_entropy(void);
uint64_t qs_rand_next(struct qs_rand *r);
/* Uniform in [0, 1). */
double qs_rand_uniform(struct qs_rand *r);
/* Uniform in [0, n), without modulo bias; n > 0. */
uint64_t qs_rand_below(struct qs_rand *r, uint64_t n);
/* Standard normal, by Box-Muller. */
double qs_rand_normal(struct qs_rand *r);

#endif
