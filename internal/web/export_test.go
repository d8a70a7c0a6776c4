package web

import (
	"net/http"
	"net/netip"
)

// ClientIP is the client address a server trusting the proxies sees for r.
func ClientIP(trusted []netip.Prefix, r *http.Request) string {
	return (&Server{trustedProxies: trusted}).clientIP(r)
}
