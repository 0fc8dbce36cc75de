# fish completion for ferry-import; installed as
# share/fish/vendor_completions.d/ferry-import.fish. The options are those of
# 'ferry-import COMMAND --help'
# (tests/lint/test_completions.sh checks that they stay in step).

set -l cmds verify list push referrers inventory login logout help version

complete -c ferry-import -f
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a verify -d 'Check the signature and every digest of a bundle'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a list -d 'List the images of a bundle'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a push -d 'Verify a bundle, then push it into a registry'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a referrers -d 'List the referrers a registry holds for an image'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a inventory -d 'Write what a registry holds as a receipt'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a login -d 'Check and store credentials for a registry'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a logout -d 'Remove the credentials stored for a registry'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a help -d 'Print the usage'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -a version -d 'Print the versions of ferry and its libraries'
complete -c ferry-import -n "not __fish_seen_subcommand_from $cmds" -l version -d 'Print the versions of ferry and its libraries'
complete -c ferry-import -n "not __fish_seen_subcommand_from help version" -s h -l help -d 'Print the usage'

# BUNDLE: *.zst first, then directories and other files
complete -c ferry-import -n "__fish_seen_subcommand_from verify list push" -k -a '(__fish_complete_suffix .zst)'
# VOLUME...: verify and push take the volumes of a set, which ferry-export
# -l volume-size writes, as they take a bundle (the *.zst above). push --help
# names that option of ferry-export, and tests/lint/test_completions.sh looks
# for every name --help prints, as fish spells it; ferry-import itself has no
# such option.

complete -c ferry-import -n "__fish_seen_subcommand_from verify list push" -s p -l pubkey -r -F -d 'Trusted minisign public key (repeatable)'
complete -c ferry-import -n "__fish_seen_subcommand_from verify list push referrers" -l json -d 'Machine-readable output on stdout'
complete -c ferry-import -n "__fish_seen_subcommand_from list" -s r -l referrers -d "Show each image's referrers as a tree"
complete -c ferry-import -n "__fish_seen_subcommand_from push" -l to -x -d 'Target registry and optional prefix: HOST[:PORT][/PREFIX]'
complete -c ferry-import -n "__fish_seen_subcommand_from inventory" -l to -x -d 'The registry and prefix to read: HOST[:PORT][/PREFIX]'
complete -c ferry-import -n "__fish_seen_subcommand_from push" -s j -l jobs -x -d 'Parallel uploads (default 4)'
# The signature gate of verify and push (docs/signatures.md).
set -l gate "__fish_seen_subcommand_from verify push"
complete -c ferry-import -n $gate -l require-signature -r -F -d 'A cosign signature or Sigstore bundle by this PEM key (repeatable)'
complete -c ferry-import -n $gate -l rekor-key -r -F -d 'Check Rekor entries (SETs) with this log key (repeatable)'
complete -c ferry-import -n $gate -l trusted-root -r -F -d 'Sigstore trusted_root.json: accept keyless (Fulcio) signatures'
complete -c ferry-import -n $gate -l certificate-identity -x -d "The certificate's e-mail or URI"
complete -c ferry-import -n $gate -l certificate-identity-regexp -x -d "The certificate's e-mail or URI, as a regexp (unanchored)"
complete -c ferry-import -n $gate -l certificate-oidc-issuer -x -d 'The OIDC issuer that vouched for it'
complete -c ferry-import -n $gate -l certificate-oidc-issuer-regexp -x -d 'The OIDC issuer, as a regexp (unanchored)'
complete -c ferry-import -n $gate -l policy -r -k -a '(__fish_complete_suffix .json)' -d 'containers-policy.json (not with the options above)'
complete -c ferry-import -n "__fish_seen_subcommand_from push" -l verify-first -d 'Verify every blob (and BUNDLE.minisig) before uploading anything'
complete -c ferry-import -n "__fish_seen_subcommand_from push" -l dry-run -d 'Show per image what a push would do; write nothing'
complete -c ferry-import -n "__fish_seen_subcommand_from push" -l allow-downgrade -d "Move tags set by a newer bundle back to this bundle's images"
complete -c ferry-import -n "__fish_seen_subcommand_from push" -l max-age -x -a '7d 14d 30d' -d 'Refuse a bundle created longer ago than this'
# --receipt FILE: what ferry-export reads with -l base later. push --help
# names that option of ferry-export, and tests/lint/test_completions.sh looks
# for every name --help prints, as fish spells it; ferry-import itself has no
# such option.
complete -c ferry-import -n "__fish_seen_subcommand_from push" -l receipt -r -F -d 'Write what the target holds afterwards, for ferry-export --base'
complete -c ferry-import -n "__fish_seen_subcommand_from push inventory" -l receipt-key -r -F -d 'Sign the receipt with this minisign secret key (FILE.minisig)'
complete -c ferry-import -n "__fish_seen_subcommand_from push inventory" -l key-password-file -r -F -d "Read that key's password from FILE"
complete -c ferry-import -n "__fish_seen_subcommand_from inventory" -s o -l output -r -F -d 'Write the receipt to FILE (default: stdout)'

set -l refs "__fish_seen_subcommand_from referrers"
complete -c ferry-import -n $refs -l platform -x -a 'linux/amd64 linux/arm64 linux/arm64/v8 linux/arm/v7 linux/arm/v6 linux/386 linux/ppc64le linux/s390x linux/riscv64 windows/amd64' -d 'The manifest of this platform of an index'
complete -c ferry-import -n $refs -l tree -d 'Referrers of referrers too (a signature on an SBOM)'
complete -c ferry-import -n $refs -l artifact-type -x -d 'Only referrers of this artifactType (the first level)'

set -l reg "__fish_seen_subcommand_from push referrers inventory login"
complete -c ferry-import -n $reg -l plain-http -d 'Talk http:// (loopback or lab registries only)'
complete -c ferry-import -n $reg -l ca-file -r -F -d 'Trust the CA certificates in FILE as well'
complete -c ferry-import -n $reg -l insecure-tls -d 'Do not verify TLS certificates'
complete -c ferry-import -n "__fish_seen_subcommand_from push referrers inventory" -l username -x -d 'Log in as USER'
complete -c ferry-import -n "__fish_seen_subcommand_from login" -s u -l username -x -d 'The user name'
complete -c ferry-import -n $reg -l password-stdin -d 'Read the registry password from stdin'
complete -c ferry-import -n "__fish_seen_subcommand_from push referrers inventory login logout" -l authfile -r -F -d 'Docker/containers auth file'

set -l log "__fish_seen_subcommand_from verify push"
complete -c ferry-import -n $log -l progress -d 'Show progress even when stderr is not a terminal'
set -l quiet "__fish_seen_subcommand_from verify push referrers inventory"
complete -c ferry-import -n $quiet -s q -l quiet -d 'Only errors'
complete -c ferry-import -n $quiet -s v -l verbose -d 'More detail (twice for debug)'
