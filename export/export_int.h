/* ferry export: the plan, which the resolve (resolve.c) produces from the
 * references, `ferry-export plan` prints and the writer (write.c) streams
 * into a bundle. plan.c holds the plan's own operations. */
#ifndef FERRY_EXPORT_INT_H
#define FERRY_EXPORT_INT_H

#include <time.h>

#include "ferry/export.h"
#include "ferry/statement.h"

/* A registry the resolve talked to: its handle and the options it was made
 * with, which the writer's download threads use for their own handles. */
struct export_conn {
    char *host; /* api host */
    struct ferry_registry *reg;
    const struct ferry_registry_opts *opts;
};

/* One bundle member. Manifests and small configs are held in memory;
 * everything else streams from its registry while the bundle is written. */
struct export_obj {
    char *digest;
    char *media_type;
    int64_t size;
    char *data; /* NULL: streamed */
    size_t len;
    const struct export_conn *conn; /* where a streamed blob is read; NULL for ferry's own */
    char *repo;
};

/* What an export carries. The resolve fills it in reference order;
 * export_plan_finish adds what the layout needs and puts the members in
 * bundle order. */
struct export_plan {
    struct export_conn **conns;
    size_t nconns;
    struct ferry_strmap *objmap; /* digest -> struct export_obj */
    struct export_obj **objs;    /* resolution order, then bundle order once finished */
    size_t nobjs, capobjs;
    struct ferry_stmt_image *images; /* the graph's roots, with their targets */
    size_t nimages;
    struct ferry_stmt_referrer *refs; /* the graph's referrer edges, parents first */
    size_t nrefs;
    char *index; /* index.json, once finished */
    size_t ilen;
    /* A delta (--base): the bases' identities, the blobs left out (they
     * stay in objmap, so the resolve still deduplicates them), and what
     * the statement records of each. */
    struct ferry_stmt_base *bases;
    size_t nbases;
    struct export_obj **away;
    size_t naway;
    uint64_t away_bytes;
    struct ferry_stmt_external *externals;
    size_t nexternals;
};

/* The statement's view of the plan, borrowing its images and referrers
 * (nothing to free). */
void export_plan_borrowed_statement(const struct export_plan *p, struct ferry_statement *st);
/* Keep only the images with keep[i] set (before export_plan_finish), their
 * referrers, and the objects those still reach; the others are freed.
 * (The signature gate's --skip-unsigned.) */
int export_plan_keep_images(struct export_plan *p, const bool *keep, struct ferry_error **err);
/* The signature gate before anything is written (gate.c): each image's
 * verdict to o->on_verdict; an image refused fails the export
 * (FERRY_E_REFUSED), or with o->skip_unsigned is left out. report_only
 * (plan): refused images stay, rep->unsigned_images counts them. */
int export_gate(struct export_plan *p, const struct ferry_export_opts *o, bool report_only,
                struct ferry_export_report *rep, struct ferry_error **err);

/* ---- plan.c --------------------------------------------------------------------- */

struct export_plan *export_plan_new(void);
void export_plan_free(struct export_plan *p);
/* The handle for a registry, made once per api host with the options given. */
int export_plan_conn(struct export_plan *p, const char *host, const struct ferry_registry_opts *o,
                     const struct export_conn **out, struct ferry_error **err);
/* Add a member unless its digest is known; *out is the (new or existing)
 * object. data (or NULL: streamed) passes to the plan, also on failure; a
 * streamed object that gets data later keeps it. The same digest with another
 * size is FERRY_E_SIZE_MISMATCH. */
int export_plan_add(struct export_plan *p, const char *digest, const char *media_type, int64_t size,
                    char *data, size_t len, const struct export_conn *conn, const char *repo,
                    struct export_obj **out, struct ferry_error **err);
struct export_obj *export_plan_get(const struct export_plan *p, const char *digest);
/* A new, zeroed image or referrer at the end of the plan's list (the plan
 * frees what is put in it), or NULL when out of memory. Valid until the next
 * call for the same list. */
struct ferry_stmt_image *export_plan_new_image(struct export_plan *p);
struct ferry_stmt_referrer *export_plan_new_referrer(struct export_plan *p);
/* Add the referrers fallback indexes as members, put the members in bundle
 * order (held in memory first, then streamed, each in resolution order) and
 * build index.json. Once. */
int export_plan_finish(struct export_plan *p, struct ferry_error **err);
/* The statement a finished plan signs: its images and referrers move into
 * it (the plan keeps its members), members are oci-layout, index.json and
 * the objects in bundle order. created is RFC 3339. *out freed with
 * ferry_statement_free. */
int export_plan_statement(struct export_plan *p, const char *created, struct ferry_statement **out,
                          struct ferry_error **err);

/* ---- base.c ---------------------------------------------------------------------- */

/* Leave out of a resolved plan (before export_plan_finish) the blobs a base
 * holds with the same size: manifests always stay. The bases' identities and
 * the left-out blobs (with the repository the far side holds each in) go
 * into the statement. */
int export_plan_apply_bases(struct export_plan *p, struct ferry_export_base *const *bases,
                            size_t nbases, struct ferry_error **err);

/* ---- resolve.c ------------------------------------------------------------------- */

/* The registry options for a host: its entry in o->hosts (matched by api host
 * or by the name references use), else o->reg. */
const struct ferry_registry_opts *export_host_opts(const struct ferry_export_opts *o,
                                                   const char *api_host, const char *name);
/* Resolve every reference (manifests, platform choices, configs, referrer
 * manifests; no layer is downloaded) into a new plan. Items repeated with the
 * same target are resolved once. */
int export_resolve(const struct ferry_export_item *items, size_t nitems,
                   const struct ferry_export_opts *o, struct export_plan **out,
                   struct ferry_error **err);

/* ---- volume.c ------------------------------------------------------------------- */

/* Cut the statement of a finished plan into a set of volumes of at most
 * volume_size bytes each (what they can take on disk, bounded before
 * anything is downloaded): manifests and the layout's files in every volume,
 * the other members in bundle order, a blob larger than a volume in parts
 * across consecutive ones (read once from its registry to hash them). st
 * becomes the set's statement (version 3, its set identity filled in,
 * volume number 0); (*first)[i] is where member i of the statement before
 * the cut is now (its first part). */
int export_volumes_cut(const struct export_plan *p, struct ferry_statement *st,
                       uint64_t volume_size, size_t **first, struct ferry_error **err);

/* ---- write.c ---------------------------------------------------------------------- */

/* Sign st (the statement of p, created at `now`) and stream the finished
 * plan into o->output: ferry.json and its signature, oci-layout, index.json,
 * then the members, the streamed ones downloaded ahead on a few threads, and
 * commit. Fills rep's counts and its commit time and bundle size. On failure
 * nothing is left at o->output. */
int export_write(const struct export_plan *p, struct ferry_statement *st, time_t now,
                 const struct ferry_export_opts *o, struct ferry_export_report *rep,
                 struct ferry_error **err);

#endif
