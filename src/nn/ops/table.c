/* The table of operation kinds, indexed by nn_op_kind (the model is ggml's GGML_OP_NAME table).
 * Positional on purpose: a kind added to the enum without its line here fails the static_assert,
 * and tests/test_nn.c checks that entry i describes kind i. */
#include "../nn_internal.h"

extern const nn_op_def nn_op_conv_def, nn_op_deconv_def, nn_op_bn_def, nn_op_relu_def, nn_op_leaky_relu_def,
    nn_op_sigmoid_def, nn_op_tanh_def, nn_op_silu_def, nn_op_maxpool_def, nn_op_avgpool_def, nn_op_gap_def,
    nn_op_upsample_def, nn_op_concat_def, nn_op_slice_def, nn_op_add_def, nn_op_mul_def, nn_op_flatten_def,
    nn_op_linear_def, nn_op_permute_def, nn_op_zpool_def, nn_op_scale_def, nn_op_dropout_def,
    nn_op_triplet_gate_def;

const nn_op_def *const nn_op_defs[] = {
    &nn_op_conv_def,       /* NN_OP_CONV        ops/conv.c */
    &nn_op_deconv_def,     /* NN_OP_DECONV      ops/conv.c */
    &nn_op_bn_def,         /* NN_OP_BN          ops/norm.c */
    &nn_op_relu_def,       /* NN_OP_RELU        ops/eltwise.c */
    &nn_op_leaky_relu_def, /* NN_OP_LEAKY_RELU  ops/eltwise.c */
    &nn_op_sigmoid_def,    /* NN_OP_SIGMOID     ops/eltwise.c */
    &nn_op_tanh_def,       /* NN_OP_TANH        ops/eltwise.c */
    &nn_op_silu_def,       /* NN_OP_SILU        ops/eltwise.c */
    &nn_op_maxpool_def,    /* NN_OP_MAXPOOL     ops/pool.c */
    &nn_op_avgpool_def,    /* NN_OP_AVGPOOL     ops/pool.c */
    &nn_op_gap_def,        /* NN_OP_GAP         ops/pool.c */
    &nn_op_upsample_def,   /* NN_OP_UPSAMPLE    ops/resample.c */
    &nn_op_concat_def,     /* NN_OP_CONCAT      ops/concat.c */
    &nn_op_slice_def,      /* NN_OP_SLICE       ops/concat.c */
    &nn_op_add_def,        /* NN_OP_ADD         ops/eltwise.c */
    &nn_op_mul_def,        /* NN_OP_MUL         ops/eltwise.c */
    &nn_op_flatten_def,    /* NN_OP_FLATTEN     ops/concat.c */
    &nn_op_linear_def,     /* NN_OP_LINEAR      ops/linear.c */
    &nn_op_permute_def,    /* NN_OP_PERMUTE     ops/permute.c */
    &nn_op_zpool_def,      /* NN_OP_ZPOOL       ops/attention.c */
    &nn_op_scale_def,      /* NN_OP_SCALE       ops/eltwise.c */
    &nn_op_dropout_def,    /* NN_OP_DROPOUT     ops/dropout.c */
    &nn_op_triplet_gate_def, /* NN_OP_TRIPLET_GATE ops/attention.c */
};

static_assert(sizeof nn_op_defs / sizeof nn_op_defs[0] == NN_OP_COUNT,
              "nn_op_defs must have one entry per nn_op_kind, in enum order");
