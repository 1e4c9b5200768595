/*
 * Private: the ONNX graph builder that each operation's export_onnx callback (nn_op_def, ops/NAME.c)
 * writes its nodes with; onnx.c implements it on the protobuf-c code generated from ONNX's own
 * onnx.proto and writes the model (dolor_net_export_onnx, include/dolor/nn.h). The callbacks never
 * see protobuf-c: they name values and add nodes, attributes and constants.
 *
 * Names: graph value v is nn_onnx_value(ox, v) (the graph input "image", an output's own name,
 * else a name made from its op's); parameter tensor t is the initializer nn_onnx_param(ox, t),
 * named as the state_dict entry. An op that needs several nodes gets fresh names for the values in
 * between from nn_onnx_tmp. The op's last node must write nn_onnx_value(ox, op->out).
 *
 * Errors: a failed allocation is kept in ox (the first one) and makes the later calls return NULL
 * or do nothing; a callback ends with `return nn_onnx_status(ox);`.
 */
#ifndef DOLOR_NN_ONNX_H
#define DOLOR_NN_ONNX_H

#include "nn_internal.h"

typedef struct nn_onnx nn_onnx;
typedef struct nn_onnx_node nn_onnx_node; /* a node being filled (attributes) */

/* Name of graph value v in the model. */
const char *nn_onnx_value(nn_onnx *ox, int v);
/* Initializer name of parameter tensor t (g->tensors[t]), e.g. "enc0.conv1.weight". */
const char *nn_onnx_param(nn_onnx *ox, int t);
/* A fresh value name for a node output inside the current op. */
const char *nn_onnx_tmp(nn_onnx *ox);
/* Shape of graph value v at the export's input shape (the fixed shape the model is written for). */
const nn_shape *nn_onnx_shape(const nn_onnx *ox, int v);

/* Append node op_type (default ONNX domain) reading in[0..nin) ("" for an optional input left out)
 * and writing out; returns it for attributes, or NULL after an allocation failure. */
nn_onnx_node *nn_onnx_add_node(nn_onnx *ox, const char *op_type, const char *const *in, int nin, const char *out);
/* Attributes of node n (NULL: nothing happens). */
void nn_onnx_attr_int(nn_onnx *ox, nn_onnx_node *n, const char *name, int64_t v);
void nn_onnx_attr_ints(nn_onnx *ox, nn_onnx_node *n, const char *name, const int64_t *v, int count);
void nn_onnx_attr_float(nn_onnx *ox, nn_onnx_node *n, const char *name, float v);
void nn_onnx_attr_string(nn_onnx *ox, nn_onnx_node *n, const char *name, const char *v);
/* A Constant node holding a 1-D int64 tensor of count values / a float tensor (count values,
 * 1-D; count 1 with scalar set: a 0-D scalar); returns the value's name, or NULL. */
const char *nn_onnx_const_i64(nn_onnx *ox, const int64_t *v, int count);
const char *nn_onnx_const_f32(nn_onnx *ox, const float *v, int count, int scalar);

/* DOLOR_OK, or the first allocation failure (DOLOR_ENOMEM) or error recorded. */
dolor_status nn_onnx_status(const nn_onnx *ox);

/* Helpers for the common cases: a node with one input and the op's output; the spatial axes of an
 * nn kind's per-axis arrays (k[3], stride[3], ...) as int64 attributes of nsp entries. */
nn_onnx_node *nn_onnx_unary(nn_onnx *ox, const char *op_type, const char *in, const char *out);
void nn_onnx_attr_axes(nn_onnx *ox, nn_onnx_node *n, const char *name, const int *v, int nsp);
/* ONNX "pads": begin values for each spatial axis, then end values (the same: torch pads both sides). */
void nn_onnx_attr_pads(nn_onnx *ox, nn_onnx_node *n, const int *pad, int nsp);

#endif
