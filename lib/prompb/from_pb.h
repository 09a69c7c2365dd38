/*
 * The flat request form of lib/prompb from a protobuf-c
 * Prometheus__WriteRequest: for writes that do not arrive as remote-write
 * bytes (OTLP, translated by lib/otlp) and for tests.
 */
#ifndef TR_PROMPB_FROM_PB_H
#define TR_PROMPB_FROM_PB_H

#include "prometheus/remote.pb-c.h"
#include "prompb/prompb.h"

struct tr_err;

/*
 * Fills r (reset first) with the content of req. Strings are borrowed
 * from req (which must outlive r's use); their lengths are taken with
 * strlen. Histograms are counted but have no bytes (data NULL), so an
 * encode leaves them out. Errors: TR_ENOMEM, TR_EINVAL (more than 2^32
 * items); r is reset then.
 */
int tr_prompb_from_write_request(struct tr_prompb_request *r,
                                 const Prometheus__WriteRequest *req,
                                 struct tr_err *err);

#endif
