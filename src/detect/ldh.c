/* MSU grading of lumbar disc herniation from a disc mask and 9 keypoints (dolor/ldh.h, docs/ldh.md). */
#include "dolor/ldh.h"

#include <math.h>
#include <string.h>

static const char *const kp_names[DOLOR_LDH_NKPT] = {"DA", "DP", "DPR", "DPL", "FR", "FL", "CP", "DLR", "DLL"};
static const char *const side_names[] = {"none", "central", "right", "left", "both"};
static const char *const region_names[DOLOR_LDH_NREGION] = {"normal", "bulging", "A", "B", "AB", "C", "BC", "ABC"};
static const char *const type_names[DOLOR_LDH_NTYPE] = {
    "normal", "bulging", "1-A", "1-B", "1-AB", "1-C", "1-BC", "2-A", "2-B", "2-AB",
    "2-C",    "2-BC",    "3-A", "3-B", "3-AB", "3-C", "3-BC", "ABC"};
_Static_assert(sizeof type_names / sizeof *type_names == DOLOR_LDH_NTYPE, "one name per type");
_Static_assert(sizeof region_names / sizeof *region_names == DOLOR_LDH_NREGION, "one name per region");

const int dolor_ldh_flip_idx[DOLOR_LDH_NKPT] = {0, 1, 3, 2, 5, 4, 6, 8, 7};

const char *dolor_ldh_keypoint_name(int k) { return k >= 0 && k < DOLOR_LDH_NKPT ? kp_names[k] : NULL; }
const char *dolor_ldh_side_name(dolor_ldh_side s)
{
    return (int)s >= 0 && (int)s <= DOLOR_LDH_SIDE_BOTH ? side_names[s] : NULL;
}
const char *dolor_ldh_region_name(int r) { return r >= 0 && r < DOLOR_LDH_NREGION ? region_names[r] : NULL; }
const char *dolor_ldh_type_name(int t) { return t >= 0 && t < DOLOR_LDH_NTYPE ? type_names[t] : NULL; }

int dolor_ldh_type_index(const char *name)
{
    if (!name)
        return -1;
    for (int t = 0; t < DOLOR_LDH_NTYPE; t++)
        if (!strcmp(name, type_names[t]))
            return t;
    return -1;
}

/* zone set -> 0 A, 1 B, 2 AB, 3 C, 4 BC, 5 ABC (A and C, with or without B); -1 for none */
static int zone_index(int zones)
{
    switch (zones & 7) {
    case DOLOR_LDH_ZONE_A: return 0;
    case DOLOR_LDH_ZONE_B: return 1;
    case DOLOR_LDH_ZONE_A | DOLOR_LDH_ZONE_B: return 2;
    case DOLOR_LDH_ZONE_C: return 3;
    case DOLOR_LDH_ZONE_B | DOLOR_LDH_ZONE_C: return 4;
    case DOLOR_LDH_ZONE_A | DOLOR_LDH_ZONE_C:
    case DOLOR_LDH_ZONE_A | DOLOR_LDH_ZONE_B | DOLOR_LDH_ZONE_C: return 5;
    default: return -1;
    }
}

int dolor_ldh_type_of(int grade, int zones, int bulging)
{
    if (grade == 0)
        return zones ? -1 : bulging ? 1 : 0;
    int z = zone_index(zones);
    if (grade < 1 || grade > 3 || z < 0)
        return -1;
    return z == 5 ? 17 : 2 + 5 * (grade - 1) + z;
}

int dolor_ldh_region_of(int grade, int zones, int bulging)
{
    if (grade == 0)
        return zones ? -1 : bulging ? 1 : 0;
    int z = zone_index(zones);
    return grade < 1 || grade > 3 || z < 0 ? -1 : 2 + z;
}

dolor_ldh_params dolor_ldh_params_default(void) { return (dolor_ldh_params){.focal_mm = 1.0, .bulging_mm = 1.5}; }

dolor_status dolor_ldh_grade(const uint8_t *mask, int w, int h, const double spacing[2], const double *kpt,
                             int kdim, const dolor_ldh_params *params, dolor_ldh_result *out)
{
    if (!mask || !spacing || !kpt || !out)
        return dolor_error(DOLOR_EINVAL, "ldh: NULL argument");
    memset(out, 0, sizeof *out);
    if (w < 1 || h < 1)
        return dolor_error(DOLOR_EINVAL, "ldh: mask size %dx%d (need >= 1)", w, h);
    if (!(isfinite(spacing[0]) && spacing[0] > 0 && isfinite(spacing[1]) && spacing[1] > 0))
        return dolor_error(DOLOR_EINVAL, "ldh: spacing %g x %g mm (need finite > 0)", spacing[0], spacing[1]);
    if (kdim != 2 && kdim != 3)
        return dolor_error(DOLOR_EINVAL, "ldh: keypoint dimension %d (need 2 or 3)", kdim);
    dolor_ldh_params p = params ? *params : dolor_ldh_params_default();
    if (!(p.focal_mm >= 0 && isfinite(p.focal_mm)) || !(p.bulging_mm >= 0 && isfinite(p.bulging_mm)))
        return dolor_error(DOLOR_EINVAL, "ldh: focal_mm %g, bulging_mm %g (need finite >= 0)", p.focal_mm,
                           p.bulging_mm);
    const double sx = spacing[0], sy = spacing[1];
    double P[DOLOR_LDH_NKPT][2];
    for (int k = 0; k < DOLOR_LDH_NKPT; k++) {
        const double *q = kpt + (size_t)k * kdim;
        if (!isfinite(q[0]) || !isfinite(q[1]) || (kdim == 3 && !isfinite(q[2])))
            return dolor_error(DOLOR_EINVAL, "ldh: keypoint %d (%s) is not finite", k, kp_names[k]);
        if (kdim == 3 && !(q[2] > 0))
            return dolor_error(DOLOR_EINVAL, "ldh: keypoint %d (%s) is absent (visibility %g)", k, kp_names[k], q[2]);
        P[k][0] = q[0] * sx;
        P[k][1] = q[1] * sy;
    }
    /* frame: origin FR, v along the intra-facet line, u perpendicular, posterior (away from DA) */
    double vx = P[DOLOR_LDH_KP_FL][0] - P[DOLOR_LDH_KP_FR][0], vy = P[DOLOR_LDH_KP_FL][1] - P[DOLOR_LDH_KP_FR][1];
    const double W = hypot(vx, vy);
    if (!(W >= 1.0))
        return dolor_error(DOLOR_EINVAL, "ldh: facet points FR and FL are %.3g mm apart (need >= 1 mm)", W);
    vx /= W, vy /= W;
    double ux = -vy, uy = vx;
    const double ox = P[DOLOR_LDH_KP_FR][0], oy = P[DOLOR_LDH_KP_FR][1];
    double S[DOLOR_LDH_NKPT], T[DOLOR_LDH_NKPT];
    {
        double ta = (P[DOLOR_LDH_KP_DA][0] - ox) * ux + (P[DOLOR_LDH_KP_DA][1] - oy) * uy;
        if (ta > 0)
            ux = -ux, uy = -uy;
        else if (ta == 0)
            return dolor_error(DOLOR_EINVAL, "ldh: keypoint DA lies on the intra-facet line (it must be anterior)");
    }
    for (int k = 0; k < DOLOR_LDH_NKPT; k++) {
        S[k] = (P[k][0] - ox) * vx + (P[k][1] - oy) * vy;
        T[k] = (P[k][0] - ox) * ux + (P[k][1] - oy) * uy;
    }
    static const int order[][2] = {{DOLOR_LDH_KP_DLR, DOLOR_LDH_KP_DPR}, {DOLOR_LDH_KP_DPR, DOLOR_LDH_KP_DP},
                                   {DOLOR_LDH_KP_DP, DOLOR_LDH_KP_DPL},  {DOLOR_LDH_KP_DPL, DOLOR_LDH_KP_DLL},
                                   {DOLOR_LDH_KP_DLR, DOLOR_LDH_KP_FR},  {DOLOR_LDH_KP_FL, DOLOR_LDH_KP_DLL}};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        int a = order[i][0], b = order[i][1];
        if (!(S[a] < S[b]))
            return dolor_error(DOLOR_EINVAL,
                               "ldh: keypoints %s and %s out of order along the intra-facet line (%s at %.3g mm, %s "
                               "at %.3g mm from FR; the right one must come first)",
                               kp_names[a], kp_names[b], kp_names[a], S[a], kp_names[b], S[b]);
    }
    /* posterior disc line DPR-DPL: tp(s) = t0 + g s */
    const double sR = S[DOLOR_LDH_KP_DPR], sL = S[DOLOR_LDH_KP_DPL], sD = S[DOLOR_LDH_KP_DP];
    const double g = (T[DOLOR_LDH_KP_DPL] - T[DOLOR_LDH_KP_DPR]) / (sL - sR), t0 = T[DOLOR_LDH_KP_DPR] - g * sR;
    if (!(-t0 >= 0.5) || !(-(t0 + g * W) >= 0.5))
        return dolor_error(DOLOR_EINVAL,
                           "ldh: the posterior disc line (DPR-DPL) lies %.3g mm (at FR) and %.3g mm (at FL) anterior "
                           "of the intra-facet line (need >= 0.5 mm)", -t0, -(t0 + g * W));
    const double conv = T[DOLOR_LDH_KP_DP] - (t0 + g * sD);
    /* own contour b(s) = a (s - sR)(s - sL) between the corners, b(sD) = conv */
    const double a = conv / ((sD - sR) * (sD - sL));
    out->convexity_mm = conv;
    out->if_width_mm = W;
    out->canal_ap_mm = T[DOLOR_LDH_KP_CP] - (t0 + g * S[DOLOR_LDH_KP_CP]);
    out->disc_width_mm = S[DOLOR_LDH_KP_DLL] - S[DOLOR_LDH_KP_DLR];
    out->disc_ap_mm = T[DOLOR_LDH_KP_DP] - T[DOLOR_LDH_KP_DA];
    out->focal_max_mm = -INFINITY;
    const double q1 = W / 4, q3 = 3 * W / 4;
    long npx = 0, nher = 0;
    int zones = 0, sides = 0; /* sides: 1 right, 2 left */
    double best_r = -INFINITY, best_e = 0, best_d = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!mask[(size_t)y * w + x])
                continue;
            npx++;
            const double X = (x + 0.5) * sx - ox, Y = (y + 0.5) * sy - oy;
            const double s = X * vx + Y * vy, t = X * ux + Y * uy;
            const double tp = t0 + g * s, e = t - tp;
            const double b = s > sR && s < sL ? a * (s - sR) * (s - sL) : 0.0;
            const double f = e - b;
            if (f > out->focal_max_mm)
                out->focal_max_mm = f;
            if (!(f > p.focal_mm))
                continue;
            nher++;
            if (s < 0)
                zones |= DOLOR_LDH_ZONE_C, sides |= 1;
            else if (s < q1)
                zones |= DOLOR_LDH_ZONE_B, sides |= 1;
            else if (s <= q3)
                zones |= DOLOR_LDH_ZONE_A;
            else if (s <= W)
                zones |= DOLOR_LDH_ZONE_B, sides |= 2;
            else
                zones |= DOLOR_LDH_ZONE_C, sides |= 2;
            const double d = -tp, r = e / d;
            if (r > best_r)
                best_r = r, best_e = e, best_d = d;
        }
    if (npx == 0)
        return dolor_error(DOLOR_ENUMERIC, "ldh: the disc mask is empty");
    out->herniated_px = nher;
    out->bulging = conv >= p.bulging_mm;
    if (nher == 0) {
        out->grade = 0;
        out->side = DOLOR_LDH_SIDE_NONE;
    } else {
        out->grade = best_r <= 0.5 ? 1 : best_r <= 1.0 ? 2 : 3;
        out->zones = zones;
        out->extent_mm = best_e;
        out->ref_mm = best_d;
        out->ratio = best_r;
        out->side = sides == 3   ? DOLOR_LDH_SIDE_BOTH
                    : sides == 1 ? DOLOR_LDH_SIDE_RIGHT
                    : sides == 2 ? DOLOR_LDH_SIDE_LEFT
                                 : DOLOR_LDH_SIDE_CENTRAL;
        int z = zone_index(zones);
        static const char *const zs[] = {"A", "B", "AB", "C", "BC", "ABC"};
        strcpy(out->zone, zs[z]);
    }
    out->type = dolor_ldh_type_of(out->grade, out->zones, out->bulging);
    out->region = dolor_ldh_region_of(out->grade, out->zones, out->bulging);
    out->type_name = type_names[out->type];
    return DOLOR_OK;
}
