/*
 * hum_rng.c: the hum worker's random source, xoshiro256** seeded through
 * splitmix64.  Pure: no I/O, no globals; each caller owns its state.
 */
#include <stdint.h>

#include "hum.h"

uint64_t
hum_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
hum_rng_seed(struct hum_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = hum_splitmix(&seed);
}

static uint64_t
hum_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
hum_rng_next(struct hum_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = hum_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = hum_rotl(s[3], 45);
	return out;
}

double
hum_rng_double(struct hum_rng *r)
{
	return (double)(hum_rng_next(r) >> 11) * 0x1.0p-53;
}

int64_t
hum_rng_range(struct hum_rng *r, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)(hi - lo) + 1;

	if (hi <= lo)
		return lo;
	/* modulo bias is below 2^-40 for our spans; not worth a loop */
	return lo + (int64_t)(hum_rng_next(r) % span);
}
