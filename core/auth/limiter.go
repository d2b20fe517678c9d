package auth

import (
	"sync"
	"time"
)

// limiter throttles failed authentication attempts per key (a client
// address, a principal) with the generic cell rate algorithm: each key may
// fail burst times at once, then once per interval.
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

// wait returns how long until every key may try again at now (0: now).
func (l *limiter) wait(now time.Time, keys ...string) time.Duration {
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
	return wait
}

// fail records one failure at now on each key.
func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
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

// slots bounds the password checks running at once per client address, so
// that concurrent guesses from one address are checked a few at a time
// against the failure limits (a guess waits for a slot, then finds its
// address throttled) instead of all slipping past them together. Waiting
// requests of one caller also find the header that the first one verified
// in the cache.
type slots struct {
	size int

	mu  sync.Mutex
	sem map[string]*slot
}

type slot struct {
	ch    chan struct{}
	users int // holders and waiters; the slot is dropped at 0
}

// acquire takes a slot of key, waiting until one is free or done closes
// (then false).
func (s *slots) acquire(key string, done <-chan struct{}) bool {
	s.mu.Lock()
	e := s.sem[key]
	if e == nil {
		e = &slot{ch: make(chan struct{}, s.size)}
		s.sem[key] = e
	}
	e.users++
	s.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
		return true
	case <-done:
		s.drop(key, e)
		return false
	}
}

// release gives back a slot of key taken by acquire.
func (s *slots) release(key string) {
	s.mu.Lock()
	e := s.sem[key]
	s.mu.Unlock()
	<-e.ch
	s.drop(key, e)
}

func (s *slots) drop(key string, e *slot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.users--; e.users == 0 {
		delete(s.sem, key)
	}
}
