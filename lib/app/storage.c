#include "app/storage.h"

#include "base/err.h"
#include "base/log.h"
#include "config/config.h"
#include "objstore/objstore.h"

static int
storage_start(struct tr_app *app, void **state, struct tr_err *err)
{
    const struct tr_config *cfg = tr_app_config(app);
    struct tr_objstore_options opts = {
        .backend = cfg->storage.backend,
        .fs_root = cfg->storage.filesystem_dir,
        .s3_endpoint = cfg->storage.s3_endpoint,
        .s3_bucket = cfg->storage.s3_bucket,
        .s3_region = cfg->storage.s3_region,
        .s3_access_key = cfg->storage.s3_access_key_id,
        .s3_secret_key = cfg->storage.s3_secret_access_key,
        .s3_insecure = cfg->storage.s3_insecure,
        .s3_virtual_host = !cfg->storage.s3_force_path_style,
        .s3_multipart_threshold = (uint64_t)cfg->storage.s3_part_size,
        .s3_part_size = (uint64_t)cfg->storage.s3_part_size,
        .retry_max_attempts = (int)cfg->storage.s3_max_retries,
        .request_timeout_ns = cfg->storage.s3_timeout_ns,
    };
    struct tr_objstore *os = tr_objstore_create(&opts, err);
    if (os == NULL) {
        return err != NULL ? err->code : TR_EINVAL;
    }
    tr_log_info("object store ready", "backend=%s location=%s",
                tr_objstore_backend(os), tr_objstore_location(os));
    *state = os;
    return TR_OK;
}

static void
storage_stop(struct tr_app *app, void *state)
{
    tr_objstore_destroy(state);
}

const struct tr_module tr_storage_module = {
    .name = "storage",
    .start = storage_start,
    .stop = storage_stop,
};

struct tr_objstore *
tr_storage_of(struct tr_app *app)
{
    return tr_app_state(app, "storage");
}
