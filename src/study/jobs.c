/* The (model, fold) job loop shared by segmentation and classification studies: which rank runs a job, the job.txt
 * check, skipping finished jobs, the progress lines with ETA, and the error prefix naming the job. */
#include "dolor/core.h"
#include "study_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

size_t dolor_study_job_cases(const dolor_study_split *sp, int f, int which, size_t *idx)
{
    size_t m = 0;
    for (size_t i = 0; i < sp->n; i++)
        if (sp->set[(size_t)f * sp->n + i] == which)
            idx[m++] = i;
    return m;
}

dolor_status dolor_study_run_jobs(const dolor_study_config *cfg, const char *out_dir, int folds,
                                  const dolor_study_job_ops *ops, void *ctx)
{
    dolor_study_ranks rk;
    dolor_study_ranks_get(&rk);
    dolor_status s = DOLOR_OK;
    int njobs = cfg->n_models * folds, jobno = 0, ran = 0;
    double t0 = dolor_time_ms();
    for (int m = 0; !s && m < cfg->n_models; m++) {
        const dolor_study_model *md = &cfg->models[m];
        for (int f = 0; !s && f < folds; f++) {
            jobno++;
            if ((jobno - 1) % rk.size != rk.rank)
                continue;
            char jobdir[4096], done[4200];
            snprintf(jobdir, sizeof jobdir, "%s/jobs/%s/fold%d", out_dir, md->name, f + 1);
            snprintf(done, sizeof done, "%s/done.txt", jobdir);
            char *jt = ops->job_text(ctx, m, f);
            if (!jt) {
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                break;
            }
            s = dolor_study_check_job_text(jobdir, jt);
            free(jt);
            if (s)
                break;
            struct stat st;
            if (stat(done, &st) == 0) {
                fprintf(stderr, "study: job %d/%d (model %s, fold %d/%d) already done, skipped\n", jobno, njobs,
                        md->name, f + 1, folds);
                continue;
            }
            double el = (dolor_time_ms() - t0) / 1000.0;
            int left = (njobs - jobno + rk.size) / rk.size; /* this rank's jobs still to run, this one included */
            if (ran)
                fprintf(stderr, "study: job %d/%d (model %s, fold %d/%d)%s, %.0f s so far, ETA %.0f s\n", jobno,
                        njobs, md->name, f + 1, folds, rk.size > 1 ? " on this rank" : "", el, el / ran * left);
            else
                fprintf(stderr, "study: job %d/%d (model %s, fold %d/%d)\n", jobno, njobs, md->name, f + 1, folds);
            char line[512] = "";
            s = ops->run(ctx, m, f, jobdir, line, sizeof line);
            if (!s) { /* last, so that a job killed before this point is resumed, not skipped */
                dolor_outfile o;
                s = dolor_outfile_open(&o, done, 1);
                if (!s) {
                    fprintf(o.fp, "%s\n", line);
                    s = dolor_outfile_commit(&o);
                }
            }
            if (s)
                s = dolor_error_prefix(s, "model %s, fold %d", md->name, f + 1);
            ran++;
        }
    }
    return dolor_study_status_all(s);
}
