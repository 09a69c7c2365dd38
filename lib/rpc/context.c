#include "rpc/rpc.h"

#include <pthread.h>

#include <zmq.h>

/*
 * The process-wide context behind inproc:// endpoints. A mutex rather than
 * pthread_once so that tr_rpc_context_term() can be followed by a fresh
 * context (tests do that between cases).
 */
static pthread_mutex_t context_lock = PTHREAD_MUTEX_INITIALIZER;
static void *context;

void *
tr_rpc_context(void)
{
    pthread_mutex_lock(&context_lock);
    if (context == NULL) {
        context = zmq_ctx_new();
        if (context != NULL) {
            /* Never block termination on unsent messages. */
            zmq_ctx_set(context, ZMQ_BLOCKY, 0);
        }
    }
    void *ctx = context;
    pthread_mutex_unlock(&context_lock);
    return ctx;
}

void
tr_rpc_context_term(void)
{
    pthread_mutex_lock(&context_lock);
    void *ctx = context;
    context = NULL;
    pthread_mutex_unlock(&context_lock);
    if (ctx != NULL) {
        zmq_ctx_term(ctx);
    }
}
