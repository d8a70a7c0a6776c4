package service

import "net/url"

// hostOf returns the host name of a URL, or "muster.invalid" when it has none.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "muster.invalid"
}
