package mason

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// Starter starts workflow executions: Step Functions in AWS, the
// in-process runner locally (Local).
type Starter interface {
	// Start starts the execution named execution with input. Starting an
	// execution that is already running under that name with the same
	// input succeeds without starting a second one; a name whose
	// execution has ended is ErrExecutionEnded.
	Start(ctx context.Context, execution string, input []byte) error
}

// ErrExecutionEnded is Starter.Start's error for an execution name whose
// execution has already ended.
var ErrExecutionEnded = errors.New("an execution of that name has ended")

// Defaults of DispatcherOptions.
const (
	// DefaultStaleAfter is how long a claimed virtual resource may go
	// without a heartbeat before the dispatcher starts its execution
	// again (the steps heartbeat it at least every DefaultWait, and every
	// DefaultHeartbeat while a converter runs).
	DefaultStaleAfter = 10 * time.Minute
	// DefaultMaxClaims bounds the virtual resources one pass claims.
	DefaultMaxClaims = 100
)

// DispatcherOptions configure a Dispatcher.
type DispatcherOptions struct {
	// StaleAfter: see DefaultStaleAfter.
	StaleAfter time.Duration
	// MaxClaims: see DefaultMaxClaims.
	MaxClaims int
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Dispatcher is the scheduled job that starts constructions: for every
// dynamic type whose config.type names a converter of the registry, it
// claims the dirty virtual resources (dirty → cleaning, owner Owner) and
// starts one execution per resource, named after the resource and the
// claim's epoch (ExecutionName), so a duplicated event or a second
// dispatcher never starts two. Claimed resources whose heartbeat stopped
// (an execution that died, or a crash between the claim and the start)
// are started again under the same name; when that execution has ended
// they are released as dirty, to be claimed again.
type Dispatcher struct {
	ranch   *ranch.Ranch
	reg     *Registry
	starter Starter
	opts    DispatcherOptions
	log     *slog.Logger
}

// NewDispatcher returns the dispatcher over r.
func NewDispatcher(r *ranch.Ranch, reg *Registry, s Starter, o DispatcherOptions) *Dispatcher {
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.MaxClaims <= 0 {
		o.MaxClaims = DefaultMaxClaims
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Dispatcher{ranch: r, reg: reg, starter: s, opts: o, log: o.Logger}
}

// DispatchReport is what one pass did.
type DispatchReport struct {
	Types     []string `json:"types"`
	Claimed   int      `json:"claimed"`
	Started   int      `json:"started"`
	Restarted int      `json:"restarted"`
	Released  int      `json:"released"`
}

// Name implements core/maintenance.Job.
func (*Dispatcher) Name() string { return "mason" }

// RunOnce implements core/maintenance.Job: one pass.
func (d *Dispatcher) RunOnce(ctx context.Context) (any, error) { return d.Pass(ctx) }

// Types returns the dynamic types this dispatcher builds: those whose
// config.type is registered, sorted.
func (d *Dispatcher) Types(ctx context.Context) ([]string, error) {
	m, err := d.ranch.DynamicTypes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for t, drlc := range m {
		if drlc.Config.Type != "" && d.reg.Has(drlc.Config.Type) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Pass claims and starts what it can; an error of one resource is logged
// and the pass goes on, the first one is returned.
func (d *Dispatcher) Pass(ctx context.Context) (DispatchReport, error) {
	var rep DispatchReport
	types, err := d.Types(ctx)
	if err != nil {
		return rep, err
	}
	rep.Types = types
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, t := range types {
		keep(d.restartStale(ctx, t, &rep))
	}
	for _, t := range types {
		if ctx.Err() != nil {
			break
		}
		keep(d.claim(ctx, t, &rep))
	}
	return rep, firstErr
}

// claim claims the dirty resources of rtype, then starts their
// executions: claiming every one first means that a construction failing
// at once (back to dirty) is not claimed again within the same pass, so a
// broken converter is called once per resource and pass.
func (d *Dispatcher) claim(ctx context.Context, rtype string, rep *DispatchReport) error {
	var claimed []boskos.Resource
	var claimErr error
	for rep.Claimed < d.opts.MaxClaims && ctx.Err() == nil {
		res, err := d.ranch.Acquire(ctx, rtype, boskos.Dirty, boskos.Cleaning, Owner, "")
		if code := boskos.ErrorCode(err); code == boskos.ENotFound || code == boskos.ETypeNotFound {
			break
		}
		if err != nil {
			claimErr = fmt.Errorf("mason: claim %s: %w", rtype, err)
			break
		}
		rep.Claimed++
		claimed = append(claimed, res)
	}
	for i, res := range claimed {
		in := Input{Resource: res.Name, Type: rtype, Epoch: res.Epoch}
		if err := d.start(ctx, in); err != nil {
			// Hand them back: the next pass claims them again.
			d.log.Error("mason: could not start a construction, releasing the resources claimed as dirty", "resource", res.Name, "err", err)
			for _, x := range claimed[i:] {
				epoch := x.Epoch
				if rerr := d.ranch.Release(context.WithoutCancel(ctx), x.Name, boskos.Dirty, Owner, &epoch); rerr != nil {
					d.log.Error("mason: release after a failed start", "resource", x.Name, "err", rerr)
				}
			}
			return err
		}
		rep.Started++
	}
	return claimErr
}

// restartStale starts again the executions of claimed resources of rtype
// whose heartbeat stopped.
func (d *Dispatcher) restartStale(ctx context.Context, rtype string, rep *DispatchReport) error {
	stale, err := d.ranch.OwnedBy(ctx, rtype, boskos.Cleaning, Owner, d.opts.StaleAfter)
	if err != nil {
		return err
	}
	for _, res := range stale {
		in := Input{Resource: res.Name, Type: rtype, Epoch: res.Epoch}
		err := d.start(ctx, in)
		switch {
		case err == nil:
			rep.Restarted++
			d.log.Warn("mason: a construction went without heartbeat; started its execution again", "resource", res.Name, "epoch", res.Epoch)
		case errors.Is(err, ErrExecutionEnded):
			reason := "the construction's execution ended without releasing the resource"
			if _, err := d.ranch.AbortVirtual(ctx, in.claim(), reason); err != nil {
				return err
			}
			rep.Released++
			d.log.Warn("mason: released a claimed resource whose execution had ended", "resource", res.Name, "epoch", res.Epoch)
		default:
			return err
		}
	}
	return nil
}

func (d *Dispatcher) start(ctx context.Context, in Input) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	name := ExecutionName(in.Resource, in.Epoch)
	if err := d.starter.Start(ctx, name, b); err != nil {
		return fmt.Errorf("mason: start %s: %w", name, err)
	}
	d.log.Info("mason: construction started", "resource", in.Resource, "type", in.Type, "epoch", in.Epoch, "execution", name)
	return nil
}

// maxExecutionName is Step Functions' bound on an execution name.
const maxExecutionName = 80

// ExecutionName is the execution name of the construction of resource
// under the claim of epoch: "<resource>-<epoch>", with every character
// Step Functions does not allow in a name replaced by '_', and a hash of
// the resource name added when it had to be changed or shortened (so two
// resources never share a name). It is at most 80 characters.
func ExecutionName(resource string, epoch int64) string {
	var b strings.Builder
	changed := false
	for _, r := range resource {
		if r < 0x80 && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
			changed = true
		}
	}
	base := b.String()
	suffix := "-" + strconv.FormatInt(epoch, 10)
	if changed || len(base)+len(suffix) > maxExecutionName {
		sum := sha256.Sum256([]byte(resource))
		h := "-" + hex.EncodeToString(sum[:])[:12]
		if room := maxExecutionName - len(suffix) - len(h); len(base) > room {
			base = base[:room]
		}
		base += h
	}
	return base + suffix
}
