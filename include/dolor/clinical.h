/*
 * dolor/clinical.h - patient-reported and clinician-rated outcome scores used
 * in pain medicine and spine surgery: VAS, Oswestry Disability Index (ODI),
 * JOA low-back score, SF-36 (RAND 36-Item Health Survey 1.0) and the MacNab
 * criteria.
 *
 * Conventions: item answers are doubles; NaN means "left blank" (missing).
 * Where a score allows missing items it says how they are handled; elsewhere a
 * missing item is an error. Every validation error is DOLOR_EINVAL and its
 * message names the item (number and name) and the offending value, e.g.
 * "ODI section 3 (lifting): 7 is outside 0..5".
 * Full rules and references: docs/clinical.md.
 */
#ifndef DOLOR_CLINICAL_H
#define DOLOR_CLINICAL_H

#include "dolor/core.h"
#include "dolor/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Visual analogue scale ----
 * A VAS mark on a line of length scale_max (10 for 0-10 cm, 100 for
 * 0-100 mm). out receives the score on the 0-10 scale (value * 10 /
 * scale_max). Errors: DOLOR_EINVAL (NaN, value outside 0..scale_max,
 * scale_max <= 0); `item` (may be NULL -> "VAS") names the value in the
 * message. */
dolor_status dolor_vas_score(double value, double scale_max, const char *item, double *out);

/* ---- Oswestry Disability Index (ODI 2.1a; Fairbank & Pynsent 2000, Spine 25:2940) ----
 * 10 sections, each scored 0..5 (integer): 1 pain intensity, 2 personal care,
 * 3 lifting, 4 walking, 5 sitting, 6 standing, 7 sleeping, 8 sex life,
 * 9 social life, 10 travelling.
 * percent = sum / (5 * answered) * 100. A blank section (NaN) is left out of
 * both sum and denominator, as the ODI instructions say for a missed or
 * not-applicable section. At most max_missing sections may be blank (pass
 * DOLOR_ODI_MAX_MISSING = 2, dolor's default, or a value 0..9 of your own);
 * more is an error (the score would rest on too few sections).
 * category (Fairbank & Pynsent): 0-20 minimal disability, >20-40 moderate,
 * >40-60 severe, >60-80 crippled, >80-100 bed-bound. */
#define DOLOR_ODI_SECTIONS 10
#define DOLOR_ODI_MAX_MISSING 2

typedef struct dolor_odi_result {
    double percent;       /* 0..100 */
    int sum;              /* sum of answered sections */
    int answered, missing;
    const char *category; /* static string */
} dolor_odi_result;

/* Name of section i (1..10), e.g. "lifting"; "?" otherwise. */
const char *dolor_odi_section_name(int i);
/* Errors: DOLOR_EINVAL (a section not an integer in 0..5, naming it; more
 * than max_missing blank sections; max_missing outside 0..9). */
dolor_status dolor_odi_score(const double sections[DOLOR_ODI_SECTIONS], int max_missing, dolor_odi_result *out);

/* ---- JOA low-back pain score (Japanese Orthopaedic Association, 1986; 29 points) ----
 * Items, in this order (index: key, allowed values):
 *  I  subjective symptoms (0..9)
 *   0 low_back_pain 0..3, 1 leg_pain (leg pain and/or tingling) 0..3, 2 gait 0..3
 *  II clinical signs (0..6)
 *   3 slr (straight-leg raising incl. tight hamstrings) 0..2, 4 sensory 0..2, 5 motor 0..2
 *  III restriction of activities of daily living (0..14)
 *   6 adl_turn_over, 7 adl_standing, 8 adl_washing, 9 adl_leaning_forward,
 *   10 adl_sitting (about 1 h), 11 adl_lifting (lifting or holding heavy
 *   objects), 12 adl_walking: each 0 (severe), 1 (moderate), 2 (none)
 *  IV urinary bladder function
 *   13 bladder: 0 (normal), -3 (mild dysuria), -6 (severe dysuria)
 * Items 0..12 are required (a blank one is an error naming it); a blank
 * bladder item (NaN) means "not assessed" and counts 0 (bladder_assessed = 0).
 * total = subjective + signs + adl + bladder, in -6..29. */
#define DOLOR_JOA_ITEMS 14

typedef struct dolor_joa_result {
    int subjective, signs, adl, bladder, total;
    int bladder_assessed;
} dolor_joa_result;

/* Key of item i (0..13), e.g. "adl_walking"; "?" otherwise. */
const char *dolor_joa_item_name(int i);
/* Errors: DOLOR_EINVAL (an item missing or outside its values, named). */
dolor_status dolor_joa_score(const double items[DOLOR_JOA_ITEMS], dolor_joa_result *out);
/* Hirabayashi recovery rate (%) = (post - pre) / (29 - pre) * 100.
 * Errors: DOLOR_EINVAL (pre or post outside -6..29; pre == 29, where the
 * rate is undefined). */
dolor_status dolor_joa_recovery_rate(double pre, double post, double *out);

/* ---- SF-36: RAND 36-Item Health Survey 1.0 scoring ----
 * items[0..35] hold the answers to questions 1..36 as precoded on the form
 * (1..k for a k-choice item); NaN = blank. Step 1 recodes each item to
 * 0..100 (RAND's Table 1); step 2 averages the recoded items of each scale
 * that were answered: "items that are left blank are not taken into account
 * when calculating the scale scores" (RAND). A scale with every item blank
 * is NaN and its `answered` count is 0.
 * Scales (RAND's Table 2): physical functioning 3-12; role limitations due
 * to physical health 13-16; role limitations due to emotional problems
 * 17-19; energy/fatigue 23, 27, 29, 31; emotional well-being 24, 25, 26, 28,
 * 30; social functioning 20, 32; pain 21, 22; general health 1, 33-36.
 * Item 2 (health change) is in no scale; it is reported recoded as
 * health_change (NaN when blank). */
#define DOLOR_SF36_ITEMS 36
typedef enum dolor_sf36_scale {
    DOLOR_SF36_PF = 0, /* physical functioning */
    DOLOR_SF36_RP,     /* role limitations due to physical health */
    DOLOR_SF36_RE,     /* role limitations due to emotional problems */
    DOLOR_SF36_VT,     /* energy/fatigue */
    DOLOR_SF36_EW,     /* emotional well-being */
    DOLOR_SF36_SF,     /* social functioning */
    DOLOR_SF36_BP,     /* pain */
    DOLOR_SF36_GH,     /* general health */
    DOLOR_SF36_NSCALES
} dolor_sf36_scale;

typedef struct dolor_sf36_result {
    double scale[DOLOR_SF36_NSCALES];  /* 0..100, NaN if all items blank */
    int answered[DOLOR_SF36_NSCALES];  /* items answered per scale */
    double health_change;              /* item 2 recoded, NaN if blank */
} dolor_sf36_result;

/* Short key of a scale ("physical_functioning", ...); "?" otherwise. */
const char *dolor_sf36_scale_name(dolor_sf36_scale s);
/* Number of answer choices of question q (1..36), 0 if q is out of range. */
int dolor_sf36_item_choices(int q);
/* Errors: DOLOR_EINVAL (an answer that is not an integer 1..k for its
 * question, naming the question number and the value). */
dolor_status dolor_sf36_score(const double items[DOLOR_SF36_ITEMS], dolor_sf36_result *out);

/* ---- MacNab criteria (MacNab 1971, J Bone Joint Surg Am 53:891) ---- */
typedef enum dolor_macnab {
    DOLOR_MACNAB_EXCELLENT = 1,
    DOLOR_MACNAB_GOOD = 2,
    DOLOR_MACNAB_FAIR = 3,
    DOLOR_MACNAB_POOR = 4
} dolor_macnab;

const char *dolor_macnab_name(dolor_macnab g); /* "excellent" ... "poor" */
/* Parse "excellent", "good", "fair", "poor" (any case) or "1".."4".
 * Errors: DOLOR_EINVAL naming the string. */
dolor_status dolor_macnab_parse(const char *s, dolor_macnab *out);

typedef struct dolor_macnab_summary {
    size_t n;
    size_t count[5];        /* indexed by dolor_macnab (count[0] unused) */
    dolor_prop_ci success;  /* (excellent + good) / n with its CI */
} dolor_macnab_summary;

/* Counts and the excellent+good rate with a CI by `method` (Wilson =
 * prop.test(correct = FALSE) is the usual choice) at level conf.
 * Errors: DOLOR_EINVAL (n == 0, a grade outside 1..4 naming its 1-based
 * position, conf outside (0, 1)). */
dolor_status dolor_macnab_summarise(const dolor_macnab *grades, size_t n, double conf, dolor_ci_method method,
                                    dolor_macnab_summary *out);

#ifdef __cplusplus
}
#endif
#endif
