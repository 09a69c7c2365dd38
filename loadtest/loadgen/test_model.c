/*
 * The load generator's series model: exact series counts, sorted unique
 * labels, counters that only go up between reboots, cumulative histogram
 * buckets, timestamps inside their scrape interval, churn, determinism.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "base/err.h"
#include "model.h"

static struct loadgen_model *
make(int64_t series, uint64_t seed)
{
    struct loadgen_model_config cfg = {0};
    cfg.seed = seed;
    cfg.series = series;
    cfg.interval_ms = 15000;
    struct tr_err err;
    struct loadgen_model *m = loadgen_model_create(&cfg, &err);
    assert_non_null(m);
    return m;
}

static void
test_series_count_is_exact(void **state)
{
    (void)state;
    int64_t counts[] = {1, 200, 201, 202, 1000, 12345};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        struct loadgen_model *m = make(counts[i], 1);
        int64_t total = 0;
        for (int64_t inst = 0; inst < loadgen_model_instances(m); inst++) {
            int n = loadgen_model_instance_series(m, inst);
            assert_true(n >= 1 && n <= loadgen_model_slots(m));
            total += n;
        }
        assert_int_equal(total, counts[i]);
        loadgen_model_destroy(m);
    }
}

static void
test_labels_sorted_unique_complete(void **state)
{
    (void)state;
    struct loadgen_model_config cfg = {0};
    cfg.seed = 1;
    cfg.series = 1000;
    cfg.interval_ms = 15000;
    cfg.extra_labels = 1;
    cfg.extra_names[0] = "cluster";
    cfg.extra_values[0] = "bench";
    struct loadgen_model *m = loadgen_model_create(&cfg, NULL);
    assert_non_null(m);
    struct loadgen_label l[LOADGEN_MAX_LABELS];
    char seen[400][200];
    int nseen = 0;
    for (int slot = 0; slot < loadgen_model_slots(m); slot++) {
        int n = loadgen_model_labels(m, slot, "n:9100", "a:8080", l);
        int has_name = 0, has_cluster = 0;
        char key[200] = "";
        for (int i = 0; i < n; i++) {
            assert_non_null(l[i].value);
            assert_true(l[i].value[0] != '\0');
            if (i > 0) {
                assert_true(strcmp(l[i - 1].name, l[i].name) < 0);
            }
            has_name |= strcmp(l[i].name, "__name__") == 0;
            has_cluster |= strcmp(l[i].name, "cluster") == 0;
            strncat(key, l[i].value, sizeof(key) - strlen(key) - 2);
            strcat(key, ",");
        }
        assert_true(has_name && has_cluster);
        /* Every slot of an instance is a distinct series. */
        for (int j = 0; j < nseen; j++) {
            assert_string_not_equal(seen[j], key);
        }
        assert_true(nseen < 400);
        strcpy(seen[nseen++], key);
    }
    loadgen_model_destroy(m);
}

static void
test_bad_extra_labels_refused(void **state)
{
    (void)state;
    struct loadgen_model_config cfg = {0};
    cfg.series = 10;
    cfg.interval_ms = 1000;
    cfg.extra_labels = 1;
    cfg.extra_names[0] = "job";
    cfg.extra_values[0] = "x";
    struct tr_err err;
    assert_null(loadgen_model_create(&cfg, &err));
    assert_non_null(strstr(err.msg, "clashes"));
    cfg.extra_names[0] = "9bad";
    assert_null(loadgen_model_create(&cfg, &err));
    assert_non_null(strstr(err.msg, "invalid extra label"));
    cfg.extra_labels = 0;
    cfg.series = 0;
    assert_null(loadgen_model_create(&cfg, &err));
}

static int
slot_named(struct loadgen_model *m, const char *want, const char *le)
{
    struct loadgen_label l[LOADGEN_MAX_LABELS];
    for (int slot = 0; slot < loadgen_model_slots(m); slot++) {
        int n = loadgen_model_labels(m, slot, "n", "a", l);
        int name_ok = 0, le_ok = le == NULL;
        for (int i = 0; i < n; i++) {
            name_ok |= !strcmp(l[i].name, "__name__") &&
                       !strcmp(l[i].value, want);
            le_ok |= le && !strcmp(l[i].name, "le") && !strcmp(l[i].value, le);
        }
        if (name_ok && le_ok) {
            return slot;
        }
    }
    fail_msg("no slot %s", want);
    return -1;
}

static void
test_counters_monotonic_between_reboots(void **state)
{
    (void)state;
    struct loadgen_model *m = make(2000, 7);
    int64_t base = 1763780000000 / 15000;
    int resets = 0, moves = 0;
    for (int slot = 0; slot < loadgen_model_slots(m); slot++) {
        if (strcmp(loadgen_model_type(m, slot), "gauge") == 0) {
            continue;
        }
        for (int64_t inst = 0; inst < 12; inst++) {
            double prev = loadgen_model_value(m, inst, slot, base);
            for (int64_t k = base + 1; k < base + 3000; k++) {
                double v = loadgen_model_value(m, inst, slot, k);
                assert_false(isnan(v));
                if (v < prev) {
                    /* Only a reboot resets, and it restarts near zero. */
                    assert_true(v <= prev / 100 + 1e6);
                    resets++;
                } else if (v > prev) {
                    moves++;
                }
                prev = v;
            }
        }
    }
    assert_true(moves > 0);
    /* 3000 steps of 15 s are 12.5 h: few of 12 weekly-rebooting hosts. */
    assert_true(resets < 12 * loadgen_model_slots(m) / 2);
    loadgen_model_destroy(m);
}

static void
test_histogram_buckets_cumulative(void **state)
{
    (void)state;
    struct loadgen_model *m = make(500, 3);
    const char *les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                         "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
    int count = slot_named(m, "http_request_duration_seconds_count", NULL);
    for (int64_t k = 117000000; k < 117000000 + 50; k++) {
        double prev = 0;
        for (size_t i = 0; i < 12; i++) {
            int s = slot_named(m, "http_request_duration_seconds_bucket",
                               les[i]);
            double v = loadgen_model_value(m, 1, s, k);
            assert_true(v >= prev);
            prev = v;
        }
        assert_true(prev == loadgen_model_value(m, 1, count, k));
    }
    loadgen_model_destroy(m);
}

static void
test_constant_and_held_gauges(void **state)
{
    (void)state;
    struct loadgen_model *m = make(500, 3);
    int total = slot_named(m, "node_memory_MemTotal_bytes", NULL);
    int up = slot_named(m, "up", NULL);
    int avail = slot_named(m, "node_memory_MemAvailable_bytes", NULL);
    double t0 = loadgen_model_value(m, 2, total, 1000);
    assert_true(fmod(t0, 4096) == 0);
    int changes = 0;
    for (int64_t k = 1001; k < 1100; k++) {
        assert_true(loadgen_model_value(m, 2, total, k) == t0);
        assert_true(loadgen_model_value(m, 2, up, k) == 1);
        changes += loadgen_model_value(m, 2, avail, k) !=
                   loadgen_model_value(m, 2, avail, k - 1);
    }
    assert_true(changes > 50);
    loadgen_model_destroy(m);
}

static void
test_timestamps_within_interval(void **state)
{
    (void)state;
    struct loadgen_model *m = make(10000, 1);
    int64_t prev = -1;
    for (int64_t inst = 0; inst < loadgen_model_instances(m); inst++) {
        int64_t ts = loadgen_model_timestamp(m, 100, inst);
        assert_true(ts >= 100 * 15000 && ts < 101 * 15000);
        assert_true(ts >= prev);
        prev = ts;
    }
    loadgen_model_destroy(m);
}

static void
test_deterministic_by_seed(void **state)
{
    (void)state;
    struct loadgen_model *a = make(1000, 42), *b = make(1000, 42);
    struct loadgen_model *c = make(1000, 43);
    int differ = 0;
    for (int slot = 0; slot < loadgen_model_slots(a); slot++) {
        double va = loadgen_model_value(a, 3, slot, 5000);
        assert_true(va == loadgen_model_value(b, 3, slot, 5000));
        differ += va != loadgen_model_value(c, 3, slot, 5000);
    }
    assert_true(differ > 50);
    loadgen_model_destroy(a);
    loadgen_model_destroy(b);
    loadgen_model_destroy(c);
}

static void
test_churn_changes_identity(void **state)
{
    (void)state;
    struct loadgen_model_config cfg = {0};
    cfg.series = 5000;
    cfg.interval_ms = 15000;
    cfg.churn_fraction = 0.5;
    cfg.churn_period_ms = 3600000;
    struct loadgen_model *m = loadgen_model_create(&cfg, NULL);
    assert_non_null(m);
    int churned = 0, n = (int)loadgen_model_instances(m);
    char n1[LOADGEN_INSTANCE_LEN], a1[LOADGEN_INSTANCE_LEN];
    char n2[LOADGEN_INSTANCE_LEN], a2[LOADGEN_INSTANCE_LEN];
    for (int inst = 0; inst < n; inst++) {
        int64_t g1 = loadgen_model_instance_names(m, inst, 0, n1, a1);
        int64_t g2 =
            loadgen_model_instance_names(m, inst, 3600000, n2, a2);
        assert_true((g1 != g2) == (strcmp(n1, n2) != 0));
        churned += g1 != g2;
    }
    assert_true(churned > n / 4 && churned < n * 3 / 4);
    loadgen_model_destroy(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_count_is_exact),
        cmocka_unit_test(test_labels_sorted_unique_complete),
        cmocka_unit_test(test_bad_extra_labels_refused),
        cmocka_unit_test(test_counters_monotonic_between_reboots),
        cmocka_unit_test(test_histogram_buckets_cumulative),
        cmocka_unit_test(test_constant_and_held_gauges),
        cmocka_unit_test(test_timestamps_within_interval),
        cmocka_unit_test(test_deterministic_by_seed),
        cmocka_unit_test(test_churn_changes_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
