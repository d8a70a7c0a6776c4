package service

import (
	"sync"
	"time"
)

// limiter counts events per key in fixed windows. It guards sign-in and
// password-reset requests of one instance; each instance keeps its own
// counts, so N instances allow at most N times the limit.
type limiter struct {
	max    int
	window time.Duration

	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	start time.Time
	count int
}

func newLimiter(max int, per time.Duration) *limiter {
	return &limiter{max: max, window: per, windows: make(map[string]*window)}
}

// allowed reports whether key is under its limit at now, without counting.
func (l *limiter) allowed(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	return w == nil || now.Sub(w.start) >= l.window || w.count < l.max
}

// add counts one event for key at now.
func (l *limiter) add(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	if w == nil || now.Sub(w.start) >= l.window {
		if len(l.windows) >= 100_000 {
			l.sweep(now)
		}
		w = &window{start: now}
		l.windows[key] = w
	}
	w.count++
}

// reset forgets key, after a successful sign-in.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.windows, key)
}

func (l *limiter) sweep(now time.Time) {
	for k, w := range l.windows {
		if now.Sub(w.start) >= l.window {
			delete(l.windows, k)
		}
	}
}
