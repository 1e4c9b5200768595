/*
 * dolor/dist.h - processes started by mpirun (Open MPI, Debian libopenmpi-dev): the rank of this process, sums
 * over all ranks, a barrier. The same binary runs without mpirun unchanged: MPI is initialised only when the
 * launcher's environment says so (OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_RANK of other launchers), on the
 * first call of any function here, and finalised at exit; otherwise this process is rank 0 of 1 and every call
 * is a no-op. Used by `dolor study run` (one (model, fold) job per rank in turn) and `dolor train` (data-parallel:
 * dolor_dist_train_hooks, train.h).
 */
#ifndef DOLOR_DIST_H
#define DOLOR_DIST_H

#include "dolor/core.h"
#include "dolor/train.h"

#ifdef __cplusplus
extern "C" {
#endif

int dolor_dist_rank(void); /* 0..size-1 */
int dolor_dist_size(void); /* 1 without mpirun */

/* In-place sum of buf[0..n-1] over the ranks (MPI_Allreduce, MPI_SUM): the same values on every rank.
 * Errors: DOLOR_EIO (MPI failed: names the MPI error string). */
dolor_status dolor_dist_allreduce_f32(float *buf, size_t n);
dolor_status dolor_dist_allreduce_f64(double *buf, size_t n);

/* Every rank's status: DOLOR_OK when all are OK, else the status of the lowest failing rank (with this rank's
 * message when it is that rank, otherwise "rank R failed (see its messages)"). A collective call: every rank must
 * make it. */
dolor_status dolor_dist_status_all(dolor_status s);

void dolor_dist_barrier(void);

/* The hooks dolor_train_run takes for data-parallel training (train.h dolor_train_dist), or NULL with one rank. */
const dolor_train_dist *dolor_dist_train_hooks(void);

#ifdef __cplusplus
}
#endif
#endif
