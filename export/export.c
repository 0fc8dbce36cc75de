/* ferry: export: the two phases and the dry run. The resolve (resolve.c)
 * turns the references into a plan; the plan is finished into the bundle's
 * members and index.json (plan.c); its statement is what `plan` returns and
 * what the writer (write.c) signs and streams with the members. */
#include <string.h>
#include <time.h>

#include "export_int.h"
#include "ferry/statement.h"
#include "ferry/util.h"

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
    double t0 = ferry_monotonic_s(), t_write;
    int r;

    if (rep == NULL)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if ((r = export_resolve(items, nitems, o, &p, err)) < 0)
        return r;
    if ((r = export_gate(p, o, false, rep, err)) < 0) {
        export_plan_free(p);
        return r;
    }
    t_write = ferry_monotonic_s();
    rep->resolve_s = t_write - t0;
    if ((r = export_plan_apply_bases(p, o->bases, o->nbases, err)) < 0 ||
        (r = export_plan_finish(p, err)) < 0)
        goto out;
    now = created_now(created, sizeof created);
    if ((r = export_plan_statement(p, created, &st, err)) < 0)
        goto out;
    if ((r = export_write(p, st, now, o, rep, err)) < 0)
        goto out;
    rep->write_s = ferry_monotonic_s() - t_write - rep->commit_s;
out:
    if (r < 0 && *err != NULL && o->output != NULL)
        ferry_error_wrap(err, "write %s", o->output);
    ferry_statement_free(st);
    export_plan_free(p);
    return r;
}

/* Read st back as an importer reads it: what the import would refuse, the
 * plan refuses too (a referrer annotation that is not a string, too many
 * members, a statement over its cap), before anything is exported. */
static int
check_statement(const struct ferry_statement *st, struct ferry_error **err)
{
    struct ferry_statement *back = NULL;
    char *text = NULL;
    size_t len = 0;
    int r;

    if ((r = ferry_statement_serialize(st, &text, &len, err)) == 0)
        r = ferry_statement_parse(text, len, &back, err);
    ferry_statement_free(back);
    ferry_free(text);
    return r;
}

int
ferry_export_plan(const struct ferry_export_item *items, size_t nitems,
                  const struct ferry_export_opts *o, struct ferry_statement **out,
                  struct ferry_error **err)
{
    struct export_plan *p = NULL;
    struct ferry_statement *st = NULL;
    struct ferry_export_report rep = {0};
    char created[32];
    int r;

    if ((r = export_resolve(items, nitems, o, &p, err)) < 0)
        return r;
    created_now(created, sizeof created);
    if ((r = export_gate(p, o, true, &rep, err)) == 0 &&
        (r = export_plan_apply_bases(p, o->bases, o->nbases, err)) == 0 &&
        (r = export_plan_finish(p, err)) == 0 &&
        (r = export_plan_statement(p, created, &st, err)) == 0 &&
        (r = check_statement(st, err)) == 0) {
        *out = st;
        st = NULL;
    }
    ferry_statement_free(st);
    export_plan_free(p);
    return r;
}
