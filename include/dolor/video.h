/*
 * dolor/video.h - video in and out, frame by frame, with timestamps.
 *
 * Reading (dolor_video_open): any input FFmpeg's libavformat opens (MP4, AVI, MKV, MJPEG, MOV, an image
 * sequence given as a printf pattern such as "frames/f%04d.png", or a URL such as "/dev/video0" with the
 * format "v4l2"), decoded with libavcodec and converted with libswscale; and, without FFmpeg, the volumes
 * dolor's own readers open (DICOM multi-frame cine loops, MetaImage/NIfTI 3D or 4D sequences: one frame per
 * slice along z, or along t for 4D) and folders of PNG/JPEG images (sorted by name).
 * Frames are 2D uint8 images, 1 component (grey) or 3 (RGB), the source's size.
 *
 * Timestamps (ms from the first frame's presentation time, which is 0):
 *   FFmpeg inputs: the frame's best-effort presentation timestamp (pts x stream time base);
 *   4D volumes: frame index x spacing[3] (ms); other volumes and folders: frame index x 1000 / fps, fps from
 *   dolor_video_open_opts (default 30).
 *
 * Writing (dolor_video_writer_open): MP4/MKV/AVI/MOV chosen by the extension of the path, encoded with
 * H.264 (libx264, the default when this libavcodec has it: Debian's does), MPEG-4 part 2 ("mpeg4") or Motion
 * JPEG ("mjpeg"). Each frame keeps the timestamp it is given (ms, time base 1/1000 s), so a variable frame
 * rate survives a round trip. The file is written to a temporary name and renamed on
 * dolor_video_writer_close; a failed or aborted write leaves nothing (core.h dolor_outfile).
 *
 * FFmpeg's own log is silenced below AV_LOG_ERROR; its last error message is quoted in dolor's messages.
 */
#ifndef DOLOR_VIDEO_H
#define DOLOR_VIDEO_H

#include "dolor/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dolor_video_reader dolor_video_reader;

typedef struct dolor_video_open_opts {
    const char *format;   /* FFmpeg input format ("v4l2", "image2", "mjpeg"), NULL: probed from the content */
    int want_ncomp;       /* 1 grey, 3 RGB, 0: the source's (1 for grey pixel formats and grey volumes, else 3) */
    double fps;           /* frames per second for inputs without timestamps (volumes, folders); 0: 30 */
    int width, height;    /* > 0: frames are resized to width x height (bilinear; libswscale for FFmpeg inputs,
                             PyTorch's align_corners=False sampling for the others); 0: the source's size */
} dolor_video_open_opts;

typedef struct dolor_video_info {
    int width, height;    /* pixels of the frames read (after the resize asked in the options) */
    int src_width, src_height; /* pixels of the source */
    int ncomp;            /* components of the frames read: 1 or 3 */
    double fps;           /* nominal frames per second (FFmpeg's average frame rate; 0 if unknown) */
    int64_t nframes;      /* frames the container declares, -1 if it does not say */
    char codec[64];       /* "h264", "mpeg4", "mjpeg", ...; "dicom", "metaimage", "nifti", "png", "jpeg" for
                             inputs read by dolor's readers */
    char container[64];   /* FFmpeg's demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", "avi", ...) or "volume"/"folder" */
} dolor_video_info;

/* Open a video file, image sequence, volume or capture URL (see the header comment). opts may be NULL.
 * Errors: DOLOR_ENOTFOUND (no such file), DOLOR_EIO (cannot open a URL or device), DOLOR_EFORMAT (not a
 * video FFmpeg recognises, no video stream, malformed header; FFmpeg's message quoted), DOLOR_EUNSUPPORTED
 * (a codec this libavcodec cannot decode, named with its FourCC: "x.avi: unsupported video codec 'ZZZZ'";
 * a 4D volume with several slices per time point), DOLOR_EINVAL (want_ncomp not 0/1/3, width/height outside
 * 0..16384), DOLOR_ENOMEM. */
dolor_status dolor_video_open(const char *url, const dolor_video_open_opts *opts, dolor_video_reader **out);

/* What dolor_video_open found (valid until dolor_video_close). */
const dolor_video_info *dolor_video_get_info(const dolor_video_reader *r);

/* Decode the next frame: *frame is a new 2D uint8 image (width x height, info.ncomp components; the caller
 * frees it), *pts_ms its timestamp (ms), *index its number (0-based, in decoding order). At the end of the
 * input *frame is NULL and DOLOR_OK is returned. pts_ms and index may be NULL.
 * Errors (every one names the input and the frame number, the frames before it having been returned):
 * DOLOR_EFORMAT (corrupt packet; a stream that ends before the frame count its container declares:
 * "x.mp4: truncated: stream ends at frame 37 of 60"), DOLOR_EIO (read error of the file or device),
 * DOLOR_ENOMEM. After an error the reader only returns that error again. */
dolor_status dolor_video_read(dolor_video_reader *r, dolor_image **frame, double *pts_ms, int64_t *index);

void dolor_video_close(dolor_video_reader *r); /* NULL-safe */

typedef struct dolor_video_writer dolor_video_writer;

typedef struct dolor_video_writer_opts {
    const char *codec;    /* "libx264" (H.264), "mpeg4", "mjpeg"; NULL: libx264 if available, else mpeg4 */
    double fps;           /* nominal rate written in the header (rate control, players); 0: 30 */
    int quality;          /* libx264 CRF / mpeg4, mjpeg qscale (1 best .. 31); 0: x264 CRF 23, qscale 3 */
    const char *preset;   /* libx264 preset; NULL: "veryfast" */
} dolor_video_writer_opts;

/* Start writing path (container chosen by its extension: .mp4 .mkv .avi .mov) with frames of width x height
 * (even numbers for H.264/MPEG-4, which subsample chroma 2x2) and ncomp 1 or 3. opts may be NULL.
 * Errors: DOLOR_EINVAL (size, ncomp, unknown extension), DOLOR_EUNSUPPORTED (a codec this libavcodec cannot
 * encode, named), DOLOR_EIO (cannot create the temporary file), DOLOR_ENOMEM. */
dolor_status dolor_video_writer_open(const char *path, int width, int height, int ncomp,
                                     const dolor_video_writer_opts *opts, dolor_video_writer **out);

/* Encode one frame (2D uint8, the writer's size and ncomp) with timestamp pts_ms (ms; strictly increasing
 * after rounding to whole ms). Errors: DOLOR_ESHAPE (size or ncomp differ), DOLOR_EINVAL (dtype, a timestamp
 * not after the previous one), DOLOR_EIO (encoder or write failure, FFmpeg's message quoted). */
dolor_status dolor_video_write(dolor_video_writer *w, const dolor_image *frame, double pts_ms);

/* Flush the encoder, write the trailer and rename the file onto its path; then free w (also on error, when
 * nothing is left at the path). Errors: DOLOR_EIO. */
dolor_status dolor_video_writer_close(dolor_video_writer *w);

/* Free w and remove its temporary file; the path is left as it was. NULL-safe. */
void dolor_video_writer_abort(dolor_video_writer *w);

/* 1 if this build's libavcodec has an encoder of that name ("libx264", "mpeg4", "mjpeg"). */
int dolor_video_has_encoder(const char *name);

#ifdef __cplusplus
}
#endif
#endif
