package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// Reaper defaults (upstream's reaper flags).
const (
	DefaultReaperExpire      = 30 * time.Minute
	DefaultReaperTargetState = boskos.Dirty
)

// ReapedStates are the states whose stale leases the reaper always resets,
// in upstream's order; ReaperOptions.ExtraStates come after them.
var ReapedStates = []string{boskos.Busy, boskos.Cleaning, boskos.Leased}

// ReaperOptions tune a Reaper. The zero value of each field means its default.
type ReaperOptions struct {
	// Expire: a lease not updated for this long is reset (default 30m).
	Expire time.Duration
	// TargetState is where reset resources go (default dirty).
	TargetState string
	// ExtraStates are reaped after ReapedStates.
	ExtraStates []string
	// OnReaped, if set, is called with the number of resources of a type
	// reset by one pass (only when it is not zero).
	OnReaped func(rtype string, n int)
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Reaper resets stale leases (upstream's reaper, ../shared/boskos-api.md
// §7.1) for every type of the config in force, so there is no type list to
// keep in sync by hand. Each (type, state) costs one index query over the
// owned, idle resources only, plus one conditional write per reset lease:
// a pass costs the same at 100 and at 100,000 free resources. A reset lease
// is unowned, so its old holder's /update and /release fail (401, or 409
// with an epoch once another holder has it).
type Reaper struct {
	ranch  *ranch.Ranch
	opts   ReaperOptions
	states []string
	log    *slog.Logger
}

// NewReaper returns a Reaper over r; bad options are an error naming them.
func NewReaper(r *ranch.Ranch, o ReaperOptions) (*Reaper, error) {
	if o.Expire == 0 {
		o.Expire = DefaultReaperExpire
	}
	if o.TargetState == "" {
		o.TargetState = DefaultReaperTargetState
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var errs []error
	if o.Expire < 0 {
		errs = append(errs, fmt.Errorf("reaper expire %s: must be positive", o.Expire))
	}
	if err := boskos.ValidateField("reaper target state", o.TargetState); err != nil {
		errs = append(errs, err)
	}
	states := append([]string(nil), ReapedStates...)
	for _, s := range o.ExtraStates {
		if err := boskos.ValidateField("reaper extra state", s); err != nil {
			errs = append(errs, err)
			continue
		}
		if !contains(states, s) {
			states = append(states, s)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Reaper{ranch: r, opts: o, states: states, log: o.Logger}, nil
}

// ParseStates reads a comma-separated list of states ("" is none); blanks
// around names are dropped, an empty element is an error.
func ParseStates(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for i, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("state %d of %q is empty", i+1, s)
		}
		if err := boskos.ValidateField("state", p); err != nil {
			return nil, fmt.Errorf("state %d of %q: %w", i+1, s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Name implements Job.
func (p *Reaper) Name() string { return "reaper" }

// ReapReport says what one reaper pass did.
type ReapReport struct {
	// Reaped is resource name -> the owner whose lease was reset.
	Reaped map[string]string
	// Types is how many types were looked at.
	Types int
}

// RunOnce implements Job.
func (p *Reaper) RunOnce(ctx context.Context) (any, error) { return p.Reap(ctx) }

// Reap makes one pass over every type of the config in force (none before a
// config was applied). A failing (type, state) does not stop the others.
func (p *Reaper) Reap(ctx context.Context) (ReapReport, error) {
	rep := ReapReport{Reaped: map[string]string{}}
	a, err := p.ranch.AppliedConfig(ctx)
	if errors.Is(err, ranch.ErrNoConfig) {
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("reaper: %w", err)
	}
	rep.Types = len(a.Types)
	var errs []error
	for _, t := range a.Types {
		n := 0
		for _, s := range p.states {
			if ctx.Err() != nil {
				return rep, errors.Join(append(errs, ctx.Err())...)
			}
			reset, err := p.ranch.Reset(ctx, t, s, p.opts.Expire, p.opts.TargetState)
			if err != nil {
				errs = append(errs, fmt.Errorf("reaper: reset %s in %s: %w", t, s, err))
				continue
			}
			names := make([]string, 0, len(reset))
			for name, owner := range reset {
				rep.Reaped[name] = owner
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				p.log.Info("reaper: reset a stale lease", "type", t, "state", s, "name", name,
					"owner", reset[name], "dest", p.opts.TargetState, "expire", p.opts.Expire)
			}
			n += len(reset)
		}
		if n > 0 && p.opts.OnReaped != nil {
			p.opts.OnReaped(t, n)
		}
	}
	return rep, errors.Join(errs...)
}
