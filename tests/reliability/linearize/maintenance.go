package linearize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/httpapi"
	"github.com/boskos-serverless/boskos/core/janitor"
	"github.com/boskos-serverless/boskos/core/maintenance"
	"github.com/boskos-serverless/boskos/core/ranch"
	"github.com/boskos-serverless/boskos/core/store"
)

// Maintenance runs the service's own jobs during a history, next to the
// clients, and records their operations on the pool as those of
// maintenance clients (the model checks them like any other): the
// reaper's resets, a janitor's claims, heartbeats and releases (the real
// core/janitor, through a Ranch that records its calls), and Mason's steps
// for one virtual resource (the ranch's virtual-resource use cases that
// core/mason's workflow calls: recycle, lease needs, free, abort) with a
// consumer that takes the built resource along, as the Mason client does.
type Maintenance struct {
	// Store is the store the servers under test use: the jobs run in the
	// test process, on Ranches of their own over it, as `boskos serve`
	// runs them next to its API (and the scheduled functions next to the
	// API functions in AWS).
	Store store.Store
	// VirtualType is a dynamic type of the config in force with one
	// resource (min-count = max-count = 1, initial state dirty) whose needs
	// are one resource of the pool's type; "" leaves Mason out.
	VirtualType string
	// Every is how many client operations pass between two runs of the
	// janitor, and of Mason (default 40); the reaper runs every 4×Every.
	Every int
}

// The maintenance clients' owners and client ids (after the clients').
const (
	janitorOwner  = janitor.DefaultOwner
	masonOwner    = "mason"
	consumerOwner = "mason-consumer"
	// masonTries bounds the attempts of a Mason cycle to lease its need.
	masonTries = 5
	// reaperAhead is how far the reaper's clock runs ahead of the
	// servers': with an expiry of half of it, every lease looks stale to
	// it, so that whether it resets one is decided by owner and state
	// alone, as the model has it.
	reaperAhead = 2 * time.Hour
)

// maintainer is the running maintenance of one history.
type maintainer struct {
	w      *workload
	m      Maintenance
	r      *ranch.Ranch // the janitor's and Mason's, on the servers' clock
	reaper *ranch.Ranch // the reaper's, ahead
	base   int          // client id of the reaper; janitor base+1, Mason base+2, consumer base+3
	rng    *rand.Rand
	rngMu  sync.Mutex
	done   <-chan struct{} // closed when the clients finished
	// masonStopped: a Mason step's outcome was unknown; Mason stops there,
	// as a client stops after an ambiguous call.
	masonStopped bool
}

// quietLogger discards the jobs' logs.
var quietLogger = slog.New(slog.DiscardHandler)

// run starts the jobs; they stop when done is closed (the clients
// finished) or ctx ends, and run returns when they have.
func (mt *maintainer) run(ctx context.Context, done <-chan struct{}) {
	mt.done = done
	every := mt.m.Every
	if every <= 0 {
		every = 40
	}
	// The reaper runs a quarter as often: a pass records an operation per
	// reaped state and resource, and takes every lease.
	jobs := []struct {
		run   func(context.Context)
		every int
	}{{mt.reap, 4 * every}, {mt.clean, every}}
	if mt.m.VirtualType != "" {
		jobs = append(jobs, struct {
			run   func(context.Context)
			every int
		}{mt.build, every})
	}
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() {
			next := job.every * (i + 1) / len(jobs) // stagger the jobs
			for {
				if !mt.w.rec.waitFor(ctx, done, next) {
					return
				}
				job.run(ctx)
				next = mt.w.rec.count() + job.every
			}
		})
	}
	wg.Wait()
}

// reap is one reaper pass over the pool's type, as maintenance.Reaper
// makes it (ranch.Reset of each reaped state, to dirty), recorded state by
// state, one operation per resource of the pool.
func (mt *maintainer) reap(ctx context.Context) {
	for _, state := range maintenance.ReapedStates {
		in := opInput{kind: opResetOne, state: state, dest: boskos.Dirty}
		t0 := mt.w.rec.now()
		reset, err := mt.reaper.Reset(ctx, mt.w.rtype, state, reaperAhead/2, boskos.Dirty)
		out := opOutput{status: httpapi.HTTPStatus(err), ambiguous: err != nil}
		if err == nil {
			out.status = http.StatusOK
		}
		for i, n := range mt.w.m.names {
			one := in
			one.res = i
			o := out
			o.prevOwner, o.reset = reset[n]
			mt.w.rec.add(mt.base, one, t0, o)
		}
	}
}

// clean is one janitor run (janitor.RunOnce) over the pool's type: it
// claims every dirty resource, and each cleanup succeeds (released free)
// or, one in four, fails (released dirty); a cleanup lasts a few client
// operations, so that its heartbeats run too.
func (mt *maintainer) clean(ctx context.Context) {
	cleaner := janitor.CleanerFunc(func(ctx context.Context, r boskos.Resource) (janitor.Outcome, error) {
		if !mt.w.rec.waitFor(ctx, mt.done, mt.w.rec.count()+3) {
			return 0, fmt.Errorf("interrupted: %w", janitor.ErrStopped)
		}
		mt.rngMu.Lock()
		fail := mt.rng.IntN(4) == 0
		mt.rngMu.Unlock()
		if fail {
			return 0, errors.New("injected cleanup failure")
		}
		return janitor.Cleaned, nil
	})
	j, err := janitor.New(recordingRanch{mt: mt, client: mt.base + 1, Ranch: mt.r}, janitor.Options{
		Types:       func(context.Context) ([]string, error) { return []string{mt.w.rtype}, nil },
		Targets:     janitor.Targets{All: cleaner},
		Concurrency: 2,
		MaxFailures: 1 << 20, // never quarantined: the pool must stay in use
		Heartbeat:   10 * time.Millisecond,
		RetryDelay:  time.Nanosecond,
		Logger:      quietLogger,
	})
	if err != nil {
		panic(fmt.Sprintf("linearize: janitor: %v", err)) // options are constants
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, _ = j.RunOnce(rctx)
}

// build is one Mason cycle of the virtual resource: claim it (dirty →
// cleaning), recycle the physical resources of its last construction,
// lease its need, free it (the physical resource parked in the state named
// after it) or, when the need is not met, abort; then the consumer takes
// both along (the virtual one by acquire, the physical one by
// /acquirebystate from the parked state) and releases them dirty. The
// steps on the virtual resource are not recorded (the model has the pool
// only); those on the pool are.
func (mt *maintainer) build(ctx context.Context) {
	mason, consumer := mt.base+2, mt.base+3
	if mt.masonStopped {
		return
	}
	v, err := mt.r.Acquire(ctx, mt.m.VirtualType, boskos.Dirty, boskos.Cleaning, masonOwner, "")
	if err != nil {
		return // not dirty (yet): a later cycle
	}
	c := ranch.Claim{Name: v.Name, Owner: masonOwner, Epoch: v.Epoch}
	listed, _ := boskos.ParseLeasedResources(v.UserData[boskos.LeasedResources])
	recycle := func(f func() ([]string, error)) error {
		t0 := mt.w.rec.now()
		released, err := f()
		moved := map[string]bool{}
		for _, n := range released {
			moved[n] = true
		}
		for _, n := range listed {
			i, ok := mt.w.m.index[n]
			if !ok {
				continue
			}
			in := opInput{kind: opRecycle, owner: masonOwner, res: i, state: boskos.Leased, parked: c.Name, dest: boskos.Dirty}
			mt.w.rec.add(mason, in, t0, opOutput{status: http.StatusOK, ambiguous: err != nil, reset: moved[n]})
		}
		return err
	}
	if err := recycle(func() ([]string, error) { return mt.r.RecycleVirtual(ctx, c) }); err != nil {
		mt.masonStopped = true
		return
	}

	// Lease the need; while it is not met, wait a few client operations
	// and try again (Mason's Wait state), a few times.
	var leased []boskos.Resource
	var ok bool
	var got int
	for try := 0; try < masonTries && !ok; try++ {
		if try > 0 && !mt.w.rec.waitFor(ctx, mt.done, mt.w.rec.count()+5) {
			break
		}
		in := opInput{kind: opAcquire, owner: masonOwner, state: boskos.Free, dest: boskos.Leased}
		t0 := mt.w.rec.now()
		leased, ok, err = mt.r.LeaseNeeds(ctx, c, map[string]int{mt.w.rtype: 1})
		out := opOutput{status: http.StatusNotFound, ambiguous: err != nil}
		if err == nil && ok && len(leased) == 1 {
			got = mt.w.m.index[leased[0].Name]
			out = opOutput{status: http.StatusOK, res: got, epochs: []int64{leased[0].Epoch}}
		}
		mt.w.rec.add(mason, in, t0, out)
		if err != nil {
			break
		}
	}
	if err != nil {
		mt.masonStopped = true // what it did is unknown
		return
	}
	listed = nil
	if !ok {
		if recycle(func() ([]string, error) { return mt.r.AbortVirtual(ctx, c, "needs not met") }) != nil {
			mt.masonStopped = true
		}
		return
	}
	listed = []string{leased[0].Name}

	in := opInput{kind: opRelease, owner: masonOwner, res: got, dest: c.Name}
	t0 := mt.w.rec.now()
	err = mt.r.FreeVirtual(ctx, c)
	out := opOutput{status: http.StatusOK}
	switch {
	case errors.Is(err, ranch.ErrClaimLost):
		out.status = http.StatusUnauthorized // the reaper took the physical resource
	case err != nil:
		out.ambiguous = true
	}
	mt.w.rec.add(mason, in, t0, out)
	if out.ambiguous {
		mt.masonStopped = true
		return
	}
	if out.status != http.StatusOK {
		if recycle(func() ([]string, error) { return mt.r.AbortVirtual(ctx, c, "free failed") }) != nil {
			mt.masonStopped = true
		}
		return
	}

	cv, err := mt.r.Acquire(ctx, mt.m.VirtualType, boskos.Free, boskos.Busy, consumerOwner, "")
	if err != nil {
		return
	}
	defer func() { _ = mt.r.Release(ctx, cv.Name, boskos.Dirty, consumerOwner, &cv.Epoch) }()
	in = opInput{kind: opAcquireByState, owner: consumerOwner, state: c.Name, dest: boskos.Busy, names: []int{got}}
	t0 = mt.w.rec.now()
	rs, err := mt.r.AcquireByState(ctx, c.Name, boskos.Busy, consumerOwner, []string{leased[0].Name})
	out = opOutput{status: httpapi.HTTPStatus(err), ambiguous: err != nil && httpapi.HTTPStatus(err) >= 500}
	if err == nil {
		out = opOutput{status: http.StatusOK, epochs: []int64{rs[0].Epoch}}
	}
	mt.w.rec.add(consumer, in, t0, out)
	if err != nil {
		mt.masonStopped = out.ambiguous
		return
	}
	in = opInput{kind: opRelease, owner: consumerOwner, res: got, dest: boskos.Dirty, hasEpoch: true, epoch: rs[0].Epoch}
	t0 = mt.w.rec.now()
	err = mt.r.Release(ctx, leased[0].Name, boskos.Dirty, consumerOwner, &rs[0].Epoch)
	out = statusOf(err)
	mt.w.rec.add(consumer, in, t0, out)
	mt.masonStopped = out.ambiguous
}

// maintenanceRole names the maintenance client an operation is of ("" for
// the clients'), for Summary.
func maintenanceRole(in opInput) string {
	switch {
	case in.kind == opResetOne && in.dest == boskos.Dirty:
		return "reaper"
	case in.owner == janitorOwner:
		return "janitor"
	case in.owner == masonOwner:
		return "mason"
	case in.owner == consumerOwner:
		return "mason-consumer"
	}
	return ""
}

// statusOf is the answer the API gives for err: its status, ambiguous for
// a 5xx.
func statusOf(err error) opOutput {
	if err == nil {
		return opOutput{status: http.StatusOK}
	}
	s := httpapi.HTTPStatus(err)
	return opOutput{status: s, ambiguous: s >= 500}
}

// recordingRanch is the janitor's Ranch: each call on the pool's type is
// recorded as an operation of client.
type recordingRanch struct {
	*ranch.Ranch
	mt     *maintainer
	client int
}

func (r recordingRanch) Acquire(ctx context.Context, rtype, state, dest, owner, requestID string) (boskos.Resource, error) {
	in := opInput{kind: opAcquire, owner: owner, state: state, dest: dest, requestID: requestID}
	t0 := r.mt.w.rec.now()
	res, err := r.Ranch.Acquire(ctx, rtype, state, dest, owner, requestID)
	out := statusOf(err)
	if err == nil {
		out.res, out.epochs = r.mt.w.m.index[res.Name], []int64{res.Epoch}
	}
	r.mt.w.rec.add(r.client, in, t0, out)
	return res, err
}

func (r recordingRanch) Release(ctx context.Context, name, dest, owner string, epoch *int64) error {
	in := opInput{kind: opRelease, owner: owner, res: r.mt.w.m.index[name], dest: dest}
	if epoch != nil {
		in.hasEpoch, in.epoch = true, *epoch
	}
	t0 := r.mt.w.rec.now()
	err := r.Ranch.Release(ctx, name, dest, owner, epoch)
	r.mt.w.rec.add(r.client, in, t0, statusOf(err))
	return err
}

func (r recordingRanch) Update(ctx context.Context, name, owner, state string, ud boskos.UserData, epoch *int64) error {
	in := opInput{kind: opUpdate, owner: owner, res: r.mt.w.m.index[name], state: state}
	if epoch != nil {
		in.hasEpoch, in.epoch = true, *epoch
	}
	t0 := r.mt.w.rec.now()
	err := r.Ranch.Update(ctx, name, owner, state, ud, epoch)
	r.mt.w.rec.add(r.client, in, t0, statusOf(err))
	return err
}

var _ janitor.Ranch = recordingRanch{}
