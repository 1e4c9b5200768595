/* dolor stream: segment a video (file, image sequence, DICOM cine, capture URL) on a pipeline of threads,
 * decode -> infer -> draw + encode, joined by bounded queues; write the overlay video, label maps and a
 * per-frame latency CSV; optionally serve a live view (stream_serve.c). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/io.h"
#include "dolor/train.h"
#include "dolor/video.h"
#include "opts.h"
#include "stream_serve.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *model, *out, *labels, *csv, *size, *codec, *format, *serve, *snapshots;
    int live, quiet;
    long threads, repeat, queue;
    double fps;
} stream_opts;

static const dolor_opt_spec specs[] = {
    {"model", 'm', OPT_STR, "segmentation checkpoint (dolor train: 1 input channel; grey and RGB videos are "
     "converted to grey as in training); without it the video is only decoded, resized and re-encoded", .metavar = "CKPT",
     DOLOR_OPT_AT(stream_opts, model)},
    {"out", 'o', OPT_STR, "overlay video (.mp4 .mkv .avi .mov), with the input's timestamps", .metavar = "OUT.mp4",
     DOLOR_OPT_AT(stream_opts, out)},
    {"labels", 0, OPT_STR, "write each frame's label map as DIR/frame_NNNNNN.png (palette PNG of label values)",
     .metavar = "DIR", DOLOR_OPT_AT(stream_opts, labels)},
    {"csv", 0, OPT_STR, "per-frame timings: frame, pts_ms, status, decode_ms, queue_ms, infer_ms, draw_ms, "
     "latency_ms", .metavar = "FILE.csv", .def = "OUT.frames.csv next to -o, none without -o",
     DOLOR_OPT_AT(stream_opts, csv)},
    {"live", 0, OPT_FLAG, "live mode: frames come at the source's pace (a file is paced by its timestamps) and a "
     "frame that finds the inference queue full is dropped (counted); without it no frame is dropped",
     DOLOR_OPT_AT(stream_opts, live)},
    {"serve", 0, OPT_STR, "serve the live view (HTML page, MJPEG stream, per-frame class areas) on ADDR:PORT; "
     "connections from outside 127.0.0.0/8 are refused whatever ADDR is, as are other Hosts and Origins", .metavar = "127.0.0.1:8080", DOLOR_OPT_AT(stream_opts, serve)},
    {"snapshots", 0, OPT_STR, "where the live view's snapshot button saves the frame and its label map",
     .metavar = "DIR", .def = "snapshots", DOLOR_OPT_AT(stream_opts, snapshots)},
    {"size", 0, OPT_STR, "resize frames to WxH before everything (e.g. 256x256)", .metavar = "WxH",
     .def = "the source's size", DOLOR_OPT_AT(stream_opts, size)},
    {"repeat", 0, OPT_INT, "read the input this many times in a row (timestamps continue)", .def = "1",
     DOLOR_OPT_RANGE(1, 100000), DOLOR_OPT_AT(stream_opts, repeat)},
    {"fps", 0, OPT_NUM, "frame rate of inputs without timestamps (volumes, image folders) and of the output header",
     .def = "30", DOLOR_OPT_RANGE(0.1, 1000), DOLOR_OPT_AT(stream_opts, fps)},
    {"codec", 0, OPT_STR, "output video codec: libx264 (H.264), mpeg4 or mjpeg", .def = "libx264 when available",
     DOLOR_OPT_AT(stream_opts, codec)},
    {"format", 0, OPT_STR, "FFmpeg input format, e.g. v4l2 for /dev/video0, image2 for frame%04d.png",
     .def = "probed", DOLOR_OPT_AT(stream_opts, format)},
    {"queue", 0, OPT_INT, "capacity of each queue between the stages (frames)", .def = "4", DOLOR_OPT_RANGE(1, 1024),
     DOLOR_OPT_AT(stream_opts, queue)},
    {"threads", 't', OPT_INT, "CPU threads for the network", .def = "all cores", DOLOR_OPT_RANGE(1, 1024),
     DOLOR_OPT_AT(stream_opts, threads)},
    {"quiet", 'q', OPT_FLAG, "no progress line", DOLOR_OPT_AT(stream_opts, quiet)},
    {"config", 0, OPT_STR, "JSON file with any of these options as keys", .metavar = "FILE.json"},
};

static const dolor_cmd_desc stream_cmd = {
    .name = "stream",
    .usage = "[--model CKPT] INPUT [-o OVERLAY.mp4] [--labels DIR] [--live] [--serve ADDR:PORT]",
    .summary = "Segments every frame of a video on three threads joined by bounded queues: decoding (FFmpeg, or\n"
               "dolor's readers for DICOM cine loops, MetaImage/NIfTI sequences and folders of PNG/JPEG frames),\n"
               "the network, and drawing + encoding the overlay. INPUT is a file, an image-sequence pattern\n"
               "(frame%04d.png), a folder, a volume or any FFmpeg URL (/dev/video0 with --format v4l2).\n"
               "At the end: frames read, processed and dropped, throughput (frames/s from the first frame decoded\n"
               "to the last encoded) and the latency per frame (decoded -> overlay encoded) p50, p95 and max, in ms.",
    DOLOR_CMD_SPECS(specs),
    .details = "Latency counts the time a frame waits in the queues. The network is planned on a blank frame\n"
               "before the clock starts. A damaged or truncated input stops the stream at the frame named in\n"
               "the error: the frames before it are processed and the outputs are complete, valid files holding\n"
               "them; exit code 2.\n"
               "\n"
               "exit codes: 0 success, 1 runtime failure, 2 bad input (options, unreadable or damaged video,\n"
               "unsupported codec, a model whose input is not 1 grey channel, port in use)\n",
};

/* ---- bounded queue of frames ---- */
typedef struct item {
    dolor_image *img, *cls;
    float *probs;
    double pts_ms;
    int64_t index;
    double t_in, t_dec, t_pop, t_inf; /* ms: decoded (enqueued), decode time, taken by infer, inferred */
} item;

typedef struct {
    item **buf;
    int cap, head, n, closed;
    pthread_mutex_t mu;
    pthread_cond_t ne, nf;
} queue;

static int q_init(queue *q, int cap)
{
    memset(q, 0, sizeof *q);
    q->buf = calloc((size_t)cap, sizeof *q->buf);
    q->cap = cap;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->ne, NULL);
    pthread_cond_init(&q->nf, NULL);
    return q->buf ? 0 : -1;
}

static void q_destroy(queue *q)
{
    free(q->buf);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->ne);
    pthread_cond_destroy(&q->nf);
}

/* 0 pushed, 1 dropped (drop set and the queue full), -1 closed */
static int q_push(queue *q, item *it, int drop)
{
    pthread_mutex_lock(&q->mu);
    while (q->n == q->cap && !q->closed && !drop)
        pthread_cond_wait(&q->nf, &q->mu);
    int r = 0;
    if (q->closed)
        r = -1;
    else if (q->n == q->cap)
        r = 1;
    else {
        q->buf[(q->head + q->n) % q->cap] = it;
        q->n++;
        pthread_cond_signal(&q->ne);
    }
    pthread_mutex_unlock(&q->mu);
    return r;
}

/* NULL when closed and empty */
static item *q_pop(queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->n == 0 && !q->closed)
        pthread_cond_wait(&q->ne, &q->mu);
    item *it = NULL;
    if (q->n) {
        it = q->buf[q->head];
        q->head = (q->head + 1) % q->cap;
        q->n--;
        pthread_cond_signal(&q->nf);
    }
    pthread_mutex_unlock(&q->mu);
    return it;
}

static void q_close(queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->ne);
    pthread_cond_broadcast(&q->nf);
    pthread_mutex_unlock(&q->mu);
}

static void item_free(item *it)
{
    if (!it)
        return;
    dolor_image_free(it->img);
    dolor_image_free(it->cls);
    free(it->probs);
    free(it);
}

/* ---- per-frame record ---- */
typedef struct {
    int64_t index;
    double pts_ms, decode_ms, queue_ms, infer_ms, draw_ms, latency_ms;
    int dropped;
} record;

typedef struct {
    const stream_opts *o;
    const char *input;
    dolor_video_open_opts vo;
    dolor_video_reader *first;      /* opened by main for the checks, used by decode for repetition 0 */
    int ncomp;                      /* components the frames are read with */
    int want_probs;                 /* the live view shows confidences: keep the softmax probabilities */
    dolor_net *net;
    dolor_model_meta meta;
    queue q1, q2;
    /* first error of any stage */
    pthread_mutex_t mu;
    dolor_status err;
    int input_error;                /* the error came from the input (frames before it are kept) */
    char errmsg[1024];
    volatile int stop;
    /* records: written by decode (dropped frames) and encode (processed), under mu */
    record *rec;
    size_t nrec, caprec;
    int64_t nread, ndropped;
    double t_first_in;
} pipeline;

static void pipe_fail(pipeline *p, dolor_status s, int input)
{
    pthread_mutex_lock(&p->mu);
    if (!p->err) {
        p->err = s;
        p->input_error = input;
        snprintf(p->errmsg, sizeof p->errmsg, "%s", dolor_errmsg());
    }
    if (!input)
        p->stop = 1;
    pthread_mutex_unlock(&p->mu);
}

static int pipe_record(pipeline *p, const record *r)
{
    pthread_mutex_lock(&p->mu);
    if (p->nrec == p->caprec) {
        size_t nc = p->caprec ? 2 * p->caprec : 1024;
        record *nr = realloc(p->rec, nc * sizeof *nr);
        if (!nr) {
            pthread_mutex_unlock(&p->mu);
            return -1;
        }
        p->rec = nr;
        p->caprec = nc;
    }
    p->rec[p->nrec++] = *r;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void sleep_ms(double ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(fmod(ms, 1000.0) * 1e6)};
    nanosleep(&ts, NULL);
}

static void *decode_main(void *arg)
{
    pipeline *p = arg;
    const stream_opts *o = p->o;
    double offset = 0, last = 0, step = 1000.0 / (o->fps > 0 ? o->fps : 30);
    double t0 = -1;
    int pace = o->live && !(o->format && !strcmp(o->format, "v4l2"));
    for (long rep = 0; rep < (o->repeat ? o->repeat : 1) && !p->stop; rep++) {
        dolor_video_reader *r = rep == 0 ? p->first : NULL;
        dolor_status s = DOLOR_OK;
        if (!r)
            s = dolor_video_open(p->input, &p->vo, &r);
        if (rep == 0)
            p->first = NULL; /* ours now */
        for (; !s && !p->stop;) {
            double a = dolor_time_ms();
            dolor_image *img = NULL;
            double pts = 0;
            int64_t idx = 0;
            s = dolor_video_read(r, &img, &pts, &idx);
            if (s || !img)
                break;
            double dec_ms = dolor_time_ms() - a;
            pts += offset;
            last = pts;
            if (pace) {
                if (t0 < 0)
                    t0 = a - pts;
                sleep_ms(t0 + pts - dolor_time_ms()); /* a camera delivers the frame at its time */
            }
            double b = dolor_time_ms();
            item *it = calloc(1, sizeof *it);
            if (!it) {
                dolor_image_free(img);
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                break;
            }
            it->img = img;
            it->pts_ms = pts;
            it->index = p->nread;
            it->t_in = b;
            it->t_dec = dec_ms;
            pthread_mutex_lock(&p->mu);
            if (p->nread == 0)
                p->t_first_in = b;
            p->nread++;
            pthread_mutex_unlock(&p->mu);
            int q = q_push(&p->q1, it, o->live);
            if (q != 0) {
                if (q == 1) {
                    record rec = {.index = it->index, .pts_ms = pts, .decode_ms = it->t_dec, .dropped = 1};
                    pthread_mutex_lock(&p->mu);
                    p->ndropped++;
                    pthread_mutex_unlock(&p->mu);
                    pipe_record(p, &rec);
                }
                item_free(it);
            }
        }
        dolor_video_close(r);
        if (s) {
            pipe_fail(p, s, 1);
            break;
        }
        offset = last + step;
    }
    q_close(&p->q1);
    return NULL;
}

static void *infer_main(void *arg)
{
    pipeline *p = arg;
    if (p->o->threads)
        omp_set_num_threads((int)p->o->threads);
    dolor_segment_scratch *scratch = NULL;
    item *it;
    while ((it = q_pop(&p->q1))) {
        it->t_pop = dolor_time_ms();
        dolor_status s = DOLOR_OK;
        if (p->net && !p->stop) {
            size_t plane = (size_t)it->img->size[0] * (size_t)it->img->size[1];
            if (p->want_probs && !(it->probs = malloc(plane * (size_t)p->meta.num_classes * sizeof(float))))
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
            if (!s)
                s = dolor_segment_image_probs(p->net, &p->meta, it->img, &scratch, &it->cls, it->probs);
            if (s)
                dolor_error_prefix(s, "frame %lld", (long long)it->index);
        }
        it->t_inf = dolor_time_ms();
        if (s || p->stop) {
            if (s)
                pipe_fail(p, s, 0);
            item_free(it);
            continue; /* drain q1 so decode is not blocked */
        }
        if (q_push(&p->q2, it, 0) != 0)
            item_free(it);
    }
    dolor_segment_scratch_free(scratch);
    q_close(&p->q2);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double q)
{
    /* type-7 quantile (R's default): linear between order statistics */
    if (!n)
        return NAN;
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)h;
    return lo + 1 < n ? v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]) : v[n - 1];
}

static dolor_status write_csv(const char *path, const pipeline *p)
{
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    fprintf(f.fp, "frame,pts_ms,status,decode_ms,queue_ms,infer_ms,draw_ms,latency_ms\n");
    for (size_t i = 0; i < p->nrec; i++) {
        const record *r = &p->rec[i];
        if (r->dropped)
            fprintf(f.fp, "%lld,%.3f,dropped,%.3f,,,,\n", (long long)r->index, r->pts_ms, r->decode_ms);
        else
            fprintf(f.fp, "%lld,%.3f,ok,%.3f,%.3f,%.3f,%.3f,%.3f\n", (long long)r->index, r->pts_ms, r->decode_ms,
                    r->queue_ms, r->infer_ms, r->draw_ms, r->latency_ms);
    }
    return dolor_outfile_commit(&f);
}

static int cmp_rec(const void *a, const void *b)
{
    int64_t x = ((const record *)a)->index, y = ((const record *)b)->index;
    return (x > y) - (x < y);
}

static dolor_status parse_size(const char *s, int *w, int *h)
{
    char *e;
    long a = strtol(s, &e, 10);
    if (e == s || (*e != 'x' && *e != 'X'))
        return dolor_error(DOLOR_EINVAL, "--size: '%s' is not WxH (e.g. 256x256)", s);
    const char *t = e + 1;
    long b = strtol(t, &e, 10);
    if (e == t || *e || a < 2 || b < 2 || a > 16384 || b > 16384)
        return dolor_error(DOLOR_EINVAL, "--size: '%s' is not WxH with sides 2..16384", s);
    *w = (int)a;
    *h = (int)b;
    return DOLOR_OK;
}

/* Per-class area (% of the frame) and mean confidence (mean softmax probability of the class over the pixels
 * assigned to it) of one frame. */
static void frame_stats(const item *it, int k, double *area, double *conf)
{
    size_t plane = (size_t)it->img->size[0] * (size_t)it->img->size[1];
    const uint8_t *c = it->cls->data;
    double cnt[DOLOR_MAX_CLASSES] = {0}, sum[DOLOR_MAX_CLASSES] = {0};
    for (size_t i = 0; i < plane; i++) {
        cnt[c[i]] += 1;
        sum[c[i]] += it->probs[(size_t)c[i] * plane + i];
    }
    for (int j = 0; j < k; j++) {
        area[j] = 100.0 * cnt[j] / (double)plane;
        conf[j] = cnt[j] > 0 ? sum[j] / cnt[j] : NAN;
    }
}

int dolor_cmd_stream(int argc, char **argv)
{
    stream_opts o = {.repeat = 1, .queue = 4};
    char **pos = NULL;
    int npos = 0, rc;
    pipeline p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    dolor_video_writer *w = NULL;
    dolor_stream_server *srv = NULL;
    dolor_status s = DOLOR_OK;
    char csvpath[4096] = "";
    int q1_ok = 0, q2_ok = 0;
    if ((rc = dolor_cmd_front(&stream_cmd, argc, argv, dolor_opt_bind, &o, &pos, &npos, NULL)) >= 0)
        goto out;
    rc = DOLOR_EXIT_OK;
    if (npos != 1) {
        rc = npos ? dolor_cli_usage_error("stream", "one INPUT only (%d given)", npos)
                  : dolor_cli_usage_error("stream", "need an INPUT (a video file, image folder, volume or URL)");
        goto out;
    }
    if (!o.out && !o.labels && !o.serve && !o.csv && !o.model) {
        rc = dolor_cli_usage_error("stream", "nothing to do: give --model, -o, --labels, --csv or --serve");
        goto out;
    }
    p.o = &o;
    p.input = pos[0];
    p.vo.format = o.format;
    p.vo.fps = o.fps;
    if (o.size && (s = parse_size(o.size, &p.vo.width, &p.vo.height)))
        goto fail;
    if (o.model) {
        /* the description first (cheap), so a wrong model fails before its weights are read */
        if ((s = dolor_checkpoint_read_meta(o.model, &p.meta)))
            goto fail;
        if (!strcmp(p.meta.task, "classification")) {
            s = dolor_error(DOLOR_EINVAL, "%s: a classification model (%s); dolor stream needs a segmentation "
                            "model", o.model, p.meta.arch_name);
            goto fail;
        }
    }
    if ((s = dolor_video_open(p.input, &p.vo, &p.first)))
        goto fail;
    const dolor_video_info *vi = dolor_video_get_info(p.first);
    p.ncomp = vi->ncomp;
    if (o.model && p.meta.in_channels != 1) {
        /* dolor's segmenters take grey input (1 channel) and convert any video to it, as training did */
        s = dolor_error(DOLOR_ESHAPE, "%s takes %d input channels but %s has %d (%s) and is segmented as 1 grey "
                        "channel, as dolor train's models are", o.model, p.meta.in_channels, p.input, vi->ncomp,
                        vi->ncomp == 1 ? "grey" : "RGB");
        goto fail;
    }
    if (o.model && (s = dolor_checkpoint_load(o.model, &p.net, NULL, &p.meta)))
        goto fail;
    if (!o.quiet)
        fprintf(stderr, "%s: %s in %s, %dx%d%s, %s, %.2f frames/s nominal, %lld frames declared\n", p.input,
                vi->codec, vi->container, vi->width, vi->height,
                vi->width != vi->src_width || vi->height != vi->src_height ? " (resized)" : "",
                vi->ncomp == 1 ? "grey" : "RGB", vi->fps, (long long)vi->nframes);
    int ow = vi->width, oh = vi->height, out_nc = o.model ? 3 : vi->ncomp;
    if (o.out) {
        dolor_video_writer_opts wo = {.codec = o.codec, .fps = o.fps > 0 ? o.fps : vi->fps};
        if ((s = dolor_video_writer_open(o.out, ow, oh, out_nc, &wo, &w)))
            goto fail;
        snprintf(csvpath, sizeof csvpath, "%s.frames.csv", o.out);
    }
    if (o.csv)
        snprintf(csvpath, sizeof csvpath, "%s", o.csv);
    if (o.labels && !o.model) {
        s = dolor_error(DOLOR_EINVAL, "--labels needs --model");
        goto fail;
    }
    if (o.labels && (s = dolor_mkdir_p(o.labels)))
        goto fail;
    if (o.serve) {
        dolor_stream_server_opts so = {.snapshot_dir = o.snapshots ? o.snapshots : "snapshots",
                                       .num_classes = o.model ? p.meta.num_classes : 0};
        for (int c = 0; o.model && c < p.meta.num_classes; c++) {
            so.class_names[c] = p.meta.class_names[c];
            so.label_values[c] = p.meta.label_values[c];
        }
        if ((s = dolor_stream_server_start(o.serve, &so, &srv)))
            goto fail;
        fprintf(stderr, "live view: %s\n", dolor_stream_server_url(srv));
        p.want_probs = p.net != NULL;
    }
    if (p.net) {
        /* plan the network (oneDNN primitives) on a blank frame before the clock starts */
        dolor_image *blank = NULL, *cls = NULL;
        dolor_segment_scratch *sc = NULL;
        if (o.threads)
            omp_set_num_threads((int)o.threads);
        s = dolor_image_create2d(&blank, DOLOR_U8, vi->ncomp, ow, oh);
        if (!s)
            s = dolor_segment_image(p.net, &p.meta, blank, &sc, &cls);
        dolor_image_free(blank);
        dolor_image_free(cls);
        dolor_segment_scratch_free(sc);
        if (s)
            goto fail;
    }
    if (q_init(&p.q1, (int)o.queue) || q_init(&p.q2, (int)o.queue)) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    q1_ok = q2_ok = 1;
    pthread_t td, ti;
    pthread_create(&td, NULL, decode_main, &p);
    pthread_create(&ti, NULL, infer_main, &p);
    /* this thread draws, encodes and writes */
    item *it;
    int64_t nout = 0;
    double t_last = 0, last_print = dolor_time_ms();
    int k = o.model ? p.meta.num_classes : 0;
    while ((it = q_pop(&p.q2))) {
        dolor_status es = DOLOR_OK;
        double a = dolor_time_ms();
        dolor_image *ov = NULL, *lab = NULL;
        double area[DOLOR_MAX_CLASSES], conf[DOLOR_MAX_CLASSES];
        if (!p.stop) {
            if (p.net) {
                es = dolor_overlay_make(it->img, it->cls, k, NULL, &ov);
                if (!es && (o.labels || srv))
                    es = dolor_classes_to_labels(it->cls, &p.meta, &lab);
                if (!es && it->probs)
                    frame_stats(it, k, area, conf);
            }
            if (!es && w)
                es = dolor_video_write(w, ov ? ov : it->img, it->pts_ms);
            if (!es && o.labels) {
                char path[4096];
                snprintf(path, sizeof path, "%s/frame_%06lld.png", o.labels, (long long)it->index);
                es = lab->dtype == DOLOR_U8 ? dolor_png_write_labels(path, lab, NULL, 0) : dolor_png_write(path, lab);
            }
            if (!es && srv)
                es = dolor_stream_server_publish(srv, ov ? ov : it->img, it->img, lab, it->index, it->pts_ms,
                                                 it->probs ? area : NULL, it->probs ? conf : NULL, p.ndropped);
        }
        double b = dolor_time_ms();
        if (es) {
            dolor_error_prefix(es, "frame %lld", (long long)it->index);
            pipe_fail(&p, es, 0);
        } else if (!p.stop) {
            record r = {.index = it->index, .pts_ms = it->pts_ms, .decode_ms = it->t_dec,
                        .queue_ms = (it->t_pop - it->t_in), .infer_ms = it->t_inf - it->t_pop, .draw_ms = b - a,
                        .latency_ms = b - it->t_in};
            if (pipe_record(&p, &r))
                pipe_fail(&p, dolor_error(DOLOR_ENOMEM, "out of memory"), 0);
            nout++;
            t_last = b;
        }
        dolor_image_free(ov);
        dolor_image_free(lab);
        item_free(it);
        if (!o.quiet && b - last_print > 1000) {
            fprintf(stderr, "\r%lld frames, %lld dropped", (long long)nout, (long long)p.ndropped);
            last_print = b;
        }
    }
    pthread_join(td, NULL);
    pthread_join(ti, NULL);
    if (!o.quiet && nout)
        fputc('\n', stderr);
    if (p.err && !p.input_error) {
        /* a runtime failure of our own: nothing is kept */
        dolor_error(p.err, "%s", p.errmsg);
        s = p.err;
        goto fail;
    }
    /* outputs hold every frame processed (all of them, or those before the damage in the input) */
    if (w) {
        s = dolor_video_writer_close(w);
        w = NULL;
        if (s)
            goto fail;
    }
    qsort(p.rec, p.nrec, sizeof *p.rec, cmp_rec);
    if (csvpath[0] && (s = write_csv(csvpath, &p)))
        goto fail;
    {
        double *lat = malloc((p.nrec ? p.nrec : 1) * sizeof *lat);
        size_t n = 0;
        for (size_t i = 0; lat && i < p.nrec; i++)
            if (!p.rec[i].dropped)
                lat[n++] = p.rec[i].latency_ms;
        if (lat)
            qsort(lat, n, sizeof *lat, cmp_double);
        double wall = t_last - p.t_first_in;
        printf("frames: %lld read, %lld processed, %lld dropped%s\n", (long long)p.nread, (long long)nout,
               (long long)p.ndropped, o.live ? " (live mode)" : "");
        if (lat && n) {
            printf("throughput: %.1f frames/s (%lld frames in %.1f ms, first decoded to last %s)\n",
                   n > 1 && wall > 0 ? 1000.0 * (double)(n - 1) / wall : 0.0, (long long)n, wall,
                   o.out ? "encoded" : "done");
            printf("latency (decoded -> %s): p50 %.2f ms, p95 %.2f ms, max %.2f ms\n", o.out ? "encoded" : "done",
                   pct(lat, n, 0.5), pct(lat, n, 0.95), lat[n - 1]);
        }
        free(lat);
    }
    if (o.out)
        printf("overlay video: %s\n", o.out);
    if (csvpath[0])
        printf("per-frame timings: %s\n", csvpath);
    if (p.err) {
        /* the input was damaged: say so after keeping what came before */
        dolor_error(p.err, "%s", p.errmsg);
        s = p.err;
        goto fail;
    }
    goto out;
fail:
    rc = dolor_cli_fail("stream", s);
out:
    dolor_video_writer_abort(w);
    dolor_stream_server_stop(srv);
    dolor_video_close(p.first);
    if (q1_ok)
        q_destroy(&p.q1);
    if (q2_ok)
        q_destroy(&p.q2);
    pthread_mutex_destroy(&p.mu);
    free(p.rec);
    dolor_net_free(p.net);
    free(pos);
    free(o.model);
    free(o.out);
    free(o.labels);
    free(o.csv);
    free(o.size);
    free(o.codec);
    free(o.format);
    free(o.serve);
    free(o.snapshots);
    return rc;
}
