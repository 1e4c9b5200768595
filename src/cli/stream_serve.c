/* Live view of dolor stream: libmicrohttpd, one thread per connection.
 *   GET  /             the page (frames, frame counter, class areas and confidences, Pause and Snapshot)
 *   GET  /frame.jpg    the latest frame shown (JPEG); ?after=N waits up to 2 s for a frame newer than N
 *   GET  /stream.mjpg  every frame as MJPEG (multipart/x-mixed-replace), for players and <img>
 *   GET  /stats.json   frame number, timestamp, frames/s, dropped, per-class area % and confidence
 *   POST /pause        toggles the pause of the view (the pipeline goes on; frames are counted, not shown)
 *   POST /snapshot     saves the frame shown and its label map in the snapshot folder
 * Peers outside 127.0.0.0/8 are refused at accept; Host must name this server (DNS rebinding) and an Origin,
 * when sent, must be this server's. */
#define _POSIX_C_SOURCE 200809L
#include "stream_serve.h"

#include "dolor/io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jpeglib.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct dolor_stream_server {
    struct MHD_Daemon *d;
    int fd, port;
    char url[64], host_ip[64], snapdir[1024];
    int k;
    char names[DOLOR_MAX_CLASSES][64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping, paused;
    /* latest frame shown */
    unsigned char *jpg;
    size_t jpg_len;
    int64_t seq, index, dropped, published;
    double pts_ms, fps, last_t, ema_dt;
    double area[DOLOR_MAX_CLASSES], conf[DOLOR_MAX_CLASSES];
    int have_stats;
    dolor_image *frame, *labels;   /* copies of what is shown, for snapshots */
    int64_t refused;
};

static const char page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>dolor live</title>\n"
    "<style>body{font-family:sans-serif;background:#111;color:#eee;margin:16px}"
    "#view{border:1px solid #555;max-width:100%;image-rendering:auto}"
    "table{border-collapse:collapse;margin-top:8px}td,th{padding:2px 10px;border-bottom:1px solid #444;text-align:right}"
    "th:first-child,td:first-child{text-align:left}button{font-size:16px;margin:8px 8px 0 0}</style></head>\n"
    "<body><h2>dolor stream: live view</h2>\n"
    "<div><img id=\"view\" alt=\"live frame\" width=\"512\"></div>\n"
    "<div>frame <b id=\"frame\">-</b> &middot; t <span id=\"pts\">-</span> ms &middot; <span id=\"fps\">-</span> frames/s"
    " &middot; dropped <span id=\"dropped\">0</span> &middot; shown <span id=\"shown\">0</span> <b id=\"state\"></b></div>\n"
    "<table id=\"classes\"><thead><tr><th>class</th><th>area %</th><th>confidence</th></tr></thead><tbody></tbody></table>\n"
    "<button id=\"pause\">Pause</button><button id=\"snap\">Snapshot</button><div id=\"msg\"></div>\n"
    "<script>\n"
    "const $=id=>document.getElementById(id);let last=-1,shown=0;\n"
    "function next(){const i=new Image();i.onload=()=>{URL.revokeObjectURL($('view').src);$('view').src=i.src;};\n"
    " fetch('/frame.jpg?after='+last,{cache:'no-store'}).then(r=>{if(r.status!==200)throw 0;\n"
    "  last=+r.headers.get('X-Frame');return r.blob();}).then(b=>{i.src=URL.createObjectURL(b);shown++;\n"
    "  $('shown').textContent=shown;setTimeout(next,0);}).catch(()=>setTimeout(next,200));}\n"
    "function poll(){fetch('/stats.json',{cache:'no-store'}).then(r=>r.json()).then(j=>{\n"
    " $('frame').textContent=j.frame;$('pts').textContent=j.pts_ms.toFixed(0);$('fps').textContent=j.fps.toFixed(1);\n"
    " $('dropped').textContent=j.dropped;$('state').textContent=j.paused?'paused':'';\n"
    " $('pause').textContent=j.paused?'Resume':'Pause';const tb=document.querySelector('#classes tbody');\n"
    " tb.innerHTML='';for(const c of j.classes){const tr=document.createElement('tr');\n"
    "  for(const v of [c.name,c.area_pct.toFixed(2),c.confidence===null?'-':c.confidence.toFixed(3)]){\n"
    "   const td=document.createElement('td');td.textContent=v;tr.appendChild(td);}tb.appendChild(tr);}\n"
    "}).catch(()=>{}).finally(()=>setTimeout(poll,250));}\n"
    "$('pause').onclick=()=>fetch('/pause',{method:'POST'}).then(r=>r.json()).then(j=>{\n"
    " $('pause').textContent=j.paused?'Resume':'Pause';});\n"
    "$('snap').onclick=()=>fetch('/snapshot',{method:'POST'}).then(r=>r.json()).then(j=>{\n"
    " $('msg').textContent=j.saved?'saved '+j.saved.join(', '):'error: '+j.error;});\n"
    "next();poll();\n"
    "</script></body></html>\n";

/* ---- JPEG encoding (libjpeg-turbo, to memory) ---- */
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr c) { longjmp(((jerr *)c->err)->jb, 1); }

static dolor_status encode_jpeg(const dolor_image *img, unsigned char **out, size_t *len)
{
    struct jpeg_compress_struct c;
    jerr e;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&c);
        free(buf);
        return dolor_error(DOLOR_EIO, "live view: JPEG encoding failed");
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = (JDIMENSION)img->size[0];
    c.image_height = (JDIMENSION)img->size[1];
    c.input_components = img->ncomp == 3 ? 3 : 1;
    c.in_color_space = img->ncomp == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 85, TRUE);
    jpeg_start_compress(&c, TRUE);
    const unsigned char *d = img->data;
    size_t stride = (size_t)img->size[0] * (size_t)c.input_components;
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(d + c.next_scanline * stride);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = buf;
    *len = n;
    return DOLOR_OK;
}

/* ---- policy ---- */
static enum MHD_Result accept_peer(void *cls, const struct sockaddr *addr, socklen_t len)
{
    dolor_stream_server *s = cls;
    int ok = 0;
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
        ok = (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
    else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        ok = IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    if (!ok) {
        pthread_mutex_lock(&s->mu);
        s->refused++;
        pthread_mutex_unlock(&s->mu);
    }
    return ok ? MHD_YES : MHD_NO;
}

/* 1 if v (a Host value "h:port" or an Origin "http://h:port") names this server */
static int names_us(const dolor_stream_server *s, const char *v, int origin)
{
    if (origin) {
        if (strncmp(v, "http://", 7))
            return 0;
        v += 7;
    }
    const char *hosts[] = {s->host_ip, "127.0.0.1", "localhost", "[::1]"};
    for (int i = 0; i < 4; i++) {
        char want[96];
        snprintf(want, sizeof want, "%s:%d", hosts[i], s->port);
        if (!strcmp(v, want))
            return 1;
    }
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, const void *body, size_t n,
                             int64_t frame)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (frame >= 0) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)frame);
        MHD_add_response_header(r, "X-Frame", b);
    }
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code, const char *text)
{
    return reply(c, code, "text/plain; charset=utf-8", text, strlen(text), -1);
}

static void json_num(char *b, size_t n, double v)
{
    if (isfinite(v))
        snprintf(b, n, "%.6g", v);
    else
        snprintf(b, n, "null");
}

static enum MHD_Result reply_stats(dolor_stream_server *s, struct MHD_Connection *c)
{
    char buf[8192];
    size_t o = 0;
    pthread_mutex_lock(&s->mu);
    o += (size_t)snprintf(buf + o, sizeof buf - o,
                          "{\"frame\": %lld, \"pts_ms\": %.3f, \"fps\": %.3f, \"dropped\": %lld, \"published\": %lld, "
                          "\"paused\": %s, \"classes\": [",
                          (long long)s->index, s->pts_ms, s->fps, (long long)s->dropped, (long long)s->published,
                          s->paused ? "true" : "false");
    for (int k = 0; k < s->k && o < sizeof buf - 256; k++) {
        char a[32], f[32];
        json_num(a, sizeof a, s->have_stats ? s->area[k] : NAN);
        json_num(f, sizeof f, s->have_stats ? s->conf[k] : NAN);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s{\"name\": \"%s\", \"area_pct\": %s, \"confidence\": %s}",
                              k ? ", " : "", s->names[k], s->have_stats ? a : "0", f);
    }
    pthread_mutex_unlock(&s->mu);
    o += (size_t)snprintf(buf + o, sizeof buf - o, "]}\n");
    return reply(c, MHD_HTTP_OK, "application/json", buf, o, -1);
}

static enum MHD_Result reply_frame(dolor_stream_server *s, struct MHD_Connection *c)
{
    const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    long long a = after ? strtoll(after, NULL, 10) : -1;
    pthread_mutex_lock(&s->mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    while (!s->stopping && (!s->jpg || s->seq <= a))
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
            break;
    enum MHD_Result r;
    if (!s->jpg) {
        pthread_mutex_unlock(&s->mu);
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no frame yet\n");
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(s->jpg_len, s->jpg, MHD_RESPMEM_MUST_COPY);
    int64_t seq = s->seq;
    pthread_mutex_unlock(&s->mu);
    if (!resp)
        return MHD_NO;
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)seq);
    MHD_add_response_header(resp, "Content-Type", "image/jpeg");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Frame", b);
    r = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

/* ---- MJPEG: one part per new frame ---- */
typedef struct {
    dolor_stream_server *s;
    int64_t sent;
    unsigned char *part;
    size_t len, off;
} mjpeg_conn;

static ssize_t mjpeg_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    mjpeg_conn *m = cls;
    dolor_stream_server *s = m->s;
    if (m->off == m->len) {
        pthread_mutex_lock(&s->mu);
        while (!s->stopping && (!s->jpg || s->seq <= m->sent)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &until);
        }
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        char head[160];
        int h = snprintf(head, sizeof head, "--dolorframe\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
                         "X-Frame: %lld\r\n\r\n", s->jpg_len, (long long)s->seq);
        free(m->part);
        m->part = malloc((size_t)h + s->jpg_len + 2);
        if (!m->part) {
            pthread_mutex_unlock(&s->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        memcpy(m->part, head, (size_t)h);
        memcpy(m->part + h, s->jpg, s->jpg_len);
        memcpy(m->part + (size_t)h + s->jpg_len, "\r\n", 2);
        m->len = (size_t)h + s->jpg_len + 2;
        m->off = 0;
        m->sent = s->seq;
        pthread_mutex_unlock(&s->mu);
    }
    size_t n = m->len - m->off < max ? m->len - m->off : max;
    memcpy(buf, m->part + m->off, n);
    m->off += n;
    return (ssize_t)n;
}

static void mjpeg_free(void *cls)
{
    mjpeg_conn *m = cls;
    free(m->part);
    free(m);
}

static enum MHD_Result reply_mjpeg(dolor_stream_server *s, struct MHD_Connection *c)
{
    mjpeg_conn *m = calloc(1, sizeof *m);
    if (!m)
        return MHD_NO;
    m->s = s;
    m->sent = -1;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, mjpeg_read, m, mjpeg_free);
    if (!r) {
        free(m);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "multipart/x-mixed-replace; boundary=dolorframe");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_snapshot(dolor_stream_server *s, struct MHD_Connection *c)
{
    char body[4096];
    pthread_mutex_lock(&s->mu);
    dolor_status st = DOLOR_OK;
    char fpath[2048] = "", lpath[2048] = "";
    if (!s->frame) {
        pthread_mutex_unlock(&s->mu);
        snprintf(body, sizeof body, "{\"error\": \"no frame yet\"}\n");
        return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", body, strlen(body), -1);
    }
    st = dolor_mkdir_p(s->snapdir);
    if (!st) {
        snprintf(fpath, sizeof fpath, "%s/snapshot_%06lld.png", s->snapdir, (long long)s->index);
        st = dolor_png_write(fpath, s->frame);
    }
    if (!st && s->labels) {
        snprintf(lpath, sizeof lpath, "%s/snapshot_%06lld_labels.png", s->snapdir, (long long)s->index);
        st = s->labels->dtype == DOLOR_U8 ? dolor_png_write_labels(lpath, s->labels, NULL, 0)
                                          : dolor_png_write(lpath, s->labels);
    }
    pthread_mutex_unlock(&s->mu);
    if (st) {
        /* the message holds a path: keep it out of the JSON's way */
        char msg[512];
        size_t j = 0;
        for (const char *p = dolor_errmsg(); *p && j < sizeof msg - 1; p++)
            msg[j++] = *p == '"' || *p == '\\' || (unsigned char)*p < 32 ? '?' : *p;
        msg[j] = 0;
        fprintf(stderr, "live view: snapshot failed: %s\n", dolor_errmsg());
        snprintf(body, sizeof body, "{\"error\": \"%s\"}\n", msg);
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", body, strlen(body), -1);
    }
    fprintf(stderr, "live view: snapshot %s%s%s\n", fpath, lpath[0] ? ", " : "", lpath);
    /* names only (the folder is the server's business) */
    const char *fb = strrchr(fpath, '/'), *lb = strrchr(lpath, '/');
    snprintf(body, sizeof body, "{\"saved\": [\"%s\"%s%s%s]}\n", fb ? fb + 1 : fpath, lpath[0] ? ", \"" : "",
             lpath[0] ? (lb ? lb + 1 : lpath) : "", lpath[0] ? "\"" : "");
    return reply(c, MHD_HTTP_OK, "application/json", body, strlen(body), -1);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    dolor_stream_server *s = cls;
    static int marker;
    int post = !strcmp(method, "POST");
    if (post && *state == NULL) { /* first call: headers only */
        *state = &marker;
        return MHD_YES;
    }
    if (post && *upload_size) {
        *upload_size = 0; /* bodies are ignored */
        return MHD_YES;
    }
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!host || !names_us(s, host, 0))
        return reply_text(c, MHD_HTTP_FORBIDDEN, "forbidden: Host is not this server\n");
    if (origin && !names_us(s, origin, 1))
        return reply_text(c, MHD_HTTP_FORBIDDEN, "forbidden: cross-origin request\n");
    if (!post && strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (!post && !strcmp(url, "/"))
        return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, sizeof page - 1, -1);
    if (!post && !strcmp(url, "/stats.json"))
        return reply_stats(s, c);
    if (!post && !strcmp(url, "/frame.jpg"))
        return reply_frame(s, c);
    if (!post && !strcmp(url, "/stream.mjpg"))
        return reply_mjpeg(s, c);
    if (post && !strcmp(url, "/pause")) {
        pthread_mutex_lock(&s->mu);
        s->paused = !s->paused;
        int p = s->paused;
        pthread_mutex_unlock(&s->mu);
        fprintf(stderr, "live view: %s\n", p ? "paused" : "resumed");
        const char *b = p ? "{\"paused\": true}\n" : "{\"paused\": false}\n";
        return reply(c, MHD_HTTP_OK, "application/json", b, strlen(b), -1);
    }
    if (post && !strcmp(url, "/snapshot"))
        return reply_snapshot(s, c);
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

dolor_status dolor_stream_server_start(const char *addr, const dolor_stream_server_opts *o, dolor_stream_server **out)
{
    *out = NULL;
    char ip[64] = "127.0.0.1";
    const char *colon = strrchr(addr, ':');
    const char *ps = colon ? colon + 1 : addr;
    if (colon) {
        size_t n = (size_t)(colon - addr);
        if (n == 0 || n >= sizeof ip)
            return dolor_error(DOLOR_EINVAL, "--serve: '%s' is not ADDR:PORT", addr);
        memcpy(ip, addr, n);
        ip[n] = 0;
    }
    char *e;
    long port = strtol(ps, &e, 10);
    if (e == ps || *e || port < 0 || port > 65535)
        return dolor_error(DOLOR_EINVAL, "--serve: '%s': port '%s' is not 0..65535", addr, ps);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
        return dolor_error(DOLOR_EINVAL, "--serve: '%s' is not an IPv4 address", ip);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return dolor_error(DOLOR_EIO, "--serve: socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        if (err == EADDRINUSE)
            return dolor_error(DOLOR_EINVAL, "%s:%ld: port in use (another server listens there)", ip, port);
        return dolor_error(err == EADDRNOTAVAIL || err == EACCES ? DOLOR_EINVAL : DOLOR_EIO, "%s:%ld: cannot bind (%s)",
                           ip, port, strerror(err));
    }
    if (listen(fd, 32) != 0) {
        int err = errno;
        close(fd);
        return dolor_error(err == EADDRINUSE ? DOLOR_EINVAL : DOLOR_EIO, "%s:%ld: cannot listen (%s)", ip, port,
                           strerror(err));
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    dolor_stream_server *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    s->fd = fd;
    s->port = ntohs(sa.sin_port);
    s->index = -1;
    s->seq = -1;
    snprintf(s->host_ip, sizeof s->host_ip, "%s", ip);
    snprintf(s->url, sizeof s->url, "http://%s:%d/", ip, s->port);
    snprintf(s->snapdir, sizeof s->snapdir, "%s", o && o->snapshot_dir ? o->snapshot_dir : "snapshots");
    s->k = o ? o->num_classes : 0;
    for (int k = 0; k < s->k; k++) {
        /* names go into JSON: keep them plain */
        const char *n = o->class_names[k] ? o->class_names[k] : "";
        size_t j = 0;
        for (; n[j] && j < sizeof s->names[k] - 1; j++)
            s->names[k][j] = n[j] == '"' || n[j] == '\\' || (unsigned char)n[j] < 32 ? '_' : n[j];
        s->names[k][j] = 0;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, accept_peer, s,
                            handle, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, 32u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!s->d) {
        close(fd);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return dolor_error(DOLOR_EIO, "%s:%ld: libmicrohttpd could not start", ip, port);
    }
    *out = s;
    return DOLOR_OK;
}

const char *dolor_stream_server_url(const dolor_stream_server *s) { return s->url; }

dolor_status dolor_stream_server_publish(dolor_stream_server *s, const dolor_image *shown, const dolor_image *frame,
                                         const dolor_image *labels, int64_t index, double pts_ms,
                                         const double *area, const double *conf, int64_t dropped)
{
    pthread_mutex_lock(&s->mu);
    int paused = s->paused;
    double now = dolor_time_ms();
    if (s->published && now > s->last_t) {
        /* moving average of the interval (averaging 1/interval would overstate the rate) */
        double dt = now - s->last_t;
        s->ema_dt = s->published == 1 ? dt : 0.9 * s->ema_dt + 0.1 * dt;
        s->fps = 1000.0 / s->ema_dt;
    }
    s->last_t = now;
    s->published++;
    s->dropped = dropped;
    pthread_mutex_unlock(&s->mu);
    if (paused)
        return DOLOR_OK;
    unsigned char *jpg = NULL;
    size_t len = 0;
    dolor_image *fc = NULL, *lc = NULL;
    dolor_status st = encode_jpeg(shown, &jpg, &len);
    if (!st)
        st = dolor_image_clone(frame, &fc);
    if (!st && labels)
        st = dolor_image_clone(labels, &lc);
    if (st) {
        free(jpg);
        dolor_image_free(fc);
        return st;
    }
    pthread_mutex_lock(&s->mu);
    free(s->jpg);
    s->jpg = jpg;
    s->jpg_len = len;
    s->seq = index;
    s->index = index;
    s->pts_ms = pts_ms;
    dolor_image_free(s->frame);
    dolor_image_free(s->labels);
    s->frame = fc;
    s->labels = lc;
    s->have_stats = area != NULL;
    for (int k = 0; area && k < s->k; k++) {
        s->area[k] = area[k];
        s->conf[k] = conf[k];
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return DOLOR_OK;
}

void dolor_stream_server_stop(dolor_stream_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    int64_t refused = s->refused;
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->d);
    close(s->fd);
    if (refused)
        fprintf(stderr, "live view: refused %lld connections from non-loopback peers\n", (long long)refused);
    free(s->jpg);
    dolor_image_free(s->frame);
    dolor_image_free(s->labels);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
