// Package dnstest runs a real DNS server for tests, on a loopback UDP
// port, so that code resolving names (the webhook client's SSRF guard,
// single sign-on's domain verification) is tested with answers the test
// chooses.
package dnstest

import (
	"context"
	"net"
	"testing"

	"github.com/miekg/dns"
)

// Start runs a DNS server that answers A queries for the names in answers
// (fully qualified: "hooks.example.test.") with their IPv4 addresses and
// nothing else, until the test ends. It returns a resolver that asks it.
func Start(t testing.TB, answers map[string]string) *net.Resolver {
	t.Helper()
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if ip, ok := answers[q.Name]; ok && q.Qtype == dns.TypeA {
				rr, err := dns.NewRR(q.Name + " 60 IN A " + ip)
				if err != nil {
					t.Error(err)
					continue
				}
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})
	addr := serve(t, mux)
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// serve runs a DNS server with handler h on a loopback UDP port until the
// test ends, and returns its address.
func serve(t testing.TB, h dns.Handler) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}
