/* The samplers' noise rows (noise.h). Philox4x32-10 is integer arithmetic: its rounds over
 * consecutive blocks vectorise exactly. Box-Muller keeps libm's log, sin and cos, called as the
 * header calls them, so every normal is the same double as sf_philox_normal's. */
#include "noise.h"
#include "philox.h"
#include "simd_target.h"

#define SF_NOISE_LANES 8

SF_SIMD_CLONES
void sfi_noise_row(uint64_t seed, uint64_t particle, uint32_t step, int d, double *z)
{
    const double two_pi = 6.283185307179586476925286766559; /* as in sf_philox_normal4 */
    sf_philox_key key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    uint32_t blocks = ((uint32_t)d + 3u) / 4u;
    for (uint32_t b0 = 0; b0 < blocks; b0 += SF_NOISE_LANES) {
        sf_philox_ctr words[SF_NOISE_LANES];
        for (int l = 0; l < SF_NOISE_LANES; l++) { /* the counters of sf_philox_normal4 */
            sf_philox_ctr c = {{(uint32_t)particle, (uint32_t)(particle >> 32), step, b0 + (uint32_t)l}};
            words[l] = sf_philox4x32_10(c, key);
        }
        for (int l = 0; l < SF_NOISE_LANES && b0 + (uint32_t)l < blocks; l++) {
            double four[4];
            for (int i = 0; i < 4; i += 2) {
                double r = sqrt(-2.0 * log(sf_philox_uniform(words[l].v[i])));
                double theta = two_pi * sf_philox_uniform(words[l].v[i + 1]);
                four[i] = r * cos(theta);
                four[i + 1] = r * sin(theta);
            }
            uint32_t first = 4u * (b0 + (uint32_t)l);
            for (uint32_t j = 0; j < 4 && first + j < (uint32_t)d; j++) z[first + j] = four[j];
        }
    }
}
