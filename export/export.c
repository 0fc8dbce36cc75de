/* ferry: export: the two phases and the dry run. The resolve (resolve.c)
 * turns the references into a plan; the plan is finished into the bundle's
 * members and index.json (plan.c); its statement is what `plan` returns and
 * what the writer (write.c) signs and streams with the members. */
#include <string.h>
#include <time.h>

#include "export_int.h"
#include "ferry/statement.h"
#include "ferry/util.h"

/* Seconds on the monotonic clock, for the report's phase times. */
static double
now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The creation time: now, in seconds and as RFC 3339 UTC. */
static time_t
created_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return t;
}

int
ferry_export_run(const struct ferry_export_item *items, size_t nitems,
                 const struct ferry_export_opts *o, struct ferry_export_report *rep,
                 struct ferry_error **err)
{
    struct ferry_export_report dummy;
    struct export_plan *p = NULL;
    struct ferry_statement *st = NULL;
    char created[32];
    time_t now;
    double t0 = now_s(), t_write;
    int r;

    if (rep == NULL)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if ((r = export_resolve(items, nitems, o, &p, err)) < 0)
        return r;
    t_write = now_s();
    rep->resolve_s = t_write - t0;
    if ((r = export_plan_finish(p, err)) < 0)
        goto out;
    now = created_now(created, sizeof created);
    if ((r = export_plan_statement(p, created, &st, err)) < 0)
        goto out;
    if ((r = export_write(p, st, now, o, rep, err)) < 0)
        goto out;
    rep->write_s = now_s() - t_write - rep->commit_s;
out:
    if (r < 0 && *err != NULL && o->output != NULL)
        ferry_error_wrap(err, "write %s", o->output);
    ferry_statement_free(st);
    export_plan_free(p);
    return r;
}

int
ferry_export_plan(const struct ferry_export_item *items, size_t nitems,
                  const struct ferry_export_opts *o, struct ferry_statement **out,
                  struct ferry_error **err)
{
    struct export_plan *p = NULL;
    char created[32];
    int r;

    if ((r = export_resolve(items, nitems, o, &p, err)) < 0)
        return r;
    created_now(created, sizeof created);
    if ((r = export_plan_finish(p, err)) == 0)
        r = export_plan_statement(p, created, out, err);
    export_plan_free(p);
    return r;
}
