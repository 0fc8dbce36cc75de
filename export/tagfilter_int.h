/* ferry: the tag matcher of tagfilter.c (PCRE2 tag patterns), which
 * syncconfig.c fills while it reads `tags` and `tagSets`. tagfilter.c uses
 * nothing of the sync config parser, so the dependency runs one way. */
#ifndef FERRY_TAGFILTER_INT_H
#define FERRY_TAGFILTER_INT_H

#include "ferry/syncconfig.h"

/* An empty matcher; path (borrowed, must outlive it) names the config file in
 * match errors. NULL when out of memory. */
struct ferry_sync_matcher *sync_matcher_new(const char *path);
void sync_matcher_free(struct ferry_sync_matcher *m);

/* Append an empty tag set (allow and deny lists). 0 or -FERRY_E_NOMEM. */
int sync_matcher_add_set(struct ferry_sync_matcher *m);

/* Drop the last set if it has no pattern (regsync ignores an empty `tags`). */
void sync_matcher_drop_last_set(struct ferry_sync_matcher *m);

/* Compile pattern[0..len) into the last set, as an allow or a deny pattern,
 * remembering line:column for later messages. Returns 0, -FERRY_E_NOMEM, or
 * -FERRY_E_INVALID with PCRE2's message in emsg and the byte offset of the
 * problem in *eoffset. */
int sync_matcher_add_pattern(struct ferry_sync_matcher *m, bool deny, const char *pattern,
                             size_t len, unsigned line, unsigned column, char *emsg, size_t emsgsz,
                             size_t *eoffset);

/* True if pattern has a '|' outside any group or class: regsync's "^" + p +
 * "$" then anchors only the first and the last alternative, ferry all. */
bool sync_pattern_top_alternation(const char *pattern, size_t len);

#endif
