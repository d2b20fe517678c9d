package mason_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/ranch"
)

// TestNeedsNotMet: five virtual resources want two physical ones each out
// of three. One is built; the others wait holding nothing (the third
// physical one stays free), and a type with needs of its own is built
// meanwhile: waiting does not starve it.
func TestNeedsNotMet(t *testing.T) {
	eachBackend(t, func(t *testing.T, w *world) {
		w.sync(`
resources:
- {type: phys, state: free, names: [p0, p1, p2, p3, p4, p5, p6, p7, p8, p9]}
- {type: gpu, state: free, names: [g0]}
- {type: virt, state: dirty, min-count: 5, max-count: 5, needs: {phys: 2}, config: {type: Fake}}
- {type: other, state: dirty, min-count: 1, max-count: 1, needs: {gpu: 1}, config: {type: Fake}}
`)
		// Seven of the ten are being cleaned by a janitor.
		dirty := []string{"p3", "p4", "p5", "p6", "p7", "p8", "p9"}
		_, err := w.r.AcquireByState(w.ctx, boskos.Free, boskos.Dirty, "janitor", dirty)
		require.NoError(t, err)
		p := w.mason(nil)
		rep := w.pass(p)
		assert.Equal(t, 6, rep.Started)
		assert.Equal(t, map[string]int{boskos.Free: 1, boskos.Cleaning: 4}, w.byState("virt"))
		assert.Equal(t, map[string]int{boskos.Free: 1}, w.byState("other"))
		assert.Equal(t, 4, p.local.Running(), "four constructions wait")
		phys := w.byState("phys")
		assert.Equal(t, map[string]int{boskos.Free: 1, boskos.Dirty: 7, "virt-built": 2}, map[string]int{boskos.Free: phys[boskos.Free], boskos.Dirty: phys[boskos.Dirty], "virt-built": 10 - phys[boskos.Free] - phys[boskos.Dirty]}, "a waiting construction holds nothing: %v", phys)
		w.checkInvariants("virt")
		for _, d := range w.sleep.delays {
			assert.Equal(t, mason.DefaultWait/3, d, "the Wait state's SecondsPath")
		}

		// They keep waiting without leasing anything, round after round.
		for range 3 {
			w.wake(p)
			assert.Equal(t, 4, p.local.Running())
			assert.Equal(t, 1, w.byState("phys")[boskos.Free])
		}
		// Heartbeats keep the waiting claims fresh: no restart.
		rep = w.pass(p)
		assert.Zero(t, rep.Restarted)
	})
}

// TestGiveUp: an execution that waited MaxWaits times gives up, releasing
// the virtual resource as dirty with the reason; the next pass claims it
// again under a new execution.
func TestGiveUp(t *testing.T) {
	w := newWorld(t, memOpen(t))
	w.sync(`
resources:
- {type: virt, state: dirty, min-count: 1, max-count: 1, needs: {phys: 1}, config: {type: Fake}}
- {type: phys, state: dirty, names: [p0]}
`)
	r := w.ranch()
	wf := mason.NewWorkflow(r, w.reg, mason.Options{MaxWaits: 3, Observer: w.obs, Logger: quiet()})
	local, err := mason.NewLocal(w.ctx, wf, mason.LocalOptions{Sleep: func(context.Context, time.Duration) error { return nil }, Logger: quiet()})
	require.NoError(t, err)
	d := mason.NewDispatcher(r, w.reg, local, mason.DispatcherOptions{})
	rep, err := d.Pass(w.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Started)
	local.Wait()
	v := w.all()["virt-0"]
	_ = v
	var virt boskos.Resource
	for _, x := range w.all() {
		if x.Type == "virt" {
			virt = x
		}
	}
	assert.Equal(t, boskos.Dirty, virt.State)
	assert.Empty(t, virt.Owner)
	assert.Contains(t, virt.UserData[ranch.MasonErrorKey], "NeedsNotMet")
	_, failed := w.obs.counts()
	assert.Equal(t, map[string]int{"virt/fulfill": 1}, failed)
	rep, err = d.Pass(w.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Started, "claimed again")
	local.Wait()
}

// TestConstructionFailures: whatever fails, every resource is released as
// dirty, the reason is kept in the virtual resource's userdata, the
// failure is counted under its step, and nothing is left owned.
func TestConstructionFailures(t *testing.T) {
	cases := []struct {
		name       string
		prepare    func(w *world)
		wantReason string
		wantStep   string
	}{
		{
			name:       "converter fails",
			prepare:    func(w *world) { w.conv.fail = errors.New("quota exceeded in the cloud") },
			wantReason: "construct: converter failed: quota exceeded in the cloud",
			wantStep:   "construct",
		},
		{
			name: "converter answers a reserved key",
			prepare: func(w *world) {
				w.conv.answer = boskos.UserData{boskos.LeasedResources: "- x"}
			},
			wantReason: "reserved userdata key leasedResources",
			wantStep:   "construct",
		},
		{
			name: "converter unknown to the workflow",
			prepare: func(w *world) {
				// The dispatcher has it, the steps do not (a Lambda
				// deployment without that converter).
				w.stepReg = mason.NewRegistry()
			},
			wantReason: `converter "Fake": no converter of that name`,
			wantStep:   "construct",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, w *world) {
				w.sync(crashConfig)
				tc.prepare(w)
				p := w.mason(nil)
				w.pass(p)
				assert.Equal(t, 0, p.local.Running())
				for _, x := range w.all() {
					assert.Empty(t, x.Owner, x.Name)
					switch x.Type {
					case "virt":
						assert.Equal(t, boskos.Dirty, x.State)
						assert.Contains(t, x.UserData[ranch.MasonErrorKey], tc.wantReason)
						assert.True(t, strings.HasPrefix(x.UserData[ranch.MasonErrorKey], "StepFailed: "), x.UserData[ranch.MasonErrorKey])
						assert.NotContains(t, x.UserData, boskos.LeasedResources)
					case "phys":
						assert.Contains(t, []string{boskos.Free, boskos.Dirty}, x.State)
					}
				}
				assert.Equal(t, map[string]int{boskos.Dirty: 4, boskos.Free: 4}, w.byState("phys"), "the four leased ones went to dirty")
				_, failed := w.obs.counts()
				assert.Equal(t, map[string]int{"virt/" + tc.wantStep: 2}, failed)
			})
		})
	}
}

// TestBadStepInput: a step given input it cannot use changes nothing.
func TestBadStepInput(t *testing.T) {
	w := newWorld(t, memOpen(t))
	w.sync(crashConfig)
	before := w.all()
	wf := mason.NewWorkflow(w.ranch(), w.reg, mason.Options{Logger: quiet()})
	for _, in := range []string{`nope`, `{}`, `{"resource":"virt-x","type":"virt","epoch":0}`, `{"resource":"","type":"virt","epoch":1}`} {
		for name, fn := range wf.Tasks() {
			_, err := fn(w.ctx, []byte(in))
			var se *mason.StepError
			require.ErrorAs(t, err, &se, "%s %s", name, in)
			assert.Equal(t, mason.ErrBadInput, se.ErrorName(), "%s %s: %v", name, in, err)
		}
	}
	assert.Equal(t, before, w.all())
}

func TestExecutionName(t *testing.T) {
	long := strings.Repeat("a", 100)
	cases := []struct {
		name, resource string
		epoch          int64
		want           string
	}{
		{"plain", "cluster-abc", 7, "cluster-abc-7"},
		{"unsafe characters", "a/b:c", 1, "a_b_c-"},
		{"long", long, 12, ""},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mason.ExecutionName(tc.resource, tc.epoch)
			assert.LessOrEqual(t, len(got), 80)
			assert.Regexp(t, `^[A-Za-z0-9._-]+$`, got)
			assert.True(t, strings.HasSuffix(got, "-"+strconv.FormatInt(tc.epoch, 10)), got)
			if tc.want != "" {
				assert.True(t, strings.HasPrefix(got, tc.want), "got %s, want prefix %s", got, tc.want)
			}
			assert.False(t, seen[got])
			seen[got] = true
		})
	}
	assert.NotEqual(t, mason.ExecutionName("a/b", 1), mason.ExecutionName("a:b", 1), "replaced characters keep names apart")
	assert.NotEqual(t, mason.ExecutionName(long, 1), mason.ExecutionName(long+"b", 1), "shortened names stay apart")
}

// TestBuiltinConverterFailures: the built-in converters' failures go the
// same way through the workflow: a Command that is not executable, one
// that answers non-JSON, one whose answer has a non-string value.
func TestBuiltinConverterFailures(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), mode))
		return p
	}
	cases := []struct {
		name, content, want string
	}{
		{"not executable", script("noexec.sh", "echo '{}'", 0o644), "not executable"},
		{"missing", filepath.Join(dir, "missing.sh"), "does not exist"},
		{"non-JSON answer", script("text.sh", "echo hello", 0o755), "bad converter answer"},
		{"non-string value", script("number.sh", `echo '{"port": 8080}'`, 0o755), `the value of "port" is a number`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, memOpen(t))
			w.reg = mason.NewDefaultRegistry(mason.ConverterOptions{Logger: quiet()})
			w.sync(`
resources:
- {type: phys, state: free, names: [p0, p1]}
- type: virt
  state: dirty
  min-count: 1
  max-count: 1
  needs: {phys: 1}
  config: {type: Command, content: "` + tc.content + `"}
`)
			p := w.mason(nil)
			w.pass(p)
			require.Equal(t, 0, p.local.Running())
			for _, x := range w.all() {
				assert.Empty(t, x.Owner, x.Name)
				if x.Type == "virt" {
					assert.Equal(t, boskos.Dirty, x.State)
					assert.Contains(t, x.UserData[ranch.MasonErrorKey], tc.want)
				}
			}
			assert.Equal(t, map[string]int{boskos.Dirty: 1, boskos.Free: 1}, w.byState("phys"))
		})
	}
}
