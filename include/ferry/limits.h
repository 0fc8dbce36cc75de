/* ferry: every cap on a growable buffer lives here (curl: DYN_* table). */
#ifndef FERRY_LIMITS_H
#define FERRY_LIMITS_H

#define FERRY_MAX_MANIFEST (4u << 20)           /* manifest or index (dspec: 4 MiB) */
#define FERRY_MAX_STATEMENT (16u << 20)         /* ferry.json signed statement */
#define FERRY_MAX_UNSIGNED_STATEMENT (4u << 20) /* ferry.json listed without -p */
#define FERRY_MAX_INDEX_JSON (16u << 20)        /* index.json of a bundle layout */
#define FERRY_MAX_RECEIPT (64u << 20)           /* an import receipt or inventory */
#define FERRY_MAX_SIGNATURE (16u << 10)         /* a .minisig file */
#define FERRY_MAX_KEYFILE (4u << 10)            /* a minisign key file */
#define FERRY_MAX_TOKEN (64u << 10)             /* bearer token response */
#define FERRY_MAX_ERROR_BODY (64u << 10)        /* registry error body kept for messages */
#define FERRY_MAX_HEADER_LINE (8u << 10)        /* one HTTP header line */
#define FERRY_MAX_TAG_LIST (16u << 20)          /* one tags/list page */
#define FERRY_MAX_TAG_PAGES 10000               /* Link pages followed before giving up */
#define FERRY_MAX_CONFIG_FILE (1u << 20)        /* docker config.json, sync config */
#define FERRY_MAX_HELPER_OUTPUT (64u << 10)     /* credential helper stdout */
#define FERRY_MAX_MEMBERS 200000                /* members in one bundle */
#define FERRY_MAX_MEMBER_NAME 512               /* bytes in a bundle member name */
#define FERRY_MAX_BUNDLE_FRAMES (1u << 20)      /* zstd frames (seek table entries) */
#define FERRY_MAX_REDIRECTS 5
#define FERRY_MAX_JSON_DEPTH 64
#define FERRY_MAX_INDEX_DEPTH 8      /* indexes nested in indexes */
#define FERRY_MAX_REFERRER_DEPTH 8   /* referrers of referrers (a signature on an SBOM) */
#define FERRY_IO_BUFSIZE (64u << 10) /* streaming buffer */
#define FERRY_MAX_REFERENCE 1024     /* bytes of an image reference given to parse */
#define FERRY_MAX_PASSWORD 4095      /* bytes of a password read from a terminal, stdin or a file */

/* sync configs (export/yamltree.c, export/syncconfig.c, export/tagfilter.c) */
#define FERRY_SYNC_MAX_DEPTH 64        /* YAML nesting */
#define FERRY_SYNC_MAX_NODES 200000    /* YAML nodes, an alias counting its whole value */
#define FERRY_SYNC_MATCH_LIMIT 100000  /* PCRE2 match limit for one pattern on one tag */
#define FERRY_SYNC_MATCH_DEPTH 10000   /* PCRE2 backtracking depth limit */
#define FERRY_SYNC_MATCH_HEAP_KIB 8192 /* PCRE2 heap limit for one match */
#define FERRY_SYNC_MAX_ANCHORS 256     /* YAML anchors per file: real configs use a handful */
#define FERRY_SYNC_MAX_NOTICES 64      /* distinct notices kept; the rest are counted */

/* cosign / Sigstore signatures (sigstore.h); going over is FERRY_E_TOO_LARGE. */
#define FERRY_SIGSTORE_MAX_KEY (64u << 10)  /* a PEM public key (file) */
#define FERRY_SIGSTORE_MAX_DOC (1u << 20)   /* envelope, bundle, payload, statement */
#define FERRY_SIGSTORE_MAX_SIG (16u << 10)  /* one signature, base64 text */
#define FERRY_SIGSTORE_MAX_CERT (64u << 10) /* one certificate, PEM or DER */
#define FERRY_SIGSTORE_MAX_SIGNATURES 64    /* signatures in one DSSE envelope */
#define FERRY_SIGSTORE_MAX_SUBJECTS 10000   /* subjects of one in-toto statement */
#define FERRY_SIGSTORE_MAX_TLOG_ENTRIES 16  /* tlogEntries of one bundle */
#define FERRY_SIGSTORE_MAX_ROOT (1u << 20)  /* a trusted_root.json */
#define FERRY_SIGSTORE_MAX_CAS 64           /* certificate authorities (or TSAs) of one root */
#define FERRY_SIGSTORE_MAX_ROOT_TLOGS 64    /* tlogs (or ctlogs) of one root */
#define FERRY_SIGSTORE_MAX_CHAIN 10         /* certificates of one CA or carried chain */
#define FERRY_SIGSTORE_MAX_PATTERN 1024     /* bytes of one identity regexp */
#define FERRY_SIGSTORE_MATCH_LIMIT 100000   /* PCRE2 match limit, one identity regexp on one name */
#define FERRY_SIGSTORE_MATCH_DEPTH 10000    /* PCRE2 backtracking depth limit */
#define FERRY_SIGSTORE_MATCH_HEAP_KIB 8192  /* PCRE2 heap limit for one match */

/* containers-policy.json (policy.h); going over is FERRY_E_TOO_LARGE. */
#define FERRY_POLICY_MAX_FILE (1u << 20) /* the policy file */
#define FERRY_POLICY_MAX_DEPTH 16        /* JSON nesting: a valid policy needs 6 */
#define FERRY_POLICY_MAX_SCOPES 10000    /* scopes of all transports together */
#define FERRY_POLICY_MAX_REQS 64         /* requirements of one scope or of default */
#define FERRY_POLICY_MAX_KEYS 64         /* keyPaths, keyDatas, rekor keys of one requirement */
#define FERRY_POLICY_MAX_STRING 4096     /* a scope, path, reference, issuer, type name */
#define FERRY_POLICY_MAX_KEY_FILE (256u << 10) /* one key or CA bundle file */
#define FERRY_POLICY_MAX_KEY_TOTAL (16u << 20) /* key material read for one policy */

/* Keys of each kind (--require-signature, --rekor-key) one gate takes. */
#define FERRY_SIGSTORE_MAX_GATE_KEYS 64

/* Layers of one signature manifest the gate looks at (cosign's maxLayers,
 * pkg/oci/remote/signatures.go): past it the candidate is malformed. */
#define FERRY_SIGSTORE_MAX_SIG_LAYERS 1000

#endif
