/* MPI for processes started by mpirun; rank 0 of 1 otherwise. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/dist.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static int state = -1; /* -1 unknown, 0 no MPI, 1 MPI initialised by us */
static int my_rank = 0, my_size = 1;

static void finish(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin)
        MPI_Finalize();
}

static void init(void)
{
    if (state >= 0)
        return;
    state = 0;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n)
        n = getenv("PMI_SIZE");
    if (!n && !getenv("PMIX_RANK"))
        return;
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
            return;
        atexit(finish);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &my_size);
    state = 1;
}

int dolor_dist_rank(void)
{
    init();
    return my_rank;
}

int dolor_dist_size(void)
{
    init();
    return my_size;
}

static dolor_status mpi_error(int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return dolor_error(DOLOR_EIO, "%s: %.*s", what, len, msg);
}

dolor_status dolor_dist_allreduce_f32(float *buf, size_t n)
{
    init();
    if (state != 1 || my_size == 1)
        return DOLOR_OK;
    /* in chunks: MPI counts are int */
    for (size_t o = 0; o < n; o += (size_t)1 << 30) {
        int c = (int)(n - o < ((size_t)1 << 30) ? n - o : ((size_t)1 << 30));
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + o, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_error(rc, "MPI_Allreduce");
    }
    return DOLOR_OK;
}

dolor_status dolor_dist_allreduce_f64(double *buf, size_t n)
{
    init();
    if (state != 1 || my_size == 1)
        return DOLOR_OK;
    for (size_t o = 0; o < n; o += (size_t)1 << 30) {
        int c = (int)(n - o < ((size_t)1 << 30) ? n - o : ((size_t)1 << 30));
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + o, c, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_error(rc, "MPI_Allreduce");
    }
    return DOLOR_OK;
}

dolor_status dolor_dist_status_all(dolor_status s)
{
    init();
    if (state != 1 || my_size == 1)
        return s;
    /* the lowest failing rank: minimum over ranks of (s ? rank : size) */
    int mine = s ? my_rank : my_size, first = my_size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == my_size)
        return DOLOR_OK;
    int code = (int)s;
    MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
    if (first == my_rank)
        return s;
    return dolor_error((dolor_status)code, "rank %d failed (see its messages)", first);
}

void dolor_dist_barrier(void)
{
    init();
    if (state == 1 && my_size > 1)
        MPI_Barrier(MPI_COMM_WORLD);
}

static dolor_status hook_sum(void *ctx, float *buf, size_t n)
{
    (void)ctx;
    return dolor_dist_allreduce_f32(buf, n);
}

static dolor_status hook_sum64(void *ctx, double *buf, size_t n)
{
    (void)ctx;
    return dolor_dist_allreduce_f64(buf, n);
}

const dolor_train_dist *dolor_dist_train_hooks(void)
{
    static dolor_train_dist d;
    init();
    if (my_size == 1)
        return NULL;
    d.rank = my_rank;
    d.size = my_size;
    d.allreduce_sum = hook_sum;
    d.allreduce_sum64 = hook_sum64;
    d.ctx = NULL;
    return &d;
}
