/* ferry core: what policy.c (parsing) and policy_match.c (scopes, reference
 * matching) share. Not part of the API. */
#ifndef FERRY_POLICY_INT_H
#define FERRY_POLICY_INT_H

#include "ferry/policy.h"
#include "ferry/reference.h"
#include "ferry/util.h"

/* One scope of the docker transport and its requirements. */
struct ferry_policy_scope {
    char *scope;
    struct ferry_policy_req *reqs;
    size_t n;
};

struct ferry_policy {
    char *name;
    struct ferry_policy_req *def; /* "default" */
    size_t ndef;
    struct ferry_policy_scope *docker; /* transports.docker, in file order */
    size_t ndocker;
    struct ferry_strmap *index; /* scope -> struct ferry_policy_scope * */
};

/* A docker scope other than "" as ferry_policy.h describes it. */
bool ferry_policy_scope_valid(const char *scope);
/* A remapIdentity prefix or signedPrefix (policy_config.go
 * validateIdentityRemappingPrefix): a domain[:port], or a name that starts
 * with one. */
bool ferry_policy_prefix_valid(const char *s);
/* reference.ParseNormalizedNamed: s parsed and normalised; a name without tag
 * or digest is kept so (*out has neither) and *name_only is set. *out is
 * freed with ferry_ref_free. FERRY_E_INVALID, FERRY_E_NOMEM. */
int ferry_policy_parse_named(const char *s, struct ferry_ref **out, bool *name_only,
                             struct ferry_error **err);

#endif
