package auth

import (
	"sync"
	"time"
)

// limiter throttles failed authentication attempts per key (a client
// address, a principal) with the generic cell rate algorithm: each key may
// fail burst times at once, then once per interval. An attempt reserves a
// failure before the password is checked (so concurrent guesses cannot all
// slip past the check) and a success refunds it.
type limiter struct {
	burst    int
	interval time.Duration
	maxKeys  int

	mu  sync.Mutex
	tat map[string]time.Time // theoretical arrival time of the next failure
}

func newLimiter(burst int, interval time.Duration, maxKeys int) *limiter {
	return &limiter{burst: burst, interval: interval, maxKeys: maxKeys, tat: map[string]time.Time{}}
}

// reserve checks every key at now. When one is throttled it returns how
// long until it may try again, and reserves nothing; otherwise it reserves
// one failure on each key and returns 0.
func (l *limiter) reserve(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	allowance := time.Duration(l.burst-1) * l.interval
	var wait time.Duration
	for _, k := range keys {
		if t, ok := l.tat[k]; ok {
			if over := t.Sub(now) - allowance; over > wait {
				wait = over
			}
		}
	}
	if wait > 0 {
		return wait
	}
	if len(l.tat)+len(keys) > l.maxKeys {
		l.prune(now)
	}
	for _, k := range keys {
		t := l.tat[k]
		if t.Before(now) {
			t = now
		}
		l.tat[k] = t.Add(l.interval)
	}
	return 0
}

// refund gives back the failures reserved on keys (the password was right).
func (l *limiter) refund(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		t, ok := l.tat[k]
		if !ok {
			continue
		}
		if t = t.Add(-l.interval); !t.After(now) {
			delete(l.tat, k)
		} else {
			l.tat[k] = t
		}
	}
}

// prune forgets the keys whose failures have all expired; if the map is
// still full (a flood of distinct keys), it forgets everything rather than
// grow without bound. Called with l.mu held.
func (l *limiter) prune(now time.Time) {
	for k, t := range l.tat {
		if !t.After(now) {
			delete(l.tat, k)
		}
	}
	if len(l.tat) >= l.maxKeys {
		clear(l.tat)
	}
}
