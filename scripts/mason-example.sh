#!/bin/sh
# An example Mason converter for the built-in "Command" converter: it
# pretends to build a Kubernetes cluster out of the resources leased for
# it. With this config (boskos serve turns every cluster into a free one
# holding this script's userdata):
#
#   - {type: aws-account, state: free, names: [a1, a2, a3]}
#   - type: cluster
#     state: dirty
#     min-count: 2
#     max-count: 3
#     lifespan: 48h
#     needs: {aws-account: 1}
#     config: {type: Command, content: "scripts/mason-example.sh"}
#
# Mason runs it with this JSON on stdin (one line):
#
#   {"resource": <the virtual resource>, "leased": {"<type>": [<resources>]},
#    "content": "<config.content>"}
#
# and it prints the virtual resource's userdata, a JSON object of strings:
#
#   {"kubeconfig":"<a fake kubeconfig for the cluster>","accounts":"a1"}
#
# "accounts" lists the names of the leased resources, comma-separated.
# Set MASON_EXAMPLE_FAIL=1 to see a failure: it exits 1 with a reason on
# stderr, which becomes the virtual resource's failure reason.
#
# Plain POSIX sh, no jq: this is an example, not a JSON parser. It finds
# resources by their first two fields, {"type":"...","name":"...", which
# is how the server writes every resource (userdata keys come sorted, so
# a userdata object never starts that way). The names are copied as they
# are in the input, already JSON-escaped.
set -euf

if [ "${MASON_EXAMPLE_FAIL:-}" = 1 ]; then
  echo "mason-example: failing on purpose (MASON_EXAMPLE_FAIL=1)" >&2
  exit 1
fi

input=$(cat)

# Every resource name, in order: the virtual resource's first, then the
# leased resources'.
names=""
rest=$input
while :; do
  case $rest in
    *'{"type":"'*) rest=${rest#*'{"type":"'} ;;
    *) break ;;
  esac
  rest=${rest#*'"'}
  case $rest in
    ',"name":"'*)
      rest=${rest#',"name":"'}
      names="$names ${rest%%'"'*}" ;;
  esac
done

set -- $names
if [ $# -eq 0 ]; then
  echo "mason-example: no resource in the input (want a Mason converter request on stdin)" >&2
  exit 2
fi
cluster=$1
shift
if [ $# -eq 0 ]; then
  echo "mason-example: nothing leased for $cluster (a cluster needs an aws-account)" >&2
  exit 1
fi
accounts=$1
shift
for a in "$@"; do accounts="$accounts,$a"; done

printf '{"kubeconfig":"apiVersion: v1\\nkind: Config\\nclusters:\\n- name: %s\\n  cluster:\\n    server: https://%s.example.invalid\\n# fake kubeconfig for %s, built from %s\\n","accounts":"%s"}\n' \
  "$cluster" "$cluster" "$cluster" "$accounts" "$accounts"
