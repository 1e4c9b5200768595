/* Batch loader: one background thread prepares the next batch (copy + augmentation) while the caller trains.
 *
 * The producer walks a fixed sequence: for epoch e = 0, 1, ...: the batches of the epoch's order (shuffled with
 * dolor_rng seeded from (seed, e)), then one end-of-epoch marker. It fills one staging slot and waits until
 * dolor_loader_next has copied it out. Every sample's augmentation rng is seeded from (seed, epoch, case), so the
 * output does not depend on timing. */
#include "data_priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct dolor_loader {
    const dolor_dataset *ds;
    size_t *indices, n;
    size_t *order;          /* current epoch's order (producer only) */
    int bs, shuffle, drop_last, has_aug;
    dolor_augment_config aug;
    uint64_t seed;
    size_t nbatches;
    int H, W, C;      /* C: input channels per case */
    /* producer position */
    int p_epoch;
    size_t p_batch;
    /* staging slot */
    float *s_img;     /* [bs, C*H*W] */
    uint8_t *s_lab;   /* [bs, H*W] */
    size_t *s_cases;  /* [bs] */
    int s_count, s_epoch;
    int full, stop;
    void *work;
    int last_epoch;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started;
};

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void epoch_order(dolor_loader *ld, int epoch)
{
    memcpy(ld->order, ld->indices, ld->n * sizeof(size_t));
    if (!ld->shuffle)
        return;
    dolor_rng r;
    dolor_rng_seed(&r, mix64(ld->seed ^ mix64(0x5348554646ULL + (uint64_t)epoch)));
    for (size_t i = ld->n; i > 1; i--) {
        size_t j = (size_t)dolor_rng_below(&r, i);
        size_t t = ld->order[i - 1];
        ld->order[i - 1] = ld->order[j];
        ld->order[j] = t;
    }
}

/* Fills the staging slot with the producer's current position (called without the lock; the slot is empty). */
static void produce(dolor_loader *ld)
{
    size_t hw = (size_t)ld->H * ld->W, chw = hw * (size_t)ld->C;
    if (ld->p_batch == 0)
        epoch_order(ld, ld->p_epoch);
    if (ld->p_batch >= ld->nbatches) { /* end-of-epoch marker */
        ld->s_count = 0;
        ld->s_epoch = ld->p_epoch;
        ld->p_epoch++;
        ld->p_batch = 0;
        return;
    }
    size_t start = ld->p_batch * (size_t)ld->bs;
    size_t cnt = ld->n - start < (size_t)ld->bs ? ld->n - start : (size_t)ld->bs;
    for (size_t k = 0; k < cnt; k++) {
        size_t c = ld->order[start + k];
        float *img = ld->s_img + k * chw;
        uint8_t *lab = ld->s_lab + k * hw;
        memcpy(img, dolor_dataset_image(ld->ds, c), chw * sizeof(float));
        memcpy(lab, dolor_dataset_mask(ld->ds, c), hw);
        ld->s_cases[k] = c;
        if (ld->has_aug) {
            dolor_rng r;
            dolor_rng_seed(&r, mix64(ld->seed ^ mix64(((uint64_t)ld->p_epoch << 32) ^ (uint64_t)c)));
            /* one draw for the case: every channel gets the same rotation, flip and intensity change */
            dolor_augment_params prm;
            dolor_augment_draw(&ld->aug, &r, &prm);
            for (int ch = 0; ch < ld->C; ch++)
                dolor_augment_apply_params(&prm, img + (size_t)ch * hw, ch ? NULL : lab, ld->H, ld->W, ld->work);
        }
    }
    ld->s_count = (int)cnt;
    ld->s_epoch = ld->p_epoch;
    ld->p_batch++;
}

static void *producer(void *arg)
{
    dolor_loader *ld = arg;
    for (;;) {
        pthread_mutex_lock(&ld->mu);
        while (ld->full && !ld->stop)
            pthread_cond_wait(&ld->cv, &ld->mu);
        if (ld->stop) {
            pthread_mutex_unlock(&ld->mu);
            return NULL;
        }
        pthread_mutex_unlock(&ld->mu);
        produce(ld);
        pthread_mutex_lock(&ld->mu);
        ld->full = 1;
        pthread_cond_broadcast(&ld->cv);
        pthread_mutex_unlock(&ld->mu);
    }
}

void dolor_loader_free(dolor_loader *ld)
{
    if (!ld)
        return;
    if (ld->started) {
        pthread_mutex_lock(&ld->mu);
        ld->stop = 1;
        pthread_cond_broadcast(&ld->cv);
        pthread_mutex_unlock(&ld->mu);
        pthread_join(ld->th, NULL);
        pthread_mutex_destroy(&ld->mu);
        pthread_cond_destroy(&ld->cv);
    }
    free(ld->indices);
    free(ld->order);
    dolor_free_aligned(ld->s_img);
    free(ld->s_lab);
    free(ld->s_cases);
    dolor_free_aligned(ld->work);
    free(ld);
}

dolor_status dolor_loader_create(const dolor_dataset *ds, const size_t *indices, size_t n, int batch_size, int shuffle,
                                 int drop_last, const dolor_augment_config *aug, uint64_t seed, dolor_loader **out)
{
    return dolor_loader_create_at(ds, indices, n, batch_size, shuffle, drop_last, aug, seed, 0, out);
}

dolor_status dolor_loader_create_at(const dolor_dataset *ds, const size_t *indices, size_t n, int batch_size,
                                    int shuffle, int drop_last, const dolor_augment_config *aug, uint64_t seed,
                                    int first_epoch, dolor_loader **out)
{
    *out = NULL;
    if (batch_size < 1)
        return dolor_error(DOLOR_EINVAL, "loader: batch size %d (must be >= 1)", batch_size);
    if (n == 0)
        return dolor_error(DOLOR_EINVAL, "loader: no cases");
    if (drop_last && n < (size_t)batch_size)
        return dolor_error(DOLOR_EINVAL, "loader: %zu cases are fewer than one batch of %d (drop_last gives no batch)",
                           n, batch_size);
    for (size_t i = 0; i < n; i++)
        if (indices[i] >= dolor_dataset_count(ds))
            return dolor_error(DOLOR_EINVAL, "loader: case index %zu at position %zu is not below the case count %zu",
                               indices[i], i, dolor_dataset_count(ds));
    dolor_loader *ld = calloc(1, sizeof *ld);
    if (!ld)
        return dolor_error(DOLOR_ENOMEM, "loader: out of memory");
    ld->ds = ds;
    ld->n = n;
    ld->bs = batch_size;
    ld->shuffle = shuffle;
    ld->drop_last = drop_last;
    ld->seed = seed;
    ld->H = dolor_dataset_height(ds);
    ld->W = dolor_dataset_width(ds);
    ld->C = dolor_dataset_channels(ds);
    ld->nbatches = drop_last ? n / (size_t)batch_size : (n + (size_t)batch_size - 1) / (size_t)batch_size;
    if (first_epoch < 0)
        first_epoch = 0;
    ld->p_epoch = first_epoch;
    ld->last_epoch = first_epoch;
    if (aug) {
        ld->has_aug = 1;
        ld->aug = *aug;
    }
    size_t hw = (size_t)ld->H * ld->W;
    ld->indices = malloc(n * sizeof(size_t));
    ld->order = malloc(n * sizeof(size_t));
    ld->s_img = dolor_alloc_aligned((size_t)batch_size * hw * (size_t)ld->C * sizeof(float));
    ld->s_lab = malloc((size_t)batch_size * hw);
    ld->s_cases = malloc((size_t)batch_size * sizeof(size_t));
    ld->work = dolor_alloc_aligned(dolor_augment_work_size(ld->H, ld->W));
    if (!ld->indices || !ld->order || !ld->s_img || !ld->s_lab || !ld->s_cases || !ld->work) {
        dolor_loader_free(ld);
        return dolor_error(DOLOR_ENOMEM, "loader: out of memory for batches of %d x %dx%d", batch_size, ld->W, ld->H);
    }
    memcpy(ld->indices, indices, n * sizeof(size_t));
    pthread_mutex_init(&ld->mu, NULL);
    pthread_cond_init(&ld->cv, NULL);
    if (pthread_create(&ld->th, NULL, producer, ld) != 0) {
        pthread_mutex_destroy(&ld->mu);
        pthread_cond_destroy(&ld->cv);
        dolor_loader_free(ld);
        return dolor_error(DOLOR_EBACKEND, "loader: cannot start the prefetch thread");
    }
    ld->started = 1;
    *out = ld;
    return DOLOR_OK;
}

dolor_status dolor_loader_next(dolor_loader *ld, dolor_tensor *images, uint8_t *labels, size_t *cases, int *count)
{
    *count = 0;
    if (!images || images->ndim != 4 || images->shape[0] < ld->bs || images->shape[1] != ld->C ||
        images->shape[2] != ld->H || images->shape[3] != ld->W)
        return dolor_error(DOLOR_ESHAPE, "loader: images tensor must be [%d, %d, %d, %d]", ld->bs, ld->C, ld->H,
                           ld->W);
    size_t hw = (size_t)ld->H * ld->W, bs = (size_t)ld->bs, chw = hw * (size_t)ld->C;
    pthread_mutex_lock(&ld->mu);
    while (!ld->full)
        pthread_cond_wait(&ld->cv, &ld->mu);
    pthread_mutex_unlock(&ld->mu);
    /* the producer waits while full == 1: the slot is ours */
    size_t cnt = (size_t)ld->s_count;
    memcpy(images->data, ld->s_img, cnt * chw * sizeof(float));
    memset(images->data + cnt * chw, 0, (bs - cnt) * chw * sizeof(float));
    if (labels) {
        memcpy(labels, ld->s_lab, cnt * hw);
        memset(labels + cnt * hw, 0, (bs - cnt) * hw);
    }
    if (cases) {
        memcpy(cases, ld->s_cases, cnt * sizeof(size_t));
        for (size_t k = cnt; k < bs; k++)
            cases[k] = (size_t)-1;
    }
    ld->last_epoch = ld->s_epoch;
    *count = (int)cnt;
    pthread_mutex_lock(&ld->mu);
    ld->full = 0;
    pthread_cond_broadcast(&ld->cv);
    pthread_mutex_unlock(&ld->mu);
    return DOLOR_OK;
}

size_t dolor_loader_batches_per_epoch(const dolor_loader *ld) { return ld->nbatches; }
int dolor_loader_epoch(const dolor_loader *ld) { return ld->last_epoch; }
