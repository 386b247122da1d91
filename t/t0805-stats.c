/* Repeatability statistics: a 4-subject test-retest set worked by hand,
 * Shrout & Fleiss (1979) Table 2 (6 targets, 4 judges), and the
 * distribution functions behind the confidence intervals. */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "cohort.h"
#include "qib/status.h"
#include "tap.h"

int main(void)
{
    plan_lazy();

    /* I_x(a, b) for whole a, b is a binomial tail: I_0.5(2, 3) =
     * P(Bin(4, 0.5) >= 2) = 11/16; I_0.3(1, 1) = 0.3 (uniform). */
    is_double(qib__betainc(0.5, 2, 3), 11.0 / 16.0, 1e-12, "I_0.5(2,3) = 11/16");
    is_double(qib__betainc(0.3, 1, 1), 0.3, 1e-12, "I_0.3(1,1) = 0.3");
    is_double(qib__betainc(0.9, 5, 0.5) + qib__betainc(0.1, 0.5, 5), 1.0, 1e-12,
              "I_x(a,b) + I_1-x(b,a) = 1");
    /* F(1, d) is t(d) squared: the 0.975 quantile of t(10) is 2.228139
     * (standard t table), so F_0.95(1, 10) = 2.228139^2 = 4.964603. */
    is_double(qib__f_quantile(0.95, 1, 10), 4.964603, 1e-5, "F_0.95(1,10) = t_0.975(10)^2");
    /* F(2, d2): P(F <= f) = 1 - (1 + 2f/d2)^(-d2/2), so the 0.975 quantile
     * of F(2, 15) is (15/2)(0.025^(-2/15) - 1) = 4.765048. */
    is_double(qib__f_quantile(0.975, 2, 15), 7.5 * (pow(0.025, -2.0 / 15.0) - 1), 1e-9,
              "F_0.975(2,15) in closed form");

    /* Four subjects measured twice:
     *   (10, 12) (20, 19) (30, 33) (40, 40)
     * grand mean 25.5; subject means 11, 19.5, 31.5, 40; session means 25, 26.
     * SSR = 2 (14.5^2 + 6^2 + 6^2 + 14.5^2) = 985, SSC = 4 (0.5^2 + 0.5^2) = 2,
     * SST = 992, SSE = 5: MSR = 985/3, MSC = 2, MSE = 5/3, MSW = 7/4.
     * ICC(3,1) = (985/3 - 5/3) / (985/3 + 5/3) = 98/99;
     * ICC(2,1) = (980/3) / (990/3 + 2 (2 - 5/3) / 4) = 1960/1981.
     * Differences 2, -1, 3, 0: bias 1, SD sqrt(10/3). */
    const double y[] = {10, 12, 20, 19, 30, 33, 40, 40};
    struct qib__rep r;
    is_int(qib__repeatability(y, 4, 2, 0.05, &r), QIB_OK, "4 x 2 test-retest");
    is_double(r.mean, 25.5, 1e-12, "grand mean");
    is_double(r.msr, 985.0 / 3, 1e-9, "MSR");
    is_double(r.msc, 2.0, 1e-9, "MSC");
    is_double(r.mse, 5.0 / 3, 1e-9, "MSE");
    is_double(r.msw, 1.75, 1e-12, "MSW = mean of d^2/2");
    is_double(r.wsd, sqrt(1.75), 1e-12, "wSD = sqrt(MSW)");
    is_double(r.rc, 2.77 * sqrt(1.75), 1e-12, "RC = 2.77 wSD");
    /* wCV: sqrt(mean(s_i^2 / m_i^2)), s_i^2 = d_i^2 / 2. */
    double wcv = sqrt((2.0 / (11 * 11) + 0.5 / (19.5 * 19.5) + 4.5 / (31.5 * 31.5) + 0) / 4);
    is_double(r.wcv, wcv, 1e-12, "wCV (root mean square of the subjects' CV)");
    is_double(r.icc31, 98.0 / 99.0, 1e-12, "ICC(3,1) = 98/99");
    is_double(r.icc21, 1960.0 / 1981.0, 1e-12, "ICC(2,1) = 1960/1981");
    is_double(r.bias, 1.0, 1e-12, "Bland-Altman bias");
    is_double(r.sd_diff, sqrt(10.0 / 3), 1e-12, "SD of the differences");
    is_double(r.loa_lo, 1 - 1.96 * sqrt(10.0 / 3), 1e-12, "lower limit of agreement");
    is_double(r.loa_hi, 1 + 1.96 * sqrt(10.0 / 3), 1e-12, "upper limit of agreement");
    /* ICC(3,1) interval from its F: F = MSR/MSE = 197, df 3 and 3. */
    double fl = 197.0 / qib__f_quantile(0.975, 3, 3), fu = 197.0 * qib__f_quantile(0.975, 3, 3);
    is_double(r.icc31_lo, (fl - 1) / (fl + 1), 1e-12, "ICC(3,1) lower bound from F");
    is_double(r.icc31_hi, (fu - 1) / (fu + 1), 1e-12, "ICC(3,1) upper bound from F");
    ok(r.icc21_lo < r.icc21 && r.icc21 < r.icc21_hi && r.icc21_hi <= 1, "ICC(2,1) inside its interval");

    /* Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater
     * reliability. Psychol Bull 1979;86:420-428, Table 2 (6 targets rated
     * by 4 judges).  Their Table 3: BMS 11.24, JMS 32.49, EMS 1.02,
     * WMS 6.26; ICC(2,1) = .29, ICC(3,1) = .71.  The intervals are those
     * printed for this data by the R package psych (ICC(), Revelle):
     * ICC2 [0.019, 0.76], ICC3 [0.342, 0.95]. */
    const double sf[] = {9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7};
    is_int(qib__repeatability(sf, 6, 4, 0.05, &r), QIB_OK, "Shrout & Fleiss Table 2");
    is_double(r.msr, 11.24, 0.005, "BMS 11.24");
    is_double(r.msc, 32.49, 0.005, "JMS 32.49");
    is_double(r.mse, 1.02, 0.005, "EMS 1.02");
    is_double(r.msw, 6.26, 0.005, "WMS 6.26");
    is_double(r.icc21, 0.29, 0.005, "ICC(2,1) = .29");
    is_double(r.icc31, 0.71, 0.005, "ICC(3,1) = .71");
    is_double(r.f, 11.03, 0.005, "F(5, 15) = 11.03");
    is_double(r.icc21_lo, 0.019, 0.0005, "ICC(2,1) lower 0.019");
    is_double(r.icc21_hi, 0.76, 0.005, "ICC(2,1) upper 0.76");
    is_double(r.icc31_lo, 0.342, 0.0005, "ICC(3,1) lower 0.342");
    is_double(r.icc31_hi, 0.95, 0.005, "ICC(3,1) upper 0.95");
    ok(isnan(r.bias) && isnan(r.loa_lo), "no Bland-Altman for k = 4");

    is_int(qib__repeatability(y, 1, 2, 0.05, &r), QIB_EINVAL, "one subject refused");
    is_int(qib__repeatability(y, 8, 1, 0.05, &r), QIB_EINVAL, "one measurement refused");
    const double bad[] = {1, 2, NAN, 4};
    is_int(qib__repeatability(bad, 2, 2, 0.05, &r), QIB_EINVAL, "NaN refused");
    return tap_done();
}
