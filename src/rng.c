/* rng.c - xoshiro256** seeded by splitmix64: explicit state, the same
 * stream on every platform, never rand(). */
#include "internal.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

lm_rng lm_rng_seed(uint64_t seed)
{
    lm_rng r;
    for (int i = 0; i < 4; i++) r.s[i] = splitmix64(&seed);
    return r;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lm_rng_next(lm_rng *r)
{
    if (!r) return 0;
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float lm_rng_uniform(lm_rng *r) { return r ? (float)(lm_rng_next(r) >> 40) * 0x1.0p-24f : 0.0f; }

float lm_rng_normal(lm_rng *r)
{
    if (!r) return 0.0f;
    /* Box-Muller in double; u1 in (0,1] so log is finite. */
    double u1 = ((double)(lm_rng_next(r) >> 11) + 1.0) * 0x1.0p-53;
    double u2 = (double)(lm_rng_next(r) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t lm_rng_below(lm_rng *r, uint64_t n)
{
    /* Rejection sampling: drop the top partial range so every value is
     * equally likely. */
    if (!r || n == 0) return 0; /* misuse: a value, not a crash */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = lm_rng_next(r);
    while (x >= limit);
    return x % n;
}
