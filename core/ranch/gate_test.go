package ranch

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGatesBoundConcurrencyPerKey(t *testing.T) {
	g := gates{size: 2}
	var inA, maxA, inB, maxB atomic.Int64
	track := func(in, max *atomic.Int64) {
		n := in.Add(1)
		for {
			m := max.Load()
			if n <= m || max.CompareAndSwap(m, n) {
				break
			}
		}
		for i := 0; i < 1000; i++ { // stay inside a little while
			_ = i * i
		}
		in.Add(-1)
	}
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		key, in, max := "a", &inA, &maxA
		if i%2 == 1 {
			key, in, max = "b", &inB, &maxB
		}
		wg.Go(func() {
			for j := 0; j < 50; j++ {
				leave, err := g.enter(context.Background(), key)
				if !assert.NoError(t, err) {
					return
				}
				track(in, max)
				leave()
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, maxA.Load(), int64(2), "key a: at most 2 inside at once")
	assert.LessOrEqual(t, maxB.Load(), int64(2), "key b: at most 2 inside at once")
	assert.Zero(t, g.len(), "idle gates are dropped")
}

func TestGatesHonourCancellation(t *testing.T) {
	g := gates{size: 1}
	leave, err := g.enter(context.Background(), "k")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = g.enter(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	leave()
	assert.Zero(t, g.len())
	leave2, err := g.enter(context.Background(), "k")
	require.NoError(t, err, "the slot is free again")
	leave2()
}
