package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/store/storetest"
)

// broken wraps a correct store and breaks one part of the contract.
type broken struct {
	store.Store
	bug string
}

func (b *broken) Get(ctx context.Context, key string) (store.Item, error) {
	it, err := b.Store.Get(ctx, key)
	if b.bug == "wrong-sentinel" && errors.Is(err, store.ErrNotFound) {
		return it, store.ErrConflict
	}
	return it, err
}

func (b *broken) Create(ctx context.Context, it store.Item) (store.Item, error) {
	if b.bug == "create-overwrites" {
		_ = b.Store.Delete(ctx, it.Key)
	}
	return b.Store.Create(ctx, it)
}

func (b *broken) Update(ctx context.Context, u store.Update) (store.Item, error) {
	switch b.bug {
	case "ignore-version":
		u.Cond = slices.DeleteFunc(slices.Clone(u.Cond), func(c store.Cond) bool { return c.Op == store.OpVersion })
	case "absent-not-empty":
		for _, c := range u.Cond {
			if c.Op == store.OpEq && c.Value == "" {
				return store.Item{}, &store.ConditionError{}
			}
		}
	}
	it, err := b.Store.Update(ctx, u)
	var ce *store.ConditionError
	if b.bug == "no-current" && errors.As(err, &ce) {
		return it, &store.ConditionError{}
	}
	return it, err
}

func (b *broken) Transact(ctx context.Context, ops []store.Op) error {
	if b.bug != "transact-one-by-one" {
		return b.Store.Transact(ctx, ops)
	}
	for i, o := range ops {
		if err := b.Store.Transact(ctx, []store.Op{o}); err != nil {
			var te *store.TxError
			if errors.As(err, &te) {
				te.Index = i
			}
			return err
		}
	}
	return nil
}

func (b *broken) List(ctx context.Context, prefix, cursor string, limit int) (store.Page, error) {
	p, err := b.Store.List(ctx, prefix, cursor, limit)
	if b.bug == "list-drops-page-end" && p.Next != "" && len(p.Items) > 1 {
		p.Items = p.Items[:len(p.Items)-1]
	}
	return p, err
}

func (b *broken) Query(ctx context.Context, q store.Query) (store.Page, error) {
	p, err := b.Store.Query(ctx, q)
	if b.bug == "query-descending" {
		slices.Reverse(p.Items)
	}
	return p, err
}

// TestBrokenBackend runs the suite on one broken store, named by the
// environment; it only runs as the child of TestSuiteCatchesBugs.
func TestBrokenBackend(t *testing.T) {
	bug := os.Getenv("STORETEST_BUG")
	if bug == "" {
		t.Skip("run by TestSuiteCatchesBugs")
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		return &broken{Store: memstore.New(), bug: bug}
	})
}

// TestSuiteCatchesBugs checks that the suite fails, in the expected
// subtests, on stores that break the contract.
func TestSuiteCatchesBugs(t *testing.T) {
	cases := []struct {
		bug  string
		want []string // subtests that must fail
	}{
		{"ignore-version", []string{"UpdateVersions", "Conditions"}},
		{"wrong-sentinel", []string{"GetMissing", "Delete"}},
		{"create-overwrites", []string{"CreateExists"}},
		{"no-current", []string{"Conditions", "UpdateVersions"}},
		{"absent-not-empty", []string{"Conditions", "Upsert", "EmptyStringSetRemoves"}},
		{"transact-one-by-one", []string{"TransactAllOrNothing", "TransactErrors", "TransactMaxItems"}},
		{"list-drops-page-end", []string{"ListPagination", "ListOrder"}},
		{"query-descending", []string{"QueryOrder", "QueryFollowsItem"}},
	}
	for _, tc := range cases {
		t.Run(tc.bug, func(t *testing.T) {
			// Only the subtests expected to fail run, to keep index polls short.
			run := "^TestBrokenBackend$/^(" + strings.Join(tc.want, "|") + ")$"
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+run, "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_BUG="+tc.bug)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the suite passed on a broken store:\n%s", out)
			for _, name := range tc.want {
				require.Contains(t, string(out), "--- FAIL: TestBrokenBackend/"+name+" ",
					"subtest %s did not fail", name)
			}
		})
	}
}

// TestMemstore runs the suite on the correct store, as a baseline for the
// broken ones.
func TestMemstore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
}
