package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/boskos-serverless/boskos/core/auth"
	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/boltstore"
	"github.com/boskos-serverless/boskos/core/store/memstore"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// BenchmarkAcquireRelease times acquire→release cycles through the whole
// Boskos handler (no network) on the embedded bolt store, without and with
// credentials (one principal at bcrypt's default cost: the cache makes it
// one bcrypt per TTL).
//
//	go test ./core/auth -run '^$' -bench AcquireRelease -count 5
func BenchmarkAcquireRelease(b *testing.B) {
	for _, tc := range []struct {
		store    string
		withAuth bool
	}{{"bolt", false}, {"bolt", true}, {"memory", false}, {"memory", true}} {
		withAuth := tc.withAuth
		b.Run(fmt.Sprintf("store=%s/credentials=%v", tc.store, withAuth), func(b *testing.B) {
			var st store.Store = memstore.New()
			if tc.store == "bolt" {
				bs, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), boltstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer bs.Close()
				st = bs
			}
			r := ranch.New(st, ranch.Options{Logger: testkit.Quiet()})
			names := make([]string, 100)
			for i := range names {
				names[i] = fmt.Sprintf("res-%03d", i)
			}
			if err := r.SyncConfig(context.Background(), &boskos.Config{Resources: []boskos.ResourceEntry{{Type: "bench", Names: names}}}); err != nil {
				b.Fatal(err)
			}
			opts := httpapi.Options{Logger: testkit.Quiet()}
			if withAuth {
				h, err := bcrypt.GenerateFromPassword([]byte("bench-pw"), bcrypt.DefaultCost)
				if err != nil {
					b.Fatal(err)
				}
				creds, err := auth.New(auth.File{Principals: []auth.Principal{{Name: "bench", PasswordHash: string(h), Owners: []string{"bench-*"}, Role: auth.RoleClient}}})
				if err != nil {
					b.Fatal(err)
				}
				opts.Middleware = auth.NewGuard(auth.NewHolder(creds), auth.Options{Logger: testkit.Quiet()}).Wrap
			}
			api := httpapi.New(r, opts)
			do := func(method, target string) []byte {
				req := httptest.NewRequest(method, target, nil)
				req.RemoteAddr = "127.0.0.1:5000"
				if withAuth {
					req.SetBasicAuth("bench", "bench-pw")
				}
				w := httptest.NewRecorder()
				api.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
				}
				return w.Body.Bytes()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var res boskos.Resource
				if err := json.Unmarshal(do("POST", "/acquire?type=bench&state=free&dest=busy&owner=bench-1"), &res); err != nil {
					b.Fatal(err)
				}
				do("POST", fmt.Sprintf("/release?name=%s&dest=free&owner=bench-1&epoch=%d", res.Name, res.Epoch))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
		})
	}
}

// BenchmarkGuard is the guard's own cost on a request whose credentials
// are cached, in front of a handler that does nothing.
func BenchmarkGuard(b *testing.B) {
	h, err := bcrypt.GenerateFromPassword([]byte("bench-pw"), bcrypt.MinCost)
	if err != nil {
		b.Fatal(err)
	}
	creds, err := auth.New(auth.File{Principals: []auth.Principal{{Name: "bench", PasswordHash: string(h), Owners: []string{"bench-*"}, Role: auth.RoleClient}}})
	if err != nil {
		b.Fatal(err)
	}
	g := auth.NewGuard(auth.NewHolder(creds), auth.Options{Logger: testkit.Quiet()}).Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("POST", "/acquire?type=bench&state=free&dest=busy&owner=bench-1", nil)
	req.SetBasicAuth("bench", "bench-pw")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		g.ServeHTTP(w, req)
	}
	if w.Code != 200 {
		b.Fatal(w.Code)
	}
}
