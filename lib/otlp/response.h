/*
 * OTLP export responses (Export{Metrics,Logs,Trace}ServiceResponse) in the
 * encoding of the request.
 *
 * Fully accepted: protobuf is the empty message (zero bytes), JSON is "{}".
 * Partially accepted (rejected > 0 or a message): partial_success carries
 * the count under the signal's name (rejected_data_points,
 * rejected_log_records, rejected_spans) and error_message, e.g. in JSON
 *   {"partialSuccess":{"rejectedDataPoints":"3","errorMessage":"..."}}
 * (64-bit counts are strings in OTLP JSON).
 */
#ifndef TR_OTLP_RESPONSE_H
#define TR_OTLP_RESPONSE_H

#include <stdint.h>

#include "otlp/decode.h"

struct tr_buf;
struct tr_err;

/*
 * Appends the response for `signal` in `fmt` to out. message may be NULL.
 * TR_OK or TR_ENOMEM.
 */
int tr_otlp_response_encode(enum tr_otlp_signal signal, enum tr_otlp_format fmt,
                            int64_t rejected, const char *message,
                            struct tr_buf *out, struct tr_err *err);

#endif
