// Package config loads Muster's settings from command-line flags and MUSTER_*
// environment variables (a flag wins over its variable), validates them once
// and hands them out as one Config value. There is no global configuration:
// each command passes its Config to what it builds.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/store"
)

// Config is the validated configuration of one Muster process.
type Config struct {
	// Addr is the TCP address the server listens on (host:port).
	Addr string
	// DatabaseURL is a postgres:// URL or the path of a SQLite file.
	DatabaseURL string
	// DatabaseURLFrom says where DatabaseURL came from: "--db",
	// "MUSTER_DATABASE_URL" or "default", for messages about a database
	// that is not where the operator expected it.
	DatabaseURLFrom string
	// BaseURL is where people reach this deployment; links in emails start
	// with it. It has no trailing slash.
	BaseURL string
	// BaseURLDerived reports that BaseURL was not given but derived from
	// Addr, so a server listening on a port chosen at start may correct it.
	BaseURLDerived bool
	// SMTPURL is smtp://user:pass@host:port (or smtps://); empty keeps mail
	// in the local mailbox.
	SMTPURL string
	// MailFrom is the From address of the email Muster sends.
	MailFrom string
	// Region is the region this deployment serves (AUTH-4).
	Region string
	// Regions are the sign-in URLs of the deployment's sister regions, in the
	// order given.
	Regions []Region
	// InvitationTTL is how long an invitation link stays valid (INV-4).
	InvitationTTL time.Duration
	// MailRetry is the wait before the first retry of an email that could
	// not be sent; each further failure doubles it, up to an hour.
	MailRetry time.Duration
	// ReportLease is how long a report runner holds a report without
	// reporting progress; a report whose runner died (a killed server) is
	// restarted by another runner once its lease has run out.
	ReportLease time.Duration
	// DebugAddr is the address of a second listener that serves Go's
	// profiles at /debug/pprof/, never served on Addr; empty for none. The
	// profiles reveal the program's insides to anyone who can reach them.
	DebugAddr string
	// ReadTimeout bounds reading one request, body included, so that a
	// client trickling a body cannot hold a connection for ever.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response; a streamed download gets it
	// for each chunk instead, so it runs as long as the client reads.
	WriteTimeout time.Duration
	// TrustedProxies are the reverse proxies (load balancers) in front of
	// Muster: a request from one of them is taken to come from the address
	// its X-Forwarded-For header names (the rightmost that is not itself
	// a trusted proxy). Empty trusts none: the client is the peer.
	TrustedProxies []netip.Prefix

	// WebhooksAllowPrivate lets webhook endpoints use http:// and
	// loopback, private and link-local addresses: for local development.
	WebhooksAllowPrivate bool
	// DNSResolver is the DNS server (host:port) that domain verification
	// asks for TXT records (AUTH-6); empty uses the system's resolver.
	DNSResolver string
	// SecretKey is the server key that encrypts the secrets Muster must
	// read back (webhook signing secrets, SSO client secrets) at rest
	// (secret.KeySize bytes); nil when not given.
	SecretKey []byte
}

// Region is another deployment's region and where its people sign in.
type Region struct {
	Code string
	URL  string
}

// Option is one setting: its flag, its environment variable, its default
// and what it means.
type Option struct {
	Flag    string
	Env     string
	Default string
	// Arg names the flag's value in usage text.
	Arg   string
	Usage string
}

// Flag names, for Bind.
const (
	FlagAddr          = "addr"
	FlagDB            = "db"
	FlagBaseURL       = "base-url"
	FlagSMTP          = "smtp"
	FlagMailFrom      = "mail-from"
	FlagRegion        = "region"
	FlagRegions       = "regions"
	FlagInvitationTTL = "invitation-ttl"
	FlagMailRetry     = "mail-retry"
	FlagDebugAddr     = "debug-addr"
	FlagReportLease   = "report-lease"
	FlagReadTimeout   = "read-timeout"
	FlagWriteTimeout  = "write-timeout"
)

// FlagTrustedProxies names the trusted proxies setting, for Bind.
const FlagTrustedProxies = "trusted-proxies"

// Flag names of the webhook (EVT-1) and single sign-on (AUTH-6)
// settings, for Bind.
const (
	FlagWebhooksAllowPrivate = "webhooks-allow-private"
	FlagDNSResolver          = "dns-resolver"
	FlagSecretKey            = "secret-key"
)

// Defaults.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultRegion        = "us"
	DefaultInvitationTTL = 7 * 24 * time.Hour
	// MaxInvitationTTL bounds --invitation-ttl.
	MaxInvitationTTL = 90 * 24 * time.Hour
	DefaultMailRetry = 30 * time.Second
	// DefaultReportLease is long beside the time a report takes between two
	// progress updates (one batch of users, milliseconds), so a slow
	// database does not make two runners race for a report.
	DefaultReportLease = 2 * time.Minute
	// DefaultReadTimeout is ample for Muster's requests, forms and JSON of a
	// few kilobytes (at most a megabyte), over a slow mobile link.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout covers the slowest answer that is not streamed
	// (a sign-in waiting for its password hash under load) many times.
	DefaultWriteTimeout = 60 * time.Second
)

// Options returns every setting, in the order usage text lists them.
func Options() []Option {
	return []Option{
		{FlagAddr, "MUSTER_ADDR", DefaultAddr, "HOST:PORT", "address the server listens on"},
		{FlagDB, "MUSTER_DATABASE_URL", store.DefaultSQLitePath, "URL",
			"database: a SQLite file path, or a postgres:// URL for PostgreSQL"},
		{FlagBaseURL, "MUSTER_BASE_URL", "http://<addr>", "URL",
			"URL people use to reach Muster; links in emails start with it"},
		{FlagSMTP, "MUSTER_SMTP_URL", "", "URL",
			"SMTP server as smtp://user:pass@host:port (smtps:// for TLS); unset keeps mail in a local mailbox"},
		{FlagMailFrom, "MUSTER_MAIL_FROM", "", "ADDRESS", "From address of Muster's email (needed with --smtp)"},
		{FlagRegion, "MUSTER_REGION", DefaultRegion, "CODE", "region this deployment serves (us, eu, ca, au…)"},
		{FlagRegions, "MUSTER_REGIONS", "", "LIST",
			"sign-in URLs of the other regions: eu=https://eu.example.com,ca=https://ca.example.com"},
		{FlagInvitationTTL, "MUSTER_INVITATION_TTL", "168h", "DURATION",
			"how long invitation and set-up links stay valid"},
		{FlagMailRetry, "MUSTER_MAIL_RETRY", "30s", "DURATION",
			"wait before retrying an email the SMTP server refused; doubles per failure up to 1h, for 3 days"},
		{FlagReportLease, "MUSTER_REPORT_LEASE", "2m", "DURATION",
			"how long a report job whose server died stays claimed before another run restarts it"},
		{FlagReadTimeout, "MUSTER_READ_TIMEOUT", "30s", "DURATION",
			"how long the server waits for a whole request, body included, before it closes the connection"},
		{FlagWriteTimeout, "MUSTER_WRITE_TIMEOUT", "60s", "DURATION",
			"how long the server takes to write a response; a download gets this long for each chunk"},
		{FlagDebugAddr, "MUSTER_DEBUG_ADDR", "", "HOST:PORT",
			"address of a second listener serving Go's profiles at /debug/pprof/, like 127.0.0.1:6060 (for measuring; keep it where only you reach it)"},
		{FlagTrustedProxies, "MUSTER_TRUSTED_PROXIES", "", "CIDRS",
			"reverse proxies whose X-Forwarded-For names the client, e.g. 10.0.0.0/8,192.0.2.7; unset trusts none"},
		{FlagWebhooksAllowPrivate, "MUSTER_WEBHOOKS_ALLOW_PRIVATE", "false", "BOOL",
			"let webhook endpoints use http:// and loopback or private addresses, for local development only"},
		{FlagDNSResolver, "MUSTER_DNS_RESOLVER", "", "HOST:PORT",
			"DNS server that domain verification asks for TXT records, like 192.0.2.53:53; unset uses the system's"},
		{FlagSecretKey, "MUSTER_SECRET_KEY", "a key file beside a SQLite database", "KEY",
			"base64 of 32 random bytes (openssl rand -base64 32) that encrypts webhook and SSO client secrets; every instance on one PostgreSQL needs the same"},
	}
}

// Loader reads a Config: it registers flags on a FlagSet and, after the
// flags are parsed, combines them with the environment.
type Loader struct {
	options []Option
	values  map[string]*string
	fs      *flag.FlagSet
}

// Bind registers the named settings' flags on fs (every setting when names
// is empty). Settings whose flags a command does not take still come from
// the environment, so every command sees the deployment's configuration.
func Bind(fs *flag.FlagSet, names ...string) *Loader {
	l := &Loader{values: map[string]*string{}, fs: fs}
	for _, o := range Options() {
		if len(names) > 0 && !slices.Contains(names, o.Flag) {
			continue
		}
		l.options = append(l.options, o)
		if o.Arg == "BOOL" {
			// A switch: --webhooks-allow-private alone means true.
			v := new(string)
			fs.Var(boolText{v}, o.Flag, o.Usage)
			l.values[o.Flag] = v
			continue
		}
		l.values[o.Flag] = fs.String(o.Flag, "", o.Usage)
	}
	return l
}

// boolText is a flag that may be given without a value (true), kept as
// text and checked with the other settings.
type boolText struct{ v *string }

func (b boolText) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}
func (b boolText) Set(s string) error { *b.v = s; return nil }
func (b boolText) IsBoolFlag() bool   { return true }

// Options returns the settings bound as flags, for usage text.
func (l *Loader) Options() []Option { return l.options }

// Load returns the validated configuration. getenv looks up environment
// variables (os.Getenv); call Load after parsing the FlagSet.
func (l *Loader) Load(getenv func(string) string) (*Config, error) {
	set := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	raw, from := map[string]string{}, map[string]string{}
	for _, o := range Options() {
		if v, ok := l.values[o.Flag]; ok && set[o.Flag] {
			raw[o.Flag], from[o.Flag] = *v, "--"+o.Flag
		} else if v := getenv(o.Env); v != "" {
			raw[o.Flag], from[o.Flag] = v, o.Env
		}
	}
	c, err := parse(raw)
	if err != nil {
		return nil, err
	}
	c.DatabaseURLFrom = "default"
	if strings.TrimSpace(raw[FlagDB]) != "" {
		c.DatabaseURLFrom = from[FlagDB]
	}
	return c, nil
}

// Error lists every problem with the configuration.
type Error struct {
	Problems []Problem
}

// Problem is what is wrong with one setting.
type Problem struct {
	Flag, Env, Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "--%s (%s): %s", p.Flag, p.Env, p.Message)
	}
	return b.String()
}

var regionCode = regexp.MustCompile(`^[a-z]{2,10}$`)

// parse turns the raw settings (flag name → value as given) into a Config,
// filling defaults and checking every value.
func parse(raw map[string]string) (*Config, error) {
	var problems []Problem
	// bad records a problem. Messages quote the value given, which may be a
	// database or SMTP URL given to the wrong setting: its password is
	// hidden.
	bad := func(flagName, format string, args ...any) {
		for _, o := range Options() {
			if o.Flag == flagName {
				problems = append(problems, Problem{Flag: o.Flag, Env: o.Env, Message: RedactSecrets(fmt.Sprintf(format, args...))})
			}
		}
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(raw[name]); v != "" {
			return v
		}
		return def
	}

	c := &Config{
		Addr:        get(FlagAddr, DefaultAddr),
		DatabaseURL: get(FlagDB, store.DefaultSQLitePath),
		SMTPURL:     get(FlagSMTP, ""),
		MailFrom:    get(FlagMailFrom, ""),
		Region:      get(FlagRegion, DefaultRegion),
	}

	host, port, addrErr := net.SplitHostPort(c.Addr)
	if addrErr != nil {
		bad(FlagAddr, "%q is not a host:port address, like 127.0.0.1:8080 or :8080", c.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad(FlagAddr, "%q has no valid port number (0 to 65535)", c.Addr)
	}

	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		bad(FlagDB, "%s", err)
	}

	if v := get(FlagBaseURL, ""); v != "" {
		u, err := checkHTTPURL(v)
		if err != nil {
			bad(FlagBaseURL, "%s", err)
		} else if u.RawQuery != "" || u.Fragment != "" {
			bad(FlagBaseURL, "%q must not have a query or fragment", v)
		}
		c.BaseURL = strings.TrimRight(v, "/")
	} else if addrErr == nil {
		c.BaseURL = DeriveBaseURL(host, port)
		c.BaseURLDerived = true
	}

	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		switch {
		case err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "":
			bad(FlagSMTP, "must look like smtp://user:password@host:587 or smtps://user:password@host:465")
		case misreadUserInfo(c.SMTPURL):
			bad(FlagSMTP, "has an @ after its host: percent-encode a /, ?, # or @ in the user name or password (%%2F, %%3F, %%23, %%40)")
		case u.Port() != "":
			if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
				bad(FlagSMTP, "has no valid port number")
			}
		}
		if c.MailFrom == "" {
			bad(FlagMailFrom, "is needed to send mail through --smtp, like \"Muster <muster@example.com>\"")
		}
	}
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			bad(FlagMailFrom, "%q is not an email address, like muster@example.com or \"Muster <muster@example.com>\"", c.MailFrom)
		}
	}

	if !regionCode.MatchString(c.Region) {
		bad(FlagRegion, "%q is not a region code: 2 to 10 lower-case letters, like us or eu", c.Region)
	}
	regions, err := ParseRegions(get(FlagRegions, ""))
	if err != nil {
		bad(FlagRegions, "%s", err)
	}
	c.Regions = regions

	c.InvitationTTL = DefaultInvitationTTL
	if v := get(FlagInvitationTTL, ""); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(FlagInvitationTTL, "%q is not a duration, like 168h or 72h30m", v)
		case d < time.Minute || d > MaxInvitationTTL:
			bad(FlagInvitationTTL, "must be between 1m and %s", fmtHours(MaxInvitationTTL))
		default:
			c.InvitationTTL = d
		}
	}

	if c.DebugAddr = get(FlagDebugAddr, ""); c.DebugAddr != "" {
		if _, port, err := net.SplitHostPort(c.DebugAddr); err != nil {
			bad(FlagDebugAddr, "%q is not a host:port address, like 127.0.0.1:6060", c.DebugAddr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad(FlagDebugAddr, "%q has no valid port number (0 to 65535)", c.DebugAddr)
		}
	}

	c.MailRetry = DefaultMailRetry
	if v := get(FlagMailRetry, ""); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(FlagMailRetry, "%q is not a duration, like 30s or 2m", v)
		case d < 100*time.Millisecond || d > time.Hour:
			bad(FlagMailRetry, "must be between 100ms and 1h")
		default:
			c.MailRetry = d
		}
	}

	c.ReportLease = DefaultReportLease
	if v := get(FlagReportLease, ""); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(FlagReportLease, "%q is not a duration, like 2m or 30s", v)
		case d < time.Second || d > time.Hour:
			bad(FlagReportLease, "must be between 1s and 1h")
		default:
			c.ReportLease = d
		}
	}

	serverTimeout := func(flagName string, def time.Duration) time.Duration {
		v := get(flagName, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(flagName, "%q is not a duration, like 30s or 2m", v)
		case d < 100*time.Millisecond || d > time.Hour:
			bad(flagName, "must be between 100ms and 1h")
		}
		return d
	}
	c.ReadTimeout = serverTimeout(FlagReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = serverTimeout(FlagWriteTimeout, DefaultWriteTimeout)
	proxies, err := ParseTrustedProxies(get(FlagTrustedProxies, ""))
	if err != nil {
		bad(FlagTrustedProxies, "%s", err)
	}
	c.TrustedProxies = proxies

	if v := get(FlagWebhooksAllowPrivate, ""); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(FlagWebhooksAllowPrivate, "%q is not true or false", v)
		}
		c.WebhooksAllowPrivate = b
	}
	if c.DNSResolver = get(FlagDNSResolver, ""); c.DNSResolver != "" {
		if host, port, err := net.SplitHostPort(c.DNSResolver); err != nil || host == "" {
			bad(FlagDNSResolver, "%q is not a host:port address, like 192.0.2.53:53", c.DNSResolver)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad(FlagDNSResolver, "%q has no valid port number (1 to 65535)", c.DNSResolver)
		}
	}
	if v := get(FlagSecretKey, ""); v != "" {
		key, err := secret.ParseKey(v)
		if err != nil {
			bad(FlagSecretKey, "%s", err) // never the value: it is a secret
		}
		c.SecretKey = key
	}

	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return c, nil
}

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes
// (10.0.0.0/8, fd00::/8) and single addresses (192.0.2.7, a /32 or /128).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return nil, fmt.Errorf("%q is not an address or a CIDR prefix, like 10.0.0.0/8 or 192.0.2.7", item)
			}
			if p != p.Masked() {
				return nil, fmt.Errorf("%q has bits set past its prefix length; did you mean %s?", item, p.Masked())
			}
		} else {
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not an address or a CIDR prefix, like 10.0.0.0/8 or 192.0.2.7", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

func fmtHours(d time.Duration) string { return strconv.Itoa(int(d.Hours())) + "h" }

// DeriveBaseURL is the base URL of a server listening on host:port when no
// --base-url is given: http://host:port, with localhost for a wildcard host.
func DeriveBaseURL(host, port string) string {
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func checkDatabaseURL(v string) error {
	if store.IsPostgres(v) {
		u, err := url.Parse(v)
		if err != nil {
			return errors.New("is not a valid URL, like postgres://user:password@host:5432/muster")
		}
		if misreadUserInfo(v) {
			return errors.New("has an @ after its host: percent-encode a /, ?, # or @ in the user name or password (%2F, %3F, %23, %40)")
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return fmt.Errorf("%s names no host, like postgres://user:password@host:5432/muster", RedactURL(v))
		}
		return nil
	}
	scheme, _, ok := strings.Cut(v, "://")
	if ok && scheme != "sqlite" && scheme != "file" {
		return fmt.Errorf("%q is neither a SQLite file path nor a postgres:// URL", scheme+"://…")
	}
	return nil
}

// misreadUserInfo reports whether a URL has an @ after its host: a password
// with an unescaped /, ? or # ends the host early, so the rest of the user
// info is read as the path, query or fragment, which u.Redacted() shows.
func misreadUserInfo(raw string) bool {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return false
	}
	i := strings.IndexAny(rest, "/?#")
	if i < 0 {
		return false
	}
	// An @ in a query parameter's value is a setting's (user=app@corp,
	// application_name=…), not the user info read as the query.
	rest, fragment, _ := strings.Cut(rest[i:], "#")
	path, query, _ := strings.Cut(rest, "?")
	if strings.Contains(path, "@") || strings.Contains(fragment, "@") {
		return true
	}
	for _, param := range strings.Split(query, "&") {
		if key, _, _ := strings.Cut(param, "="); strings.Contains(key, "@") {
			return true
		}
	}
	return false
}

func checkHTTPURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", v)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not contain a user name or password", u.Redacted())
	}
	// Links are made by appending paths to the URL as given: a bare ? or #
	// would put them in the query or fragment.
	if strings.ContainsAny(v, "?# \t") {
		return nil, fmt.Errorf("%q must not have a query, a fragment or a space", v)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has no valid port number (1 to 65535)", v)
		}
	}
	return u, nil
}

// ParseRegions parses a list like "eu=https://eu.example.com,ca=https://ca.example.com".
// Spaces around items are ignored; codes must be unique.
func ParseRegions(s string) ([]Region, error) {
	var out []Region
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		code, rawURL, ok := strings.Cut(item, "=")
		code, rawURL = strings.TrimSpace(code), strings.TrimSpace(rawURL)
		if !ok || rawURL == "" {
			return nil, fmt.Errorf("%q should be code=URL, like eu=https://eu.example.com", item)
		}
		if !regionCode.MatchString(code) {
			return nil, fmt.Errorf("%q is not a region code: 2 to 10 lower-case letters, like eu", code)
		}
		u, err := checkHTTPURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("region %s: %w", code, err)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("region %s: %q must not have a query or fragment", code, rawURL)
		}
		if slices.ContainsFunc(out, func(r Region) bool { return r.Code == code }) {
			return nil, fmt.Errorf("region %s is listed twice", code)
		}
		out = append(out, Region{Code: code, URL: strings.TrimRight(rawURL, "/")})
	}
	return out, nil
}

// RedactedDatabaseURL is the database URL fit for logs: a PostgreSQL
// password, in the user info or the query, is replaced by xxxxx.
func (c *Config) RedactedDatabaseURL() string { return RedactURL(c.DatabaseURL) }

// RedactedSMTPURL is the SMTP URL without its password.
func (c *Config) RedactedSMTPURL() string { return RedactURL(c.SMTPURL) }

// RedactURL hides the password of a URL; a string that is not a URL with a
// scheme (a file path) is returned as it is.
func RedactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// RedactSecrets hides the passwords in a text that may quote a setting as
// given, such as an error message: the user info of every URL in it
// (scheme://user:password@host, up to the last @ before a space, so that a
// password with an unescaped @ or / is hidden whole) and the values of
// password= parameters. It hides too much rather than too little: a text
// without a secret in it may lose a user name.
func RedactSecrets(text string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "://")
		if i < 0 {
			break
		}
		i += len("://")
		b.WriteString(text[:i])
		text = text[i:]
		run := text
		if end := strings.IndexFunc(run, unicode.IsSpace); end >= 0 {
			run = run[:end]
		}
		at := strings.LastIndexByte(run, '@')
		if at < 0 {
			continue
		}
		if user, _, ok := strings.Cut(run[:at], ":"); ok && !strings.ContainsAny(user, "/?#") {
			b.WriteString(user + ":")
		}
		b.WriteString("xxxxx")
		text = text[at:]
	}
	b.WriteString(text)
	return passwordParam.ReplaceAllString(b.String(), "${1}xxxxx")
}

var passwordParam = regexp.MustCompile(`(?i)((?:password|passwd|pwd)=)[^\s&]*`)

// PrintUsage writes the options as a table: flag, environment variable,
// default, and the meaning on the next line.
func PrintUsage(w io.Writer, options []Option) {
	flagWidth, envWidth := 0, 0
	for _, o := range options {
		flagWidth = max(flagWidth, len("--"+o.Flag+" "+o.Arg))
		envWidth = max(envWidth, len(o.Env))
	}
	for _, o := range options {
		def := o.Default
		if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(w, "  %-*s  %-*s  default %s\n      %s\n", flagWidth, "--"+o.Flag+" "+o.Arg, envWidth, o.Env, def, o.Usage)
	}
}
