package mason

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/boskos-serverless/boskos/core/asl"
)

// Document is the workflow, one Amazon States Language document: Step
// Functions runs it in AWS (its Task Resources are the placeholders
// "${<State>FunctionArn}" that the stack substitutes), Local runs it here.
//
//go:embed workflow.asl.json
var Document []byte

// Machine parses Document and checks that every Task state has a step of
// w (and every step a Task state).
func Machine(w *Workflow) (*asl.Machine, error) {
	m, err := asl.Parse(Document)
	if err != nil {
		return nil, fmt.Errorf("mason: workflow document: %w", err)
	}
	if err := m.Validate(w.Tasks()); err != nil {
		return nil, fmt.Errorf("mason: workflow document: %w", err)
	}
	return m, nil
}

// LocalOptions configure Local.
type LocalOptions struct {
	// Sleep replaces the runner's timers (Wait states and retry backoff);
	// tests drive it. nil = real timers.
	Sleep func(ctx context.Context, d time.Duration) error
	// Hook, if set, sees every state change of every execution (tests
	// stop executions with it to simulate crashes).
	Hook func(asl.Event) error
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Local is the Starter of `boskos serve`: it runs each execution of the
// workflow document in a goroutine of this process with the in-process
// runner (core/asl), the Task states mapped to the same steps as the
// Lambda functions. Names of running executions are remembered, so
// starting a running one again does nothing; the names of ended ones are
// remembered until the resource's next claim (a process that restarts
// forgets them: the dispatcher then starts claimed resources anew, which
// the steps allow).
type Local struct {
	wf     *Workflow
	runner *asl.Runner
	log    *slog.Logger
	ctx    context.Context

	mu      sync.Mutex
	running map[string]bool
	ended   map[string]error
	wg      sync.WaitGroup
}

var _ Starter = (*Local)(nil)

// NewLocal returns the local runner of w's steps. Executions run until
// they end or ctx ends.
func NewLocal(ctx context.Context, w *Workflow, o LocalOptions) (*Local, error) {
	m, err := Machine(w)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	tasks := w.Tasks()
	return &Local{
		wf:      w,
		runner:  &asl.Runner{Machine: m, Tasks: tasks, Sleep: o.Sleep, Hook: o.Hook, Log: o.Logger},
		log:     o.Logger,
		ctx:     ctx,
		running: map[string]bool{},
		ended:   map[string]error{},
	}, nil
}

// maxEnded bounds the remembered names of ended executions.
const maxEnded = 10000

// Start implements Starter.
func (l *Local) Start(_ context.Context, execution string, input []byte) error {
	if !json.Valid(input) {
		return fmt.Errorf("mason: start %s: input is not JSON", execution)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[execution] {
		return nil
	}
	if _, ok := l.ended[execution]; ok {
		return ErrExecutionEnded
	}
	if err := l.ctx.Err(); err != nil {
		return fmt.Errorf("mason: start %s: %w", execution, err)
	}
	l.running[execution] = true
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		_, err := l.runner.Run(l.ctx, execution, input)
		var failed *asl.ExecutionFailed
		switch {
		case err == nil:
		case errors.As(err, &failed):
			l.log.Warn("mason: execution failed", "execution", execution, "error", failed.Err)
		case l.ctx.Err() != nil && errors.Is(err, l.ctx.Err()):
			l.abandon(execution, input)
		default:
			l.log.Warn("mason: execution stopped", "execution", execution, "err", err)
		}
		l.mu.Lock()
		delete(l.running, execution)
		if l.ctx.Err() == nil {
			if len(l.ended) >= maxEnded {
				clear(l.ended)
			}
			l.ended[execution] = err
		}
		l.mu.Unlock()
	}()
	return nil
}

// abandonTimeout bounds the release of an execution stopped by shutdown.
const abandonTimeout = 10 * time.Second

// abandon releases what an execution stopped by the end of Local's context
// holds (the GarbageCollect step), so the next claim of its resource, by
// this process after a restart or by another one, need not wait for
// DispatcherOptions.StaleAfter.
func (l *Local) abandon(execution string, input []byte) {
	var in Input
	if err := json.Unmarshal(input, &in); err != nil {
		return
	}
	in.Error = &TaskError{Error: "Stopped", Cause: "the server stopped during the construction"}
	b, err := json.Marshal(in)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(l.ctx), abandonTimeout)
	defer cancel()
	if _, err := l.wf.Tasks()[StepGarbageCollect](ctx, b); err != nil {
		l.log.Error("mason: could not release an interrupted construction; the dispatcher restarts it once its heartbeat is stale", "execution", execution, "err", err)
		return
	}
	l.log.Info("mason: released an interrupted construction as dirty", "execution", execution)
}

// Running returns how many executions run now.
func (l *Local) Running() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.running)
}

// Ended returns the result of the execution name (nil error: it
// succeeded), and whether it has ended.
func (l *Local) Ended(name string) (err error, ended bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err, ended = l.ended[name]
	return err, ended
}

// Wait waits for every execution started so far to end (they end when
// their work is done or the context given to NewLocal ends).
func (l *Local) Wait() { l.wg.Wait() }
