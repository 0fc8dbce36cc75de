/* The export's download threads (export/fetch.c): starting and stopping. */
#include <string.h>

#include "unit.h"
#include "fetch_int.h"
#include "ferry/util.h"

/* Every allocation of fetcher_start may fail: it returns FERRY_E_NOMEM and
 * stops what it had started without leaking; with none failing it starts and
 * stops cleanly. (That the stop leaves alone the locks of slots it never set
 * up is not visible here: glibc accepts a zeroed mutex. ASan would see the
 * use of a slot array that was never allocated.) */
static void
test_fetcher_start_out_of_memory(void **state)
{
    struct ferry_registry_opts opts = {0};
    struct fetch_job job = {"127.0.0.1:9", &opts, "x", "sha256:00", 0};
    size_t base = ferry_alloc_current();
    bool started = false;

    (void)state;
    for (unsigned long k = 1; k < 64 && !started; k++) {
        struct fetcher *f = NULL;
        struct ferry_error *err = NULL;
        int r;
        ferry_alloc_fail_after(k);
        /* no jobs: no thread is started, so only the allocations count */
        r = fetcher_start(&job, 0, 3, &f, &err);
        ferry_alloc_fail_after(0);
        if (r == 0) {
            started = true;
            fetcher_stop(f);
        } else {
            assert_int_equal(r, -FERRY_E_NOMEM);
            assert_null(f);
            ferry_error_free(err);
        }
        assert_int_equal(ferry_alloc_current(), base);
    }
    assert_true(started);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fetcher_start_out_of_memory),
};

FERRY_UNIT_MAIN(tests)
