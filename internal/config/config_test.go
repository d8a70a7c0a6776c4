package config_test

import (
	"flag"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/config"
)

// load parses args on a FlagSet bound to every setting and loads the
// configuration with env as the environment.
func load(t *testing.T, env map[string]string, args ...string) (*config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := config.Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return l.Load(func(k string) string { return env[k] })
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Config{
		Addr:            "127.0.0.1:8080",
		DatabaseURL:     "muster-data/muster.db",
		DatabaseURLFrom: "default",
		BaseURL:         "http://127.0.0.1:8080",
		BaseURLDerived:  true,
		Region:          "us",
		InvitationTTL:   168 * time.Hour,
		MailRetry:       30 * time.Second,
		ReportLease:     2 * time.Minute,
		ReadTimeout:     30 * time.Second,
		WriteTimeout:    60 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults = %+v; want %+v", c, want)
	}
}

func TestPrecedence(t *testing.T) {
	env := map[string]string{
		"MUSTER_ADDR":           "127.0.0.1:9000",
		"MUSTER_DATABASE_URL":   "postgres://muster:secret@db.internal:5432/muster",
		"MUSTER_BASE_URL":       "https://env.example.com/",
		"MUSTER_SMTP_URL":       "smtp://u:p@mail.example.com:587",
		"MUSTER_MAIL_FROM":      "env@example.com",
		"MUSTER_REGION":         "eu",
		"MUSTER_REGIONS":        "us=https://us.example.com",
		"MUSTER_INVITATION_TTL": "24h",
	}
	t.Run("EnvOverDefault", func(t *testing.T) {
		c, err := load(t, env)
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != "127.0.0.1:9000" || c.DatabaseURL != env["MUSTER_DATABASE_URL"] ||
			c.DatabaseURLFrom != "MUSTER_DATABASE_URL" ||
			c.BaseURL != "https://env.example.com" || c.BaseURLDerived || c.SMTPURL != env["MUSTER_SMTP_URL"] ||
			c.MailFrom != "env@example.com" || c.Region != "eu" || c.InvitationTTL != 24*time.Hour ||
			!reflect.DeepEqual(c.Regions, []config.Region{{Code: "us", URL: "https://us.example.com"}}) {
			t.Fatalf("config = %+v", c)
		}
	})
	t.Run("FlagOverEnv", func(t *testing.T) {
		c, err := load(t, env, "--addr", ":7000", "--db", "/var/lib/muster/m.db", "--base-url", "https://flag.example.com",
			"--smtp", "smtps://mail.example.com", "--mail-from", "Muster <flag@example.com>", "--region", "ca",
			"--regions", "eu=https://eu.example.com, au=https://au.example.com/", "--invitation-ttl", "72h",
			"--read-timeout", "10s", "--write-timeout", "2m")
		if err != nil {
			t.Fatal(err)
		}
		want := &config.Config{
			Addr: ":7000", DatabaseURL: "/var/lib/muster/m.db", DatabaseURLFrom: "--db", BaseURL: "https://flag.example.com",
			SMTPURL: "smtps://mail.example.com", MailFrom: "Muster <flag@example.com>", Region: "ca",
			Regions:       []config.Region{{"eu", "https://eu.example.com"}, {"au", "https://au.example.com"}},
			InvitationTTL: 72 * time.Hour,
			MailRetry:     30 * time.Second,
			ReportLease:   2 * time.Minute,
			ReadTimeout:   10 * time.Second,
			WriteTimeout:  2 * time.Minute,
		}
		if !reflect.DeepEqual(c, want) {
			t.Fatalf("config = %+v; want %+v", c, want)
		}
	})
	t.Run("EmptyFlagOverEnvMeansDefault", func(t *testing.T) {
		c, err := load(t, map[string]string{"MUSTER_REGION": "eu"}, "--region=")
		if err != nil {
			t.Fatal(err)
		}
		if c.Region != "us" {
			t.Fatalf("region = %q; want the default us", c.Region)
		}
	})
	t.Run("UnboundFlagStillReadsEnv", func(t *testing.T) {
		fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
		l := config.Bind(fs, config.FlagDB)
		if fs.Lookup("addr") != nil {
			t.Fatal("--addr bound though only --db was asked for")
		}
		if err := fs.Parse([]string{"--db", "x.db"}); err != nil {
			t.Fatal(err)
		}
		c, err := l.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.DatabaseURL != "x.db" || c.Region != "eu" {
			t.Fatalf("config = %+v", c)
		}
	})
}

func TestDerivedBaseURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":8080":          "http://localhost:8080",
		"0.0.0.0:80":     "http://localhost:80",
		"[::1]:8080":     "http://[::1]:8080",
		"muster.lan:443": "http://muster.lan:443",
	} {
		c, err := load(t, nil, "--addr", addr)
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL != want || !c.BaseURLDerived {
			t.Errorf("addr %s: base URL %q (derived %v); want %q", addr, c.BaseURL, c.BaseURLDerived, want)
		}
	}
}

func TestValidation(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		flag string // the flag the problem names
		msg  string // part of the message
	}{
		"ErrAddrNoPort":       {args: []string{"--addr", "localhost"}, flag: "addr", msg: "host:port"},
		"ErrAddrBadPort":      {args: []string{"--addr", "localhost:99999"}, flag: "addr", msg: "port"},
		"ErrDBScheme":         {args: []string{"--db", "mysql://x/y"}, flag: "db", msg: "neither"},
		"ErrDBPostgresNoHost": {args: []string{"--db", "postgres:///muster"}, flag: "db", msg: "no host"},
		"ErrBaseURLScheme":    {args: []string{"--base-url", "ftp://x.example.com"}, flag: "base-url", msg: "http"},
		"ErrBaseURLRelative":  {args: []string{"--base-url", "muster.example.com"}, flag: "base-url", msg: "http"},
		"ErrBaseURLQuery":     {args: []string{"--base-url", "https://x.example.com/?a=1"}, flag: "base-url", msg: "query"},
		"ErrBaseURLPassword": {args: []string{"--base-url", "https://u:secret@x.example.com"}, flag: "base-url",
			msg: "password"},
		"ErrSMTPScheme":       {args: []string{"--smtp", "http://mail", "--mail-from", "a@example.com"}, flag: "smtp", msg: "smtp://"},
		"ErrSMTPNoFrom":       {args: []string{"--smtp", "smtp://mail.example.com"}, flag: "mail-from", msg: "needed"},
		"ErrMailFrom":         {args: []string{"--mail-from", "not an address"}, flag: "mail-from", msg: "not an email"},
		"ErrRegion":           {args: []string{"--region", "EU"}, flag: "region", msg: "region code"},
		"ErrRegionsFromEnv":   {env: map[string]string{"MUSTER_REGIONS": "eu"}, flag: "regions", msg: "code=URL"},
		"ErrRegionsCode":      {args: []string{"--regions", "Europe=https://eu.example.com"}, flag: "regions", msg: "region code"},
		"ErrRegionsURL":       {args: []string{"--regions", "eu=eu.example.com"}, flag: "regions", msg: "http"},
		"ErrRegionsDuplicate": {args: []string{"--regions", "eu=https://a.example,eu=https://b.example"}, flag: "regions", msg: "twice"},
		"ErrTTLSyntax":        {args: []string{"--invitation-ttl", "7d"}, flag: "invitation-ttl", msg: "duration"},
		"ErrTTLZero":          {args: []string{"--invitation-ttl", "0s"}, flag: "invitation-ttl", msg: "between"},
		"ErrTTLTooLong":       {args: []string{"--invitation-ttl", "9000h"}, flag: "invitation-ttl", msg: "between"},
		"ErrReportLeaseShort": {args: []string{"--report-lease", "500ms"}, flag: "report-lease", msg: "between"},
		"ErrReportLeaseEnv":   {env: map[string]string{"MUSTER_REPORT_LEASE": "2"}, flag: "report-lease", msg: "duration"},
		"ErrDebugAddr":        {args: []string{"--debug-addr", "6060"}, flag: "debug-addr", msg: "host:port"},
		"ErrReadTimeoutZero":  {args: []string{"--read-timeout", "0s"}, flag: "read-timeout", msg: "between"},
		"ErrWriteTimeoutEnv":  {env: map[string]string{"MUSTER_WRITE_TIMEOUT": "60"}, flag: "write-timeout", msg: "duration"},
		"ErrTrustedProxies": {args: []string{"--trusted-proxies", "10.0.0.0/8,proxy.internal"}, flag: "trusted-proxies",
			msg: "not an address"},
		"ErrTrustedProxiesEnv": {env: map[string]string{"MUSTER_TRUSTED_PROXIES": "10.1.2.3/8"}, flag: "trusted-proxies",
			msg: "10.0.0.0/8"},
		"ErrDNSResolverNoPort": {args: []string{"--dns-resolver", "192.0.2.53"}, flag: "dns-resolver", msg: "host:port"},
		"ErrDNSResolverPortEnv": {env: map[string]string{"MUSTER_DNS_RESOLVER": "192.0.2.53:0"}, flag: "dns-resolver",
			msg: "port"},
		"ErrSecretKeyShort": {args: []string{"--secret-key", "c2hvcnQ="}, flag: "secret-key", msg: "32 bytes"},
		"ErrSecretKeyEnv":   {env: map[string]string{"MUSTER_SECRET_KEY": "not base64!"}, flag: "secret-key", msg: "base64"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tc.env, tc.args...)
			cerr, ok := err.(*config.Error)
			if !ok {
				t.Fatalf("err = %v; want a *config.Error", err)
			}
			if len(cerr.Problems) != 1 || cerr.Problems[0].Flag != tc.flag || !strings.Contains(cerr.Problems[0].Message, tc.msg) {
				t.Fatalf("problems = %+v; want one about --%s containing %q", cerr.Problems, tc.flag, tc.msg)
			}
			if !strings.Contains(err.Error(), "--"+tc.flag+" (") {
				t.Fatalf("error %q does not name --%s", err, tc.flag)
			}
		})
	}
	t.Run("ErrSeveral", func(t *testing.T) {
		_, err := load(t, nil, "--addr", "x", "--region", "1")
		if cerr, ok := err.(*config.Error); !ok || len(cerr.Problems) != 2 {
			t.Fatalf("err = %v; want two problems", err)
		}
	})
}

// TestSSOSettings: the DNS resolver that domain verification asks and the
// server key that seals SSO client secrets (AUTH-6); a refused key is never
// quoted.
func TestSSOSettings(t *testing.T) {
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes
	c, err := load(t, map[string]string{"MUSTER_DNS_RESOLVER": "192.0.2.1:53", "MUSTER_SECRET_KEY": key},
		"--dns-resolver", "127.0.0.1:5353")
	if err != nil {
		t.Fatal(err)
	}
	if c.DNSResolver != "127.0.0.1:5353" || string(c.SecretKey) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("resolver %q, key %q; want the flag's resolver and the variable's key", c.DNSResolver, c.SecretKey)
	}
	_, err = load(t, nil, "--secret-key", "dGhpcyBpcyBhIHNlY3JldCB0aGF0IGlzIHRvbyBzaG9ydA")
	if err == nil || strings.Contains(err.Error(), "dGhpcyBp") {
		t.Fatalf("a refused key: %v; want an error that does not quote it", err)
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := load(t, map[string]string{"MUSTER_TRUSTED_PROXIES": "192.0.2.0/24"},
		"--trusted-proxies", " 10.0.0.0/8 , 192.0.2.7,,fd00::/8, 2001:db8::1 ")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("2001:db8::1/128")}
	if !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Fatalf("trusted proxies = %v; want %v (the flag wins over the variable)", c.TrustedProxies, want)
	}
	if c, err := load(t, map[string]string{"MUSTER_TRUSTED_PROXIES": "127.0.0.1"}); err != nil ||
		!reflect.DeepEqual(c.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}) {
		t.Fatalf("from the environment: %v, %v", c, err)
	}
}

func TestParseRegions(t *testing.T) {
	got, err := config.ParseRegions(" eu = https://eu.example.com/ ,, ca=http://ca.example.com:8080/muster ")
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Region{{"eu", "https://eu.example.com"}, {"ca", "http://ca.example.com:8080/muster"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("regions = %+v; want %+v", got, want)
	}
	if got, err := config.ParseRegions(""); err != nil || got != nil {
		t.Fatalf("empty list = %v, %v", got, err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"muster-data/muster.db":                       "muster-data/muster.db",
		"postgres://muster:s3cret@db:5432/muster":     "postgres://muster:xxxxx@db:5432/muster",
		"postgres://muster@db/muster?password=s3cret": "postgres://muster@db/muster?password=xxxxx",
		"postgres://db/muster?sslmode=disable":        "postgres://db/muster?sslmode=disable",
		"smtp://apikey:s3cret@smtp.example.com:587":   "smtp://apikey:xxxxx@smtp.example.com:587",
	} {
		if got := config.RedactURL(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("RedactURL(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestRedactSecrets: a message that quotes a value as given never shows a
// password in it, wherever the value went.
func TestRedactSecrets(t *testing.T) {
	for in, want := range map[string]string{
		`--addr: "postgres://muster:s3cret@db:5432/muster" is not host:port`: `--addr: "postgres://muster:xxxxx@db:5432/muster" is not host:port`,
		`unexpected argument "smtp://apikey:s3cret@smtp.example.com:587"`:    `unexpected argument "smtp://apikey:xxxxx@smtp.example.com:587"`,
		"postgres://muster:s3c@r/et@db/muster and http://x.example/":         "postgres://muster:xxxxx@db/muster and http://x.example/",
		"postgres://s3cret@db/muster":                                        "postgres://xxxxx@db/muster",
		"postgres://db/muster?sslmode=disable&password=s3cret&x=1":           "postgres://db/muster?sslmode=disable&password=xxxxx&x=1",
		"host=db PASSWORD=s3cret dbname=muster":                              "host=db PASSWORD=xxxxx dbname=muster",
		"nothing to hide: https://muster.example.com/a b@c":                  "nothing to hide: https://muster.example.com/a b@c",
	} {
		if got := config.RedactSecrets(in); got != want || strings.Contains(got, "s3c") {
			t.Errorf("RedactSecrets(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestPrintUsage(t *testing.T) {
	var b strings.Builder
	config.PrintUsage(&b, config.Options())
	for _, o := range config.Options() {
		if !strings.Contains(b.String(), "--"+o.Flag) || !strings.Contains(b.String(), o.Env) {
			t.Errorf("usage lacks --%s or %s:\n%s", o.Flag, o.Env, b.String())
		}
	}
}

func TestDatabaseURLFrom(t *testing.T) {
	env := map[string]string{"MUSTER_DATABASE_URL": "/srv/muster/muster.db"}
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		url  string
		from string
	}{
		"Default":           {url: "muster-data/muster.db", from: "default"},
		"Env":               {env: env, url: "/srv/muster/muster.db", from: "MUSTER_DATABASE_URL"},
		"Flag":              {env: env, args: []string{"--db", "x.db"}, url: "x.db", from: "--db"},
		"EmptyFlagDefaults": {env: env, args: []string{"--db="}, url: "muster-data/muster.db", from: "default"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := load(t, tc.env, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if c.DatabaseURL != tc.url || c.DatabaseURLFrom != tc.from {
				t.Fatalf("database %q from %q; want %q from %q", c.DatabaseURL, c.DatabaseURLFrom, tc.url, tc.from)
			}
		})
	}
}

// TestPasswordWithSlashNeverShown: a password with an unescaped / (or ? or
// #) ends the URL's host early, so url.Parse reads part of the password as
// the path, which u.Redacted() does not hide. Such a URL is refused, in
// words that do not quote the password; it never reaches a log line.
func TestPasswordWithSlashNeverShown(t *testing.T) {
	for name, args := range map[string][]string{
		"db":       {"--db", "postgres://muster:12/34s3cret@db.example.com:5432/muster"},
		"dbQuery":  {"--db", "postgres://muster:12?34s3cret@db.example.com/muster"},
		"smtp":     {"--smtp", "smtp://apikey:12/34s3cret@smtp.example.com:587", "--mail-from", "a@example.com"},
		"smtpHash": {"--smtp", "smtps://apikey:465#s3cret@smtp.example.com:465", "--mail-from", "a@example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := load(t, nil, args...)
			if err == nil {
				if got := c.RedactedDatabaseURL() + " " + c.RedactedSMTPURL(); strings.Contains(got, "s3cret") {
					t.Fatalf("accepted, and logged as %q", got)
				}
				return
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("refused in words that show the password: %v", err)
			}
		})
	}
}

// TestBaseURLMakesLinks: a base URL that would make broken links (a bare ?
// or #, which put every link's path in the query or fragment, a port no
// server can listen on, a space) is refused rather than printed in set-up
// links.
func TestBaseURLMakesLinks(t *testing.T) {
	for _, v := range []string{"https://muster.example.com?", "https://muster.example.com/#", "https://muster.example.com:99999",
		"https://muster.example.com/a path"} {
		c, err := load(t, nil, "--base-url", v)
		if err == nil {
			t.Errorf("--base-url %q accepted as %q; links would be %q", v, c.BaseURL, c.BaseURL+"/invitations/…")
		}
	}
}

// TestLegitimateDatabaseURLs: URLs whose @ is in a query parameter
// (libpq/pgx take user, application_name, … there) are well-formed: the
// host is not ended early, and nothing in them is misread as a path.
func TestLegitimateDatabaseURLs(t *testing.T) {
	for _, v := range []string{
		"postgres://db.example.com:5432/muster?user=muster@corp-db",
		"postgres:///muster?host=/var/run/postgresql&user=app@example.com",
		"postgres://muster:s3cret@db.example.com/muster?application_name=muster@eu-1",
		"postgres://muster:s3cret@[2001:db8::1]:5432/muster",
		"postgres:///muster?host=/var/run/postgresql",
	} {
		if _, err := load(t, nil, "--db", v); err != nil {
			t.Errorf("--db %s refused: %v", v, err)
		}
	}
}
