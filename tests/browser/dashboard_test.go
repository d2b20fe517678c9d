package browser

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/client"
)

// binDir holds the boskos binary that TestMain builds.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "boskos-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "boskos")
	// In the main module (its own go.mod and go.sum), not this one.
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/boskos")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/boskos: %w\n%s", err, out)
	}
	return bin, nil
})

// chromium returns the browser to drive: $BOSKOS_CHROMIUM, else the first
// Chromium on PATH. Without one the test is skipped, saying how to get one
// (make test installs it); with BOSKOS_REQUIRE_BROWSER=1 it fails instead.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BOSKOS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("BOSKOS_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found (scripts/chromium.sh installs Debian's)")
	}
	t.Skip("no Chromium found: run scripts/chromium.sh (make test does) or set BOSKOS_CHROMIUM")
	return ""
}

// server is a `boskos serve` process.
type server struct {
	URL    string
	stderr *bytes.Buffer
}

// startServe runs `boskos serve --in_memory` with the config and args on a
// free port until the test ends.
func startServe(t *testing.T, config string, args ...string) *server {
	t.Helper()
	bin, err := buildOnce()
	require.NoError(t, err)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(config), 0o644))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	s := &server{URL: "http://127.0.0.1:" + strconv.Itoa(port), stderr: &bytes.Buffer{}}
	cmd := exec.Command(bin, append([]string{"serve", "--config", cfg, "--in_memory", "--port", strconv.Itoa(port),
		"--request-ttl", "10m", "--gc-period", "1h", "--log-level", "warn"}, args...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, s.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("boskos serve's log:\n%s", s.stderr)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		require.True(t, time.Now().Before(deadline), "boskos serve did not start: %v\n%s", err, s.stderr)
		time.Sleep(50 * time.Millisecond)
	}
}

// newBrowser starts Chromium with the flags that work on the test machines
// (its background networking off: this machine's closed network refuses
// it) and a fresh profile, and returns a tab's context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	// Start the browser now, so that a start failure is reported as such.
	require.NoError(t, chromedp.Do(ctx), "start %s", exe)
	return ctx
}

// consoleLog collects the console messages, uncaught exceptions and browser
// log entries of a tab.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// optionalEndpoint matches the requests of the endpoints this server may
// not have (lease history): their 404 is the "not available" state, which
// Chromium logs as a failed resource.
var optionalEndpoint = regexp.MustCompile(`/v1/(history|usage)(\?|$)`)

// problems returns the errors, warnings and exceptions, except the 404s
// of the optional endpoints.
func (c *consoleLog) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
		default:
			continue
		}
		if m.Source == "network" && optionalEndpoint.MatchString(m.URL) && strings.Contains(m.Text, "404") {
			continue
		}
		out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
	}
	return out
}

func (c *consoleLog) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		out = append(out, fmt.Sprintf("[%s %s] %s %s", m.Type, m.Source, m.Text, m.URL))
	}
	return out
}

// eval evaluates a JavaScript expression in the tab and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, "evaluate %s", js)
	return v
}

// refreshes is how many refreshes the page completed.
func refreshes(t *testing.T, ctx context.Context) int {
	return eval[int](t, ctx, `Number(document.body.dataset.refreshes || 0)`)
}

// waitRefresh waits until the page completed a refresh after the first
// `after` ones, and requires it to have succeeded.
func waitRefresh(t *testing.T, ctx context.Context, after int) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`Number(document.body.dataset.refreshes || 0) > %d`, after),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the page did not refresh")
	state := eval[string](t, ctx, `document.body.dataset.state`)
	require.Equal(t, "ok", state, "refresh failed: %s", eval[string](t, ctx, `document.getElementById('alert').textContent`))
}

const dashboardConfig = `resources:
- type: gce-project
  state: free
  names: [gce-project-1, gce-project-2, gce-project-3, gce-project-4, gce-project-5, gce-project-6]
- type: aws-account
  state: dirty
  names: [aws-account-1, aws-account-2, aws-account-3, aws-account-4]
- type: token
  state: free
  names: [token-1, token-2]
`

// seed makes a busy pool: leases of two owners, a heartbeat, a quarantined
// account with its reason, and two request_ids waiting for a token.
func seed(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	as := func(owner string) *client.Client {
		c, err := client.New(url, owner, client.Options{})
		require.NoError(t, err)
		return c
	}
	alice, bob, ci, janitor := as("alice"), as("bob"), as("ci-42"), as("janitor")
	for _, c := range []*client.Client{alice, alice, bob} {
		_, err := c.Acquire(ctx, "gce-project", "free", "busy", "")
		require.NoError(t, err)
	}
	for range 2 {
		r, err := ci.Acquire(ctx, "token", "free", "busy", "")
		require.NoError(t, err)
		require.NoError(t, ci.Update(ctx, r.Name, "busy", boskos.UserData{"job": "e2e-1234"}, r.Epoch))
	}
	a, err := janitor.Acquire(ctx, "aws-account", "dirty", "cleaning", "")
	require.NoError(t, err)
	require.NoError(t, janitor.Update(ctx, a.Name, "cleaning", boskos.UserData{boskos.QuarantineReasonKey: "cleanup failed 3 times: nuke: exit status 1 (rate exceeded)"}, a.Epoch))
	require.NoError(t, janitor.Release(ctx, a.Name, boskos.Quarantined, a.Epoch))
	for _, owner := range []string{"carol", "dave"} {
		_, err := as(owner).Acquire(ctx, "token", "free", "busy", "wait-"+owner)
		require.ErrorIs(t, err, client.ErrNotFound)
	}
}

// apiState is what the read API answers, for comparison with the page.
type apiState struct {
	types     []boskos.TypeSummary
	resources []boskos.ResourceInfo
	queue     []boskos.QueueEntry
}

func readAPI(t *testing.T, url string, f boskos.ResourceFilter) apiState {
	t.Helper()
	ctx := context.Background()
	r, err := client.NewReader(url, client.Options{})
	require.NoError(t, err)
	var s apiState
	s.types, _, err = client.Collect(ctx, 0, func(ctx context.Context, c string) (boskos.Page[boskos.TypeSummary], error) {
		return r.Types(ctx, boskos.PageRequest{Cursor: c})
	})
	require.NoError(t, err)
	s.resources, _, err = client.Collect(ctx, 0, func(ctx context.Context, c string) (boskos.Page[boskos.ResourceInfo], error) {
		return r.Resources(ctx, f, boskos.PageRequest{Cursor: c})
	})
	require.NoError(t, err)
	s.queue, _, err = client.Collect(ctx, 0, func(ctx context.Context, c string) (boskos.Page[boskos.QueueEntry], error) {
		return r.Queue(ctx, boskos.QueueFilter{}, boskos.PageRequest{Cursor: c})
	})
	require.NoError(t, err)
	return s
}

// pagePool is one type's card on the page.
type pagePool struct {
	Type   string         `json:"type"`
	Total  int            `json:"total"`
	States map[string]int `json:"states"`
}

const poolsJS = `[...document.querySelectorAll('#pools .pool')].map(a => ({
  type: a.dataset.type,
  total: parseInt(a.querySelector('.total').textContent, 10),
  states: Object.fromEntries([...a.querySelectorAll('li')].map(li => [li.dataset.state, parseInt(li.querySelector('.n').textContent, 10)])),
}))`

// rowsJS returns the cells' texts of a table's rows.
func rowsJS(table string) string {
	return `[...document.querySelectorAll('#` + table + ` tbody tr')].map(tr => [...tr.cells].map(c => c.textContent))`
}

// checkNumbers requires the page to show what the API answers: the pools'
// counts, the resources table (with filter f), the queue, the quarantined.
func checkNumbers(t *testing.T, ctx context.Context, url string, f boskos.ResourceFilter) {
	t.Helper()
	api := readAPI(t, url, f)
	pools := eval[[]pagePool](t, ctx, poolsJS)
	var want []pagePool
	for _, ty := range api.types {
		want = append(want, pagePool{Type: ty.Type, Total: ty.Total, States: ty.States})
	}
	assert.Equal(t, want, pools, "the pools' counts are the API's")

	rows := eval[[][]string](t, ctx, rowsJS("resources"))
	require.Len(t, rows, len(api.resources), "one row per resource the API lists")
	for i, r := range api.resources {
		row := rows[i]
		require.Len(t, row, 7)
		owner := r.Owner
		if owner == "" {
			owner = "—"
		}
		assert.Equal(t, []string{r.Name, r.Type, r.State, owner, strconv.FormatInt(r.Epoch, 10)}, []string{row[0], row[1], row[2], row[3], row[5]}, "row %d", i)
		if r.Owner != "" {
			assert.Regexp(t, `^\d+(s|m \d\ds)$`, row[4], "held for, row %d", i)
		} else {
			assert.Equal(t, "—", row[4])
		}
		assert.Regexp(t, `^\d+(s|m \d\ds) ago$`, row[6], "last heartbeat, row %d", i)
	}
	assert.Equal(t, "("+strconv.Itoa(len(api.resources))+")", eval[string](t, ctx, `document.getElementById('res-count').textContent`))

	qrows := eval[[][]string](t, ctx, rowsJS("queue"))
	require.Len(t, qrows, len(api.queue))
	for i, e := range api.queue {
		assert.Equal(t, []string{e.Type, e.State, strconv.Itoa(e.Rank), e.RequestID}, qrows[i][:4], "queue row %d", i)
	}
}

// contrastJS lists the visible text elements whose colour has a WCAG
// contrast ratio under 4.5 against the background behind them.
const contrastJS = `(() => {
  const parse = (c) => { const m = c.match(/[\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 }; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c.a > 0.5) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
  const bad = [];
  for (const el of document.querySelectorAll('h1, h2, h3, p, th, td, label, button, span, li, code, option')) {
    if (!el.textContent.trim() || el.offsetParent === null) continue;
    const fg = parse(getComputedStyle(el).color), b = bg(el);
    const l1 = lum(fg), l2 = lum(b);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < 4.5) bad.push(el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return bad;
})()`

// unlabelledJS lists the form controls without a label.
const unlabelledJS = `[...document.querySelectorAll('input, select, button')].filter(e => e.tagName === 'BUTTON' ? !e.textContent.trim() : e.labels.length === 0).map(e => e.outerHTML)`

// TestDashboard loads the dashboard from a real `boskos serve` in Chromium
// and checks it against the read API, its filters and its refresh, its
// accessibility basics and its layout on a phone, and takes screenshots.
func TestDashboard(t *testing.T) {
	ctx := newBrowser(t)
	srv := startServe(t, dashboardConfig)
	seed(t, srv.URL)
	console := watchConsole(ctx)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", strings.Join(console.all(), "\n"))
		}
	}()

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/ui/")))
	waitRefresh(t, ctx, 0)
	assert.Equal(t, "Boskos dashboard", eval[string](t, ctx, `document.title`))

	t.Run("numbers are the API's", func(t *testing.T) {
		checkNumbers(t, ctx, srv.URL, boskos.ResourceFilter{})
		q := readAPI(t, srv.URL, boskos.ResourceFilter{State: boskos.Quarantined}).resources
		require.Len(t, q, 1)
		quar := eval[[][]string](t, ctx, rowsJS("quarantined"))
		require.Len(t, quar, 1)
		assert.Equal(t, []string{q[0].Name, "aws-account", "cleanup failed 3 times: nuke: exit status 1 (rate exceeded)"}, quar[0][:3])
		status := eval[string](t, ctx, `document.getElementById('status').textContent`)
		assert.Contains(t, status, "3 types, 12 resources")
	})

	t.Run("history and usage", func(t *testing.T) {
		// The server records lease history: the panels show the API's
		// records (the last day's, newest first) and usage rows.
		for _, id := range []string{"hist-empty", "usage-empty"} {
			assert.True(t, eval[bool](t, ctx, `document.getElementById('`+id+`').hidden`), "%s: history is available", id)
		}
		hc, err := client.New(srv.URL, "observer", client.Options{})
		require.NoError(t, err)
		hist, err := hc.History(context.Background(), boskos.HistoryQuery{Since: time.Now().Add(-24 * time.Hour), Limit: 50})
		require.NoError(t, err)
		require.NotEmpty(t, hist.Items, "the setup's leases are recorded")
		rows := eval[[][]string](t, ctx, rowsJS("history"))
		require.NotEmpty(t, rows)
		names := map[string]bool{}
		for _, h := range hist.Items {
			names[h.Name] = true
		}
		for _, r := range rows {
			assert.True(t, names[r[1]], "history row %v names a resource of the API's records", r)
		}
	})

	t.Run("filter", func(t *testing.T) {
		n := refreshes(t, ctx)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SetValue(chromedp.ID("f-state"), "busy"),
			chromedp.SendKeys(chromedp.ID("f-owner"), "alice"),
			chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)),
		))
		waitRefresh(t, ctx, n)
		f := boskos.ResourceFilter{State: "busy", Owner: "alice"}
		checkNumbers(t, ctx, srv.URL, f)
		rows := eval[[][]string](t, ctx, rowsJS("resources"))
		require.Len(t, rows, 2, "alice holds two")
		for _, r := range rows {
			assert.Equal(t, []string{"busy", "alice"}, r[2:4])
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		assert.Contains(t, loc, "state=busy")
		assert.Contains(t, loc, "owner=alice")

		// The name filter narrows the rows in the page.
		name := rows[1][0]
		n = refreshes(t, ctx)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("f-name"), name),
			chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)),
		))
		waitRefresh(t, ctx, n)
		rows = eval[[][]string](t, ctx, rowsJS("resources"))
		require.Len(t, rows, 1)
		assert.Equal(t, name, rows[0][0])

		// Clear shows everything again.
		n = refreshes(t, ctx)
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#filters button[type=reset]`))))
		waitRefresh(t, ctx, n)
		checkNumbers(t, ctx, srv.URL, boskos.ResourceFilter{})
	})

	t.Run("refreshes itself", func(t *testing.T) {
		c, err := client.New(srv.URL, "erin", client.Options{})
		require.NoError(t, err)
		_, err = c.Acquire(context.Background(), "gce-project", "free", "busy", "")
		require.NoError(t, err)
		// Within a refresh period (5 s) and a little, the pool shows it.
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](
			`(() => { const li = document.querySelector('#pools .pool[data-type="gce-project"] li[data-state="busy"] .n'); return li && li.textContent === '4'; })()`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
		require.NoError(t, err, "the page did not show the new lease")
		waitRefresh(t, ctx, refreshes(t, ctx))
		checkNumbers(t, ctx, srv.URL, boskos.ResourceFilter{})
	})

	t.Run("accessibility basics", func(t *testing.T) {
		assert.Equal(t, "en", eval[string](t, ctx, `document.documentElement.lang`))
		assert.Empty(t, eval[[]string](t, ctx, unlabelledJS), "form controls without a label")
		assert.Equal(t, 0, eval[int](t, ctx, `[...document.querySelectorAll('table')].filter(t => !t.caption).length`), "tables without a caption")
		assert.Equal(t, 0, eval[int](t, ctx, `[...document.querySelectorAll('th')].filter(th => th.getAttribute('scope') !== 'col').length`), "header cells without a scope")
		assert.Empty(t, eval[[]string](t, ctx, contrastJS), "text under WCAG AA contrast (4.5:1)")
		assert.Equal(t, "polite", eval[string](t, ctx, `document.getElementById('status').getAttribute('aria-live')`))
	})

	t.Run("screenshot", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)))
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		checkScreenshot(t, buf, 1280)
		save(t, "dashboard.png", buf)
	})

	t.Run("phone", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)))
		require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
		waitRefresh(t, ctx, 0)
		width := eval[int](t, ctx, `window.innerWidth`)
		assert.Equal(t, 390, width)
		assert.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), width, "the page fits the phone's width (wide tables scroll inside their box)")
		assert.GreaterOrEqual(t, eval[float64](t, ctx, `parseFloat(getComputedStyle(document.querySelector('td')).fontSize)`), 12.0, "readable text")
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		checkScreenshot(t, buf, 780)
		save(t, "dashboard-phone.png", buf)
	})

	assert.Empty(t, console.problems(), "console errors, warnings or exceptions")
}

// checkScreenshot requires a PNG of the given width that is not blank: its
// luminance varies (standard deviation over 20 of 255) and it has many
// colours.
func checkScreenshot(t *testing.T, buf []byte, width int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(buf))
	require.NoError(t, err, "a PNG")
	b := img.Bounds()
	assert.Equal(t, width, b.Dx(), "width")
	assert.Greater(t, b.Dy(), 400, "height")
	sd, colours := pixelStats(img)
	t.Logf("screenshot %dx%d: luminance standard deviation %.1f, %d colours", b.Dx(), b.Dy(), sd, colours)
	assert.Greater(t, sd, 20.0, "not blank: the luminance varies")
	assert.Greater(t, colours, 50, "not blank: many colours")
}

// pixelStats returns the standard deviation of the luminance (0..255) and
// the number of distinct colours of img.
func pixelStats(img image.Image) (float64, int) {
	b := img.Bounds()
	var sum, sq float64
	n := 0
	colours := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(bl)) / 257
			sum += l
			sq += l * l
			n++
			colours[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	mean := sum / float64(n)
	return math.Sqrt(sq/float64(n) - mean*mean), len(colours)
}

// save writes a screenshot into the test's artifact directory (kept with
// go test -artifacts) and, with BOSKOS_SCREENSHOT_DIR, there too.
func save(t *testing.T, name string, buf []byte) {
	t.Helper()
	p := filepath.Join(t.ArtifactDir(), name)
	require.NoError(t, os.WriteFile(p, buf, 0o644))
	t.Logf("screenshot: %s", p)
	if dir := os.Getenv("BOSKOS_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf, 0o644))
	}
}

// TestDashboardCredentials: with credentials the dashboard asks for them
// (the browser's Basic prompt, answered here through the DevTools Fetch
// domain as a user would type them) and then shows the data; a browser
// that gives none gets the 401 and no data.
func TestDashboardCredentials(t *testing.T) {
	ctx := newBrowser(t)
	bin, err := buildOnce()
	require.NoError(t, err)
	creds := filepath.Join(t.TempDir(), "credentials.yaml")
	add := exec.Command(bin, "credentials", "add", "viewer", "--owners", "nobody", "--role", "client", "--file", creds)
	add.Stdin = strings.NewReader("correct horse\n")
	out, err := add.CombinedOutput()
	require.NoError(t, err, "%s", out)
	srv := startServe(t, dashboardConfig, "--credentials", creds)

	var mu sync.Mutex
	var challenges []string
	answer := fetch.AuthChallengeResponseResponseProvideCredentials
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	auths := chromedp.Events(ctx, fetch.AuthRequired)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	go func() {
		for ev, err := range auths {
			if err != nil {
				return
			}
			mu.Lock()
			challenges = append(challenges, ev.Request.URL+" realm="+ev.AuthChallenge.Realm)
			resp := &fetch.AuthChallengeResponse{Response: answer}
			if answer == fetch.AuthChallengeResponseResponseProvideCredentials {
				resp.Username, resp.Password = "viewer", "correct horse"
			}
			mu.Unlock()
			_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID, AuthChallengeResponse: resp})
		}
	}()
	handle := true
	_, err = chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handle})
	require.NoError(t, err)

	console := watchConsole(ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/ui/")))
	waitRefresh(t, ctx, 0)
	pools := eval[[]pagePool](t, ctx, poolsJS)
	assert.Len(t, pools, 3, "the data behind the credentials")
	mu.Lock()
	got := append([]string(nil), challenges...)
	mu.Unlock()
	require.NotEmpty(t, got, "the browser was asked for credentials")
	for _, c := range got {
		assert.Contains(t, c, `realm=boskos`)
	}
	sort.Strings(got)
	t.Logf("challenges answered: %d\n%s", len(got), strings.Join(got, "\n"))
	assert.Empty(t, console.problems())

	// Without credentials: a fresh browser profile that cancels the prompt.
	ctx2 := newBrowser(t)
	paused2 := chromedp.Events(ctx2, fetch.RequestPaused)
	auths2 := chromedp.Events(ctx2, fetch.AuthRequired)
	go func() {
		for ev, err := range paused2 {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx2, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	go func() {
		for ev, err := range auths2 {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx2, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID,
				AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseCancelAuth}})
		}
	}()
	_, err = chromedp.Call(ctx2, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handle})
	require.NoError(t, err)
	resp, err := chromedp.Run(ctx2, chromedp.NavigateResponse(srv.URL+"/ui/"))
	require.NoError(t, err)
	assert.Equal(t, int64(http.StatusUnauthorized), resp.Status)
	assert.Equal(t, 0, eval[int](t, ctx2, `document.querySelectorAll('#pools .pool').length`))
}
