/* Video in and out (dolor/video.h): FFmpeg's libavformat/libavcodec/libswscale for video files and URLs,
 * dolor's own readers for volumes (DICOM cine, MetaImage, NIfTI) and folders of PNG/JPEG frames. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/video.h"
#include "dolor/io.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- FFmpeg's log: silenced, the last error-level line kept per thread for our messages ---- */
static _Thread_local char av_last[256];

static void av_log_keep(void *avcl, int level, const char *fmt, va_list vl)
{
    (void)avcl;
    if (level > AV_LOG_ERROR)
        return;
    vsnprintf(av_last, sizeof av_last, fmt, vl);
    size_t n = strlen(av_last);
    while (n && (av_last[n - 1] == '\n' || av_last[n - 1] == '\r'))
        av_last[--n] = 0;
}

static pthread_once_t av_once = PTHREAD_ONCE_INIT;
static void av_setup(void) { av_log_set_callback(av_log_keep); }

/* "message of ret" plus FFmpeg's last logged error, if any, for quoting. */
static const char *av_why(int ret, char *buf, size_t n)
{
    char e[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(ret, e, sizeof e);
    if (av_last[0] && !strstr(av_last, e))
        snprintf(buf, n, "%s; %s", e, av_last);
    else
        snprintf(buf, n, "%s", e);
    av_last[0] = 0;
    return buf;
}

int dolor_video_has_encoder(const char *name) { return avcodec_find_encoder_by_name(name) != NULL; }

/* ======================= reader ======================= */

enum { SRC_FFMPEG, SRC_VOLUME, SRC_FOLDER };

struct dolor_video_reader {
    dolor_video_info info;
    char *name;
    int kind;
    int64_t next;          /* frames returned */
    dolor_status err;      /* sticky error and its message */
    char errmsg[512];
    /* volumes */
    dolor_image *vol;
    int64_t nvol;
    double frame_ms, lo, hi;
    /* folders */
    char **files;
    size_t nfiles;
    /* FFmpeg */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frm;
    struct SwsContext *sws;
    int stream, draining;
    int64_t start_pts;
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_dicm(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    char b[4];
    int ok = fseek(fp, 128, SEEK_SET) == 0 && fread(b, 1, 4, fp) == 4 && memcmp(b, "DICM", 4) == 0;
    fclose(fp);
    return ok;
}

static int is_frame_name(const char *n)
{
    return n[0] != '.' && (ends_with(n, ".png") || ends_with(n, ".jpg") || ends_with(n, ".jpeg"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Convert plane p (0-based) of src (any integer/float dtype, 1..4 components) to a new uint8 frame with
 * ncomp components; values outside 0..255 (or non-uint8 dtypes) are mapped linearly from lo..hi. */
static dolor_status plane_to_frame(const dolor_image *src, int64_t p, int ncomp, double lo, double hi,
                                   dolor_image **out)
{
    int64_t nx = src->size[0], ny = src->size[1];
    dolor_status s = dolor_image_create2d(out, DOLOR_U8, ncomp, nx, ny);
    if (s)
        return s;
    dolor_image *f = *out;
    f->spacing[0] = src->spacing[0];
    f->spacing[1] = src->spacing[1];
    uint8_t *d = f->data;
    size_t plane = (size_t)(nx * ny), sc = (size_t)src->ncomp, base = (size_t)p * plane * sc;
    int direct = src->dtype == DOLOR_U8;
    double scale = hi > lo ? 255.0 / (hi - lo) : 1.0;
    for (size_t i = 0; i < plane; i++) {
        double v[4];
        for (size_t c = 0; c < sc && c < 4; c++) {
            if (direct)
                v[c] = ((const uint8_t *)src->data)[base + i * sc + c];
            else {
                double x = (dolor_image_get(src, base + i * sc + c) - lo) * scale;
                v[c] = x < 0 ? 0 : x > 255 ? 255 : x;
            }
        }
        if (ncomp == 1) {
            double g = sc >= 3 ? 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2] : v[0];
            d[i] = (uint8_t)(g + 0.5 > 255 ? 255 : g + 0.5);
        } else {
            for (int c = 0; c < 3; c++)
                d[i * 3 + (size_t)c] = (uint8_t)(sc >= 3 ? v[c] : v[0]);
        }
    }
    return DOLOR_OK;
}

/* Bilinear resize of a uint8 frame (PyTorch F.interpolate(mode='bilinear', align_corners=False) sampling). */
static dolor_status resize_u8(const dolor_image *src, int ow, int oh, dolor_image **out)
{
    int iw = (int)src->size[0], ih = (int)src->size[1], nc = src->ncomp;
    dolor_status s = dolor_image_create2d(out, DOLOR_U8, nc, ow, oh);
    if (s)
        return s;
    const uint8_t *a = src->data;
    uint8_t *d = (*out)->data;
    double sx = (double)iw / ow, sy = (double)ih / oh;
    (*out)->spacing[0] = src->spacing[0] * sx;
    (*out)->spacing[1] = src->spacing[1] * sy;
    for (int y = 0; y < oh; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        fy = fy < 0 ? 0 : fy;
        int y0 = (int)fy, y1 = y0 + 1 < ih ? y0 + 1 : ih - 1;
        double wy = fy - y0;
        for (int x = 0; x < ow; x++) {
            double fx = (x + 0.5) * sx - 0.5;
            fx = fx < 0 ? 0 : fx;
            int x0 = (int)fx, x1 = x0 + 1 < iw ? x0 + 1 : iw - 1;
            double wx = fx - x0;
            for (int c = 0; c < nc; c++) {
                double v = (1 - wy) * ((1 - wx) * a[((size_t)y0 * iw + x0) * nc + c] + wx * a[((size_t)y0 * iw + x1) * nc + c]) +
                           wy * ((1 - wx) * a[((size_t)y1 * iw + x0) * nc + c] + wx * a[((size_t)y1 * iw + x1) * nc + c]);
                d[((size_t)y * ow + x) * nc + c] = (uint8_t)(v + 0.5);
            }
        }
    }
    return DOLOR_OK;
}

static void value_range(const dolor_image *img, double *lo, double *hi)
{
    *lo = 0;
    *hi = 255;
    if (img->dtype == DOLOR_U8)
        return;
    size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
    double a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = dolor_image_get(img, i);
        if (isfinite(v)) {
            a = v < a ? v : a;
            b = v > b ? v : b;
        }
    }
    if (a < b) {
        *lo = a;
        *hi = b;
    }
}

static dolor_status open_volume(dolor_video_reader *r, const dolor_video_open_opts *o)
{
    dolor_status s = dolor_image_read(r->name, &r->vol);
    if (s)
        return s;
    dolor_image *v = r->vol;
    if (v->ndim == 4 && v->size[2] != 1)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: a 4D volume with %lld slices per time point is not a 2D video",
                           r->name, (long long)v->size[2]);
    r->nvol = v->ndim == 2 ? 1 : v->ndim == 3 ? v->size[2] : v->size[3];
    double fps = o && o->fps > 0 ? o->fps : 30.0;
    r->frame_ms = v->ndim == 4 && v->spacing[3] > 0 ? v->spacing[3] : 1000.0 / fps;
    value_range(v, &r->lo, &r->hi);
    r->info.width = (int)v->size[0];
    r->info.height = (int)v->size[1];
    r->info.ncomp = v->ncomp >= 3 ? 3 : 1;
    r->info.fps = 1000.0 / r->frame_ms;
    r->info.nframes = r->nvol;
    snprintf(r->info.codec, sizeof r->info.codec, "%s",
             ends_with(r->name, ".mha") || ends_with(r->name, ".mhd") ? "metaimage"
             : ends_with(r->name, ".nii") || ends_with(r->name, ".nii.gz") ? "nifti" : "dicom");
    snprintf(r->info.container, sizeof r->info.container, "volume");
    return DOLOR_OK;
}

static dolor_status open_folder(dolor_video_reader *r, const dolor_video_open_opts *o)
{
    DIR *d = opendir(r->name);
    if (!d)
        return dolor_error(DOLOR_EIO, "%s: cannot open folder (%s)", r->name, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    dolor_status s = DOLOR_OK;
    while (!s && (e = readdir(d))) {
        if (!is_frame_name(e->d_name))
            continue;
        if (r->nfiles == cap) {
            size_t nc = cap ? 2 * cap : 64;
            char **nv = realloc(r->files, nc * sizeof *nv);
            if (!nv) {
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                break;
            }
            r->files = nv;
            cap = nc;
        }
        size_t len = strlen(r->name) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            break;
        }
        snprintf(p, len, "%s/%s", r->name, e->d_name);
        r->files[r->nfiles++] = p;
    }
    closedir(d);
    if (s)
        return s;
    if (!r->nfiles)
        return dolor_error(DOLOR_ENOTFOUND, "%s: no frames (.png .jpg .jpeg) in folder", r->name);
    qsort(r->files, r->nfiles, sizeof *r->files, cmp_str);
    dolor_image *first = NULL;
    s = dolor_image_read(r->files[0], &first);
    if (s)
        return s;
    r->info.width = (int)first->size[0];
    r->info.height = (int)first->size[1];
    r->info.ncomp = first->ncomp >= 3 ? 3 : 1;
    dolor_image_free(first);
    double fps = o && o->fps > 0 ? o->fps : 30.0;
    r->frame_ms = 1000.0 / fps;
    r->info.fps = fps;
    r->info.nframes = (int64_t)r->nfiles;
    snprintf(r->info.codec, sizeof r->info.codec, "%s", ends_with(r->files[0], ".png") ? "png" : "jpeg");
    snprintf(r->info.container, sizeof r->info.container, "folder");
    return DOLOR_OK;
}

static int grey_pix_fmt(enum AVPixelFormat f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
    return d && d->nb_components <= 2 && !(d->flags & AV_PIX_FMT_FLAG_PAL);
}

static dolor_status open_ffmpeg(dolor_video_reader *r, const dolor_video_open_opts *o)
{
    char why[512];
    const AVInputFormat *ifmt = NULL;
    if (o && o->format && !(ifmt = av_find_input_format(o->format)))
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: FFmpeg has no input format '%s'", r->name, o->format);
    av_last[0] = 0;
    int ret = avformat_open_input(&r->fmt, r->name, ifmt, NULL);
    if (ret < 0) {
        int io = ret == AVERROR(EIO) || ret == AVERROR(EACCES) || ret == AVERROR(EBUSY);
        return dolor_error(ret == AVERROR(ENOENT) ? DOLOR_ENOTFOUND : io ? DOLOR_EIO : DOLOR_EFORMAT,
                           "%s: cannot open as video (%s)", r->name, av_why(ret, why, sizeof why));
    }
    if ((ret = avformat_find_stream_info(r->fmt, NULL)) < 0)
        return dolor_error(DOLOR_EFORMAT, "%s: cannot read stream information (%s)", r->name,
                           av_why(ret, why, sizeof why));
    r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (r->stream < 0) {
        /* a video stream whose codec FFmpeg does not know is still a video stream: name its codec */
        for (unsigned i = 0; i < r->fmt->nb_streams; i++)
            if (r->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
                r->stream = (int)i;
                break;
            }
        if (r->stream < 0)
            return dolor_error(DOLOR_EFORMAT, "%s: no video stream (%u streams)", r->name, r->fmt->nb_streams);
    }
    AVStream *st = r->fmt->streams[r->stream];
    AVCodecParameters *par = st->codecpar;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
        char tag[AV_FOURCC_MAX_STRING_SIZE] = "";
        if (par->codec_tag)
            av_fourcc_make_string(tag, par->codec_tag);
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: unsupported video codec '%s' (this libavcodec has no decoder for it)",
                           r->name, par->codec_id != AV_CODEC_ID_NONE ? avcodec_get_name(par->codec_id)
                                    : tag[0] ? tag : "unknown");
    }
    if (!(r->dec = avcodec_alloc_context3(codec)) || !(r->pkt = av_packet_alloc()) || !(r->frm = av_frame_alloc()))
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    if ((ret = avcodec_parameters_to_context(r->dec, par)) < 0 ||
        (r->dec->err_recognition |= AV_EF_EXPLODE | AV_EF_CRCCHECK, 0) ||
        (ret = avcodec_open2(r->dec, codec, NULL)) < 0)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: cannot open the %s decoder (%s)", r->name, codec->name,
                           av_why(ret, why, sizeof why));
    if (par->width <= 0 || par->height <= 0)
        return dolor_error(DOLOR_EFORMAT, "%s: video stream has no frame size (%dx%d)", r->name, par->width,
                           par->height);
    r->info.width = par->width;
    r->info.height = par->height;
    r->info.ncomp = grey_pix_fmt((enum AVPixelFormat)par->format) ? 1 : 3;
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    r->info.fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0;
    /* the frame count is trusted where it counts samples (MP4/MOV's sample table); AVI's counts ticks of its
     * time base, other containers do not say */
    r->info.nframes = st->nb_frames > 0 && strstr(r->fmt->iformat->name, "mp4") ? st->nb_frames : -1;
    snprintf(r->info.codec, sizeof r->info.codec, "%s", codec->name);
    snprintf(r->info.container, sizeof r->info.container, "%s", r->fmt->iformat->name);
    r->start_pts = AV_NOPTS_VALUE;
    return DOLOR_OK;
}

dolor_status dolor_video_open(const char *url, const dolor_video_open_opts *opts, dolor_video_reader **out)
{
    *out = NULL;
    pthread_once(&av_once, av_setup);
    if (opts && opts->want_ncomp != 0 && opts->want_ncomp != 1 && opts->want_ncomp != 3)
        return dolor_error(DOLOR_EINVAL, "%s: want_ncomp is %d (0, 1 or 3)", url, opts->want_ncomp);
    if (opts && (opts->width < 0 || opts->height < 0 || opts->width > 16384 || opts->height > 16384 ||
                 (opts->width > 0) != (opts->height > 0)))
        return dolor_error(DOLOR_EINVAL, "%s: resize to %dx%d (both 1..16384, or both 0)", url, opts->width,
                           opts->height);
    dolor_video_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(url))) {
        free(r);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    int local = !(opts && opts->format) && !strstr(url, "://") && !strchr(url, '%');
    struct stat st;
    if (local && stat(url, &st) != 0) {
        dolor_video_close(r);
        return dolor_error(errno == ENOENT ? DOLOR_ENOTFOUND : DOLOR_EIO, "%s: cannot open (%s)", url,
                           strerror(errno));
    }
    dolor_status s;
    if (local && is_dir(url)) {
        /* a folder of PNG/JPEG frames; any other folder is a DICOM series */
        DIR *d = opendir(url);
        int frames = 0;
        struct dirent *e;
        while (d && (e = readdir(d)))
            frames |= is_frame_name(e->d_name);
        if (d)
            closedir(d);
        r->kind = frames ? SRC_FOLDER : SRC_VOLUME;
    } else if (local && (ends_with(url, ".dcm") || ends_with(url, ".mha") || ends_with(url, ".mhd") ||
                         ends_with(url, ".nii") || ends_with(url, ".nii.gz") || has_dicm(url))) {
        r->kind = SRC_VOLUME;
    } else {
        r->kind = SRC_FFMPEG;
    }
    s = r->kind == SRC_FOLDER ? open_folder(r, opts) : r->kind == SRC_VOLUME ? open_volume(r, opts)
                                                                              : open_ffmpeg(r, opts);
    if (s) {
        dolor_video_close(r);
        return s;
    }
    if (opts && opts->want_ncomp)
        r->info.ncomp = opts->want_ncomp;
    r->info.src_width = r->info.width;
    r->info.src_height = r->info.height;
    if (opts && opts->width > 0) {
        r->info.width = opts->width;
        r->info.height = opts->height;
    }
    *out = r;
    return DOLOR_OK;
}

const dolor_video_info *dolor_video_get_info(const dolor_video_reader *r) { return &r->info; }

static dolor_status reader_fail(dolor_video_reader *r, dolor_status s)
{
    r->err = s;
    snprintf(r->errmsg, sizeof r->errmsg, "%s", dolor_errmsg());
    return s;
}

static dolor_status read_ffmpeg(dolor_video_reader *r, dolor_image **frame, double *pts_ms)
{
    char why[512];
    AVStream *st = r->fmt->streams[r->stream];
    for (;;) {
        int ret = avcodec_receive_frame(r->dec, r->frm);
        if (ret == 0) {
            if (r->frm->flags & AV_FRAME_FLAG_CORRUPT || r->frm->decode_error_flags) {
                av_frame_unref(r->frm);
                return dolor_error(DOLOR_EFORMAT, "%s: frame %lld is corrupt (decoder flagged damaged data)",
                                   r->name, (long long)r->next);
            }
            break;
        }
        if (ret == AVERROR_EOF) {
            /* an index that lists packets past the end of the file: the file was cut */
            int nidx = avformat_index_get_entries_count(st);
            const AVIndexEntry *last = nidx > 0 ? avformat_index_get_entry(st, nidx - 1) : NULL;
            int64_t fsize = r->fmt->pb ? avio_size(r->fmt->pb) : -1;
            if (last && fsize > 0 && last->pos + last->size > fsize)
                return dolor_error(DOLOR_EFORMAT, "%s: truncated: stream ends at frame %lld (the index lists %d "
                                   "packets up to byte %lld, the file has %lld bytes)", r->name, (long long)r->next,
                                   nidx, (long long)(last->pos + last->size), (long long)fsize);
            if (r->info.nframes > 0 && r->next < r->info.nframes)
                return dolor_error(DOLOR_EFORMAT, "%s: truncated: stream ends at frame %lld of %lld", r->name,
                                   (long long)r->next, (long long)r->info.nframes);
            return DOLOR_OK; /* end */
        }
        if (ret != AVERROR(EAGAIN))
            return dolor_error(DOLOR_EFORMAT, "%s: frame %lld: cannot decode (%s)", r->name, (long long)r->next,
                               av_why(ret, why, sizeof why));
        if (r->draining)
            return dolor_error(DOLOR_EFORMAT, "%s: frame %lld: decoder wants data after the end", r->name,
                               (long long)r->next);
        ret = av_read_frame(r->fmt, r->pkt);
        if (ret == AVERROR_EOF || (ret < 0 && r->fmt->pb && avio_feof(r->fmt->pb) && !r->fmt->pb->error)) {
            r->draining = 1;
            ret = avcodec_send_packet(r->dec, NULL);
        } else if (ret < 0) {
            return dolor_error(ret == AVERROR(EIO) ? DOLOR_EIO : DOLOR_EFORMAT, "%s: frame %lld: read error (%s)",
                               r->name, (long long)r->next, av_why(ret, why, sizeof why));
        } else if (r->pkt->stream_index != r->stream) {
            av_packet_unref(r->pkt);
            continue;
        } else {
            int corrupt = r->pkt->flags & AV_PKT_FLAG_CORRUPT;
            ret = corrupt ? AVERROR_INVALIDDATA : avcodec_send_packet(r->dec, r->pkt);
            av_packet_unref(r->pkt);
            if (corrupt)
                return dolor_error(DOLOR_EFORMAT, "%s: truncated or damaged at frame %lld (the packet is incomplete)",
                                   r->name, (long long)r->next);
        }
        if (ret < 0 && ret != AVERROR_EOF)
            return dolor_error(DOLOR_EFORMAT, "%s: frame %lld: cannot decode (%s)", r->name, (long long)r->next,
                               av_why(ret, why, sizeof why));
    }
    AVFrame *f = r->frm;
    if (f->width != r->info.src_width || f->height != r->info.src_height) {
        av_frame_unref(f);
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: frame %lld is %dx%d, the stream started at %dx%d (size changes "
                           "are not supported)", r->name, (long long)r->next, f->width, f->height, r->info.src_width,
                           r->info.src_height);
    }
    enum AVPixelFormat dst = r->info.ncomp == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
    r->sws = sws_getCachedContext(r->sws, f->width, f->height, (enum AVPixelFormat)f->format, r->info.width,
                                  r->info.height, dst, SWS_BILINEAR, NULL, NULL, NULL);
    dolor_status s = DOLOR_OK;
    if (!r->sws)
        s = dolor_error(DOLOR_EUNSUPPORTED, "%s: frame %lld: cannot convert pixel format %s", r->name,
                        (long long)r->next, av_get_pix_fmt_name((enum AVPixelFormat)f->format));
    if (!s)
        s = dolor_image_create2d(frame, DOLOR_U8, r->info.ncomp, r->info.width, r->info.height);
    if (!s) {
        uint8_t *dp[4] = {(*frame)->data, NULL, NULL, NULL};
        int dl[4] = {r->info.width * r->info.ncomp, 0, 0, 0};
        sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dp, dl);
        int64_t pts = f->best_effort_timestamp;
        if (pts == AV_NOPTS_VALUE || r->info.fps <= 0) {
            *pts_ms = r->info.fps > 0 ? (double)r->next * 1000.0 / r->info.fps : (double)r->next * 1000.0 / 30.0;
        } else {
            if (r->start_pts == AV_NOPTS_VALUE)
                r->start_pts = st->start_time != AV_NOPTS_VALUE && st->start_time <= pts ? st->start_time : pts;
            *pts_ms = (double)(pts - r->start_pts) * av_q2d(st->time_base) * 1000.0;
        }
    }
    av_frame_unref(f);
    return s;
}

dolor_status dolor_video_read(dolor_video_reader *r, dolor_image **frame, double *pts_ms, int64_t *index)
{
    *frame = NULL;
    double t = 0;
    if (r->err)
        return dolor_error(r->err, "%s", r->errmsg);
    dolor_status s = DOLOR_OK;
    if (r->kind == SRC_VOLUME) {
        if (r->next >= r->nvol)
            return DOLOR_OK;
        s = plane_to_frame(r->vol, r->next, r->info.ncomp, r->lo, r->hi, frame);
        t = (double)r->next * r->frame_ms;
    } else if (r->kind == SRC_FOLDER) {
        if ((size_t)r->next >= r->nfiles)
            return DOLOR_OK;
        dolor_image *img = NULL;
        s = dolor_image_read(r->files[r->next], &img);
        if (!s && (img->size[0] != r->info.src_width || img->size[1] != r->info.src_height ||
                   (img->ndim > 2 && img->size[2] != 1)))
            s = dolor_error(DOLOR_ESHAPE, "%s: %lldx%lld but the first frame is %dx%d", r->files[r->next],
                            (long long)img->size[0], (long long)img->size[1], r->info.src_width, r->info.src_height);
        if (!s) {
            double lo, hi;
            value_range(img, &lo, &hi);
            s = plane_to_frame(img, 0, r->info.ncomp, lo, hi, frame);
        }
        dolor_image_free(img);
        if (s)
            dolor_error_prefix(s, "%s: frame %lld", r->name, (long long)r->next);
        t = (double)r->next * r->frame_ms;
    } else {
        s = read_ffmpeg(r, frame, &t);
    }
    if (!s && *frame && r->kind != SRC_FFMPEG &&
        ((*frame)->size[0] != r->info.width || (*frame)->size[1] != r->info.height)) {
        dolor_image *big = *frame;
        s = resize_u8(big, r->info.width, r->info.height, frame);
        dolor_image_free(big);
    }
    if (s) {
        dolor_image_free(*frame);
        *frame = NULL;
        return reader_fail(r, s);
    }
    if (!*frame)
        return DOLOR_OK;
    if (pts_ms)
        *pts_ms = t;
    if (index)
        *index = r->next;
    r->next++;
    return DOLOR_OK;
}

void dolor_video_close(dolor_video_reader *r)
{
    if (!r)
        return;
    dolor_image_free(r->vol);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    sws_freeContext(r->sws);
    av_frame_free(&r->frm);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    free(r->name);
    free(r);
}

/* ======================= writer ======================= */

struct dolor_video_writer {
    dolor_outfile of;
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frm;
    AVPacket *pkt;
    struct SwsContext *sws;
    int width, height, ncomp, opened_io;
    int64_t last_pts, nframes;
};

static void writer_free(dolor_video_writer *w)
{
    sws_freeContext(w->sws);
    av_frame_free(&w->frm);
    av_packet_free(&w->pkt);
    avcodec_free_context(&w->enc);
    if (w->fmt) {
        if (w->opened_io)
            avio_closep(&w->fmt->pb);
        avformat_free_context(w->fmt);
    }
    free(w);
}

void dolor_video_writer_abort(dolor_video_writer *w)
{
    if (!w)
        return;
    dolor_outfile of = w->of;
    writer_free(w);
    if (of.tmp)
        dolor_outfile_abort(&of);
}

dolor_status dolor_video_writer_open(const char *path, int width, int height, int ncomp,
                                     const dolor_video_writer_opts *opts, dolor_video_writer **out)
{
    *out = NULL;
    pthread_once(&av_once, av_setup);
    char why[512];
    dolor_video_writer_opts o = {0};
    if (opts)
        o = *opts;
    if (ncomp != 1 && ncomp != 3)
        return dolor_error(DOLOR_EINVAL, "%s: frames with %d components (1 grey or 3 RGB)", path, ncomp);
    const char *cname = o.codec;
    if (!cname)
        cname = dolor_video_has_encoder("libx264") ? "libx264" : "mpeg4";
    int x264 = !strcmp(cname, "libx264"), mjpeg = !strcmp(cname, "mjpeg");
    if (width < 2 || height < 2 || width > 16384 || height > 16384 || (!mjpeg && ((width | height) & 1)))
        return dolor_error(DOLOR_EINVAL, "%s: frame size %dx%d (2..16384, even for %s)", path, width, height, cname);
    const AVCodec *codec = avcodec_find_encoder_by_name(cname);
    if (!codec)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: video codec '%s' has no encoder in this libavcodec "
                           "(libx264, mpeg4 and mjpeg are the ones dolor uses)", path, cname);
    if (!av_guess_format(NULL, path, NULL))
        return dolor_error(DOLOR_EINVAL, "%s: unknown video container extension (.mp4 .mkv .avi .mov)", path);
    dolor_video_writer *w = calloc(1, sizeof *w);
    if (!w)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    w->width = width;
    w->height = height;
    w->ncomp = ncomp;
    w->last_pts = INT64_MIN;
    dolor_status s = dolor_outfile_open(&w->of, path, 0);
    if (s) {
        free(w);
        return s;
    }
    int ret = avformat_alloc_output_context2(&w->fmt, NULL, NULL, path);
    if (ret < 0 || !w->fmt) {
        s = dolor_error(DOLOR_EINVAL, "%s: no container for this extension (%s)", path, av_why(ret, why, sizeof why));
        goto fail;
    }
    if (!(w->enc = avcodec_alloc_context3(codec)) || !(w->frm = av_frame_alloc()) || !(w->pkt = av_packet_alloc()) ||
        !(w->st = avformat_new_stream(w->fmt, NULL))) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    double fps = o.fps > 0 ? o.fps : 30.0;
    AVCodecContext *c = w->enc;
    c->width = width;
    c->height = height;
    c->time_base = (AVRational){1, 1000};
    c->framerate = av_d2q(fps, 100000);
    c->pix_fmt = mjpeg ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P;
    c->gop_size = (int)(fps + 0.5) > 0 ? (int)(fps + 0.5) : 30;
    c->thread_count = 1; /* the pipeline's other stages hold the cores; encoding one frame is cheap */
    if (x264) {
        av_opt_set(c->priv_data, "preset", o.preset ? o.preset : "veryfast", 0);
        av_opt_set(c->priv_data, "tune", "zerolatency", 0); /* no lookahead: a frame leaves when it comes in */
        av_opt_set_double(c->priv_data, "crf", o.quality > 0 ? o.quality : 23, 0);
    } else {
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * (o.quality > 0 ? o.quality : 3);
        c->max_b_frames = 0;
    }
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((ret = avcodec_open2(c, codec, NULL)) < 0) {
        s = dolor_error(DOLOR_EUNSUPPORTED, "%s: cannot open the %s encoder for %dx%d (%s)", path, cname, width,
                        height, av_why(ret, why, sizeof why));
        goto fail;
    }
    if ((ret = avcodec_parameters_from_context(w->st->codecpar, c)) < 0) {
        s = dolor_error(DOLOR_ENOMEM, "%s: %s", path, av_why(ret, why, sizeof why));
        goto fail;
    }
    w->st->time_base = c->time_base;
    w->st->avg_frame_rate = c->framerate;
    w->frm->format = c->pix_fmt;
    w->frm->width = width;
    w->frm->height = height;
    if ((ret = av_frame_get_buffer(w->frm, 0)) < 0) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    w->sws = sws_getContext(width, height, ncomp == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24, width, height,
                            c->pix_fmt, SWS_BILINEAR, NULL, NULL, NULL);
    if (!w->sws) {
        s = dolor_error(DOLOR_EUNSUPPORTED, "%s: cannot convert frames to %s", path, av_get_pix_fmt_name(c->pix_fmt));
        goto fail;
    }
    if ((ret = avio_open(&w->fmt->pb, w->of.tmp, AVIO_FLAG_WRITE)) < 0) {
        s = dolor_error(DOLOR_EIO, "%s: cannot create (%s)", path, av_why(ret, why, sizeof why));
        goto fail;
    }
    w->opened_io = 1;
    av_freep(&w->fmt->url); /* the faststart pass reopens the file by this name */
    if (!(w->fmt->url = av_strdup(w->of.tmp))) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    AVDictionary *mo = NULL;
    if (!strcmp(w->fmt->oformat->name, "mp4") || !strcmp(w->fmt->oformat->name, "mov"))
        av_dict_set(&mo, "movflags", "+faststart", 0); /* index first: a truncated copy is still readable */
    ret = avformat_write_header(w->fmt, &mo);
    av_dict_free(&mo);
    if (ret < 0) {
        s = dolor_error(DOLOR_EIO, "%s: cannot write the header (%s)", path, av_why(ret, why, sizeof why));
        goto fail;
    }
    *out = w;
    return DOLOR_OK;
fail:
    dolor_video_writer_abort(w);
    return s;
}

/* Send frame (NULL: flush) and write every packet the encoder gives back. */
static dolor_status encode(dolor_video_writer *w, AVFrame *f)
{
    char why[512];
    int ret = avcodec_send_frame(w->enc, f);
    if (ret < 0)
        return dolor_error(DOLOR_EIO, "%s: encoder refused frame %lld (%s)", w->of.path, (long long)w->nframes,
                           av_why(ret, why, sizeof why));
    for (;;) {
        ret = avcodec_receive_packet(w->enc, w->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return DOLOR_OK;
        if (ret < 0)
            return dolor_error(DOLOR_EIO, "%s: encoding failed at frame %lld (%s)", w->of.path, (long long)w->nframes,
                               av_why(ret, why, sizeof why));
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        ret = av_interleaved_write_frame(w->fmt, w->pkt);
        if (ret < 0)
            return dolor_error(DOLOR_EIO, "%s: write failed at frame %lld (%s)", w->of.path, (long long)w->nframes,
                               av_why(ret, why, sizeof why));
    }
}

dolor_status dolor_video_write(dolor_video_writer *w, const dolor_image *frame, double pts_ms)
{
    if (frame->dtype != DOLOR_U8)
        return dolor_error(DOLOR_EINVAL, "%s: frame %lld is %s (uint8 frames only)", w->of.path,
                           (long long)w->nframes, dolor_dtype_name(frame->dtype));
    if (frame->size[0] != w->width || frame->size[1] != w->height || frame->ncomp != w->ncomp ||
        (frame->ndim > 2 && frame->size[2] != 1))
        return dolor_error(DOLOR_ESHAPE, "%s: frame %lld is %lldx%lld x%d, the video is %dx%d x%d", w->of.path,
                           (long long)w->nframes, (long long)frame->size[0], (long long)frame->size[1], frame->ncomp,
                           w->width, w->height, w->ncomp);
    if (!isfinite(pts_ms))
        return dolor_error(DOLOR_EINVAL, "%s: frame %lld: timestamp is not finite", w->of.path, (long long)w->nframes);
    int64_t pts = llround(pts_ms);
    if (w->last_pts != INT64_MIN && pts <= w->last_pts)
        return dolor_error(DOLOR_EINVAL, "%s: frame %lld: timestamp %lld ms is not after the previous one (%lld ms)",
                           w->of.path, (long long)w->nframes, (long long)pts, (long long)w->last_pts);
    if (av_frame_make_writable(w->frm) < 0)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    const uint8_t *sp[4] = {frame->data, NULL, NULL, NULL};
    int sl[4] = {w->width * w->ncomp, 0, 0, 0};
    sws_scale(w->sws, sp, sl, 0, w->height, w->frm->data, w->frm->linesize);
    w->frm->pts = pts;
    dolor_status s = encode(w, w->frm);
    if (!s) {
        w->last_pts = pts;
        w->nframes++;
    }
    return s;
}

dolor_status dolor_video_writer_close(dolor_video_writer *w)
{
    char why[512];
    dolor_status s = encode(w, NULL);
    int ret = 0;
    if (!s && (ret = av_write_trailer(w->fmt)) < 0)
        s = dolor_error(DOLOR_EIO, "%s: cannot write the trailer (%s)", w->of.path, av_why(ret, why, sizeof why));
    if (!s && w->fmt->pb && w->fmt->pb->error < 0)
        s = dolor_error(DOLOR_EIO, "%s: write failed (%s)", w->of.path, av_why(w->fmt->pb->error, why, sizeof why));
    if (s) {
        dolor_video_writer_abort(w);
        return s;
    }
    avio_closep(&w->fmt->pb);
    w->opened_io = 0;
    dolor_outfile of = w->of;
    writer_free(w);
    return dolor_outfile_commit(&of);
}
