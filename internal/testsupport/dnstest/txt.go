package dnstest

import (
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Zone is a DNS server answering TXT queries with the records the test
// sets; every other name is NXDOMAIN. Addr is its host:port, for a
// resolver (--dns-resolver).
type Zone struct {
	Addr string

	mu      sync.Mutex
	txt     map[string][]string
	failing bool
}

// StartTXT runs a zone until the test ends.
func StartTXT(t testing.TB) *Zone {
	t.Helper()
	z := &Zone{txt: map[string][]string{}}
	z.Addr = serve(t, dns.HandlerFunc(z.answer))
	return z
}

// SetTXT makes name's TXT records values (none: the name does not exist).
func (z *Zone) SetTXT(name string, values ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.txt[dns.Fqdn(strings.ToLower(name))] = values
}

// Fail makes the server answer SERVFAIL to every query (or stop).
func (z *Zone) Fail(failing bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.failing = failing
}

func (z *Zone) answer(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.failing {
		m.Rcode = dns.RcodeServerFailure
		w.WriteMsg(m)
		return
	}
	found := false
	for _, q := range r.Question {
		values, ok := z.txt[strings.ToLower(q.Name)]
		found = found || (ok && len(values) > 0)
		if q.Qtype != dns.TypeTXT {
			continue
		}
		for _, v := range values {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT,
				Class: dns.ClassINET, Ttl: 60}, Txt: []string{v}})
		}
	}
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}
