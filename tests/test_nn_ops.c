/* nn: every operation kind from one table of cases (tools/gen_nn_ops_fixtures.py writes
 * tests/fixtures/nn/ops.bin: op name, parameter vector, input shapes), in two modes, as ggml's
 * test-backend-ops:
 *   1. PyTorch 1.13 (float64 references stored as float32): output, d/d(inputs), d/d(weight),
 *      d/d(bias) within |dolor - torch| <= 1e-4 + 1e-3 |torch|, element-wise;
 *   2. finite differences: for 6 elements of each input, (L(x + h) - L(x - h)) / 2h with
 *      L = sum(y * dy), h = 1e-2, against dolor's own d/dx within 1e-2 (1 + |d/dx|)
 *      (float32 forward passes; the check needs no reference).
 * Also: the operation table (entry i describes kind i, every entry complete) and shape errors
 * naming the operation and both shapes. The timing mode lives in bench/. */
#include "check.h"
#include "dolor/nn.h"
#include "nn/nn_internal.h"
#include "nn/plan.h"

#define ATOL 1e-4
#define RTOL 1e-3
#include "nn_fx.h"

static const struct {
    const char *name;
    nn_op_kind kind;
} OPS[] = {{"conv", NN_OP_CONV},         {"deconv", NN_OP_DECONV},       {"batch_norm", NN_OP_BN},
           {"relu", NN_OP_RELU},         {"leaky_relu", NN_OP_LEAKY_RELU}, {"sigmoid", NN_OP_SIGMOID},
           {"tanh", NN_OP_TANH},         {"silu", NN_OP_SILU},           {"max_pool", NN_OP_MAXPOOL},
           {"avg_pool", NN_OP_AVGPOOL},  {"global_avg_pool", NN_OP_GAP}, {"upsample", NN_OP_UPSAMPLE},
           {"concat", NN_OP_CONCAT},     {"slice", NN_OP_SLICE},         {"add", NN_OP_ADD},
           {"mul", NN_OP_MUL},           {"flatten", NN_OP_FLATTEN},     {"linear", NN_OP_LINEAR},
           {"permute", NN_OP_PERMUTE},   {"zpool", NN_OP_ZPOOL},         {"scale", NN_OP_SCALE},
           {"dropout", NN_OP_DROPOUT},   {"triplet_gate", NN_OP_TRIPLET_GATE}};

static int kind_of(const char *name)
{
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (strcmp(OPS[i].name, name) == 0)
            return (int)OPS[i].kind;
    return -1;
}

static void test_table(void)
{
    CHECK(sizeof OPS / sizeof OPS[0] == NN_OP_COUNT);
    for (int k = 0; k < NN_OP_COUNT; k++) {
        const nn_op_def *d = nn_op_defs[k];
        CHECKF(d && (int)d->kind == k && d->name && d->infer_shape && d->plan_forward && d->plan_backward && d->export_onnx &&
                   d->min_inputs >= 1 && d->max_inputs >= d->min_inputs,
               "table entry %d (%s) is incomplete or describes another kind", k, d && d->name ? d->name : "?");
        CHECKF(d && kind_of(d->name) == k, "table entry %d is named %s", k, d ? d->name : "?");
    }
}

/* parameters of case from its vector (layout: tools/gen_nn_ops_fixtures.py) */
static void parse_params(nn_op_kind kind, const float *v, nn_params *p)
{
    memset(p, 0, sizeof *p);
    switch (kind) {
    case NN_OP_CONV:
    case NN_OP_DECONV:
        p->conv.cout = (int)v[1];
        for (int a = 0; a < 3; a++) {
            p->conv.k[a] = (int)v[2 + a];
            p->conv.stride[a] = (int)v[5 + a];
            p->conv.pad[a] = (int)v[8 + a];
            p->conv.dil[a] = (int)v[11 + a];
            p->conv.out_pad[a] = (int)v[14 + a];
        }
        p->conv.groups = (int)v[17];
        p->conv.bias = (int)v[18];
        p->conv.out_like = -1;
        break;
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
        for (int a = 0; a < 3; a++) {
            p->pool.k[a] = (int)v[1 + a];
            p->pool.stride[a] = (int)v[4 + a];
            p->pool.pad[a] = (int)v[7 + a];
        }
        p->pool.count_include_pad = (int)v[10];
        break;
    case NN_OP_BN: p->bn.relu = (int)v[0]; break;
    case NN_OP_LEAKY_RELU:
    case NN_OP_SCALE: p->act.alpha = v[0]; break;
    case NN_OP_UPSAMPLE:
        p->rs.mode = (int)v[0];
        for (int a = 0; a < 3; a++)
            p->rs.scale[a] = (int)v[1 + a];
        break;
    case NN_OP_SLICE:
        p->slice.c0 = (int)v[0];
        p->slice.c1 = (int)v[1];
        break;
    case NN_OP_LINEAR:
        p->lin.out_features = (int)v[0];
        p->lin.bias = (int)v[1];
        break;
    case NN_OP_PERMUTE:
    case NN_OP_ZPOOL: /* all 0: no permutation */
        for (int a = 0; a < NN_MAX_DIMS; a++)
            p->perm.perm[a] = (int)v[a];
        break;
    case NN_OP_DROPOUT: p->drop.p = v[0]; break;
    case NN_OP_RELU: case NN_OP_SIGMOID: case NN_OP_TANH: case NN_OP_SILU: case NN_OP_GAP: case NN_OP_CONCAT:
    case NN_OP_ADD: case NN_OP_MUL: case NN_OP_FLATTEN: case NN_OP_TRIPLET_GATE: case NN_OP_COUNT:
        break;
    }
}

static void set_param(dolor_net *g, const char *name, const fx_rec *r)
{
    if (!r)
        return;
    for (int i = 0; i < g->ntensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) {
            CHECKF(r->numel == g->tensors[i].numel, "%s: fixture %zu elements, net %zu", name, r->numel,
                   g->tensors[i].numel);
            if (r->numel == g->tensors[i].numel)
                memcpy((g->tensors[i].is_buffer ? g->buffers : g->params) + g->tensors[i].offset, r->data,
                       r->numel * sizeof(float));
            return;
        }
    CHECKF(0, "tensor %s not in the graph", name);
}

static const float *grad_of(dolor_net *g, const char *name)
{
    for (int i = 0; i < g->ntensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0)
            return g->grads + g->tensors[i].offset;
    return NULL;
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void run_case(const fx_file *f, int c)
{
    char key[32], tag[160], what[224];
    snprintf(key, sizeof key, "c%d.op", c);
    const fx_rec *opr = fx_get(f, key);
    if (!opr) {
        CHECKF(0, "case %d: no op", c);
        return;
    }
    char opname[32] = {0};
    memcpy(opname, opr->data, opr->numel < 31 ? opr->numel : 31);
    int kind = kind_of(opname);
    CHECKF(kind >= 0, "case %d: unknown op %s", c, opname);
    if (kind < 0)
        return;
    nn_params prm;
    parse_params((nn_op_kind)kind, F32(fx_getc(f, c, "par")), &prm);
    dolor_tensor *x[NN_OP_MAX_IN] = {0};
    int nin = 0;
    for (; nin < NN_OP_MAX_IN; nin++) {
        snprintf(key, sizeof key, "c%d.x%d", c, nin);
        if (!fx_get(f, key))
            break;
        x[nin] = fx_tensor(fx_get(f, key));
    }
    const fx_rec *yr = fx_getc(f, c, "y"), *dyr = fx_getc(f, c, "dy");
    int n = snprintf(tag, sizeof tag, "case %d %s", c, opname);
    for (int k = 0; k < nin && n < (int)sizeof tag - 24; k++) {
        n += snprintf(tag + n, sizeof tag - (size_t)n, " [");
        for (int i = 0; i < x[k]->ndim; i++)
            n += snprintf(tag + n, sizeof tag - (size_t)n, "%s%lld", i ? "," : "", (long long)x[k]->shape[i]);
        n += snprintf(tag + n, sizeof tag - (size_t)n, "]");
    }
    dolor_net *g = NULL;
    CHECK_OK(nn_graph_create(&g));
    g->need_input_grad = 1;
    int in[NN_OP_MAX_IN];
    for (int k = 0; k < nin; k++) {
        int64_t d[5];
        for (int i = 0; i < x[k]->ndim; i++)
            d[i] = x[k]->shape[i];
        in[k] = nn_add_input_shape(g, x[k]->ndim, d);
    }
    int v = nn_add_op(g, (nn_op_kind)kind, "m", in, nin, &prm);
    dolor_status st = nn_graph_finalize(g, v);
    CHECKF(st == DOLOR_OK, "%s: building failed: %s", tag, dolor_errmsg());
    dolor_tensor *y = fx_tensor(yr), *dy = fx_tensor(dyr);
    if (st != DOLOR_OK || !y || !dy)
        goto out;
    snprintf(key, sizeof key, "c%d.w", c);
    set_param(g, "m.weight", fx_get(f, key));
    snprintf(key, sizeof key, "c%d.b", c);
    set_param(g, "m.bias", fx_get(f, key));
    snprintf(key, sizeof key, "c%d.rm", c);
    set_param(g, "m.running_mean", fx_get(f, key));
    snprintf(key, sizeof key, "c%d.rv", c);
    set_param(g, "m.running_var", fx_get(f, key));
    /* mode 1: PyTorch */
    const dolor_tensor *ins[NN_OP_MAX_IN];
    for (int k = 0; k < nin; k++)
        ins[k] = x[k];
    memset(y->data, 0, y->numel * sizeof(float));
    st = nn_graph_forward(g, ins, y, 1);
    CHECKF(st == DOLOR_OK, "%s: forward: %s", tag, dolor_errmsg());
    if (st)
        goto out;
    snprintf(what, sizeof what, "%s forward", tag);
    cmp_rec(what, y->data, yr);
    st = nn_graph_backward(g, dy);
    CHECKF(st == DOLOR_OK, "%s: backward: %s", tag, dolor_errmsg());
    if (st)
        goto out;
    for (int k = 0; k < nin; k++) {
        char dk[8];
        snprintf(dk, sizeof dk, "dx%d", k);
        snprintf(what, sizeof what, "%s d/dx%d", tag, k);
        cmp_rec(what, nn_graph_input_grad(g, k), fx_getc(f, c, dk));
    }
    snprintf(key, sizeof key, "c%d.dw", c);
    if (fx_get(f, key)) {
        snprintf(what, sizeof what, "%s d/dweight", tag);
        cmp_rec(what, grad_of(g, "m.weight"), fx_get(f, key));
    }
    snprintf(key, sizeof key, "c%d.db", c);
    if (fx_get(f, key)) {
        snprintf(what, sizeof what, "%s d/dbias", tag);
        cmp_rec(what, grad_of(g, "m.bias"), fx_get(f, key));
    }
    /* the inference plan gives the same output (BN: running stats, not checked here) */
    if (kind != NN_OP_BN) {
        memset(y->data, 0, y->numel * sizeof(float));
        CHECK_OK(nn_graph_forward(g, ins, y, 0));
        snprintf(what, sizeof what, "%s inference forward", tag);
        cmp_rec(what, y->data, yr);
    }
    /* mode 2: finite differences of L = sum(y * dy) w.r.t. a few input elements (BN's running
       stats move with each training forward but do not enter the training output) */
    {
        const double h = 1e-2;
        dolor_tensor *yp = fx_tensor(yr);
        for (int k = 0; k < nin && yp; k++) {
            const float *an = nn_graph_input_grad(g, k);
            float *copy = malloc(x[k]->numel * sizeof(float));
            memcpy(copy, an, x[k]->numel * sizeof(float)); /* the next forwards replan nothing, but keep it safe */
            int bad = 0;
            size_t worst_i = 0;
            double worst = 0, fd_w = 0;
            for (int t = 0; t < 6; t++) {
                size_t i = (size_t)((t * 2654435761u + 17u * (unsigned)c) % x[k]->numel);
                float x0 = x[k]->data[i];
                x[k]->data[i] = (float)(x0 + h);
                CHECK_OK(nn_graph_forward(g, ins, yp, 1));
                double lp = dot(yp->data, dy->data, yp->numel);
                x[k]->data[i] = (float)(x0 - h);
                CHECK_OK(nn_graph_forward(g, ins, yp, 1));
                double lm = dot(yp->data, dy->data, yp->numel);
                x[k]->data[i] = x0;
                double fd = (lp - lm) / (2 * h), ex = fabs(fd - copy[i]) - 1e-2 * (1 + fabs(copy[i]));
                if (ex > 0)
                    bad++;
                if (ex > worst || t == 0) {
                    worst = ex;
                    worst_i = i;
                    fd_w = fd;
                }
            }
            CHECKF(bad == 0, "%s: finite differences d/dx%d: %d of 6 off; worst at %zu: fd %.6g, dolor %.6g", tag, k, bad,
                   worst_i, fd_w, copy[worst_i]);
            free(copy);
        }
        dolor_tensor_free(yp);
    }
out:
    dolor_tensor_free(y);
    dolor_tensor_free(dy);
    for (int k = 0; k < nin; k++)
        dolor_tensor_free(x[k]);
    dolor_net_free(g);
}

static void test_cases(void)
{
    fx_file f;
    if (!fx_load(&f, "ops.bin"))
        return;
    int count = (int)F32(fx_get(&f, "count"))[0];
    CHECK(count > 40);
    for (int c = 0; c < count; c++)
        run_case(&f, c);
    fx_free(&f);
}

/* shape errors name the operation and both shapes; the first error is kept */
static void test_errors(void)
{
    dolor_net *g = NULL;
    CHECK_OK(nn_graph_create(&g));
    int64_t a[4] = {2, 4, 8, 8}, b[4] = {2, 3, 6, 8};
    int va = nn_add_input_shape(g, 4, a), vb = nn_add_input_shape(g, 4, b);
    int v = nn_add_op(g, NN_OP_ADD, "res", (int[]){va, vb}, 2, NULL);
    CHECK(v < 0);
    v = nn_add_relu(g, v); /* ignored: the first error stays */
    CHECK(v < 0);
    CHECK_ERR(nn_graph_finalize(g, v), DOLOR_ESHAPE, "add res: shapes [2, 4, 8, 8] and [2, 3, 6, 8]");
    dolor_net_free(g);
    CHECK_OK(nn_graph_create(&g));
    va = nn_add_input_shape(g, 4, a);
    vb = nn_add_input_shape(g, 4, b);
    CHECK_ERR(nn_graph_finalize(g, nn_add_op(g, NN_OP_CONCAT, NULL, (int[]){va, vb}, 2, NULL)), DOLOR_ESHAPE,
              "concat: input 1 has shape [2, 3, 6, 8], input 0 has [2, 4, 8, 8]");
    dolor_net_free(g);
    CHECK_OK(nn_graph_create(&g));
    va = nn_add_input_shape(g, 4, a);
    CHECK_ERR(nn_graph_finalize(g, nn_add_conv(g, "c1", va, 8, 3, 1, 0) >= 0 ? nn_add_op(g, NN_OP_LINEAR, "fc", &va, 1,
                                                                                          &(nn_params){.lin = {4, 1}})
                                                                            : -1),
              DOLOR_ESHAPE, "linear fc: input [2, 4, 8, 8] must be [N, F]");
    dolor_net_free(g);
}

/* the public graph API: a two-output network against its PyTorch twin (TinyTwin in
   tools/gen_nn_ops_fixtures.py), every parameter set and every gradient compared by name */
static void test_graph_api(void)
{
    fx_file f;
    if (!fx_load(&f, "graph.bin"))
        return;
    dolor_net *g = NULL;
    CHECK_OK(dolor_graph_create(&g));
    int64_t xd[4] = {1, 3, 32, 32}; /* nominal; the fixture runs [2, 3, 16, 16] */
    int x = dolor_graph_input(g, 4, xd);
    dolor_conv_params stem = {.out_channels = 8, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}};
    int s = dolor_graph_batch_norm(g, "bn", dolor_graph_conv(g, "stem", x, &stem), 1);
    dolor_pool_params mp = {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}};
    int p = dolor_graph_max_pool(g, s, &mp);
    dolor_conv_params dw = {.out_channels = 8, .kernel = {3, 3}, .padding = {1, 1}, .groups = 8};
    dolor_conv_params pw = {.out_channels = 16, .kernel = {1, 1}, .bias = 1};
    dolor_conv_params down = {.out_channels = 16, .kernel = {1, 1}};
    int a = dolor_graph_conv(g, "c2", dolor_graph_activation(g, dolor_graph_conv(g, "c1", p, &dw), DOLOR_ACT_SILU, 0), &pw);
    int y = dolor_graph_add(g, a, dolor_graph_conv(g, "down", p, &down));
    y = dolor_graph_mul(g, y, dolor_graph_activation(g, dolor_graph_global_avg_pool(g, y), DOLOR_ACT_SIGMOID, 0));
    int sc[3] = {2, 2};
    int cat[2] = {dolor_graph_upsample(g, y, 0, sc), s};
    dolor_conv_params head = {.out_channels = 3, .kernel = {1, 1}, .bias = 1};
    int seg = dolor_graph_conv(g, "seg", dolor_graph_concat(g, cat, 2), &head);
    int cls = dolor_graph_linear(g, "fc", dolor_graph_flatten(g, dolor_graph_global_avg_pool(g, y)), 5, 1);
    dolor_graph_output(g, seg, "seg");
    dolor_graph_output(g, cls, "cls");
    CHECK_OK(dolor_graph_finalize(g));
    int nd;
    int64_t d[5];
    CHECK_OK(dolor_graph_value_shape(g, seg, &nd, d));
    CHECK(nd == 4 && d[0] == 1 && d[1] == 3 && d[2] == 16 && d[3] == 16);
    CHECK_OK(dolor_graph_value_shape(g, cls, &nd, d));
    CHECK(nd == 2 && d[1] == 5);
    CHECK(dolor_net_num_outputs(g) == 2 && strcmp(dolor_net_output_name(g, 1), "cls") == 0);
    CHECK(dolor_net_output_name(g, 2) == NULL && strcmp(dolor_net_arch(g), "") == 0 && dolor_net_config(g) == NULL);
    CHECK_OK(dolor_net_init(g, 3));
    int nset = 0;
    for (int i = 0; i < g->ntensors; i++) {
        char key[112];
        snprintf(key, sizeof key, "p.%s", g->tensors[i].name);
        const fx_rec *r = fx_get(&f, key);
        CHECKF(r != NULL, "graph: torch has no %s", g->tensors[i].name);
        set_param(g, g->tensors[i].name, r);
        nset += r != NULL;
    }
    CHECK(nset == 13); /* stem.w, bn x4, c1.w, c2.w/b, down.w, seg.w/b, fc.w/b */
    dolor_tensor *tx = fx_tensor(fx_get(&f, "x")), *ts = fx_tensor(fx_get(&f, "seg")), *tc = fx_tensor(fx_get(&f, "cls"));
    dolor_tensor *ds = fx_tensor(fx_get(&f, "dseg")), *dc = fx_tensor(fx_get(&f, "dcls"));
    const dolor_tensor *ins[1] = {tx};
    dolor_tensor *outs[2] = {ts, tc};
    const dolor_tensor *douts[2] = {ds, dc};
    g->need_input_grad = 1;
    memset(ts->data, 0, ts->numel * sizeof(float));
    CHECK_OK(dolor_net_run(g, ins, outs, 1));
    cmp_rec("graph API: output seg", ts->data, fx_get(&f, "seg"));
    cmp_rec("graph API: output cls", tc->data, fx_get(&f, "cls"));
    CHECK_OK(dolor_net_backward_outputs(g, douts));
    cmp_rec("graph API: d/dx", nn_graph_input_grad(g, 0), fx_get(&f, "dx"));
    for (int i = 0; i < g->ntensors; i++) {
        char key[112], what[160];
        if (g->tensors[i].is_buffer)
            continue;
        snprintf(key, sizeof key, "g.%s", g->tensors[i].name);
        snprintf(what, sizeof what, "graph API: gradient of %s", g->tensors[i].name);
        cmp_rec(what, grad_of(g, g->tensors[i].name), fx_get(&f, key));
    }
    cmp_rec("graph API: bn running_mean", g->buffers + g->tensors[3].offset, fx_get(&f, "bn_rm1"));
    cmp_rec("graph API: bn running_var", g->buffers + g->tensors[4].offset, fx_get(&f, "bn_rv1"));
    /* wrong output shape: the message gives the expected one */
    dolor_tensor *bad = NULL;
    CHECK_OK(dolor_tensor_create4(&bad, 2, 3, 8, 7));
    outs[0] = bad;
    CHECK_ERR(dolor_net_run(g, ins, outs, 0), DOLOR_ESHAPE, "output 0 (seg) has shape [2, 3, 8, 7] (ndim 4), expected [2, 3, 8, 8]");
    dolor_tensor_free(bad);
    dolor_tensor_free(tx);
    dolor_tensor_free(ts);
    dolor_tensor_free(tc);
    dolor_tensor_free(ds);
    dolor_tensor_free(dc);
    dolor_net_free(g);
    fx_free(&f);
}

/* dropout: the definition of torch.nn.Dropout on dolor's own mask (torch's random draws cannot be
 * reproduced): each training output is 0 or x / (1 - p), the zero fraction is p within 4 binomial
 * SDs, d/dx = dy * mask, a second call draws a new mask, the same seed the same one, inference is x */
static void test_dropout(void)
{
    const float P = 0.3f;
    int64_t d[4] = {2, 16, 9, 9};
    dolor_net *g = NULL;
    CHECK_OK(dolor_graph_create(&g));
    int y = dolor_graph_dropout(g, dolor_graph_input(g, 4, d), P);
    dolor_graph_output(g, y, "y");
    CHECK_OK(dolor_graph_finalize(g));
    g->need_input_grad = 1;
    CHECK_OK(dolor_net_init(g, 5));
    dolor_tensor *x = NULL, *out = NULL, *dy = NULL, *first = NULL;
    CHECK_OK(dolor_tensor_create(&x, 4, d));
    CHECK_OK(dolor_tensor_create(&out, 4, d));
    CHECK_OK(dolor_tensor_create(&dy, 4, d));
    CHECK_OK(dolor_tensor_create(&first, 4, d));
    size_t n = x->numel;
    for (size_t i = 0; i < n; i++) {
        x->data[i] = 0.5f + (float)sin(0.37 * (double)i);
        dy->data[i] = (float)cos(0.11 * (double)i);
    }
    const dolor_tensor *ins[1] = {x}, *douts[1] = {dy};
    dolor_tensor *outs[1] = {out};
    CHECK_OK(dolor_net_run(g, ins, outs, 1));
    size_t zeros = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        float v = out->data[i];
        if (v == 0.f)
            zeros++;
        else if (fabsf(v - x->data[i] / (1.f - P)) > 1e-6f * fabsf(v))
            bad++;
    }
    double sd = sqrt((double)n * P * (1 - P));
    CHECKF(bad == 0 && fabs((double)zeros - (double)n * P) < 4 * sd,
           "dropout: %zu outputs neither 0 nor x/(1-p); %zu zeros of %zu (expected %.0f +/- %.0f)", bad, zeros, n,
           (double)n * P, sd);
    memcpy(first->data, out->data, n * sizeof(float));
    CHECK_OK(dolor_net_backward_outputs(g, douts));
    const float *dx = nn_graph_input_grad(g, 0);
    bad = 0;
    for (size_t i = 0; dx && i < n; i++) {
        float want = out->data[i] == 0.f ? 0.f : dy->data[i] / (1.f - P);
        bad += fabsf(dx[i] - want) > 1e-6f * (1.f + fabsf(want));
    }
    CHECKF(dx && bad == 0, "dropout: %zu elements of d/dx differ from dy * mask", bad);
    CHECK_OK(dolor_net_run(g, ins, outs, 1));
    CHECK(memcmp(first->data, out->data, n * sizeof(float)) != 0); /* a new mask */
    CHECK_OK(dolor_net_init(g, 5));
    CHECK_OK(dolor_net_run(g, ins, outs, 1));
    CHECK(memcmp(first->data, out->data, n * sizeof(float)) == 0); /* the same seed, the same mask */
    CHECK_OK(dolor_net_run(g, ins, outs, 0));
    CHECK(memcmp(x->data, out->data, n * sizeof(float)) == 0);     /* inference: identity */
    dolor_net_free(g);
    CHECK_OK(dolor_graph_create(&g));
    dolor_graph_output(g, dolor_graph_dropout(g, dolor_graph_input(g, 4, d), 1.f), "y");
    CHECK_ERR(dolor_graph_finalize(g), DOLOR_EINVAL, "p 1 is not in [0, 1)");
    dolor_net_free(g);
    dolor_tensor_free(x);
    dolor_tensor_free(out);
    dolor_tensor_free(dy);
    dolor_tensor_free(first);
}

/* inference plans: every batch norm of a ResNet folds into its convolution, the prepared weights are
 * reused, and a parameter change seen through dolor_net_params() / dolor_net_params_changed() is
 * prepared again (the output equals a fresh net's with the same weights) */
static void test_inference_plan(void)
{
    dolor_net *a = NULL, *b = NULL;
    const char *js = "{\"depth\": 18, \"in_channels\": 1, \"num_classes\": 3, \"width\": 8}";
    CHECK_OK(dolor_arch_build("resnet", js, &a));
    CHECK_OK(dolor_arch_build("resnet", js, &b));
    if (!a || !b)
        return;
    CHECK_OK(dolor_net_init(a, 3));
    int64_t xd[4] = {2, 1, 40, 36}, yd[2] = {2, 3};
    dolor_tensor *x = NULL, *y1 = NULL, *y2 = NULL, *y3 = NULL;
    CHECK_OK(dolor_tensor_create(&x, 4, xd));
    CHECK_OK(dolor_tensor_create(&y1, 2, yd));
    CHECK_OK(dolor_tensor_create(&y2, 2, yd));
    CHECK_OK(dolor_tensor_create(&y3, 2, yd));
    for (size_t i = 0; i < x->numel; i++)
        x->data[i] = (float)sin(0.05 * (double)i);
    float *bn_rv = NULL;
    int nbn = 0;
    for (int t = 0; t < a->ntensors; t++) {
        const char *nm = a->tensors[t].name;
        size_t L = strlen(nm);
        if (L > 11 && strcmp(nm + L - 11, "running_var") == 0) {
            nbn++;
            if (!bn_rv)
                bn_rv = a->buffers + a->tensors[t].offset;
        }
    }
    const dolor_tensor *ins[1] = {x};
    dolor_tensor *o1[1] = {y1}, *o2[1] = {y2}, *o3[1] = {y3};
    CHECK_OK(dolor_net_run(a, ins, o1, 0));
    CHECKF(a->plan[0] && a->plan[0]->folded_bn == nbn, "%d of %d batch norms folded", a->plan[0] ? a->plan[0]->folded_bn : -1,
           nbn);
    /* ResNet-18: every block's addition (+ ReLU) fuses: into its last convolution for an identity shortcut,
     * into the downsample convolution (planned after the residual branch) for the other 3 */
    CHECKF(a->plan[0] && a->plan[0]->fused_add == 8, "%d of 8 residual additions fused", a->plan[0] ? a->plan[0]->fused_add : -1);
    CHECK_OK(dolor_net_run(a, ins, o2, 0));
    CHECK(memcmp(y1->data, y2->data, y1->numel * sizeof(float)) == 0);
    size_t sh = 0, unsh = 0;
    dolor_net_activation_bytes(a, 0, &sh, &unsh);
    CHECKF(sh > 0 && sh * 2 < unsh, "inference activations: %zu bytes shared, %zu unshared (want < 1/2)", sh, unsh);
    /* change a running variance (folded into conv1's weights) and the fc bias */
    float *bufs = dolor_net_buffers(a);
    (void)bufs;
    bn_rv[0] *= 4.f;
    dolor_net_params(a)[dolor_net_num_params(a) - 1] += 0.5f;
    CHECK_OK(dolor_net_run(a, ins, o2, 0));
    memcpy(b->params, a->params, a->nparams * sizeof(float));
    memcpy(b->buffers, a->buffers, a->nbuffers * sizeof(float));
    CHECK_OK(dolor_net_run(b, ins, o3, 0));
    CHECK(memcmp(y1->data, y2->data, y1->numel * sizeof(float)) != 0);
    cmp("inference after a parameter change = a fresh net", y2->data, y3->data, y3->numel);
    /* written through an old pointer: dolor_net_params_changed() */
    float *pp = a->params;
    pp[0] += 1.f;
    dolor_net_params_changed(a);
    CHECK_OK(dolor_net_run(a, ins, o2, 0));
    b->params[0] += 1.f;
    dolor_net_params_changed(b);
    CHECK_OK(dolor_net_run(b, ins, o3, 0));
    cmp("inference after dolor_net_params_changed = a fresh net", y2->data, y3->data, y3->numel);
    dolor_tensor_free(x);
    dolor_tensor_free(y1);
    dolor_tensor_free(y2);
    dolor_tensor_free(y3);
    dolor_net_free(a);
    dolor_net_free(b);
}

/* the triplet-attention module against the authors' module (tools/gen_nn_ops_fixtures.py) */
static void test_triplet(void)
{
    fx_file f;
    if (!fx_load(&f, "triplet.bin"))
        return;
    dolor_net *g = NULL;
    CHECK_OK(dolor_graph_create(&g));
    int64_t xd[4] = {2, 6, 9, 7};
    int y = dolor_graph_triplet_attention(g, "ta", dolor_graph_input(g, 4, xd));
    dolor_graph_output(g, y, "y");
    CHECK_OK(dolor_graph_finalize(g));
    CHECK(g->ntensors == 15); /* 3 x (conv weight, BN weight, bias, running mean, var) */
    for (int i = 0; i < g->ntensors; i++) {
        char key[112];
        snprintf(key, sizeof key, "p.%s", g->tensors[i].name);
        CHECKF(fx_get(&f, key) != NULL, "triplet: torch has no %s", g->tensors[i].name);
        set_param(g, g->tensors[i].name, fx_get(&f, key));
    }
    dolor_tensor *tx = fx_tensor(fx_get(&f, "x")), *ty = fx_tensor(fx_get(&f, "y")), *dy = fx_tensor(fx_get(&f, "dy"));
    const dolor_tensor *ins[1] = {tx};
    dolor_tensor *outs[1] = {ty};
    const dolor_tensor *douts[1] = {dy};
    g->need_input_grad = 1;
    memset(ty->data, 0, ty->numel * sizeof(float));
    CHECK_OK(dolor_net_run(g, ins, outs, 1));
    cmp_rec("triplet attention: output", ty->data, fx_get(&f, "y"));
    CHECK_OK(dolor_net_backward_outputs(g, douts));
    cmp_rec("triplet attention: d/dx", nn_graph_input_grad(g, 0), fx_get(&f, "dx"));
    for (int i = 0; i < g->ntensors; i++) {
        char key[112], what[160];
        if (g->tensors[i].is_buffer)
            continue;
        snprintf(key, sizeof key, "g.%s", g->tensors[i].name);
        snprintf(what, sizeof what, "triplet attention: gradient of %s", g->tensors[i].name);
        cmp_rec(what, grad_of(g, g->tensors[i].name), fx_get(&f, key));
    }
    for (int i = 0; i < g->ntensors; i++) { /* running stats after one step, momentum 0.01 */
        char key[112], what[160];
        if (!g->tensors[i].is_buffer)
            continue;
        snprintf(key, sizeof key, "r.%s", g->tensors[i].name);
        snprintf(what, sizeof what, "triplet attention: %s after one step", g->tensors[i].name);
        cmp_rec(what, g->buffers + g->tensors[i].offset, fx_get(&f, key));
    }
    dolor_tensor_free(tx);
    dolor_tensor_free(ty);
    dolor_tensor_free(dy);
    dolor_net_free(g);
    fx_free(&f);
}

/* |a - b| <= frac * max|b| + RTOL |b|: gradients deep in a network, whose float32 rounding
 * PyTorch itself does not reproduce more closely (PyTorch float32 vs float64 on the ResNet-50 twin:
 * up to 8e-5 of the tensor's max) */
static void cmp_scaled(const char *what, const float *a, const float *b, size_t n, double frac)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs((double)b[i]));
    int bad = 0;
    size_t wi = 0;
    double worst = -1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), ex = d - frac * mx - RTOL * fabs((double)b[i]);
        if (!isfinite(d))
            ex = 1e300;
        bad += ex > 0;
        if (ex > worst) {
            worst = ex;
            wi = i;
        }
    }
    CHECKF(bad == 0, "%s: %d of %zu elements off (tolerance %g max|torch| + %g |torch|); worst at %zu: dolor %.9g, torch %.9g",
           what, bad, n, frac, RTOL, wi, a[wi], b[wi]);
}

#define RESNET_GTOL 2e-3
#define RESNET_GTOL_SCALAR 1e-2

/* 5 AdamW steps with softmax cross-entropy from the det_fill weights reproduce PyTorch's 5 losses */
static void five_steps(const fx_file *f, const char *file, const char *arch, const char *js, const dolor_tensor *x)
{
    const fx_rec *lr = fx_get(f, "labels"), *l5 = fx_get(f, "losses5");
    if (!lr || !l5)
        return;
    dolor_net *g = NULL;
    CHECK_OK(dolor_arch_build(arch, js, &g));
    if (!g)
        return;
    fx_det_fill(g);
    dolor_adamw *opt = NULL;
    CHECK_OK(dolor_adamw_create(dolor_net_num_params(g), 0.9f, 0.999f, 1e-8f, 1e-2f, &opt));
    uint8_t *lab = malloc(lr->numel);
    for (size_t i = 0; i < lr->numel; i++)
        lab[i] = (uint8_t)F32(lr)[i];
    int nd;
    int64_t od[5];
    dolor_net_output_shape(g, 0, &nd, od);
    od[0] = x->shape[0];
    if (nd >= 4)
        for (int a = 2; a < nd; a++)
            od[a] = x->shape[a];
    /* for the loss: a classifier's [N, K] as [N, K, 1, 1], a 3D net's [N, K, D, H, W] as [N, K, D*H, W]
       (the same softmax cross-entropy: a mean over every voxel) */
    dolor_tensor *y = NULL, *dy = NULL, *y4 = NULL, *dy4 = NULL;
    int64_t o4[4] = {od[0], od[1], nd >= 4 ? od[2] : 1, nd >= 4 ? od[3] : 1};
    if (nd == 5) {
        o4[2] = od[2] * od[3];
        o4[3] = od[4];
    }
    CHECK_OK(dolor_tensor_create(&y, nd, od));
    CHECK_OK(dolor_tensor_create(&dy, nd, od));
    CHECK_OK(dolor_tensor_create(&y4, 4, o4));
    CHECK_OK(dolor_tensor_create(&dy4, 4, o4));
    float losses[5] = {0};
    for (int it = 0; it < 5 && opt && y && dy; it++) {
        const dolor_tensor *ins[1] = {x};
        dolor_tensor *outs[1] = {y};
        const dolor_tensor *douts[1] = {dy};
        CHECK_OK(dolor_net_run(g, ins, outs, 1));
        memcpy(y4->data, y->data, y->numel * sizeof(float));
        memset(dy4->data, 0, dy4->numel * sizeof(float));
        CHECK_OK(dolor_loss_cross_entropy(y4, lab, 1.f, &losses[it], dy4));
        memcpy(dy->data, dy4->data, dy->numel * sizeof(float));
        CHECK_OK(dolor_net_backward_outputs(g, douts));
        dolor_adamw_step(opt, dolor_net_params(g), dolor_net_grads(g), 1e-3f);
    }
    char what[160];
    snprintf(what, sizeof what, "%s: cross-entropy of 5 AdamW steps", file);
    cmp_rec(what, losses, l5);
    dolor_tensor_free(y);
    dolor_tensor_free(dy);
    dolor_tensor_free(y4);
    dolor_tensor_free(dy4);
    free(lab);
    dolor_adamw_free(opt);
    dolor_net_free(g);
}

/* After a backward: d/dx (every 97th element and the sum of squares) and every parameter gradient
 * (first 32 elements and the sum of squares) against the fixture's dx_sample, dx_sq, ghead, gsq;
 * scalar_tol: the tolerance of one-element tensors (RESNET_GTOL unless a caller says why not). */
static void cmp_grads(const fx_file *f, const char *file, const dolor_net *g, const dolor_tensor *x, double scalar_tol)
{
    char what[192];
    const float *dx = nn_graph_input_grad(g, 0);
    const fx_rec *dxs = fx_get(f, "dx_sample");
    float *samp = malloc(dxs->numel * sizeof *samp);
    double sq = 0;
    for (size_t k = 0; k < x->numel; k++)
        sq += (double)dx[k] * dx[k];
    for (size_t k = 0; k < dxs->numel; k++)
        samp[k] = dx[k * 97];
    snprintf(what, sizeof what, "%s d/dx (every 97th)", file);
    cmp_scaled(what, samp, F32(dxs), dxs->numel, RESNET_GTOL);
    float sqf = (float)sq;
    snprintf(what, sizeof what, "%s |d/dx|^2", file);
    cmp_rec(what, &sqf, fx_get(f, "dx_sq"));
    free(samp);
    const fx_rec *gh = fx_get(f, "ghead"), *gs = fx_get(f, "gsq");
    int pi = 0;
    for (int t = 0; t < g->ntensors; t++) {
        const nn_tensor_info *ti = &g->tensors[t];
        if (ti->is_buffer)
            continue;
        const float *gr = g->grads + ti->offset;
        float head[32] = {0}, s2;
        double acc = 0;
        for (size_t k = 0; k < ti->numel; k++)
            acc += (double)gr[k] * gr[k];
        for (size_t k = 0; k < 32 && k < ti->numel; k++)
            head[k] = gr[k];
        s2 = (float)acc;
        if ((size_t)pi < gs->numel) {
            snprintf(what, sizeof what, "%s gradient of %s (first 32)", file, ti->name);
            cmp_scaled(what, head, F32(gh) + 32 * pi, ti->numel < 32 ? ti->numel : 32,
                       ti->numel == 1 ? scalar_tol : RESNET_GTOL);
            /* the squared norm doubles the relative error of the gradient it sums (d(g^2)/g^2 = 2 dg/g), so it
             * gets twice the elementwise tolerance: with one thread oneDNN's weight-gradient reduction of the
             * input convolution of yolov8 sums in another order and |g|^2 moved by 1.1e-3 relative */
            snprintf(what, sizeof what, "%s |gradient of %s|^2", file, ti->name);
            double ref = F32(gs)[pi];
            CHECKF(fabs((double)s2 - ref) <= ATOL + 2 * RESNET_GTOL * fabs(ref),
                   "%s: dolor %.9g, torch %.9g (relative %.3g, limit %.3g)", what, s2, ref,
                   fabs((double)s2 - ref) / fmax(fabs(ref), 1e-30), 2 * RESNET_GTOL);
        }
        pi++;
    }
    CHECKF((size_t)pi == gs->numel, "%s: %d parameter tensors, torch has %zu", file, pi, gs->numel);
}

/* a registry architecture against its PyTorch twin (tools/gen_nn_ops_fixtures.py for "resnet",
 * tools/gen_nn_arch_fixtures.py + tools/nn_twins.py for the others) */
static void test_arch(const char *file)
{
    fx_file f;
    if (!fx_load(&f, file))
        return;
    char js[512], arch[32] = "resnet", what[192];
    const fx_rec *ar = fx_get(&f, "arch"), *cr = fx_get(&f, "config");
    if (ar && cr && ar->numel < sizeof arch && cr->numel < sizeof js) {
        memcpy(arch, ar->data, ar->numel);
        arch[ar->numel] = 0;
        memcpy(js, cr->data, cr->numel);
        js[cr->numel] = 0;
    } else {
        const float *c = F32(fx_get(&f, "cfg"));
        snprintf(js, sizeof js, "{\"depth\": %d, \"in_channels\": %d, \"num_classes\": %d, \"spatial_dims\": %d, \"width\": %d}",
                 (int)c[0], (int)c[1], (int)c[2], (int)c[3], (int)c[4]);
    }
    dolor_net *g = NULL;
    CHECK_OK(dolor_arch_build(arch, js, &g));
    if (!g) {
        fx_free(&f);
        return;
    }
    char back[512];
    CHECK_OK(dolor_net_config_json(g, back, sizeof back));
    CHECKF(strcmp(back, js) == 0, "%s: config back as %s (built from %s)", file, back, js);
    const fx_rec *names = fx_get(&f, "names");
    char *nm = calloc(names->numel + 1, 1);
    memcpy(nm, names->data, names->numel);
    int i = 0;
    for (char *save, *tok = strtok_r(nm, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save), i++)
        CHECKF(i < g->ntensors && strcmp(g->tensors[i].name, tok) == 0, "%s: tensor %d is %s, torch has %s", file, i,
               i < g->ntensors ? g->tensors[i].name : "(none)", tok);
    CHECK(i == g->ntensors);
    free(nm);
    fx_det_fill(g);
    const float *xs = F32(fx_get(&f, "xshape"));
    int nd = (int)fx_get(&f, "xshape")->numel;
    int64_t shp[5];
    for (int k = 0; k < nd; k++)
        shp[k] = (int64_t)xs[k];
    dolor_tensor *x = NULL, *y = fx_tensor(fx_get(&f, "y")), *dy = fx_tensor(fx_get(&f, "dy"));
    CHECK_OK(dolor_tensor_create(&x, nd, shp));
    for (size_t k = 0; k < x->numel; k++)
        x->data[k] = (float)(1.5 * sin(0.01 * (double)k) + 0.5 * sin(1.37 * (double)k + 0.2));
    const dolor_tensor *ins[1] = {x};
    dolor_tensor *outs[1] = {y};
    const dolor_tensor *douts[1] = {dy};
    g->need_input_grad = 1;
    CHECK_OK(dolor_net_run(g, ins, outs, 1));
    snprintf(what, sizeof what, "%s logits (training)", file);
    cmp_rec(what, y->data, fx_get(&f, "y"));
    CHECK_OK(dolor_net_backward_outputs(g, douts));
    /* a one-element tensor (the 1-channel BN of a triplet-attention gate) is one sum over N*H*W of
     * products deep in the net: rounding order moves it by up to 0.5% (ResNet-50 + TA twin) */
    cmp_grads(&f, file, g, x, RESNET_GTOL_SCALAR);
    CHECK_OK(dolor_net_run(g, ins, outs, 0));
    snprintf(what, sizeof what, "%s logits (inference, running stats after one step)", file);
    cmp_rec(what, y->data, fx_get(&f, "y_eval"));
    five_steps(&f, file, arch, js, x);
    dolor_tensor_free(x);
    dolor_tensor_free(y);
    dolor_tensor_free(dy);
    dolor_net_free(g);
    fx_free(&f);
}

/* ---- YOLOv8: several outputs (tools/gen_nn_arch_fixtures.py gen_multi, tools/nn_twins.py YOLOv8) ---- */

/* the fixed output weights of the test loss, as multi_dy in tools/gen_nn_arch_fixtures.py */
static float multi_dy(int k, size_t i) { return (float)sin(0.37 * (double)i + 0.91 * k + 0.05); }

/* Every output (training, then inference with the running statistics after one step), d/dx and every
 * parameter gradient under L = sum_k sum(dy_k * y_k), and 5 AdamW steps of sum_k mean(dy_k * y_k),
 * with the tolerances of test_arch: outputs and losses |dolor - torch| <= 1e-4 + 1e-3 |torch|,
 * gradients (first 32 of each tensor, every 97th of d/dx) 2e-3 max|torch| + 1e-3 |torch|, sums of
 * squared gradients 1e-4 + 1e-3 |torch|. */
static void test_arch_multi(const char *file)
{
    fx_file f;
    if (!fx_load(&f, file))
        return;
    char js[512], arch[32], what[192];
    const fx_rec *ar = fx_get(&f, "arch"), *cr = fx_get(&f, "config"), *onr = fx_get(&f, "onames");
    const fx_rec *names = fx_get(&f, "names"), *xr = fx_get(&f, "xshape"), *ev = fx_get(&f, "eval_every");
    if (!ar || !cr || !onr || !names || !xr || !ev || ar->numel >= sizeof arch || cr->numel >= sizeof js) {
        CHECKF(0, "%s: records arch, config, onames, names, xshape or eval_every missing", file);
        fx_free(&f);
        return;
    }
    memcpy(arch, ar->data, ar->numel);
    arch[ar->numel] = 0;
    memcpy(js, cr->data, cr->numel);
    js[cr->numel] = 0;
    dolor_net *g = NULL;
    CHECK_OK(dolor_arch_build(arch, js, &g));
    if (!g) {
        fx_free(&f);
        return;
    }
    char back[512];
    CHECK_OK(dolor_net_config_json(g, back, sizeof back));
    CHECKF(strcmp(back, js) == 0, "%s: config back as %s (built from %s)", file, back, js);
    char *nm = calloc(names->numel + 1, 1);
    memcpy(nm, names->data, names->numel);
    int i = 0;
    for (char *save, *tok = strtok_r(nm, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save), i++)
        CHECKF(i < g->ntensors && strcmp(g->tensors[i].name, tok) == 0, "%s: tensor %d is %s, torch has %s", file, i,
               i < g->ntensors ? g->tensors[i].name : "(none)", tok);
    CHECKF(i == g->ntensors, "%s: %d tensors, torch has %d", file, g->ntensors, i);
    free(nm);
    int no = dolor_net_num_outputs(g);
    nm = calloc(onr->numel + 1, 1);
    memcpy(nm, onr->data, onr->numel);
    i = 0;
    for (char *save, *tok = strtok_r(nm, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save), i++)
        CHECKF(i < no && strcmp(dolor_net_output_name(g, i), tok) == 0, "%s: output %d is %s, torch has %s", file, i,
               i < no ? dolor_net_output_name(g, i) : "(none)", tok);
    CHECKF(i == no, "%s: %d outputs, torch has %d", file, no, i);
    free(nm);
    if (no > NN_MAX_OUTPUTS)
        no = NN_MAX_OUTPUTS;
    fx_det_fill(g);
    int nd = (int)xr->numel;
    int64_t shp[5];
    for (int k = 0; k < nd; k++)
        shp[k] = (int64_t)F32(xr)[k];
    dolor_tensor *x = NULL, *y[NN_MAX_OUTPUTS] = {0}, *dy[NN_MAX_OUTPUTS] = {0};
    CHECK_OK(dolor_tensor_create(&x, nd, shp));
    for (size_t k = 0; k < x->numel; k++)
        x->data[k] = (float)(1.5 * sin(0.01 * (double)k) + 0.5 * sin(1.37 * (double)k + 0.2));
    int ok = 1;
    for (int k = 0; k < no; k++) {
        snprintf(what, sizeof what, "y%d", k);
        const fx_rec *yr = fx_get(&f, what);
        y[k] = fx_tensor(yr);
        dy[k] = fx_tensor(yr);
        ok = ok && y[k] && dy[k];
        for (size_t e = 0; dy[k] && e < dy[k]->numel; e++)
            dy[k]->data[e] = multi_dy(k, e);
    }
    CHECKF(ok, "%s: an output record is missing", file);
    const dolor_tensor *ins[1] = {x};
    g->need_input_grad = 1;
    if (ok) {
        CHECK_OK(dolor_net_run(g, ins, y, 1));
        for (int k = 0; k < no; k++) {
            snprintf(what, sizeof what, "y%d", k);
            const fx_rec *yr = fx_get(&f, what);
            snprintf(what, sizeof what, "%s output %s (training)", file, dolor_net_output_name(g, k));
            cmp_rec(what, y[k]->data, yr);
        }
        CHECK_OK(dolor_net_backward_outputs(g, (const dolor_tensor *const *)dy));
        cmp_grads(&f, file, g, x, RESNET_GTOL); /* no loosened scalar tolerance: YOLOv8 has no gates */
        CHECK_OK(dolor_net_run(g, ins, y, 0));
        size_t every = (size_t)F32(ev)[0];
        for (int k = 0; k < no && every > 0; k++) {
            snprintf(what, sizeof what, "y_eval%d", k);
            const fx_rec *er = fx_get(&f, what);
            float *sub = malloc(y[k]->numel * sizeof *sub);
            size_t m = 0;
            for (size_t e = 0; e < y[k]->numel; e += every)
                sub[m++] = y[k]->data[e];
            snprintf(what, sizeof what, "%s output %s (inference, every %zu-th)", file, dolor_net_output_name(g, k),
                     every);
            CHECKF(er && er->numel == m, "%s: %zu values, torch has %zu", what, m, er ? er->numel : 0);
            if (er && er->numel == m)
                cmp_rec(what, sub, er);
            free(sub);
        }
    }
    /* 5 AdamW steps of sum_k mean(dy_k * y_k) from the det_fill weights, at the fixture's lr */
    const fx_rec *l5 = fx_get(&f, "losses5"), *lrr = fx_get(&f, "lr");
    float lr = lrr ? F32(lrr)[0] : 1e-3f;
    dolor_net *h = NULL;
    dolor_adamw *opt = NULL;
    CHECK_OK(dolor_arch_build(arch, js, &h));
    if (h && ok && l5) {
        fx_det_fill(h);
        CHECK_OK(dolor_adamw_create(dolor_net_num_params(h), 0.9f, 0.999f, 1e-8f, 1e-2f, &opt));
        for (int k = 0; k < no; k++)
            for (size_t e = 0; e < dy[k]->numel; e++)
                dy[k]->data[e] = multi_dy(k, e) / (float)dy[k]->numel;
        float losses[5] = {0};
        for (int it = 0; it < 5 && opt; it++) {
            CHECK_OK(dolor_net_run(h, ins, y, 1));
            double L = 0;
            for (int k = 0; k < no; k++) {
                double a = 0;
                for (size_t e = 0; e < y[k]->numel; e++)
                    a += (double)multi_dy(k, e) * y[k]->data[e];
                L += a / (double)y[k]->numel;
            }
            losses[it] = (float)L;
            CHECK_OK(dolor_net_backward_outputs(h, (const dolor_tensor *const *)dy));
            dolor_adamw_step(opt, dolor_net_params(h), dolor_net_grads(h), lr);
        }
        snprintf(what, sizeof what, "%s: sum_k mean(dy_k y_k) over 5 AdamW steps (lr %g)", file, lr);
        cmp_rec(what, losses, l5);
        if (getenv("DOLOR_NN_VERBOSE"))
            fprintf(stderr, "%s: losses %.6g %.6g %.6g %.6g %.6g\n", file, losses[0], losses[1], losses[2], losses[3],
                    losses[4]);
    }
    dolor_adamw_free(opt);
    dolor_net_free(h);
    for (int k = 0; k < no; k++) {
        dolor_tensor_free(y[k]);
        dolor_tensor_free(dy[k]);
    }
    dolor_tensor_free(x);
    dolor_net_free(g);
    fx_free(&f);
}

/* YOLOv8's registry entry: Ultralytics' parameter counts (yolov8.yaml: n 3,157,200, s 11,166,560
 * parameters, of which 16 are the fixed DFL convolution dolor does not keep), config round trip, errors */
static void test_yolov8_registry(void)
{
    static const struct {
        const char *js;
        size_t params;
    } counts[] = {{"{}", 3157184}, {"{\"scale\": \"s\"}", 11166544},
                  {"{\"task\": \"segment\"}", 3409952}, {"{\"task\": \"pose\", \"num_keypoints\": 17}", 3295454}};
    for (int i = 0; i < 4; i++) {
        dolor_net *a = NULL;
        CHECK_OK(dolor_arch_build("yolov8", counts[i].js, &a));
        CHECKF(a && dolor_net_num_params(a) == counts[i].params, "yolov8 %s: %zu parameters, Ultralytics has %zu + 16",
               counts[i].js, a ? dolor_net_num_params(a) : 0, counts[i].params);
        if (a && i == 0) {
            char js[512];
            CHECK_OK(dolor_net_config_json(a, js, sizeof js));
            CHECKF(strcmp(js, "{\"task\": \"detect\", \"scale\": \"n\", \"width\": 0.25, \"depth\": 0.33, \"max_channels\": "
                              "1024, \"in_channels\": 3, \"num_classes\": 80, \"reg_max\": 16}") == 0, "yolov8 config %s", js);
            CHECK(dolor_net_num_outputs(a) == 3 && strcmp(dolor_net_output_name(a, 2), "box_cls_p5") == 0);
        }
        if (a && i == 2)
            CHECK(dolor_net_num_outputs(a) == 7 && strcmp(dolor_net_output_name(a, 6), "proto") == 0);
        dolor_net_free(a);
    }
    dolor_net *a = NULL;
    CHECK_OK(dolor_arch_build("yolov8", "{\"scale\": \"l\", \"width\": 1, \"depth\": 1}", &a)); /* l by its values */
    if (a) {
        char js[512];
        CHECK_OK(dolor_net_config_json(a, js, sizeof js));
        CHECKF(strstr(js, "\"scale\": \"l\", \"width\": 1.0, \"depth\": 1.0, \"max_channels\": 512") != NULL, "%s", js);
        CHECKF(dolor_net_num_params(a) == 43691504, "yolov8l: %zu parameters", dolor_net_num_params(a));
    }
    dolor_net_free(a);
    a = NULL;
    CHECK_ERR(dolor_arch_build("yolov8", "{\"task\": \"classify\"}", &a), DOLOR_EINVAL, "\"classify\" is not");
    CHECK_ERR(dolor_arch_build("yolov8", "{\"scale\": \"q\"}", &a), DOLOR_EINVAL, "\"q\" is not n, s, m, l, x");
    CHECK_ERR(dolor_arch_build("yolov8", "{\"scale\": \"custom\", \"width\": 0.5}", &a), DOLOR_EINVAL,
              "needs \"width\", \"depth\" and \"max_channels\"");
    CHECK_ERR(dolor_arch_build("yolov8", "{\"num_masks\": 16}", &a), DOLOR_EINVAL, "\"num_masks\" is for task \"segment\"");
    CHECK_ERR(dolor_arch_build("yolov8", "{\"task\": \"pose\", \"keypoint_dims\": 4}", &a), DOLOR_EINVAL,
              "keypoint_dims 4");
    CHECK_ERR(dolor_arch_build("yolov8", "{\"width\": \"wide\"}", &a), DOLOR_EINVAL, "\"width\" must be a number");
    CHECK_ERR(dolor_arch_build("yolov8", "{\"depth\": 1.5}", &a), DOLOR_EINVAL, "depth 1.5");
    CHECK(a == NULL);
    /* a side that is not a multiple of 32: the neck's concat names both shapes */
    CHECK_OK(dolor_arch_build("yolov8", "{\"scale\": \"custom\", \"width\": 0.0625, \"depth\": 0.33, \"max_channels\": "
                                        "1024, \"num_classes\": 2}", &a));
    if (a) {
        int64_t xs[4] = {1, 3, 48, 64}, ys[4] = {1, 66, 6, 8};
        dolor_tensor *x = NULL, *y[3] = {0};
        CHECK_OK(dolor_tensor_create(&x, 4, xs));
        for (int k = 0; k < 3; k++) {
            CHECK_OK(dolor_tensor_create(&y[k], 4, ys));
            ys[2] /= 2;
            ys[3] /= 2;
        }
        const dolor_tensor *ins[1] = {x};
        CHECK_ERR(dolor_net_run(a, ins, y, 0), DOLOR_ESHAPE, "concat");
        for (int k = 0; k < 3; k++)
            dolor_tensor_free(y[k]);
        dolor_tensor_free(x);
    }
    dolor_net_free(a);
}

/* the decoding of raw maps (by formula, as decode_maps in tools/gen_nn_arch_fixtures.py) against the
 * twin's y8_decode_boxes / y8_decode_keypoints (float64 from the same float32 maps): boxes in pixels
 * within 1e-4 + 1e-5 |torch| (float32 output of a float64 computation), scores and keypoints within
 * 1e-4 + 1e-3 |torch|; and the argument errors */
static void fill_maps(dolor_tensor **m, int C, double amp, double f, double ph)
{
    static const int64_t hw[3][2] = {{8, 12}, {4, 6}, {2, 3}};
    for (int l = 0; l < 3; l++) {
        int64_t s[4] = {2, C, hw[l][0], hw[l][1]};
        m[l] = NULL;
        CHECK_OK(dolor_tensor_create(&m[l], 4, s));
        for (size_t i = 0; m[l] && i < m[l]->numel; i++)
            m[l]->data[i] = (float)(amp * sin(f * (double)i + ph * l + 0.2));
    }
}

static void test_yolov8_decode(void)
{
    fx_file f;
    if (!fx_load(&f, "yolov8_decode.bin"))
        return;
    dolor_tensor *bm[3], *km[3];
    fill_maps(bm, 4 * 16 + 3, 3.0, 0.61, 0.7);
    fill_maps(km, 27, 1.5, 0.43, 0.5);
    const int strides[3] = {8, 16, 32};
    const int64_t A = 8 * 12 + 4 * 6 + 2 * 3;
    float *boxes = calloc((size_t)(2 * A * 4), sizeof(float)), *scores = calloc((size_t)(2 * A * 3), sizeof(float));
    float *kp = calloc((size_t)(2 * A * 27), sizeof(float));
    const fx_rec *rb = fx_get(&f, "boxes"), *rs = fx_get(&f, "scores"), *rk = fx_get(&f, "keypoints");
    if (bm[2] && km[2] && rb && rs && rk && rb->numel == (size_t)(2 * A * 4) && rk->numel == (size_t)(2 * A * 27)) {
        CHECK_OK(dolor_yolo_decode_boxes((const dolor_tensor *const *)bm, strides, 3, 16, 3, boxes, scores));
        double worst = 0;
        for (size_t i = 0; i < rb->numel; i++) {
            double d = fabs((double)boxes[i] - F32(rb)[i]) - (1e-4 + 1e-5 * fabs((double)F32(rb)[i]));
            worst = fmax(worst, d);
        }
        CHECKF(worst <= 0, "yolov8 decoded boxes: %g beyond 1e-4 + 1e-5 |torch|", worst);
        cmp_rec("yolov8 decoded class scores", scores, rs);
        CHECK_OK(dolor_yolo_decode_keypoints((const dolor_tensor *const *)km, strides, 3, 9, 3, kp));
        cmp_rec("yolov8 decoded keypoints", kp, rk);
        /* box 0 of image 0 by hand: a box around the first anchor (4, 4) at stride 8 */
        CHECK(boxes[0] <= 4.f && boxes[2] >= 4.f && boxes[1] <= 4.f && boxes[3] >= 4.f);
    } else
        CHECKF(0, "yolov8_decode.bin: records missing or of the wrong size");
    CHECK_ERR(dolor_yolo_decode_boxes((const dolor_tensor *const *)bm, strides, 3, 16, 4, boxes, scores), DOLOR_ESHAPE,
              "map 0");
    CHECK_ERR(dolor_yolo_decode_boxes((const dolor_tensor *const *)bm, strides, 0, 16, 3, boxes, scores), DOLOR_EINVAL,
              "0 levels");
    CHECK_ERR(dolor_yolo_decode_keypoints((const dolor_tensor *const *)km, strides, 3, 9, 4, kp), DOLOR_EINVAL,
              "keypoint_dims 4");
    const dolor_tensor *mixed[3] = {km[0], km[1], bm[2]};
    CHECK_ERR(dolor_yolo_decode_keypoints(mixed, strides, 3, 9, 3, kp), DOLOR_ESHAPE, "map 2");
    for (int l = 0; l < 3; l++) {
        dolor_tensor_free(bm[l]);
        dolor_tensor_free(km[l]);
    }
    free(boxes);
    free(scores);
    free(kp);
    fx_free(&f);
}

static void test_registry(void)
{
    CHECK(dolor_arch_count() >= 1 && strcmp(dolor_arch_name(0), "unet") == 0 && dolor_arch_name(-1) == NULL);
    CHECK(strstr(dolor_arch_help(0), "base_channels") != NULL);
    dolor_net *a = NULL, *b = NULL;
    CHECK_OK(dolor_arch_build("unet", "{\"depth\": 2, \"base_channels\": 8, \"upsample\": \"bilinear\", \"num_classes\": 3}", &a));
    dolor_unet_config c;
    dolor_unet_config_default(&c);
    c.depth = 2;
    c.base_channels = 8;
    c.num_classes = 3;
    c.upsample = DOLOR_UP_BILINEAR;
    CHECK_OK(dolor_unet_create(&c, &b));
    if (a && b) {
        CHECK(dolor_net_num_params(a) == dolor_net_num_params(b) && dolor_net_num_tensors(a) == dolor_net_num_tensors(b));
        CHECK(strcmp(dolor_net_arch(a), "unet") == 0 && dolor_net_config(a)->depth == 2);
        char js[256];
        CHECK_OK(dolor_net_config_json(a, js, sizeof js));
        CHECK(strcmp(js, "{\"in_channels\": 1, \"num_classes\": 3, \"base_channels\": 8, \"depth\": 2, \"upsample\": \"bilinear\", \"spatial_dims\": 2}") == 0);
        dolor_net *r = NULL; /* round trip */
        CHECK_OK(dolor_arch_build("unet", js, &r));
        CHECK(r && dolor_net_num_params(r) == dolor_net_num_params(a));
        dolor_net_free(r);
        CHECK_ERR(dolor_net_config_json(a, js, 20), DOLOR_EINVAL, "the buffer has 20");
    }
    dolor_net_free(a);
    dolor_net_free(b);
    CHECK_OK(dolor_arch_build("unet", NULL, &a));
    CHECK(a && dolor_net_num_params(a) == 1942306);
    dolor_net_free(a);
    CHECK_ERR(dolor_arch_build("resnet99", NULL, &a), DOLOR_ENOTFOUND, "known: unet, resnet");
    CHECK_ERR(dolor_arch_build("resnet", "{\"depth\": 20}", &a), DOLOR_EINVAL, "\"depth\" 20 is not 10, 18, 34, 50 or 101");
    CHECK_ERR(dolor_arch_build("unet", "{\"dpeth\": 3}", &a), DOLOR_EINVAL, "unknown key \"dpeth\"");
    CHECK_ERR(dolor_arch_build("unet", "{\"depth\": 2.5}", &a), DOLOR_EINVAL, "\"depth\" must be an integer");
    CHECK_ERR(dolor_arch_build("unet", "{\"upsample\": \"cubic\"}", &a), DOLOR_EINVAL, "\"cubic\"");
    CHECK_ERR(dolor_arch_build("unet", "{\"depth\": 2,}", &a), DOLOR_EINVAL, "unet config: JSON");
    CHECK_ERR(dolor_arch_build("unet", "{\"depth\": 0}", &a), DOLOR_EINVAL, "depth 0");
    CHECK_ERR(dolor_arch_build("unet", "{\"spatial_dims\": 1}", &a), DOLOR_EINVAL, "\"spatial_dims\" 1 is not 2 or 3");
    CHECK(a == NULL);
    /* 3D: the same tensors with one more kernel axis (3x3 -> 3x3x3, 2x2 -> 2x2x2) */
    dolor_net *u2 = NULL, *u3 = NULL;
    CHECK_OK(dolor_arch_build("unet", "{\"depth\": 2, \"base_channels\": 4}", &u2));
    CHECK_OK(dolor_arch_build("unet", "{\"depth\": 2, \"base_channels\": 4, \"spatial_dims\": 3}", &u3));
    if (u2 && u3) {
        CHECK(dolor_net_num_tensors(u2) == dolor_net_num_tensors(u3) && dolor_net_config(u3)->spatial_dims == 3);
        CHECK(dolor_net_num_params(u3) > dolor_net_num_params(u2));
    }
    dolor_net_free(u2);
    dolor_net_free(u3);
}

/* dolor_net_set_bn_momentum: 1/k on the k-th batch leaves the plain mean of the batch means and of the
 * unbiased batch variances (PreciseBN), computed here by hand; a momentum out of [0, 1] restores the op's own */
static void test_bn_momentum(void)
{
    dolor_net *g = NULL;
    CHECK_OK(dolor_graph_create(&g));
    int64_t xd[4] = {2, 3, 4, 4};
    int x = dolor_graph_input(g, 4, xd);
    dolor_graph_output(g, dolor_graph_batch_norm(g, "bn", x, 0), "y");
    CHECK_OK(dolor_graph_finalize(g));
    CHECK_OK(dolor_net_init(g, 1));
    dolor_tensor *in = NULL, *out = NULL;
    CHECK_OK(dolor_tensor_create(&in, 4, xd));
    CHECK_OK(dolor_tensor_create(&out, 4, xd));
    double want_m[3] = {0}, want_v[3] = {0};
    dolor_rng r;
    dolor_rng_seed(&r, 9);
    const int K = 3;
    for (int k = 0; k < K; k++) {
        for (size_t i = 0; i < in->numel; i++)
            in->data[i] = (float)(dolor_rng_normal(&r) * (1 + k) + k);
        for (int c = 0; c < 3; c++) { /* this batch's mean and unbiased variance of channel c */
            double s1 = 0, s2 = 0;
            for (int n = 0; n < 2; n++)
                for (int e = 0; e < 16; e++) {
                    double v = in->data[(n * 3 + c) * 16 + e];
                    s1 += v;
                    s2 += v * v;
                }
            double m = s1 / 32;
            want_m[c] += m / K;
            want_v[c] += (s2 - 32 * m * m) / 31 / K;
        }
        dolor_net_set_bn_momentum(g, 1.0 / (k + 1));
        const dolor_tensor *ins[1] = {in};
        dolor_tensor *outs[1] = {out};
        CHECK_OK(dolor_net_run(g, ins, outs, 1));
    }
    dolor_net_set_bn_momentum(g, -1);
    const float *b = dolor_net_buffers(g);
    dolor_net_tensor t;
    for (int i = 0; i < dolor_net_num_tensors(g); i++) {
        CHECK_OK(dolor_net_tensor_at(g, i, &t));
        if (!t.is_buffer)
            continue;
        const double *want = strstr(t.name, "running_mean") ? want_m : want_v;
        for (int c = 0; c < 3; c++)
            CHECK_NEAR(b[t.offset + (size_t)c], want[c], 1e-5 * (1 + fabs(want[c])));
    }
    /* the op's own momentum (0.1) again: one more batch moves the mean by a tenth of the way */
    float m0 = 0;
    for (int i = 0; i < dolor_net_num_tensors(g); i++) {
        CHECK_OK(dolor_net_tensor_at(g, i, &t));
        if (t.is_buffer && strstr(t.name, "running_mean"))
            m0 = b[t.offset];
    }
    for (size_t i = 0; i < in->numel; i++)
        in->data[i] = 5.0f;
    const dolor_tensor *ins[1] = {in};
    dolor_tensor *outs[1] = {out};
    CHECK_OK(dolor_net_run(g, ins, outs, 1));
    b = dolor_net_buffers(g);
    for (int i = 0; i < dolor_net_num_tensors(g); i++) {
        CHECK_OK(dolor_net_tensor_at(g, i, &t));
        if (t.is_buffer && strstr(t.name, "running_mean"))
            CHECK_NEAR(b[t.offset], 0.9 * m0 + 0.1 * 5.0, 1e-5);
    }
    dolor_tensor_free(in);
    dolor_tensor_free(out);
    dolor_net_free(g);
}

int main(void)
{
    test_table();
    test_registry();
    test_graph_api();
    test_bn_momentum();
    test_triplet();
    test_dropout();
    test_inference_plan();
    test_arch("resnet18.bin");
    test_arch("resnet50.bin");
    test_arch("resnet3d10.bin");
    test_arch("unet3d.bin"); /* the 3D U-Net on [2, 2, 16, 16, 16] */
    test_arch("resnet_unet_18ta.bin");
    test_arch("resnet_unet_50ta.bin");
    test_arch("fastseg.bin");
    test_yolov8_registry();
    test_arch_multi("yolov8_detect.bin");
    test_arch_multi("yolov8_segment.bin");
    test_arch_multi("yolov8_pose.bin");
    test_yolov8_decode();
    test_errors();
    test_cases();
    return dolor_test_finish();
}
