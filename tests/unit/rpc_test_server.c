/*
 * Peer process for the rpc tests: serves test.Echo (replies with the
 * request) and test.Whoami (replies with the caller's hello name) on the
 * endpoint given as argument, prints "ENDPOINT <bound endpoint>" on stdout
 * once it serves, and stops cleanly on SIGTERM or SIGINT.
 *
 *   tr-rpc-test-server tcp://127.0.0.1:0 [server-name]
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "rpc/rpc.h"

static void
echo(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    (void)arg;
    tr_rpc_call_reply(call, req->payload, req->len);
}

static void
whoami(struct tr_rpc_call *call, const struct tr_rpc_request *req, void *arg)
{
    (void)arg;
    tr_rpc_call_reply(call, req->peer, strlen(req->peer));
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <endpoint> [name]\n", argv[0]);
        return 2;
    }
    /* Block the stop signals in every thread; main waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct tr_err err;
    tr_err_clear(&err);
    struct tr_rpc_server_opts opts = {
        .name = argc > 2 ? argv[2] : "test-server",
        .workers = 2,
    };
    struct tr_rpc_server *s = tr_rpc_server_create(&opts, &err);
    if (s == NULL ||
        tr_rpc_server_handle(s, "test.Echo", echo, NULL, &err) != TR_OK ||
        tr_rpc_server_handle(s, "test.Whoami", whoami, NULL, &err) != TR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    char bound[256];
    /* A restarted server may find its old port busy for a moment. */
    int64_t give_up = tr_mono_ns() + 5 * TR_NS_PER_SEC;
    while (tr_rpc_server_bind(s, argv[1], bound, sizeof(bound), &err) !=
           TR_OK) {
        if (err.code != TR_EIO || tr_mono_ns() > give_up) {
            fprintf(stderr, "%s\n", err.msg);
            tr_rpc_server_destroy(s);
            return 1;
        }
        usleep(50 * 1000);
    }
    if (tr_rpc_server_start(s, &err) != TR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        tr_rpc_server_destroy(s);
        return 1;
    }
    printf("ENDPOINT %s\n", bound);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    tr_rpc_server_destroy(s);
    tr_rpc_context_term();
    return 0;
}
