package callout

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// TailBytes is how much of the other side's words (a failed command's
// stderr, a failed webhook's body, a function error's message) an error
// keeps.
const TailBytes = 512

// ellipsis marks where Tail and Truncate cut.
const ellipsis = "…"

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut
// with "…" (counted in n).
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if cut < 0 {
		cut = 0
	}
	return s[:cut] + ellipsis
}

// Tail returns the last n bytes of s on a rune boundary, preceded by "…"
// when it cut anything.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	start := len(s) - n
	for start < len(s) && !utf8.RuneStart(s[start]) {
		start++
	}
	return ellipsis + s[start:]
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

// String returns the tail, "…" first when anything was dropped.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Tail(string(t.buf), t.max)
	if t.cut && !strings.HasPrefix(s, ellipsis) {
		s = ellipsis + s
	}
	return s
}

// withTail appends ": " and the trimmed msg to err, when msg has any
// words.
func withTail(err error, msg string) error {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, msg)
}
