/* See LICENSE file for copyright and license details. */
#include <sys/random.h>

#include <math.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "qs/rand.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
qs_rand_seed(struct qs_rand *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t
qs_rand_entropy(void)
{
	struct timespec ts;
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)getpid() << 32);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
qs_rand_next(struct qs_rand *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double
qs_rand_uniform(struct qs_rand *r)
{
	return (double)(qs_rand_next(r) >> 11) * 0x1.0p-53;
}

uint64_t
qs_rand_below(struct qs_rand *r, uint64_t n)
{
	uint64_t x, limit = UINT64_MAX - UINT64_MAX % n;

	do
		x = qs_rand_next(r);
	while (x >= limit);
	return x % n;
}

double
qs_rand_normal(struct qs_rand *r)
{
	double u1, u2;

	do
		u1 = qs_rand_uniform(r);
	while (u1 <= 0);
	u2 = qs_rand_uniform(r);
	return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}
