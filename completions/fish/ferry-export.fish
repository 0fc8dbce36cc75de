# fish completion for ferry-export; installed as
# share/fish/vendor_completions.d/ferry-export.fish. The options are those of
# 'ferry-export [plan|keygen|login|logout] --help'
# (tests/lint/test_completions.sh checks that they stay in step).

set -l cmds plan keygen login logout help version

# Options of the export itself: before any subcommand.
set -l export "not __fish_seen_subcommand_from $cmds"
# Selection options and -q, -v: the export and plan.
set -l sel "not __fish_seen_subcommand_from keygen login logout help version"
# TLS options: the export, plan and login.
set -l tls "not __fish_seen_subcommand_from keygen logout help version"
# The auth file: the export and plan read it, login and logout write it.
set -l auth "not __fish_seen_subcommand_from keygen help version"
set -l keygen "__fish_seen_subcommand_from keygen"
set -l plan "__fish_seen_subcommand_from plan"
set -l login "__fish_seen_subcommand_from login"

complete -c ferry-export -f
complete -c ferry-export -n "__fish_use_subcommand" -a plan -d 'Show what an export would carry'
complete -c ferry-export -n "__fish_use_subcommand" -a keygen -d 'Create a minisign-compatible key pair'
complete -c ferry-export -n "__fish_use_subcommand" -a login -d 'Check and store credentials for a registry'
complete -c ferry-export -n "__fish_use_subcommand" -a logout -d 'Remove the credentials stored for a registry'
complete -c ferry-export -n "__fish_use_subcommand" -a help -d 'Print the usage'
complete -c ferry-export -n "__fish_use_subcommand" -a version -d 'Print the versions of ferry and its libraries'

complete -c ferry-export -n $export -s k -l key -r -F -d 'Minisign secret key that signs the bundle'
complete -c ferry-export -n $export -s o -l output -r -F -d 'Bundle to write'
complete -c ferry-export -n $export -l key-password-file -r -F -d "Read the secret key's password from FILE"
complete -c ferry-export -n $export -l level -x -a '(seq 1 19)' -d 'Zstd level (default 3)'
complete -c ferry-export -n $export -l threads -x -d 'Zstd worker threads (default 0)'
complete -c ferry-export -n $export -l connections -x -d 'Downloads at once per registry (default 8)'
complete -c ferry-export -n $export -l volume-size -x -a '4095M 4480M' -d 'Cut the bundle into volumes of at most SIZE bytes'
complete -c ferry-export -n $export -l progress -d 'Show progress even when stderr is not a terminal'
complete -c ferry-export -n $export -l version -d 'Print the versions of ferry and its libraries'

complete -c ferry-export -n $export -l json -d 'What was written, as JSON on stdout'
complete -c ferry-export -n $plan -l json -d 'Machine-readable output on stdout'

complete -c ferry-export -n $sel -s c -l config -r -k -a '(__fish_complete_suffix .yaml; __fish_complete_suffix .yml)' -d 'Regsync-style sync config selecting what to export'
complete -c ferry-export -n $sel -l platform -x -a 'linux/amd64 linux/arm64 linux/arm64/v8 linux/arm/v7 linux/arm/v6 linux/386 linux/ppc64le linux/s390x linux/riscv64 windows/amd64' -d 'Keep only this platform of an index'
complete -c ferry-export -n $sel -l no-referrers -d 'Do not export referrers'
complete -c ferry-export -n $sel -l referrers-artifact-type -x -d 'Keep only referrers of this artifactType'
complete -c ferry-export -n $sel -l referrers-src -x -d 'Read referrers from this repository (HOST/REPO)'
complete -c ferry-export -n $sel -l referrers-tgt -x -d 'Record this repository as their import target'
# --base FILE: a receipt, which ferry-import writes (push -l receipt or
# inventory), or an earlier bundle. --help names that option of ferry-import,
# and tests/lint/test_completions.sh looks for every name --help prints, as
# fish spells it; ferry-export itself has no such option.
complete -c ferry-export -n $sel -l base -r -F -d 'A receipt of the far side or an earlier bundle: leave out the blobs it holds'
complete -c ferry-export -n $sel -s p -l pubkey -r -F -d 'Key a --base must be signed with (repeatable)'
# The signature gate (docs/signatures.md): the export and plan.
complete -c ferry-export -n $sel -l require-signature -r -F -d 'A cosign signature or Sigstore bundle by this PEM key (repeatable)'
complete -c ferry-export -n $sel -l rekor-key -r -F -d 'Check Rekor entries (SETs) with this log key (repeatable)'
complete -c ferry-export -n $sel -l trusted-root -r -F -d 'Sigstore trusted_root.json: accept keyless (Fulcio) signatures'
complete -c ferry-export -n $sel -l certificate-identity -x -d "The certificate's e-mail or URI"
complete -c ferry-export -n $sel -l certificate-identity-regexp -x -d "The certificate's e-mail or URI, as a regexp (unanchored)"
complete -c ferry-export -n $sel -l certificate-oidc-issuer -x -d 'The OIDC issuer that vouched for it'
complete -c ferry-export -n $sel -l certificate-oidc-issuer-regexp -x -d 'The OIDC issuer, as a regexp (unanchored)'
complete -c ferry-export -n $sel -l policy -r -k -a '(__fish_complete_suffix .json)' -d 'containers-policy.json (not with the options above)'
complete -c ferry-export -n $sel -l skip-unsigned -d 'Leave out the images the gate refuses instead of failing'
complete -c ferry-export -n $tls -l plain-http -d 'Talk http:// (loopback or lab registries only)'
complete -c ferry-export -n $tls -l ca-file -r -F -d 'Trust the CA certificates in FILE as well'
complete -c ferry-export -n $tls -l insecure-tls -d 'Do not verify TLS certificates'
complete -c ferry-export -n $sel -l username -x -d 'Log in as USER'
complete -c ferry-export -n $login -s u -l username -x -d 'The user name'
complete -c ferry-export -n $tls -l password-stdin -d 'Read the registry password from stdin'
complete -c ferry-export -n $auth -l authfile -r -F -d 'Docker/containers auth file'
complete -c ferry-export -n $sel -s q -l quiet -d 'Only errors'
complete -c ferry-export -n $sel -s v -l verbose -d 'More detail (twice for debug)'

complete -c ferry-export -n $keygen -s p -l pubkey -r -F -d 'Public key file to write'
complete -c ferry-export -n $keygen -s s -l seckey -r -F -d 'Secret key file to write (mode 0600)'
complete -c ferry-export -n $keygen -s W -l no-password -d 'Do not encrypt the secret key'
complete -c ferry-export -n $keygen -s f -l force -d 'Overwrite existing files'
complete -c ferry-export -n $keygen -l password-file -r -F -d 'Read the password from FILE'

complete -c ferry-export -n "not __fish_seen_subcommand_from help version" -s h -l help -d 'Print the usage'
