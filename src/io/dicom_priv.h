/* Private structures of the DICOM reader (src/io/dicom*.c). */
#ifndef DOLOR_DICOM_PRIV_H
#define DOLOR_DICOM_PRIV_H

#include "dolor/io.h"

#include <stddef.h>
#include <stdint.h>

#define DCM_UNDEFINED 0xFFFFFFFFu
#define DCM_TAG(g, e) (((uint32_t)(g) << 16) | (uint32_t)(e))
#define DCM_MAX_DEPTH 16

typedef struct dcm_item dcm_item;

typedef struct dcm_elem {
    uint32_t tag;
    char vr[3];          /* explicit VR, or the dictionary's VR for implicit files ("UN" if unknown) */
    uint32_t len;        /* value length as stored (DCM_UNDEFINED for undefined-length SQ/pixel data) */
    size_t off;          /* offset of the value in the (inflated) buffer */
    size_t hdr;          /* offset of the element header */
    int big;             /* 1 if the value is big endian */
    dcm_item *items;     /* SQ items */
    int nitems;
    size_t *frag_off;    /* encapsulated pixel data: item 0 is the Basic Offset Table */
    uint32_t *frag_len;
    int nfrag;
} dcm_elem;

struct dcm_item {
    dcm_elem *el;
    int n, cap;
};

struct dolor_dicom {
    char *name;            /* file name used in messages */
    uint8_t *buf;          /* whole file (deflated part inflated) */
    size_t len;
    dcm_item meta;         /* group 0002 */
    dcm_item ds;           /* data set */
    char ts[68];           /* transfer syntax UID used for the data set */
    int ts_guessed;        /* 1 if the transfer syntax was not in the meta header */
    int vr_switched;       /* 1 if the data set's VR encoding contradicts its transfer syntax */
    int big, explicit_vr, deflated;
    size_t nelem;          /* elements parsed (limit against hostile files) */
};

/* dictionary entry */
typedef struct dcm_dict_entry {
    uint32_t tag;
    const char *vr;
    const char *keyword;
} dcm_dict_entry;

const dcm_dict_entry *dcm_dict_by_tag(uint32_t tag);
const dcm_dict_entry *dcm_dict_by_keyword(const char *kw);

/* lookups on a parsed data set */
const dcm_elem *dcm_find(const dcm_item *it, uint32_t tag);
uint16_t dcm_u16(const uint8_t *p, int big);
uint32_t dcm_u32(const uint8_t *p, int big);

/* numeric value index i of element e (binary or DS/IS text); 0 if missing */
int dcm_elem_number(const dolor_dicom *d, const dcm_elem *e, int i, double *out);
/* trimmed text of a string element into buf */
int dcm_elem_string(const dolor_dicom *d, const dcm_elem *e, char *buf, size_t cap);
/* integer attribute of the top-level data set, default if absent */
long dcm_int(const dolor_dicom *d, uint32_t tag, long dflt);

#endif
