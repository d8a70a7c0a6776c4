package sso

import (
	"context"
	"errors"
	"net"
	"strings"
)

// Resolver looks up TXT records; *net.Resolver is one.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// NewResolver returns a resolver that asks the DNS server at addr
// (host:port), the --dns-resolver setting; with addr empty it is the
// system's.
func NewResolver(addr string) *net.Resolver {
	if addr == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// LookupVerification reports whether the domain's TXT records hold want
// (muster-verification=<token>). A domain without TXT records, or without
// that one, is a definite no (false, nil); an error says the answer is not
// known (the server failed or did not answer), and the caller should ask
// again later rather than conclude.
func LookupVerification(ctx context.Context, r Resolver, domain, want string) (bool, error) {
	records, err := r.LookupTXT(ctx, domain+".")
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return false, nil
		}
		return false, err
	}
	for _, rec := range records {
		if strings.TrimSpace(rec) == want {
			return true, nil
		}
	}
	return false, nil
}
