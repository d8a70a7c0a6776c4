package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/sso"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/testsupport/dnstest"
	"github.com/muster-app/muster/internal/testsupport/idptest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// TestSSOAcrossInstances runs two muster serve on one PostgreSQL, with one
// server key, behind an imagined load balancer: a sign-in that begins on A
// comes back from the identity provider to B (the login's state is in the
// database, its secret in the browser), the session works on both, and a
// back-channel logout posted to A ends it at its next request on B.
func TestSSOAcrossInstances(t *testing.T) {
	dbURL := storetest.PostgresSchema(t)
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	zone := dnstest.StartTXT(t)
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test"),
		SecretBox: box, Resolver: sso.NewResolver(zone.Addr)})
	owner, team := org(t, db, svc)
	ownerUser, err := svc.Me(owner)
	if err != nil {
		t.Fatal(err)
	}
	dee := accept(t, svc, invite(t, svc, owner, team, "Dee", muster.RoleManager).Link)

	// Acme connects its provider, verifies example.com and passes the test.
	idp := idptest.Start(t, idptest.User{Subject: "sub-owner", Email: ownerUser.Email, EmailVerified: true})
	if _, err := svc.SaveSSOConnection(owner, service.SSOConnectionInput{Issuer: idp.URL, ClientID: idp.ClientID,
		ClientSecret: idp.ClientSecret}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.AddSSODomain(owner, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	zone.SetTXT("example.com", d.TXTRecord())
	if _, err := svc.VerifySSODomain(owner, d.ID); err != nil {
		t.Fatal(err)
	}
	start, err := svc.StartSSOTest(owner)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := svc.FinishSSO(context.Background(), idptest.Follow(t, start.URL).Query(), start.BrowserSecret,
		service.Client{IP: "127.0.0.1"}); err != nil || !out.Test.Succeeded {
		t.Fatalf("the Owner's test sign-in: %+v, %v", out, err)
	}
	if err := svc.SetSSOEnabled(owner, true); err != nil {
		t.Fatal(err)
	}

	// Behind one load balancer, both instances are reached at one URL:
	// here A's, which B is told is its base URL too.
	keyArg := base64.StdEncoding.EncodeToString(key)
	a := serve(t, "--db", dbURL, "--secret-key", keyArg)
	b := serve(t, "--db", dbURL, "--secret-key", keyArg, "--base-url", a.URL)
	person := browser(t)
	idp.SignInAs(idptest.User{Subject: "sub-dee", Email: dee.Email, EmailVerified: true, SID: "dee-laptop"})
	res, err := person.PostForm(a.URL+"/signin", url.Values{"email": {dee.Email}})
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, res)
	m := regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]+)">`).FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("the email step on A: %d\n%s", res.StatusCode, page)
	}
	callback := idptest.Follow(t, html.UnescapeString(m[1]))
	if got := callback.Scheme + "://" + callback.Host; got != a.URL {
		t.Fatalf("the provider sends the browser back to %s; want A, %s", got, a.URL)
	}
	// The load balancer sends the callback to B.
	status, location, body := get(t, person, b.URL+callback.RequestURI())
	if status != http.StatusSeeOther || location != "/" {
		t.Fatalf("the callback on B: %d %q\n%s", status, location, body)
	}
	for _, s := range []*server{a, b} {
		if status, _, body := get(t, person, s.URL+"/"); status != 200 || !strings.Contains(body, "Dee Test") {
			t.Fatalf("Dee's profile on %s: %d", s.URL, status)
		}
	}

	// The provider posts a logout token to A.
	res, err = http.PostForm(a.URL+"/sso/backchannel-logout", url.Values{"logout_token": {idp.LogoutToken("sub-dee", "dee-laptop", nil)}})
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, res); res.StatusCode != http.StatusOK {
		t.Fatalf("the back-channel logout on A: %d\n%s", res.StatusCode, body)
	}
	status, location, _ = get(t, person, b.URL+"/")
	if status != http.StatusSeeOther || location != "/signin?notice=session-ended" {
		t.Fatalf("Dee's next request on B: %d %q; want the sign-in page", status, location)
	}
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, res.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
