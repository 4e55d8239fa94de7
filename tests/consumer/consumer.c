/* A program built against the installed library only (scorefield.h and libscorefield.so): the
 * score of one isotropic Gaussian N(mu, v I) under VP-linear at t = 0.3 against its closed form
 * -(x - alpha mu) / (alpha^2 v + sigma^2), and the library's version against the header's. */
#include <scorefield.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    if (strcmp(sf_version(), SF_VERSION) != 0) {
        fprintf(stderr, "library version %s, header %s\n", sf_version(), SF_VERSION);
        return 1;
    }
    const double mu[2] = {0.5, -1.0}, v = 0.3, x[2 * 3] = {0.1, 0.2, -1.5, 0.7, 2.0, -0.4};
    sf_context *ctx = NULL;
    sf_mixture *mix = NULL;
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time t;
    double score[6];
    sf_outputs out = SF_OUTPUTS_INIT;
    out.score = score;
    if (sf_context_create(&ctx, SF_BACKEND_CPU, SF_PRECISION_F64, 0) != SF_OK || sf_mixture_create(&mix, 2) != SF_OK ||
        sf_mixture_add_isotropic(mix, 1.0, mu, v) != SF_OK || sf_schedule_at(&s, 0.3, &t) != SF_OK ||
        sf_evaluate(ctx, mix, &t, x, 3, &out) != SF_OK) {
        fprintf(stderr, "consumer: %s\n", sf_last_error());
        return 1;
    }
    double worst = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            double exact = -(x[2 * i + j] - t.alpha * mu[j]) / (t.alpha * t.alpha * v + t.sigma2);
            worst = fmax(worst, fabs(score[2 * i + j] - exact) / fmax(1.0, fabs(exact)));
        }
    sf_mixture_destroy(mix);
    sf_context_destroy(ctx);
    printf("consumer: scorefield %s, worst relative error %.3g\n", sf_version(), worst);
    return worst < 1e-13 ? 0 : 1;
}
