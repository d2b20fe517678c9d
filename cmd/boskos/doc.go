// Command boskos is the Boskos-compatible resource-leasing service in one
// binary:
//
//	boskos serve              the API server: --config (reloaded on change),
//	                          --store bolt:PATH|memory|dynamodb:TABLE, --port,
//	                          --addr, --request-ttl, --log-level, --in_memory;
//	                          request-queue GC and reconcile every --gc-period;
//	                          /metrics and /healthz on the same port; graceful
//	                          shutdown on SIGINT/SIGTERM
//	boskos config validate F  print every problem of a resources file
//	boskos acquire|release|metrics|heartbeat
//	                          boskosctl-compatible client commands (same flags
//	                          and output), over package client; acquire
//	                          --mason and release --mason --leased NAMES
//	                          lease a Mason virtual resource with its leased
//	                          resources (package masonclient)
//	boskos resources          the resources (--type, --state, --owner) with
//	                          their owner, lease time, epoch and last
//	                          heartbeat, as a table or --json (GET
//	                          /v1/resources)
//	boskos queue TYPE         the request_ids waiting for TYPE (--state) with
//	                          their rank and wait (GET /v1/queue)
//	boskos bench              C concurrent acquire→release loops for a
//	                          duration; prints cycles/s and p50/p99 latency
//	boskos table create|delete
//	                          create or delete the DynamoDB table
//
// bench.sh next to this file measures cycles/s at 100, 10,000 and 100,000
// resources on the bolt store (make bench).
package main
