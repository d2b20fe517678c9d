package compat

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
	"github.com/boskos-serverless/boskos/tests/reliability/linearize"
)

// TestLinearizabilityLambda is the Lambda target of the reliability suite
// (tests/reliability): concurrent clients call the real bootstrap binaries
// behind the API Gateway-like front, on a DynamoDB Local table, and
// Porcupine checks the history against the model of the Boskos API.
// BOSKOS_RELIABILITY=long (make reliability) runs longer histories; a
// failure leaves Porcupine's visualization under
// $BOSKOS_RELIABILITY_ARTIFACTS or a logged temporary directory.
func TestLinearizabilityLambda(t *testing.T) {
	histories, ops := 1, 54
	if os.Getenv("BOSKOS_RELIABILITY") == "long" {
		histories, ops = 3, 540
	}
	if v := os.Getenv("BOSKOS_RELIABILITY_LIN_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		ops = n
	}
	bins := buildLambdas(t)
	endpoint := dynamotest.Endpoint(t)
	names := []string{"lin-0", "lin-1", "lin-2", "lin-3"}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	total, start := 0, time.Now()
	for h := range histories {
		client, table := dynamotest.NewTable(t)
		// The pool, and a Mason virtual type built from it by the
		// maintenance of the history (the reaper, a janitor and Mason, in
		// this process on the same table, as the scheduled functions run
		// next to the API functions).
		seedTable(t, client, table, "resources:\n- type: lin\n  state: free\n  names: [lin-0, lin-1, lin-2, lin-3]\n"+
			"- type: linv\n  state: dirty\n  min-count: 1\n  max-count: 1\n  needs: {lin: 1}\n")
		url := startAPI(t, bins, table, endpoint, map[string]int{"acquire": 3, "release": 2, "update": 2})
		dir := os.Getenv("BOSKOS_RELIABILITY_ARTIFACTS")
		if dir == "" {
			var err error
			dir, err = os.MkdirTemp("", "boskos-reliability-lambda-")
			require.NoError(t, err)
		}
		res, n, path := linearize.History(t, []string{url}, "lin", names, linearize.Params{
			Clients: linearize.DefaultClients, Ops: ops, CheckTimeout: 5 * time.Minute, Seed: seed + uint64(h),
			Maintenance: &linearize.Maintenance{Store: dynamostore.New(client, table, dynamostore.Options{}), VirtualType: "linv"},
		}, dir)
		total += n
		require.Equal(t, porcupine.Ok, res, "history %d is not linearizable: see %s", h, path)
		_ = os.Remove(dir) // only when empty
	}
	t.Logf("reliability: linearizability lambda: histories=%d operations=%d violations=0 in %s",
		histories, total, time.Since(start).Round(time.Millisecond))
}
