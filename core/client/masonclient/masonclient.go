package masonclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
)

// Boskos is what the Mason client needs of a Boskos client, with the
// contracts of package client's methods of the same names (errors are
// *client.StatusError values for answers other than 200); *client.Client
// satisfies it.
type Boskos interface {
	// Acquire leases one resource of rtype in state, moving it to dest.
	Acquire(ctx context.Context, rtype, state, dest, requestID string) (boskos.Resource, error)
	// AcquireByState leases every named resource in state, moving each
	// to dest, all or nothing.
	AcquireByState(ctx context.Context, state, dest string, names []string) ([]boskos.Resource, error)
	// Release hands a resource back in state dest (epoch 0: not sent).
	Release(ctx context.Context, name, dest string, epoch int64) error
	// Update is the heartbeat of a lease in state (epoch 0: not sent).
	Update(ctx context.Context, name, state string, ud boskos.UserData, epoch int64) error
}

var _ Boskos = (*client.Client)(nil)

// Resource is a virtual resource and the physical resources it holds.
type Resource struct {
	// Virtual is the virtual resource as /acquire returned it (its user
	// data holds boskos.LeasedResources).
	Virtual boskos.Resource `json:"virtual"`
	// Leased are the physical resources as /acquirebystate returned them,
	// in the order of the leasedResources list; empty for a virtual
	// resource without leased resources.
	Leased []boskos.Resource `json:"leased"`
}

// LeasedNames returns the names of r's leased resources, in order.
func (r Resource) LeasedNames() []string {
	names := make([]string, len(r.Leased))
	for i, l := range r.Leased {
		names[i] = l.Name
	}
	return names
}

// clone returns a copy of r that shares no slice with it.
func (r Resource) clone() Resource {
	r.Leased = slices.Clone(r.Leased)
	return r
}

// ErrNotHeld is matched by the error of ReleaseOne for a name this client
// does not hold.
var ErrNotHeld = errors.New("masonclient: resource not held")

// LeasedError is the error of an acquire that got the virtual resource but
// not its leased resources: its leasedResources value was invalid, or
// /acquirebystate failed (a name missing, in another state or owned, or the
// request itself failed). Everything the client got was then released as
// dirty; ReleaseErr reports what of that failed.
//
// Unwrap returns ReleaseErr only, never Err: the virtual resource is
// broken, not busy, so a LeasedError must not match client.ErrNotFound (see
// the package documentation). Look at Err for the cause.
type LeasedError struct {
	// Virtual is the name of the virtual resource.
	Virtual string
	// Leased are the names its leasedResources listed (nil when the value
	// could not be read).
	Leased []string
	// Err is why the leased resources could not be taken.
	Err error
	// ReleaseErr is the failure of releasing what was got as dirty, nil
	// when that went through.
	ReleaseErr error
}

// Error names the virtual resource, the leased names and the cause, and
// says whether the cleanup went through.
func (e *LeasedError) Error() string {
	var b strings.Builder
	if e.Leased == nil {
		fmt.Fprintf(&b, "masonclient: acquired virtual resource %q but cannot read its %s: %v", e.Virtual, boskos.LeasedResources, e.Err)
	} else {
		fmt.Fprintf(&b, "masonclient: acquired virtual resource %q but not its leased resources [%s]: %v", e.Virtual, strings.Join(e.Leased, ", "), e.Err)
	}
	if e.ReleaseErr != nil {
		fmt.Fprintf(&b, "; releasing them as %s failed: %v", boskos.Dirty, e.ReleaseErr)
	} else {
		fmt.Fprintf(&b, "; released what was acquired as %s", boskos.Dirty)
	}
	return b.String()
}

// Unwrap returns ReleaseErr (nil when the cleanup went through).
func (e *LeasedError) Unwrap() error { return e.ReleaseErr }

// Client leases virtual resources with their physical ones and remembers
// what it holds. Create it with New.
type Client struct {
	b    Boskos
	mu   sync.Mutex
	held map[string]Resource // by virtual name
}

// New returns a Mason client over b, holding nothing.
func New(b Boskos) *Client {
	return &Client{b: b, held: map[string]Resource{}}
}

// Acquire leases a virtual resource of rtype in state, moving it to dest,
// and then every physical resource its leasedResources lists from state
// <virtual name> to dest (one /acquirebystate, none when the list is empty
// or absent), and holds them. Errors: the virtual acquire's as the Boskos
// client returned it (client.ErrNotFound when nothing is free); a
// *LeasedError when the physical resources could not be taken, after
// releasing everything got as dirty.
func (c *Client) Acquire(ctx context.Context, rtype, state, dest string) (Resource, error) {
	return c.acquire(ctx, rtype, state, dest, "")
}

// AcquireWait polls Acquire with requestID (a place in the server's queue
// for the virtual resources; "" for none) every interval while the virtual
// acquire answers client.ErrNotFound, until it succeeds, fails otherwise
// (a *LeasedError included) or ctx ends; it then returns the last
// ErrNotFound rather than the interrupted request. interval must be
// positive.
func (c *Client) AcquireWait(ctx context.Context, rtype, state, dest, requestID string, interval time.Duration) (Resource, error) {
	if interval <= 0 {
		return Resource{}, fmt.Errorf("masonclient: AcquireWait: the interval must be positive, got %v", interval)
	}
	var refused error // the last ErrNotFound
	for {
		r, err := c.acquire(ctx, rtype, state, dest, requestID)
		if err == nil {
			return r, nil
		}
		var le *LeasedError
		if errors.As(err, &le) {
			return Resource{}, err
		}
		if ctx.Err() != nil && refused != nil {
			return Resource{}, refused
		}
		if !errors.Is(err, client.ErrNotFound) {
			return Resource{}, err
		}
		refused = err
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return Resource{}, err
		case <-t.C:
		}
	}
}

func (c *Client) acquire(ctx context.Context, rtype, state, dest, requestID string) (Resource, error) {
	v, err := c.b.Acquire(ctx, rtype, state, dest, requestID)
	if err != nil {
		return Resource{}, err
	}
	names, err := boskos.ParseLeasedResources(v.UserData[boskos.LeasedResources])
	if err != nil {
		return Resource{}, &LeasedError{Virtual: v.Name, Err: err, ReleaseErr: c.releaseDirty(ctx, v, nil)}
	}
	names = dedupe(names)
	r := Resource{Virtual: v}
	if len(names) > 0 {
		got, err := c.b.AcquireByState(ctx, v.Name, dest, names)
		if err == nil {
			r.Leased, err = inOrder(got, names)
		}
		if err != nil {
			// After a definite refusal (4xx) nothing was taken: this
			// project's /acquirebystate is all or nothing. Otherwise
			// (transport failure, 5xx, an odd answer) the outcome is
			// unknown, so every name is released too: resources in state
			// <virtual name> belong to the holder of the virtual one.
			var taken []boskos.Resource
			if !refused(err) {
				taken = got
				for _, n := range names {
					if !slices.ContainsFunc(taken, func(x boskos.Resource) bool { return x.Name == n }) {
						taken = append(taken, boskos.Resource{Name: n})
					}
				}
			}
			return Resource{}, &LeasedError{Virtual: v.Name, Leased: names, Err: err, ReleaseErr: c.releaseDirty(ctx, v, taken)}
		}
	}
	c.mu.Lock()
	c.held[v.Name] = r
	c.mu.Unlock()
	return r.clone(), nil
}

// refused reports whether err is a definite 4xx answer.
func refused(err error) bool {
	var se *client.StatusError
	return errors.As(err, &se) && se.Code >= 400 && se.Code < 500
}

// releaseDirty is the cleanup of a failed acquire: maybeLeased (names with
// their epochs when known) and then the virtual resource go to dirty. A
// leased name that turns out not to be this owner's (401) or not to exist
// (404) was not taken and is no failure.
func (c *Client) releaseDirty(ctx context.Context, v boskos.Resource, maybeLeased []boskos.Resource) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, l := range maybeLeased {
		err := c.b.Release(ctx, l.Name, boskos.Dirty, l.Epoch)
		if err != nil && !client.IsStatus(err, http.StatusUnauthorized) && !client.IsStatus(err, http.StatusNotFound) {
			errs = append(errs, fmt.Errorf("release %q: %w", l.Name, err))
		}
	}
	if err := c.b.Release(ctx, v.Name, boskos.Dirty, v.Epoch); err != nil {
		errs = append(errs, fmt.Errorf("release %q: %w", v.Name, err))
	}
	return errors.Join(errs...)
}

// inOrder returns got in the order of names, or an error when got is not
// exactly the named resources.
func inOrder(got []boskos.Resource, names []string) ([]boskos.Resource, error) {
	by := make(map[string]boskos.Resource, len(got))
	for _, g := range got {
		by[g.Name] = g
	}
	out := make([]boskos.Resource, 0, len(names))
	for _, n := range names {
		g, ok := by[n]
		if !ok {
			return nil, fmt.Errorf("acquirebystate answered without %q", n)
		}
		out = append(out, g)
	}
	if len(by) != len(names) {
		return nil, fmt.Errorf("acquirebystate answered %d resources for %d names", len(by), len(names))
	}
	return out, nil
}

// dedupe drops repeated names, keeping the first of each.
func dedupe(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// ReleaseOne releases the held virtual resource name and its leased
// resources to dest (see Release) and forgets them, whatever the outcome:
// a resource whose release failed is left to the reaper. It returns an
// error matching ErrNotHeld when this client does not hold name.
func (c *Client) ReleaseOne(ctx context.Context, name, dest string) error {
	c.mu.Lock()
	r, ok := c.held[name]
	delete(c.held, name)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotHeld, name)
	}
	return Release(ctx, c.b, r, dest)
}

// ReleaseAll releases every held virtual resource and its leased resources
// to dest, as ReleaseOne does, and reports every failure. Holding nothing
// is no error.
func (c *Client) ReleaseAll(ctx context.Context, dest string) error {
	c.mu.Lock()
	all := c.snapshotLocked()
	clear(c.held)
	c.mu.Unlock()
	var errs []error
	for _, r := range all {
		errs = append(errs, Release(ctx, c.b, r, dest))
	}
	return errors.Join(errs...)
}

// SyncAll is the heartbeat of everything held (upstream's SyncAll and
// UpdateAll): one /update per virtual and per leased resource, in the state
// it was acquired into, with its epoch and no user data. It sends them all
// and reports every failure (a 409 or 401 means that lease was lost: the
// reaper reset it, and maybe someone else has it now). Holding nothing is
// no error.
func (c *Client) SyncAll(ctx context.Context) error {
	c.mu.Lock()
	all := c.snapshotLocked()
	c.mu.Unlock()
	var errs []error
	for _, r := range all {
		for _, x := range append(slices.Clone(r.Leased), r.Virtual) {
			if err := c.b.Update(ctx, x.Name, x.State, nil, x.Epoch); err != nil {
				errs = append(errs, fmt.Errorf("heartbeat %q: %w", x.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Held returns what the client holds, by virtual name.
func (c *Client) Held() []Resource {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshotLocked()
}

// snapshotLocked returns copies of the held resources, by virtual name.
func (c *Client) snapshotLocked() []Resource {
	out := make([]Resource, 0, len(c.held))
	for _, r := range c.held {
		out = append(out, r.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Virtual.Name < out[j].Virtual.Name })
	return out
}

// Release releases r's leased resources and then r.Virtual to dest, each
// with its epoch when not zero, and reports every failure (each wrapped
// with the resource's name), not just the first. Only the names and epochs
// of r are used, so a caller that kept them can release without a Client.
//
// The leased resources go first so that the virtual resource is never free
// while its physical ones are still held. dest is usually boskos.Dirty:
// Mason then recycles the virtual resource and the janitors clean the
// physical ones.
func Release(ctx context.Context, b Boskos, r Resource, dest string) error {
	var errs []error
	for _, x := range append(slices.Clone(r.Leased), r.Virtual) {
		if err := b.Release(ctx, x.Name, dest, x.Epoch); err != nil {
			errs = append(errs, fmt.Errorf("release %q: %w", x.Name, err))
		}
	}
	return errors.Join(errs...)
}
