/* Ranks of a study run: dist.h (MPI under mpirun, one rank otherwise). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/dist.h"
#include "study_priv.h"

void dolor_study_ranks_get(dolor_study_ranks *r)
{
    r->rank = dolor_dist_rank();
    r->size = dolor_dist_size();
}

void dolor_study_barrier(void)
{
    dolor_dist_barrier();
}

dolor_status dolor_study_status_all(dolor_status s)
{
    return dolor_dist_status_all(s);
}
