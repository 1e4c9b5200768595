/* Live view of dolor stream (src/cli/stream_serve.c): a small HTTP server (libmicrohttpd) with one HTML page,
 * the overlaid frames as MJPEG (multipart/x-mixed-replace), per-frame class areas and confidences as JSON and
 * pause / snapshot buttons. Private to the CLI. */
#ifndef DOLOR_CLI_STREAM_SERVE_H
#define DOLOR_CLI_STREAM_SERVE_H

#include "dolor/image.h"
#include "dolor/train.h"

typedef struct dolor_stream_server dolor_stream_server;

typedef struct dolor_stream_server_opts {
    const char *snapshot_dir;                  /* where POST /snapshot writes (created when first used) */
    int num_classes;                           /* 0: no model (frames only) */
    const char *class_names[DOLOR_MAX_CLASSES];
    int label_values[DOLOR_MAX_CLASSES];
} dolor_stream_server_opts;

/* Listen on "ADDR:PORT" or "PORT" (ADDR 127.0.0.1; IPv4 dotted addresses only; PORT 0 picks a free one).
 * Connections from peers outside 127.0.0.0/8 are refused at accept; requests whose Host is not this
 * address, localhost or 127.0.0.1 with this port (DNS rebinding) or whose Origin is another site get 403.
 * Errors: DOLOR_EINVAL (malformed address, port in use: "127.0.0.1:8080: port in use"), DOLOR_EIO (socket or
 * server start failed). */
dolor_status dolor_stream_server_start(const char *addr, const dolor_stream_server_opts *o, dolor_stream_server **out);

/* "http://127.0.0.1:PORT/" (valid until stop). */
const char *dolor_stream_server_url(const dolor_stream_server *s);

/* Publish one processed frame: shown (uint8 RGB or grey overlay, what the page shows), frame (the decoded
 * frame, saved by snapshots; may equal shown), labels (label map, may be NULL), its number, timestamp (ms),
 * per-class area (% of the frame) and mean confidence (NULL without a model), and the frames dropped so far.
 * While the page has paused the view the frame is counted but not shown. Errors: DOLOR_ENOMEM, DOLOR_EIO
 * (JPEG encoding). */
dolor_status dolor_stream_server_publish(dolor_stream_server *s, const dolor_image *shown, const dolor_image *frame,
                                         const dolor_image *labels, int64_t index, double pts_ms,
                                         const double *area, const double *conf, int64_t dropped);

/* Stop serving (open streams end) and free. NULL-safe. */
void dolor_stream_server_stop(dolor_stream_server *s);

#endif
