/* Private to src/study: the pieces the segmentation and classification runs share. */
#ifndef DOLOR_STUDY_PRIV_H
#define DOLOR_STUDY_PRIV_H

#include "dolor/study.h"

/* Length of s without a known image extension (.nii.gz, .png, .jpg, .jpeg, .nii, .mha, .mhd, .dcm). */
size_t dolor_study_stem_len(const char *s);

/* Write (first time) or compare (rerun) jobdir/job.txt holding `want`: DOLOR_EINVAL naming the first line that
 * differs when the folder was made with other settings. */
dolor_status dolor_study_check_job_text(const char *jobdir, const char *want);

/* 1 when md->arch is a registry segmenter configured by models[].options ("resnet_unet", "fastseg"). */
int dolor_study_model_is_registry_seg(const dolor_study_model *md);
/* The registry config (nn.h) of segmentation model md as a flat JSON object (caller frees): in_channels 1 and
 * num_classes (classes + background) from the data, then the U-Net's base/depth/upsample or models[].options.
 * Errors: DOLOR_ENOMEM. */
dolor_status dolor_study_model_arch_json(const dolor_study_config *c, const dolor_study_model *md, char **json);

/* The cases of fold f (0-based) in set `which` (DOLOR_SPLIT_TRAIN, _VAL, _TEST) into idx (sp->n entries at most):
 * their count. */
size_t dolor_study_job_cases(const dolor_study_split *sp, int f, int which, size_t *idx);

/* One kind of study's jobs: job_text(ctx, m, f) returns the settings of job (model m, fold f) as job.txt holds
 * them (malloc'd; NULL: out of memory); run(ctx, m, f, jobdir, line, cap) trains and tests it and puts a one-line
 * summary into line (cap bytes), which dolor_study_run_jobs then writes as jobdir/done.txt. */
typedef struct dolor_study_job_ops {
    char *(*job_text)(void *ctx, int m, int f);
    dolor_status (*run)(void *ctx, int m, int f, const char *jobdir, char *done_line, size_t done_cap);
} dolor_study_job_ops;
/* Run this rank's jobs of the cfg->n_models x folds (model-major; job j on rank j % size): check or write each
 * job's job.txt (dolor_study_check_job_text), skip a job with done.txt, print the job and the ETA, run the rest and
 * write each one's done.txt (temporary file, then rename) when it succeeded.
 * Returns dolor_study_status_all of the first failure (its message prefixed with the model and fold), so every
 * rank stops together. */
dolor_status dolor_study_run_jobs(const dolor_study_config *cfg, const char *out_dir, int folds,
                                  const dolor_study_job_ops *ops, void *ctx);

/* The classification study (cfg->classification): see dolor_study_run. */
dolor_status dolor_study_run_classification(const dolor_study_config *cfg, const char *out_dir);

/* Which jobs this process runs: job j (0-based, over models x folds) belongs to rank j % size. MPI when the
 * binary was started by mpirun (dolor_study_mpi_* in mpi.c), else rank 0 of 1. */
typedef struct dolor_study_ranks {
    int rank, size;
} dolor_study_ranks;
void dolor_study_ranks_get(dolor_study_ranks *r);
/* Wait for every rank (no-op without MPI). */
void dolor_study_barrier(void);
/* Every rank's status: the first non-zero status of any rank (its message when it is this rank's), so that all
 * ranks stop together. */
dolor_status dolor_study_status_all(dolor_status s);

#endif
