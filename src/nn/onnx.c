/*
 * ONNX export (dolor_net_export_onnx, include/dolor/nn.h): the graph is walked once in op order and
 * each op's export_onnx callback (nn_op_def, ops/NAME.c) appends its nodes through the builder of
 * onnx.h; parameters and BatchNorm buffers become initializers named as the state_dict. The model
 * is a ModelProto of ONNX's own schema: the C code is generated at build time by protoc-c from the
 * onnx.proto that Debian's libonnx-dev installs (CMakeLists.txt), packed by libprotobuf-c and written
 * to a temporary file that is then renamed.
 *
 * Every message lives in one list of blocks owned by the exporter and freed at the end; tensor data
 * is not copied (raw_data points into the net's parameter and buffer arrays) on a little-endian host.
 */
#include "onnx.h"
#include "plan.h"

#include "onnx/onnx.pb-c.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NN_ONNX_OPSET 17
#define NN_ONNX_IR_VERSION 8 /* the IR version of ONNX 1.12, whose default-domain opset is 17 */
#define NN_ONNX_MAX_ATTRS 8  /* attributes of one node (ConvTranspose has 6) */
#define NN_ONNX_MAX_BYTES 2147483647u /* protobuf's limit on one message; larger models need external data */

typedef struct ox_blk {
    struct ox_blk *next;
    max_align_t data[];
} ox_blk;

struct nn_onnx_node {
    Onnx__NodeProto n;
};

struct nn_onnx {
    const dolor_net *g;
    nn_shape *vs;        /* [nvals] shapes at the export input shape */
    const char **vname;  /* [nvals] */
    int cur_op, cur_nodes, cur_tmp;
    Onnx__NodeProto **nodes;
    size_t nnodes, cap_nodes;
    dolor_status err;
    ox_blk *blocks;
};

/* ------------------------------------------------------------- memory ---- */

static void *ox_alloc(nn_onnx *ox, size_t n)
{
    if (ox->err)
        return NULL;
    ox_blk *b = calloc(1, sizeof *b + (n ? n : 1));
    if (!b) {
        ox->err = dolor_error(DOLOR_ENOMEM, "nn: export_onnx: out of memory (%zu bytes)", n);
        return NULL;
    }
    b->next = ox->blocks;
    ox->blocks = b;
    return b->data;
}

static char *ox_printf(nn_onnx *ox, const char *fmt, ...) DOLOR_PRINTF(2, 3);
static char *ox_printf(nn_onnx *ox, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? ox_alloc(ox, (size_t)n + 1) : NULL;
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void ox_free(nn_onnx *ox)
{
    for (ox_blk *b = ox->blocks, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    ox->blocks = NULL;
    free(ox->nodes);
    free(ox->vname);
    free(ox->vs);
}

#define OX_NEW(ox, T, init) ox_new_##init(ox)
#define OX_DEFINE_NEW(T, init)                                                                                        \
    static T *ox_new_##init(nn_onnx *ox)                                                                              \
    {                                                                                                                 \
        T *m = ox_alloc(ox, sizeof *m);                                                                               \
        if (m)                                                                                                        \
            init(m);                                                                                                  \
        return m;                                                                                                     \
    }
OX_DEFINE_NEW(Onnx__NodeProto, onnx__node_proto__init)
OX_DEFINE_NEW(Onnx__AttributeProto, onnx__attribute_proto__init)
OX_DEFINE_NEW(Onnx__TensorProto, onnx__tensor_proto__init)
OX_DEFINE_NEW(Onnx__ValueInfoProto, onnx__value_info_proto__init)
OX_DEFINE_NEW(Onnx__TypeProto, onnx__type_proto__init)
OX_DEFINE_NEW(Onnx__TypeProto__Tensor, onnx__type_proto__tensor__init)
OX_DEFINE_NEW(Onnx__TensorShapeProto, onnx__tensor_shape_proto__init)
OX_DEFINE_NEW(Onnx__TensorShapeProto__Dimension, onnx__tensor_shape_proto__dimension__init)
OX_DEFINE_NEW(Onnx__StringStringEntryProto, onnx__string_string_entry_proto__init)

/* ------------------------------------------------------------ builder ---- */

const char *nn_onnx_value(nn_onnx *ox, int v) { return v >= 0 && v < ox->g->nvals ? ox->vname[v] : NULL; }
const char *nn_onnx_param(nn_onnx *ox, int t) { return t >= 0 && t < ox->g->ntensors ? ox->g->tensors[t].name : NULL; }
const nn_shape *nn_onnx_shape(const nn_onnx *ox, int v) { return &ox->vs[v]; }
dolor_status nn_onnx_status(const nn_onnx *ox) { return ox->err; }

const char *nn_onnx_tmp(nn_onnx *ox)
{
    const nn_op *op = &ox->g->ops[ox->cur_op];
    return ox_printf(ox, "%s_t%d", ox->vname[op->out], ox->cur_tmp++);
}

/* "enc0.conv1" for a named op, "relu_12" for an unnamed one (the op index) */
static const char *op_base(nn_onnx *ox, int oi)
{
    const nn_op *op = &ox->g->ops[oi];
    return op->name[0] ? ox_printf(ox, "%s", op->name) : ox_printf(ox, "%s_%d", nn_op_defs[op->kind]->name, oi);
}

nn_onnx_node *nn_onnx_add_node(nn_onnx *ox, const char *op_type, const char *const *in, int nin, const char *out)
{
    if (ox->err || !out)
        return NULL;
    for (int k = 0; k < nin; k++)
        if (!in[k])
            return NULL; /* an earlier allocation failed */
    if (ox->nnodes == ox->cap_nodes) {
        size_t cap = ox->cap_nodes ? 2 * ox->cap_nodes : 256;
        Onnx__NodeProto **nn = realloc(ox->nodes, cap * sizeof *nn);
        if (!nn) {
            ox->err = dolor_error(DOLOR_ENOMEM, "nn: export_onnx: out of memory");
            return NULL;
        }
        ox->nodes = nn;
        ox->cap_nodes = cap;
    }
    Onnx__NodeProto *n = OX_NEW(ox, Onnx__NodeProto, onnx__node_proto__init);
    char **ins = ox_alloc(ox, sizeof *ins * (size_t)(nin ? nin : 1));
    char **outs = ox_alloc(ox, sizeof *outs);
    Onnx__AttributeProto **attrs = ox_alloc(ox, sizeof *attrs * NN_ONNX_MAX_ATTRS);
    const char *base = ox->cur_op >= 0 ? op_base(ox, ox->cur_op) : "output";
    char *name = ox->cur_nodes == 0 ? (char *)base : ox_printf(ox, "%s/%s_%d", base, op_type, ox->cur_nodes);
    char *type = ox_printf(ox, "%s", op_type);
    char *o = ox_printf(ox, "%s", out);
    if (!n || !ins || !outs || !attrs || !base || !name || !type || !o)
        return NULL;
    for (int k = 0; k < nin; k++)
        if (!(ins[k] = ox_printf(ox, "%s", in[k])))
            return NULL;
    outs[0] = o;
    n->n_input = (size_t)nin;
    n->input = ins;
    n->n_output = 1;
    n->output = outs;
    n->name = name;
    n->op_type = type;
    n->attribute = attrs;
    ox->nodes[ox->nnodes++] = n;
    ox->cur_nodes++;
    return (nn_onnx_node *)n;
}

static Onnx__AttributeProto *new_attr(nn_onnx *ox, nn_onnx_node *nd, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    if (!nd || ox->err)
        return NULL;
    Onnx__NodeProto *n = &nd->n;
    if (n->n_attribute >= NN_ONNX_MAX_ATTRS) {
        ox->err = dolor_error(DOLOR_EINVAL, "nn: export_onnx: node %s has more than %d attributes", n->name,
                              NN_ONNX_MAX_ATTRS);
        return NULL;
    }
    Onnx__AttributeProto *a = OX_NEW(ox, Onnx__AttributeProto, onnx__attribute_proto__init);
    char *nm = ox_printf(ox, "%s", name);
    if (!a || !nm)
        return NULL;
    a->name = nm;
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

void nn_onnx_attr_int(nn_onnx *ox, nn_onnx_node *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = new_attr(ox, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = 1;
        a->i = v;
    }
}

void nn_onnx_attr_ints(nn_onnx *ox, nn_onnx_node *n, const char *name, const int64_t *v, int count)
{
    Onnx__AttributeProto *a = new_attr(ox, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *d = a ? ox_alloc(ox, sizeof *d * (size_t)(count ? count : 1)) : NULL;
    if (!d)
        return;
    memcpy(d, v, sizeof *d * (size_t)count);
    a->n_ints = (size_t)count;
    a->ints = d;
}

void nn_onnx_attr_float(nn_onnx *ox, nn_onnx_node *n, const char *name, float v)
{
    Onnx__AttributeProto *a = new_attr(ox, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = 1;
        a->f = v;
    }
}

void nn_onnx_attr_string(nn_onnx *ox, nn_onnx_node *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = new_attr(ox, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *s = a ? ox_printf(ox, "%s", v) : NULL;
    if (!s)
        return;
    a->has_s = 1;
    a->s.len = strlen(s);
    a->s.data = (uint8_t *)s;
}

static const char *add_const(nn_onnx *ox, Onnx__TensorProto *t)
{
    const char *out = t ? nn_onnx_tmp(ox) : NULL;
    nn_onnx_node *n = nn_onnx_add_node(ox, "Constant", NULL, 0, out);
    Onnx__AttributeProto *a = new_attr(ox, n, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    if (!a)
        return NULL;
    a->t = t;
    return out;
}

const char *nn_onnx_const_i64(nn_onnx *ox, const int64_t *v, int count)
{
    Onnx__TensorProto *t = OX_NEW(ox, Onnx__TensorProto, onnx__tensor_proto__init);
    int64_t *dims = ox_alloc(ox, sizeof *dims), *d = ox_alloc(ox, sizeof *d * (size_t)count);
    if (!t || !dims || !d)
        return NULL;
    memcpy(d, v, sizeof *d * (size_t)count);
    dims[0] = count;
    t->n_dims = 1;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->n_int64_data = (size_t)count;
    t->int64_data = d;
    return add_const(ox, t);
}

const char *nn_onnx_const_f32(nn_onnx *ox, const float *v, int count, int scalar)
{
    Onnx__TensorProto *t = OX_NEW(ox, Onnx__TensorProto, onnx__tensor_proto__init);
    int64_t *dims = ox_alloc(ox, sizeof *dims);
    float *d = ox_alloc(ox, sizeof *d * (size_t)count);
    if (!t || !dims || !d)
        return NULL;
    memcpy(d, v, sizeof *d * (size_t)count);
    dims[0] = count;
    t->n_dims = scalar && count == 1 ? 0 : 1;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_float_data = (size_t)count;
    t->float_data = d;
    return add_const(ox, t);
}

nn_onnx_node *nn_onnx_unary(nn_onnx *ox, const char *op_type, const char *in, const char *out)
{
    return nn_onnx_add_node(ox, op_type, &in, 1, out);
}

void nn_onnx_attr_axes(nn_onnx *ox, nn_onnx_node *n, const char *name, const int *v, int nsp)
{
    int64_t a[3];
    for (int i = 0; i < nsp; i++)
        a[i] = v[i];
    nn_onnx_attr_ints(ox, n, name, a, nsp);
}

void nn_onnx_attr_pads(nn_onnx *ox, nn_onnx_node *n, const int *pad, int nsp)
{
    int64_t a[6];
    for (int i = 0; i < nsp; i++)
        a[i] = a[nsp + i] = pad[i];
    nn_onnx_attr_ints(ox, n, "pads", a, 2 * nsp);
}

/* -------------------------------------------------------------- model ---- */

static int host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* parameter tensor t as a float initializer; raw_data is little-endian float32 */
static Onnx__TensorProto *initializer(nn_onnx *ox, int t)
{
    const nn_tensor_info *ti = &ox->g->tensors[t];
    Onnx__TensorProto *p = OX_NEW(ox, Onnx__TensorProto, onnx__tensor_proto__init);
    int64_t *dims = ox_alloc(ox, sizeof *dims * NN_MAX_DIMS);
    if (!p || !dims)
        return NULL;
    for (int i = 0; i < ti->ndim; i++)
        dims[i] = ti->shape[i];
    p->n_dims = (size_t)ti->ndim;
    p->dims = dims;
    p->has_data_type = 1;
    p->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    p->name = (char *)ti->name;
    const float *src = (ti->is_buffer ? ox->g->buffers : ox->g->params) + ti->offset;
    p->has_raw_data = 1;
    p->raw_data.len = ti->numel * sizeof(float);
    if (host_little_endian()) {
        p->raw_data.data = (uint8_t *)src;
    } else {
        uint8_t *d = ox_alloc(ox, p->raw_data.len);
        if (!d)
            return NULL;
        for (size_t j = 0; j < ti->numel; j++) {
            uint32_t u;
            memcpy(&u, &src[j], 4);
            for (int b = 0; b < 4; b++)
                d[4 * j + (size_t)b] = (uint8_t)(u >> (8 * b));
        }
        p->raw_data.data = d;
    }
    return p;
}

static Onnx__ValueInfoProto *value_info(nn_onnx *ox, const char *name, const nn_shape *s)
{
    Onnx__ValueInfoProto *vi = OX_NEW(ox, Onnx__ValueInfoProto, onnx__value_info_proto__init);
    Onnx__TypeProto *tp = OX_NEW(ox, Onnx__TypeProto, onnx__type_proto__init);
    Onnx__TypeProto__Tensor *tt = OX_NEW(ox, Onnx__TypeProto__Tensor, onnx__type_proto__tensor__init);
    Onnx__TensorShapeProto *sp = OX_NEW(ox, Onnx__TensorShapeProto, onnx__tensor_shape_proto__init);
    Onnx__TensorShapeProto__Dimension **dims = ox_alloc(ox, sizeof *dims * (size_t)s->ndim);
    char *nm = ox_printf(ox, "%s", name);
    if (!vi || !tp || !tt || !sp || !dims || !nm)
        return NULL;
    for (int i = 0; i < s->ndim; i++) {
        dims[i] = OX_NEW(ox, Onnx__TensorShapeProto__Dimension, onnx__tensor_shape_proto__dimension__init);
        if (!dims[i])
            return NULL;
        dims[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dims[i]->dim_value = s->d[i];
    }
    sp->n_dim = (size_t)s->ndim;
    sp->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = nm;
    vi->type = tp;
    return vi;
}

static Onnx__StringStringEntryProto *meta_entry(nn_onnx *ox, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = OX_NEW(ox, Onnx__StringStringEntryProto, onnx__string_string_entry_proto__init);
    char *k = ox_printf(ox, "%s", key), *v = ox_printf(ox, "%s", value);
    if (!e || !k || !v)
        return NULL;
    e->key = k;
    e->value = v;
    return e;
}

/* value names: the graph inputs "image" ("image0", "image1", ... with several), an output value its
 * (first) output's name, every other value "<op>_out<v>" */
static dolor_status name_values(nn_onnx *ox)
{
    const dolor_net *g = ox->g;
    for (int k = 0; k < g->ninputs; k++)
        ox->vname[g->inputs[k]] = g->ninputs == 1 ? "image" : ox_printf(ox, "image%d", k);
    for (int k = g->noutputs - 1; k >= 0; k--)
        if (g->vals[g->outputs[k]].input_idx < 0)
            ox->vname[g->outputs[k]] = g->out_names[k];
    for (int oi = 0; oi < g->nops; oi++) {
        int v = g->ops[oi].out;
        if (!ox->vname[v]) {
            const char *base = op_base(ox, oi);
            ox->vname[v] = base ? ox_printf(ox, "%s_out%d", base, v) : NULL;
        }
    }
    return ox->err;
}

typedef struct file_buf {
    ProtobufCBuffer base;
    FILE *fp;
    int failed;
} file_buf;

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    file_buf *f = (file_buf *)b;
    if (!f->failed && len && fwrite(data, 1, len, f->fp) != len)
        f->failed = 1;
}

static dolor_status check_input(const dolor_net *g, const int64_t *dims, int ndim, nn_shape *s)
{
    const nn_shape *ns = &g->vals[g->inputs[0]].s;
    if (g->ninputs != 1)
        return dolor_error(DOLOR_EUNSUPPORTED, "nn: export_onnx: an export shape for a net with %d inputs (pass NULL "
                           "dims to export every input at its nominal shape)", g->ninputs);
    if (ndim != ns->ndim)
        return dolor_error(DOLOR_ESHAPE, "nn: export_onnx: input shape has %d dims, the net's input has %d", ndim,
                           ns->ndim);
    s->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 1 || dims[i] > (int64_t)1 << 30)
            return dolor_error(DOLOR_EINVAL, "nn: export_onnx: input dim %d is %lld (1..2^30)", i, (long long)dims[i]);
        s->d[i] = dims[i];
    }
    if (ndim > 1 && dims[1] != ns->d[1])
        return dolor_error(DOLOR_ESHAPE, "nn: export_onnx: input has %lld channels, the net takes %lld",
                           (long long)dims[1], (long long)ns->d[1]);
    if (g->size_multiple > 1)
        for (int i = 2; i < ndim; i++)
            if (dims[i] % g->size_multiple)
                return dolor_error(DOLOR_ESHAPE, "nn: export_onnx: input spatial size %lld (axis %d) is not a multiple "
                                   "of %d (2^depth)", (long long)dims[i], i, g->size_multiple);
    return DOLOR_OK;
}

static dolor_status build_and_write(nn_onnx *ox, const nn_shape *in_shapes, const char *path)
{
    const dolor_net *g = ox->g;
    char b[96];
    dolor_status s = nn_graph_infer_shapes(g, in_shapes, ox->vs);
    if (s)
        return dolor_error_prefix(s, "nn: export_onnx: at input %s", nn_shape_str(&in_shapes[0], b, sizeof b));
    for (int oi = 0; oi < g->nops; oi++)
        if (!nn_op_defs[g->ops[oi].kind]->export_onnx)
            return dolor_error(DOLOR_EUNSUPPORTED, "nn: export_onnx: operation %d%s%s%s (%s) has no ONNX export", oi,
                               g->ops[oi].name[0] ? " '" : "", g->ops[oi].name, g->ops[oi].name[0] ? "'" : "",
                               nn_op_defs[g->ops[oi].kind]->name);
    ox->cur_op = -1;
    TRY(name_values(ox));
    for (int oi = 0; oi < g->nops; oi++) {
        ox->cur_op = oi;
        ox->cur_nodes = ox->cur_tmp = 0;
        s = nn_op_defs[g->ops[oi].kind]->export_onnx(g, ox, oi);
        if (!s)
            s = ox->err;
        if (s)
            return dolor_error_prefix(s, "nn: export_onnx: operation %d (%s)", oi, nn_op_defs[g->ops[oi].kind]->name);
    }
    /* an output that is a graph input or already named by an earlier output: an Identity writes its name */
    ox->cur_op = -1;
    for (int k = 0; k < g->noutputs; k++) {
        ox->cur_nodes = k;
        if (strcmp(ox->vname[g->outputs[k]], g->out_names[k]) != 0) {
            const char *in = ox->vname[g->outputs[k]];
            nn_onnx_add_node(ox, "Identity", &in, 1, g->out_names[k]);
        }
    }
    TRY(ox->err);

    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    graph.name = (char *)(g->arch[0] ? g->arch : "dolor");
    graph.n_node = ox->nnodes;
    graph.node = ox->nodes;
    graph.n_initializer = (size_t)g->ntensors;
    graph.initializer = ox_alloc(ox, sizeof *graph.initializer * (size_t)(g->ntensors ? g->ntensors : 1));
    for (int t = 0; graph.initializer && t < g->ntensors; t++)
        graph.initializer[t] = initializer(ox, t);
    graph.n_input = (size_t)g->ninputs;
    graph.input = ox_alloc(ox, sizeof *graph.input * (size_t)g->ninputs);
    for (int k = 0; graph.input && k < g->ninputs; k++)
        graph.input[k] = value_info(ox, ox->vname[g->inputs[k]], &ox->vs[g->inputs[k]]);
    graph.n_output = (size_t)g->noutputs;
    graph.output = ox_alloc(ox, sizeof *graph.output * (size_t)g->noutputs);
    for (int k = 0; graph.output && k < g->noutputs; k++)
        graph.output[k] = value_info(ox, g->out_names[k], &ox->vs[g->outputs[k]]);
    /* the shapes of the values in between, which onnx.checker's full check compares with its own inference */
    graph.value_info = ox_alloc(ox, sizeof *graph.value_info * (size_t)(g->nops ? g->nops : 1));
    for (int oi = 0; graph.value_info && oi < g->nops; oi++) {
        int v = g->ops[oi].out, is_out = 0;
        for (int k = 0; k < g->noutputs; k++)
            is_out |= g->outputs[k] == v && !strcmp(ox->vname[v], g->out_names[k]);
        if (!is_out)
            graph.value_info[graph.n_value_info++] = value_info(ox, ox->vname[v], &ox->vs[v]);
    }
    TRY(ox->err);

    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = {&opset};
    opset.domain = "";
    opset.has_version = 1;
    opset.version = NN_ONNX_OPSET;
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    model.has_ir_version = 1;
    model.ir_version = NN_ONNX_IR_VERSION;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.producer_name = "dolor";
    model.producer_version = DOLOR_VERSION_STRING;
    model.doc_string = "exported by dolor (dolor_net_export_onnx) for inference at a fixed input shape: batch "
                       "norm with its running statistics, dropout as the identity";
    char cfg[1024] = "";
    Onnx__StringStringEntryProto *meta[2];
    if (g->arch[0]) {
        meta[model.n_metadata_props++] = meta_entry(ox, "dolor_architecture", g->arch);
        if (dolor_net_config_json(g, cfg, sizeof cfg) == DOLOR_OK)
            meta[model.n_metadata_props++] = meta_entry(ox, "dolor_config", cfg);
        dolor_error_clear();
    }
    model.metadata_props = meta;
    model.graph = &graph;
    TRY(ox->err);

    size_t bytes = onnx__model_proto__get_packed_size(&model);
    if (bytes > NN_ONNX_MAX_BYTES)
        return dolor_error(DOLOR_EUNSUPPORTED, "nn: export_onnx: %s: the model takes %zu bytes, more than protobuf's "
                           "2 GiB limit of one file (external data is not written)", path, bytes);
    dolor_outfile f;
    TRY(dolor_outfile_open(&f, path, 1));
    file_buf fb = {{NULL}, f.fp, 0};
    fb.base.append = file_append;
    size_t wrote = onnx__model_proto__pack_to_buffer(&model, &fb.base);
    if (fb.failed || wrote != bytes) {
        dolor_outfile_abort(&f);
        return dolor_error(DOLOR_EIO, "%s: cannot write the ONNX model (%zu of %zu bytes)", path, wrote, bytes);
    }
    return dolor_outfile_commit(&f);
}

dolor_status dolor_net_export_onnx(const dolor_net *net, const int64_t *input_dims, int ndim, const char *path)
{
    if (!net || !path || !*path)
        return dolor_error(DOLOR_EINVAL, "nn: export_onnx: %s is NULL or empty", !net ? "net" : "path");
    if (!net->finalized)
        return dolor_error(DOLOR_EINVAL, "nn: export_onnx: network not finalized");
    nn_shape in[NN_MAX_INPUTS];
    if (input_dims) {
        TRY(check_input(net, input_dims, ndim, &in[0]));
    } else {
        for (int k = 0; k < net->ninputs; k++)
            in[k] = net->vals[net->inputs[k]].s;
    }
    nn_onnx ox = {.g = net, .cur_op = -1};
    ox.vs = calloc((size_t)net->nvals, sizeof *ox.vs);
    ox.vname = calloc((size_t)net->nvals, sizeof *ox.vname);
    dolor_status s = ox.vs && ox.vname ? build_and_write(&ox, in, path)
                                       : dolor_error(DOLOR_ENOMEM, "nn: export_onnx: out of memory");
    ox_free(&ox);
    return s;
}
