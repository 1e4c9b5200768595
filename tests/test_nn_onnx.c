/* nn: ONNX export (dolor_net_export_onnx, src/nn/onnx.c and each op's export callback) of every registry
 * architecture and of two hand-built graphs that use the op kinds the architectures leave out.
 *
 * Each case: build the net with a seed, give every batch norm non-trivial weight, bias and running statistics
 * (so that the export of inference-mode batch norm is really tested), run dolor's inference forward on a seeded
 * input, export at that input's shape, then
 *   always: read the file back with protobuf-c and check the model: IR version 8, opset 17, the input "image"
 *     and the outputs with the net's names and shapes, one float initializer per parameter tensor with its
 *     state_dict name, shape and exact bytes (element count dolor_net_num_params + dolor_net_num_buffers), every
 *     node input defined before use, every initializer read, and the ONNX op types counted against the mapping
 *     restated below (docs/onnx.md); with python3-onnx, onnx.checker.check_model(full_check=True) on every file
 *     (its strict shape inference must agree with the value_info shapes dolor writes);
 *   with --ort (ctest test_nn_onnx_ort): run the model in ONNX Runtime (node bench/ort/check.js, onnxruntime-node
 *     1.30.0 CPU) on the same input and compare every output: max |ort - dolor| <= 1e-4 * max(1, max |dolor|).
 *     node or bench/ort/node_modules/onnxruntime-node missing: exit 77 (ctest SKIP), saying how to set it up.
 * test_nn_onnx --ort --full (by hand): the same for the default configs at their working sizes (docs/onnx.md). */
#include "check.h"
#include "test_util.h"
#include "dolor/nn.h"
#include "nn/nn_internal.h"
#include "onnx/onnx.pb-c.h"

#include <stdint.h>

#define TOL 1e-4

static int ort_mode;
static char tmp[256];
static const char *srcdir;
static char checked[64][300]; /* files for onnx.checker */
static int nchecked;

/* ---- the mapping, restated: ONNX op types each kind writes (besides Constant nodes) ---- */
static void expect_kind(const nn_op *op, int *cnt_of(const char *))
{
    const char *t[8] = {0};
    int n = 0;
    switch (op->kind) {
    case NN_OP_CONV: t[n++] = "Conv"; break;
    case NN_OP_DECONV: t[n++] = "ConvTranspose"; break;
    case NN_OP_BN:
        t[n++] = "BatchNormalization";
        if (op->p.bn.relu)
            t[n++] = "Relu";
        break;
    case NN_OP_RELU: t[n++] = "Relu"; break;
    case NN_OP_LEAKY_RELU: t[n++] = "LeakyRelu"; break;
    case NN_OP_SIGMOID: t[n++] = "Sigmoid"; break;
    case NN_OP_TANH: t[n++] = "Tanh"; break;
    case NN_OP_SILU: t[n++] = "Sigmoid"; t[n++] = "Mul"; break;
    case NN_OP_MAXPOOL: t[n++] = "MaxPool"; break;
    case NN_OP_AVGPOOL: t[n++] = "AveragePool"; break;
    case NN_OP_GAP: t[n++] = "GlobalAveragePool"; break;
    case NN_OP_UPSAMPLE: t[n++] = "Resize"; break;
    case NN_OP_CONCAT: t[n++] = "Concat"; break;
    case NN_OP_SLICE: t[n++] = "Slice"; break;
    case NN_OP_ADD: t[n++] = "Add"; break;
    case NN_OP_MUL: t[n++] = "Mul"; break;
    case NN_OP_FLATTEN: t[n++] = "Flatten"; break;
    case NN_OP_LINEAR: t[n++] = "Gemm"; break;
    case NN_OP_PERMUTE: t[n++] = "Transpose"; break;
    case NN_OP_ZPOOL: {
        int ident = 1;
        for (int i = 0; i < 4; i++)
            ident &= op->p.perm.perm[i] == 0 || op->p.perm.perm[i] == i;
        t[n++] = "ReduceMax";
        t[n++] = "ReduceMean";
        t[n++] = "Concat";
        if (!ident)
            t[n++] = "Transpose";
        break;
    }
    case NN_OP_SCALE: t[n++] = "Mul"; break;
    case NN_OP_DROPOUT: t[n++] = "Identity"; break;
    case NN_OP_TRIPLET_GATE:
        t[n++] = "Transpose"; t[n++] = "Transpose"; t[n++] = "Mul"; t[n++] = "Mul"; t[n++] = "Add";
        t[n++] = "Mul"; t[n++] = "Add"; t[n++] = "Mul";
        break;
    case NN_OP_COUNT: break;
    }
    for (int i = 0; i < n; i++)
        (*cnt_of(t[i]))++;
}

#define MAXTYPES 48
static const char *type_names[MAXTYPES];
static int type_want[MAXTYPES], type_got[MAXTYPES], ntypes;
static int *slot(const char *name, int *arr)
{
    for (int i = 0; i < ntypes; i++)
        if (!strcmp(type_names[i], name))
            return &arr[i];
    if (ntypes == MAXTYPES)
        return &arr[MAXTYPES - 1];
    type_names[ntypes] = name;
    return &arr[ntypes++];
}
static int *want_of(const char *name) { return slot(name, type_want); }

/* ---- names defined so far (graph input, initializers, node outputs): a linear list is enough here ---- */
typedef struct names {
    char **v;
    int n, cap;
} names;
static void names_add(names *s, const char *x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, sizeof *s->v * (size_t)s->cap);
    }
    s->v[s->n++] = (char *)x;
}
static int names_has(const names *s, const char *x)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x))
            return 1;
    return 0;
}

static int dims_equal(const Onnx__ValueInfoProto *vi, const nn_shape *s)
{
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type->shape ||
        vi->type->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return 0;
    const Onnx__TensorShapeProto *sp = vi->type->tensor_type->shape;
    if ((int)sp->n_dim != s->ndim)
        return 0;
    for (int i = 0; i < s->ndim; i++)
        if (sp->dim[i]->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
            sp->dim[i]->dim_value != s->d[i])
            return 0;
    return 1;
}

/* the always-run part: the file read back */
static void check_file(const char *name, dolor_net *net, const char *path, const nn_shape *vs)
{
    size_t len = 0;
    char *buf = dolor_test_slurp(path, &len);
    CHECKF(buf != NULL, "%s: cannot read %s", name, path);
    if (!buf)
        return;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)buf);
    CHECKF(m != NULL, "%s: %s does not unpack as an ONNX ModelProto", name, path);
    if (!m) {
        free(buf);
        return;
    }
    CHECKF(m->has_ir_version && m->ir_version == 8, "%s: ir_version %lld", name, (long long)m->ir_version);
    CHECKF(m->n_opset_import == 1 && !strcmp(m->opset_import[0]->domain ? m->opset_import[0]->domain : "", "") &&
               m->opset_import[0]->version == 17, "%s: opset import", name);
    CHECK(m->producer_name && !strcmp(m->producer_name, "dolor"));
    const Onnx__GraphProto *g = m->graph;
    CHECKF(g && g->n_input == 1 && !strcmp(g->input[0]->name, "image") && dims_equal(g->input[0], &vs[net->inputs[0]]),
           "%s: graph input is not \"image\" of the export shape", name);
    CHECKF(g && (int)g->n_output == dolor_net_num_outputs(net), "%s: %zu outputs, the net has %d", name,
           g ? g->n_output : 0, dolor_net_num_outputs(net));
    for (int k = 0; g && k < (int)g->n_output && k < dolor_net_num_outputs(net); k++)
        CHECKF(!strcmp(g->output[k]->name, dolor_net_output_name(net, k)) && dims_equal(g->output[k], &vs[net->outputs[k]]),
               "%s: output %d is %s, not %s of the shape dolor computes", name, k, g->output[k]->name,
               dolor_net_output_name(net, k));
    /* initializers: every tensor, in order, with its bytes */
    int nt = dolor_net_num_tensors(net);
    CHECKF(g && (int)g->n_initializer == nt, "%s: %zu initializers for %d tensors", name, g ? g->n_initializer : 0, nt);
    size_t elems = 0;
    int bad_init = 0;
    const float *params = dolor_net_params(net), *buffers = dolor_net_buffers(net);
    for (int t = 0; g && t < nt && t < (int)g->n_initializer; t++) {
        dolor_net_tensor ti;
        dolor_net_tensor_at(net, t, &ti);
        const Onnx__TensorProto *p = g->initializer[t];
        size_t ne = 1;
        int ok = !strcmp(p->name, ti.name) && p->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
                 (int)p->n_dims == ti.ndim && p->has_raw_data;
        for (size_t i = 0; ok && i < p->n_dims; i++) {
            ok = p->dims[i] == ti.shape[i];
            ne *= (size_t)p->dims[i];
        }
        ok = ok && ne == ti.numel && p->raw_data.len == 4 * ne &&
             !memcmp(p->raw_data.data, (ti.is_buffer ? buffers : params) + ti.offset, 4 * ne);
        if (!ok && !bad_init++)
            fprintf(stderr, "%s: initializer %d (%s) differs from tensor %s\n", name, t, p->name, ti.name);
        elems += ne;
    }
    CHECKF(!bad_init, "%s: %d initializers differ from their tensors", name, bad_init);
    CHECKF(elems == dolor_net_num_params(net) + dolor_net_num_buffers(net), "%s: initializers hold %zu elements, "
           "params + buffers %zu", name, elems, dolor_net_num_params(net) + dolor_net_num_buffers(net));
    /* nodes: inputs defined before use, every initializer read, op types as the mapping says */
    names def = {0};
    int undefined = 0, nconst = 0;
    int *used = calloc((size_t)nt + 1, sizeof *used);
    names_add(&def, "image");
    for (size_t i = 0; g && i < g->n_initializer; i++)
        names_add(&def, g->initializer[i]->name);
    ntypes = 0;
    memset(type_want, 0, sizeof type_want);
    memset(type_got, 0, sizeof type_got);
    for (size_t i = 0; g && i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t j = 0; j < n->n_input; j++) {
            if (!n->input[j][0])
                continue; /* optional input left out */
            if (!names_has(&def, n->input[j]) && !undefined++)
                fprintf(stderr, "%s: node %zu (%s) reads %s before it is defined\n", name, i, n->op_type, n->input[j]);
            for (int t = 0; t < nt; t++)
                if (!strcmp(n->input[j], g->initializer[t]->name))
                    used[t]++;
        }
        for (size_t j = 0; j < n->n_output; j++)
            names_add(&def, n->output[j]);
        if (!strcmp(n->op_type, "Constant"))
            nconst++;
        else
            (*slot(n->op_type, type_got))++;
    }
    CHECKF(!undefined, "%s: %d node inputs read before they are defined", name, undefined);
    int unused = 0;
    for (int t = 0; t < nt; t++)
        unused += used[t] == 0;
    CHECKF(!unused, "%s: %d initializers are read by no node", name, unused);
    for (int k = 0; g && k < (int)g->n_output; k++)
        CHECKF(names_has(&def, g->output[k]->name), "%s: output %s is written by no node", name, g->output[k]->name);
    for (int oi = 0; oi < net->nops; oi++)
        expect_kind(&net->ops[oi], want_of);
    int type_bad = 0;
    for (int i = 0; i < ntypes; i++)
        if (type_want[i] != type_got[i]) {
            type_bad++;
            fprintf(stderr, "%s: %d %s nodes, the mapping gives %d\n", name, type_got[i], type_names[i], type_want[i]);
        }
    CHECKF(!type_bad, "%s: %d ONNX op types counted differently from the mapping", name, type_bad);
    printf("  %-22s %4zu nodes (%d constants), %3zu initializers, %8zu elements, %zu bytes\n", name, g ? g->n_node : 0,
           nconst, g ? g->n_initializer : 0, elems, len);
    free(used);
    free(def.v);
    onnx__model_proto__free_unpacked(m, NULL);
    free(buf);
}

/* batch norms: weight U(0.5, 1.5), bias U(-0.3, 0.3), running mean U(-0.3, 0.3), running var U(0.05, 1.5) (small
 * variances make the epsilon matter: YOLOv8's 1e-3 against torch's 1e-5 moves the outputs by ~1e-3) */
static void perturb_bn(dolor_net *net, dolor_rng *r)
{
    float *p = dolor_net_params(net), *b = dolor_net_buffers(net);
    for (int oi = 0; oi < net->nops; oi++) {
        const nn_op *op = &net->ops[oi];
        if (op->kind != NN_OP_BN)
            continue;
        const nn_tensor_info *t = net->tensors;
        for (size_t j = 0; j < t[op->t[0]].numel; j++) {
            p[t[op->t[0]].offset + j] = (float)(0.5 + dolor_rng_uniform(r));
            p[t[op->t[1]].offset + j] = (float)(0.6 * dolor_rng_uniform(r) - 0.3);
            b[t[op->t[2]].offset + j] = (float)(0.6 * dolor_rng_uniform(r) - 0.3);
            b[t[op->t[3]].offset + j] = (float)(0.05 + 1.45 * dolor_rng_uniform(r));
        }
    }
    dolor_net_params_changed(net);
}

static int write_f32(const char *path, const float *v, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t w = fwrite(v, sizeof *v, n, fp);
    return fclose(fp) == 0 && w == n ? 0 : -1;
}

/* ONNX Runtime on the same input; every output compared */
static void compare_ort(const char *name, dolor_net *net, const char *model, const nn_shape *in, const float *x,
                        dolor_tensor *const *outs, int nout)
{
    char inpath[400], outdir[400], shape[128] = "";
    snprintf(inpath, sizeof inpath, "%s/%s.in.bin", tmp, name);
    snprintf(outdir, sizeof outdir, "%s/%s.ort/", tmp, name);
    CHECK(write_f32(inpath, x, (size_t)nn_shape_numel(in)) == 0);
    for (int i = 0; i < in->ndim; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? "," : "", (long long)in->d[i]);
    char *out = NULL, *err = NULL, cmd[2048];
    snprintf(cmd, sizeof cmd, "node '%s/bench/ort/check.js' '%s' '%s' %s '%s'", srcdir, model, inpath, shape, outdir);
    char of[64], ef[64];
    dolor_test_capture_file(of, sizeof of, "out");
    dolor_test_capture_file(ef, sizeof ef, "err");
    int rc = dolor_test_sh("%s >%s 2>%s", cmd, of, ef);
    out = dolor_test_slurp(of, NULL);
    err = dolor_test_slurp(ef, NULL);
    unlink(of);
    unlink(ef);
    CHECKF(rc == 0, "%s: ONNX Runtime failed (exit %d): %s", name, rc, err ? err : "");
    for (int k = 0; rc == 0 && k < nout; k++) {
        char want[128], path[512];
        snprintf(want, sizeof want, "output %d %s ", k, dolor_net_output_name(net, k));
        CHECKF(out && strstr(out, want), "%s: ONNX Runtime's output %d is not %s: %s", name, k,
               dolor_net_output_name(net, k), out ? out : "");
        snprintf(path, sizeof path, "%s%d.bin", outdir, k);
        size_t len = 0;
        float *y = (float *)dolor_test_slurp(path, &len);
        size_t n = 1;
        for (int i = 0; i < outs[k]->ndim; i++)
            n *= (size_t)outs[k]->shape[i];
        CHECKF(y && len == 4 * n, "%s: output %d: %zu bytes from ONNX Runtime, dolor has %zu values", name, k, len, n);
        if (y && len == 4 * n) {
            double dmax = 0, ymax = 0;
            size_t at = 0;
            for (size_t i = 0; i < n; i++) {
                double d = fabs((double)y[i] - (double)outs[k]->data[i]);
                if (d > dmax || isnan(d)) {
                    dmax = isnan(d) ? INFINITY : d;
                    at = i;
                }
                if (fabs(outs[k]->data[i]) > ymax)
                    ymax = fabs(outs[k]->data[i]);
            }
            double tol = TOL * (ymax > 1 ? ymax : 1);
            printf("  ORT %-18s %-14s %8zu values  max |ort - dolor| %.3g  (max |y| %.3g, tolerance %.3g)\n", name,
                   dolor_net_output_name(net, k), n, dmax, ymax, tol);
            CHECKF(dmax <= tol, "%s: output %s: max |ort - dolor| %.3g at %zu (ort %.7g, dolor %.7g) > %.3g", name,
                   dolor_net_output_name(net, k), dmax, at, y[at], outs[k]->data[at], tol);
        }
        free(y);
    }
    free(out);
    free(err);
}

/* one case: net built (finalized), the export input shape */
static void run_case(const char *name, dolor_net *net, uint64_t seed, int ndim, const int64_t *dims)
{
    if (!net) {
        CHECKF(0, "%s: net not built: %s", name, dolor_errmsg());
        return;
    }
    dolor_rng r;
    dolor_rng_seed(&r, seed);
    CHECK_OK(dolor_net_init(net, seed));
    perturb_bn(net, &r);
    nn_shape in = {.ndim = ndim};
    memcpy(in.d, dims, sizeof(int64_t) * (size_t)ndim);
    nn_shape *vs = calloc((size_t)net->nvals, sizeof *vs);
    dolor_status st = nn_graph_infer_shapes(net, &in, vs);
    CHECKF(st == DOLOR_OK, "%s: shapes: %s", name, dolor_errmsg());
    int nout = dolor_net_num_outputs(net);
    dolor_tensor *outs[8] = {0}, *xt = NULL;
    int64_t xd[5];
    memcpy(xd, dims, sizeof(int64_t) * (size_t)ndim);
    CHECK_OK(dolor_tensor_create(&xt, ndim, xd));
    for (int64_t i = 0; xt && i < nn_shape_numel(&in); i++)
        xt->data[i] = (float)dolor_rng_normal(&r);
    for (int k = 0; !st && k < nout; k++)
        CHECK_OK(dolor_tensor_create(&outs[k], vs[net->outputs[k]].ndim, vs[net->outputs[k]].d));
    if (!st && xt && outs[nout - 1]) {
        const dolor_tensor *ins[1] = {xt};
        CHECK_OK(dolor_net_run(net, ins, outs, 0));
        char path[300];
        snprintf(path, sizeof path, "%s/%s.onnx", tmp, name);
        st = dolor_net_export_onnx(net, dims, ndim, path);
        CHECKF(st == DOLOR_OK, "%s: export: %s", name, dolor_errmsg());
        if (!st) {
            check_file(name, net, path, vs);
            if (nchecked < 64)
                snprintf(checked[nchecked++], sizeof checked[0], "%s", path);
            if (ort_mode)
                compare_ort(name, net, path, &in, xt->data, outs, nout);
        }
    }
    for (int k = 0; k < nout; k++)
        dolor_tensor_free(outs[k]);
    dolor_tensor_free(xt);
    free(vs);
    dolor_net_free(net);
}

static dolor_net *arch(const char *name, const char *json)
{
    dolor_net *net = NULL;
    dolor_status s = dolor_arch_build(name, json, &net);
    CHECKF(s == DOLOR_OK, "%s %s: %s", name, json, dolor_errmsg());
    return s ? NULL : net;
}

/* 2D graph of the kinds the architectures do not use: strided, dilated and grouped convolutions, LeakyReLU,
 * average pooling with and without the padding counted, nearest-exact to an odd size (4 -> 7, 4 -> 6), tanh,
 * transposed convolution with stride 2 and output padding, bilinear down to the input's size (14 -> 13),
 * scale, dropout, permute, channel slice, a broadcast mul gate, global pooling, flatten, linear without bias. */
static dolor_net *mix2d(void)
{
    dolor_net *g = NULL;
    if (dolor_graph_create(&g))
        return NULL;
    int64_t d[4] = {1, 3, 13, 11};
    int x = dolor_graph_input(g, 4, d);
    dolor_conv_params c1 = {.out_channels = 8, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .bias = 1};
    int a = dolor_graph_activation(g, dolor_graph_conv(g, "c1", x, &c1), DOLOR_ACT_LEAKY_RELU, 0.1f);
    dolor_pool_params p1 = {.kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1}, .count_include_pad = 0};
    dolor_pool_params p2 = {.kernel = {2, 2}, .stride = {2, 2}, .padding = {1, 1}, .count_include_pad = 1};
    int pa = dolor_graph_avg_pool(g, a, &p1), pb = dolor_graph_avg_pool(g, a, &p2);
    int cat[2] = {pa, dolor_graph_upsample_to(g, pb, pa, 0)};
    int f = dolor_graph_concat(g, cat, 2);
    dolor_conv_params c2 = {.out_channels = 8, .kernel = {3, 3}, .padding = {2, 2}, .dilation = {2, 2}, .groups = 4};
    int h = dolor_graph_activation(g, dolor_graph_batch_norm(g, "bn2", dolor_graph_conv(g, "c2", f, &c2), 0),
                                   DOLOR_ACT_TANH, 0.f);
    int gate = dolor_graph_activation(g, dolor_graph_global_avg_pool(g, h), DOLOR_ACT_SIGMOID, 0.f);
    h = dolor_graph_mul(g, h, gate);
    dolor_conv_params c3 = {.out_channels = 4, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1},
                            .output_padding = {1, 1}, .bias = 1};
    int u = dolor_graph_upsample_to(g, dolor_graph_conv_transpose(g, "up", h, &c3), x, 1);
    u = dolor_graph_dropout(g, dolor_graph_scale(g, u, 0.5f), 0.3f);
    int perm[4] = {0, 1, 3, 2};
    dolor_graph_output(g, dolor_graph_permute(g, dolor_graph_slice(g, u, 1, 4), perm, 4), "mix");
    int v = dolor_graph_flatten(g, dolor_graph_global_avg_pool(g, h));
    dolor_graph_output(g, dolor_graph_linear(g, "fc", v, 5, 0), "vec");
    if (dolor_graph_finalize(g)) {
        CHECKF(0, "mix2d: %s", dolor_errmsg());
        dolor_net_free(g);
        return NULL;
    }
    return g;
}

/* 3D: conv + batch norm with ReLU fused, max pooling, trilinear x2, nearest (1, 2, 2), nearest-exact to a size,
 * residual add, average pooling 3D */
static dolor_net *mix3d(void)
{
    dolor_net *g = NULL;
    if (dolor_graph_create(&g))
        return NULL;
    int64_t d[5] = {1, 2, 6, 8, 10};
    int x = dolor_graph_input(g, 5, d);
    dolor_conv_params c1 = {.out_channels = 6, .kernel = {3, 3, 3}, .padding = {1, 1, 1}};
    int a = dolor_graph_batch_norm(g, "bn1", dolor_graph_conv(g, "c1", x, &c1), 1);
    dolor_pool_params mp = {.kernel = {2, 2, 2}};
    int pooled = dolor_graph_max_pool(g, a, &mp);
    int s1[3] = {2, 2, 2}, s2[3] = {1, 2, 2};
    int up = dolor_graph_upsample(g, pooled, 1, s1);
    int y = dolor_graph_add(g, a, up);
    dolor_pool_params ap = {.kernel = {3, 3, 3}, .stride = {2, 2, 2}, .padding = {1, 1, 1}, .count_include_pad = 1};
    int small = dolor_graph_avg_pool(g, y, &ap); /* [1, 6, 3, 4, 5] */
    int near = dolor_graph_upsample(g, small, 0, s2); /* [1, 6, 3, 8, 10] */
    dolor_graph_output(g, dolor_graph_upsample_to(g, near, x, 0), "vol");
    if (dolor_graph_finalize(g)) {
        CHECKF(0, "mix3d: %s", dolor_errmsg());
        dolor_net_free(g);
        return NULL;
    }
    return g;
}

static void test_errors(void)
{
    dolor_net *net = arch("unet", "{\"base_channels\": 4, \"depth\": 2}");
    if (!net)
        return;
    char path[300];
    snprintf(path, sizeof path, "%s/err.onnx", tmp);
    int64_t bad_c[4] = {1, 3, 32, 32}, bad_hw[4] = {1, 1, 30, 32}, zero[4] = {1, 1, 0, 32}, ok[4] = {1, 1, 32, 32};
    CHECK_ERR(dolor_net_export_onnx(NULL, ok, 4, path), DOLOR_EINVAL, "net");
    CHECK_ERR(dolor_net_export_onnx(net, ok, 4, NULL), DOLOR_EINVAL, "path");
    CHECK_ERR(dolor_net_export_onnx(net, ok, 5, path), DOLOR_ESHAPE, "5 dims");
    CHECK_ERR(dolor_net_export_onnx(net, bad_c, 4, path), DOLOR_ESHAPE, "3 channels");
    CHECK_ERR(dolor_net_export_onnx(net, bad_hw, 4, path), DOLOR_ESHAPE, "not a multiple of 4");
    CHECK_ERR(dolor_net_export_onnx(net, zero, 4, path), DOLOR_EINVAL, "dim 2 is 0");
    char dir[300];
    snprintf(dir, sizeof dir, "%s/no/such/dir/x.onnx", tmp);
    CHECK_ERR(dolor_net_export_onnx(net, ok, 4, dir), DOLOR_EIO, "x.onnx");
    struct stat st;
    CHECK(stat(path, &st) != 0); /* nothing written by the failed calls */
    CHECK_OK(dolor_net_export_onnx(net, NULL, 0, path)); /* the nominal shape */
    CHECK(stat(path, &st) == 0 && st.st_size > 1000);
    dolor_net_free(net);
    /* a shape the ops cannot take at this input: YOLOv8's concat of the upsampled P5 with P4 at 40 x 40 */
    net = arch("yolov8", "{\"scale\": \"custom\", \"width\": 0.0625, \"depth\": 0.34, \"max_channels\": 64}");
    int64_t odd[4] = {1, 3, 40, 40};
    if (net)
        CHECK_ERR(dolor_net_export_onnx(net, odd, 4, path), DOLOR_ESHAPE, "export_onnx: at input [1, 3, 40, 40]");
    dolor_net_free(net);
}

static int have_ort(void)
{
    char p[600];
    snprintf(p, sizeof p, "%s/bench/ort/node_modules/onnxruntime-node/package.json", srcdir);
    struct stat st;
    return stat(p, &st) == 0 && dolor_test_sh("command -v node >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
    ort_mode = argc > 1 && !strcmp(argv[1], "--ort");
    srcdir = getenv("DOLOR_SOURCE_DIR");
    if (!srcdir)
        srcdir = "..";
    if (ort_mode && !have_ort()) {
        printf("SKIP: ONNX Runtime comparison: node or %s/bench/ort/node_modules/onnxruntime-node is missing "
               "(set up: cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund)\n", srcdir);
        return 77;
    }
    if (!dolor_test_tmpdir(tmp, sizeof tmp, "onnx"))
        return dolor_test_finish();
    if (argc > 2 && !strcmp(argv[2], "--full")) {
        /* by hand (docs/onnx.md), not in ctest: the default configs at their working sizes */
        static const int64_t u256[4] = {1, 1, 256, 256}, ru256[4] = {1, 3, 256, 256}, fs512[4] = {1, 1, 512, 512},
                             r224[4] = {1, 3, 224, 224}, y640[4] = {1, 3, 640, 640}, r3d[5] = {1, 1, 32, 128, 128};
        run_case("full_unet", arch("unet", NULL), 21, 4, u256);
        run_case("full_resnet_unet50_ta", arch("resnet_unet", "{\"triplet_attention\": 1}"), 22, 4, ru256);
        run_case("full_fastseg", arch("fastseg", "{\"in_channels\": 1}"), 23, 4, fs512);
        run_case("full_resnet50", arch("resnet", "{\"depth\": 50}"), 24, 4, r224);
        run_case("full_resnet18_3d", arch("resnet", "{\"depth\": 18, \"spatial_dims\": 3, \"in_channels\": 1, "
                                       "\"num_classes\": 2}"), 25, 5, r3d);
        run_case("full_yolov8s_segment", arch("yolov8", "{\"task\": \"segment\", \"scale\": \"s\"}"), 26, 4, y640);
        dolor_test_rm_rf(tmp);
        return dolor_test_finish();
    }
    if (!ort_mode)
        test_errors();
    static const int64_t u[4] = {2, 1, 32, 24}, r2[4] = {2, 3, 64, 64}, r3[5] = {1, 1, 16, 32, 32},
                         ru[4] = {1, 3, 45, 61}, ru50[4] = {1, 3, 64, 64}, fs[4] = {1, 1, 64, 80},
                         y8[4] = {1, 3, 64, 96}, y8s[4] = {1, 3, 64, 64}, m2[4] = {1, 3, 13, 11},
                         m3[5] = {1, 2, 6, 8, 10};
    run_case("unet", arch("unet", "{\"in_channels\": 1, \"num_classes\": 3, \"base_channels\": 8, \"depth\": 3}"), 1, 4, u);
    run_case("unet_bilinear", arch("unet", "{\"in_channels\": 1, \"num_classes\": 3, \"base_channels\": 8, \"depth\": 3, "
                                   "\"upsample\": \"bilinear\"}"), 2, 4, u);
    run_case("resnet18", arch("resnet", "{\"depth\": 18, \"width\": 8, \"in_channels\": 3, \"num_classes\": 5}"), 3, 4, r2);
    run_case("resnet10_3d", arch("resnet", "{\"depth\": 10, \"width\": 8, \"in_channels\": 1, \"num_classes\": 2, "
                                 "\"spatial_dims\": 3}"), 4, 5, r3);
    run_case("resnet_unet18_ta", arch("resnet_unet", "{\"encoder_depth\": 18, \"width\": 8, \"decoder_base\": 8, "
                                      "\"triplet_attention\": 1, \"upsample\": \"nearest\"}"), 5, 4, ru);
    run_case("resnet_unet50_bilinear", arch("resnet_unet", "{\"encoder_depth\": 50, \"width\": 8, \"decoder_base\": 8, "
                                            "\"upsample\": \"bilinear\"}"), 6, 4, ru50);
    run_case("fastseg", arch("fastseg", "{\"in_channels\": 1, \"num_classes\": 4, \"width\": 8}"), 7, 4, fs);
    run_case("yolov8n_detect", arch("yolov8", "{\"task\": \"detect\", \"scale\": \"n\", \"num_classes\": 4}"), 8, 4, y8);
    run_case("yolov8n_segment", arch("yolov8", "{\"task\": \"segment\", \"scale\": \"n\", \"num_classes\": 2}"), 9, 4, y8s);
    run_case("yolov8n_pose", arch("yolov8", "{\"task\": \"pose\", \"scale\": \"n\", \"num_keypoints\": 5}"), 10, 4, y8s);
    run_case("mix2d", mix2d(), 11, 4, m2);
    run_case("mix3d", mix3d(), 12, 5, m3);
    if (!ort_mode) {
        if (dolor_test_sh("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0) {
            SKIP("onnx.checker: /usr/bin/python3 has no onnx module (Debian python3-onnx)");
        } else {
            char files[64 * 310] = "";
            for (int i = 0; i < nchecked; i++)
                snprintf(files + strlen(files), sizeof files - strlen(files), " '%s'", checked[i]);
            int rc = dolor_test_sh("/usr/bin/python3 -c 'import onnx, sys\n"
                                   "for p in sys.argv[1:]:\n"
                                   "    onnx.checker.check_model(onnx.load(p), full_check=True)\n"
                                   "print(\"  onnx.checker (full_check) passed on %%d models\" %% (len(sys.argv) - 1))'%s",
                                   files);
            CHECKF(rc == 0, "onnx.checker.check_model(full_check=True) failed (exit %d)", rc);
        }
    }
    if (!dolor_test_failed)
        dolor_test_rm_rf(tmp);
    else
        fprintf(stderr, "models left in %s\n", tmp);
    return dolor_test_finish();
}
