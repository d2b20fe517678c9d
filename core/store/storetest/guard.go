package storetest

import (
	"context"
	"testing"

	"github.com/boskos-serverless/boskos/core/store"
)

// guard passes every call to the store under test, and first fails the
// test when the suite itself writes something the contract forbids (an
// attribute name used by two kinds), so suite bugs are not blamed on
// backends.
type guard struct {
	store.Store
	t *testing.T
}

func (g guard) Create(ctx context.Context, it store.Item) (store.Item, error) {
	g.check(it.Key, keysOf3(it.Str, it.Num, it.Map))
	return g.Store.Create(ctx, it)
}

func (g guard) Update(ctx context.Context, u store.Update) (store.Item, error) {
	g.checkUpdate(u)
	return g.Store.Update(ctx, u)
}

func (g guard) Transact(ctx context.Context, ops []store.Op) error {
	for _, o := range ops {
		switch {
		case o.Create != nil:
			g.check(o.Create.Key, keysOf3(o.Create.Str, o.Create.Num, o.Create.Map))
		case o.Update != nil:
			g.checkUpdate(*o.Update)
		}
	}
	return g.Store.Transact(ctx, ops)
}

func (g guard) checkUpdate(u store.Update) {
	names := keysOf3(u.Set, u.SetNum, u.SetMap)
	names = append(names, keysOf3(u.AddNum, map[string]int64(nil), map[string]map[string]string(nil))...)
	names = append(names, u.Remove...)
	g.check(u.Key, names)
}

func (g guard) check(key string, names []string) {
	g.t.Helper()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			g.t.Errorf("storetest bug: write to %s uses attribute %q twice (names are unique across kinds)", key, n)
		}
		seen[n] = true
	}
}

func keysOf3[A, B, C any](a map[string]A, b map[string]B, c map[string]C) []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		out = append(out, k)
	}
	for k := range c {
		out = append(out, k)
	}
	return out
}
